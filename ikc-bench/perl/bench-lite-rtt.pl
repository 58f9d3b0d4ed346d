#!/usr/bin/perl
# ikc-bench's lite-rtt scenario, written with Perl's ClientLite: N
# sequential calls of bench/echo with the payload, after WARMUP untimed
# ones; prints mean, p50 and p99 in microseconds. Works against
# ikc-bench's server or bench-server.pl. Posts bench/quit at the end.
# usage: perl bench-lite-rtt.pl PORT [N [WARMUP]]
use strict; use warnings;
use Time::HiRes qw(time);
use POE::Component::IKC::ClientLite;
my ($port, $n, $warmup) = @ARGV;
die "usage: $0 PORT [N [WARMUP]]\n" unless $port;
$n ||= 5000; $warmup //= 200;
my $poe = POE::Component::IKC::ClientLite->spawn(port => $port, ip => '127.0.0.1',
    name => "PerlLite$$", protocol => 'IKC0', serialiser => 'Storable', timeout => 30)
    or die "connect: $POE::Component::IKC::ClientLite::error\n";
my @times;
for my $seq (0 .. $warmup + $n - 1) {
    my $t = time;
    my $r = $poe->call('bench/echo', {seq => $seq, name => 'hello world', vals => [1, 2, 3]});
    my $dt = time - $t;
    die "call $seq: " . ($poe->error // 'no answer') . "\n" unless ref $r && $r->{seq} == $seq;
    push @times, $dt if $seq >= $warmup;
}
@times = sort { $a <=> $b } @times;
my $sum = 0; $sum += $_ for @times;
printf "lite-rtt impl=perl codec=Storable n=%d mean_us=%.1f p50_us=%.1f p99_us=%.1f\n",
    $n, 1e6 * $sum / $n, 1e6 * $times[int($n / 2)], 1e6 * $times[int($n * 99 / 100)];
$poe->post('poe://Bench/bench/quit', undef);
$poe->disconnect;
