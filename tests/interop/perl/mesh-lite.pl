#!/usr/bin/perl
# Perl's ClientLite as a leaf of a Rust mesh: it connects to one Rust
# kernel and calls and posts to kernel FAR two Rust hops away.
# usage: perl mesh-lite.pl PORT FAR
use strict; use warnings;
use POE::Component::IKC::ClientLite;
my ($port, $far) = @ARGV;
$| = 1;
my $poe = POE::Component::IKC::ClientLite->spawn(port => $port, name => 'PerlLite',
    protocol => 'IKC0', serialiser => 'Storable', timeout => 20)
    or die $POE::Component::IKC::ClientLite::error;
my $r = $poe->call("poe://$far/node/echo" => 'lite-call') or die $poe->error;
print "echo=$r\n";
$poe->post("poe://$far/node/hello" => 'from-lite') or die $poe->error;
$r = $poe->call("poe://$far/node/echo" => 'lite-again') or die $poe->error;
print "echo=$r\n";
$poe->disconnect;
print "done\n";
