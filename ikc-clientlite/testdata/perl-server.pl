#!/usr/bin/perl
# A Perl IKC server for the interop tests: kernel 'Inet' (alias 'Ikc'),
# session 'test' publishing fetchQ (returns 42), add_1 (params [n, rsvp]:
# posts n+1 to rsvp), here (prints "here got ARG0" to stderr), echo
# (returns ARG0). It listens on 127.0.0.1, on PORT or (0, the default) a
# port the system picks, and prints "port N" on stdout once it listens.
# usage: perl perl-server.pl [PORT]   (PROTO=IKC|IKC0 in the environment, default IKC0)
use strict; use warnings;
use POE; use POE::Component::IKC::Server; use POE::Component::IKC::Responder;
$| = 1;
my $port = shift || 0;
POE::Component::IKC::Responder->spawn;
$port = POE::Component::IKC::Server->spawn(port => $port, ip => '127.0.0.1', name => 'Inet',
    aliases => ['Ikc'], protocol => ($ENV{PROTO} || 'IKC0'));
print "port $port\n";
POE::Session->create(inline_states => {
    _start => sub {
        $_[KERNEL]->alias_set('test');
        $_[KERNEL]->call(IKC => 'publish', test => [qw(fetchQ add_1 here echo)]);
    },
    fetchQ => sub { 42 },
    add_1  => sub { my ($a) = $_[ARG0]; $_[KERNEL]->post(IKC => 'post', $a->[1], $a->[0] + 1) },
    here   => sub { print STDERR "here got $_[ARG0]\n" },
    echo   => sub { $_[ARG0] },
});
$poe_kernel->run;
