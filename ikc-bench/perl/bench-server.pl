#!/usr/bin/perl
# ikc-bench's server, written with Perl IKC: kernel 'Bench', session
# 'bench' publishing sink (counts payloads, checks seq runs 0, 1, 2, ...),
# ack (the count so far), done ({count, misordered}, then counting starts
# afresh), echo (returns ARG0) and quit (shuts IKC down). Prints "port=N"
# once it listens on 127.0.0.1 (PORT, or 0 for one the system picks), so
# ikc-bench can talk to it:  ikc-bench oneway --codec storable --connect N
# usage: perl bench-server.pl [PORT]   (PERL5LIB must find POE::Component::IKC)
use strict; use warnings;
use POE; use POE::Component::IKC::Server; use POE::Component::IKC::Responder;
$| = 1;
my $port = shift || 0;
POE::Component::IKC::Responder->spawn;
$port = POE::Component::IKC::Server->spawn(port => $port, ip => '127.0.0.1', name => 'Bench');
print "port=$port\n";
my ($count, $next, $misordered) = (0, 0, 0);
POE::Session->create(inline_states => {
    _start => sub {
        $_[KERNEL]->alias_set('bench');
        $_[KERNEL]->call(IKC => 'publish', bench => [qw(sink ack done echo quit)]);
    },
    sink => sub {
        my $seq = $_[ARG0]{seq};
        $misordered++ unless defined $seq && $seq == $next;
        $next = defined $seq ? $seq + 1 : $next;
        $count++;
        return;
    },
    ack  => sub { $count },
    done => sub {
        my $r = { count => $count, misordered => $misordered };
        ($count, $next, $misordered) = (0, 0, 0);
        $r;
    },
    echo => sub { $_[ARG0] },
    quit => sub { $_[KERNEL]->alias_remove('bench'); $_[KERNEL]->post(IKC => 'shutdown'); return },
});
$poe_kernel->run;
