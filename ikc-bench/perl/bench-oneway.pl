#!/usr/bin/perl
# ikc-bench's oneway scenario, written with Perl IKC: a POE client posts N
# payloads {seq => i, name => 'hello world', vals => [1,2,3]} to
# poe://Bench/bench/sink in batches (a call to bench/ack after each batch,
# at most WINDOW unanswered), then calls bench/done and checks the count.
# Works against ikc-bench's server or bench-server.pl.
# usage: perl bench-oneway.pl PORT [N [BATCH [WINDOW]]]
use strict; use warnings;
use Time::HiRes qw(time);
use POE; use POE::Component::IKC::Client; use POE::Component::IKC::Responder;
my ($port, $n, $batch, $window) = @ARGV;
die "usage: $0 PORT [N [BATCH [WINDOW]]]\n" unless $port;
$n ||= 100_000; $batch ||= 1000; $window ||= 4;
my ($sent, $unanswered, $start, $asked) = (0, 0, 0, 0);
POE::Component::IKC::Responder->spawn;
POE::Session->create(inline_states => {
    _start => sub {
        $_[KERNEL]->alias_set('driver');
        POE::Component::IKC::Client->spawn(port => $port, ip => '127.0.0.1', name => 'PerlBenchClient',
            protocol => 'IKC0', serializers => ['Storable'],
            on_connect => sub { $poe_kernel->post(driver => 'go') });
    },
    go => sub { $start = time; $_[KERNEL]->yield('more') },
    more => sub {
        my $k = $_[KERNEL];
        if ($sent == $n) {
            $k->post(IKC => 'call', 'poe://Bench/bench/done', undef, 'poe:/driver/finished') unless $asked++;
            return;
        }
        return if $unanswered >= $window;
        my $end = $sent + $batch; $end = $n if $end > $n;
        for my $seq ($sent .. $end - 1) {
            $k->call(IKC => 'post', 'poe://Bench/bench/sink', {seq => $seq, name => 'hello world', vals => [1, 2, 3]});
        }
        $sent = $end;
        if ($sent < $n) {
            $k->call(IKC => 'call', 'poe://Bench/bench/ack', undef, 'poe:/driver/acked');
            $unanswered++;
        }
        $k->yield('more');
    },
    acked => sub { $unanswered--; $_[KERNEL]->yield('more') },
    finished => sub {
        my $secs = time - $start;
        my $r = $_[ARG0];
        die "the server counted $r->{count} of $n posts, $r->{misordered} out of order\n"
            unless $r->{count} == $n && $r->{misordered} == 0;
        printf "oneway impl=perl codec=Storable n=%d secs=%.3f msgs_per_sec=%d\n", $n, $secs, $n / $secs;
        $_[KERNEL]->call(IKC => 'post', 'poe://Bench/bench/quit', undef);
        $_[KERNEL]->alias_remove('driver');
        $_[KERNEL]->post(IKC => 'shutdown');
    },
});
$poe_kernel->run;
