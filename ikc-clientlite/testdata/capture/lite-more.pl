#!/usr/bin/perl
# Perl's ClientLite doing what the ikc-clientlite golden tests replay:
# ping, a call in list context, a call to a state that is not published
# (the server answers with an error report), a post.
# usage: perl lite-more.pl PORT [PROTOCOL [FREEZER]]
use strict; use warnings;
use POE::Component::IKC::ClientLite;
my ($port, $proto, $ser) = @ARGV;
my $poe = POE::Component::IKC::ClientLite->spawn(port => $port, name => 'LiteClient',
    protocol => ($proto || 'IKC'), serialiser => ($ser || 'Storable'), timeout => 5)
    or die $POE::Component::IKC::ClientLite::error;
print "ping=", ($poe->ping ? 1 : 0), "\n";
my @list = $poe->call('test/echo' => [1, 'two']);
print "list=", scalar(@list), " first=", ref($list[0]), "\n";
my $none = $poe->call('test/nothere' => 5);
print "nothere=", (defined $none ? $none : 'undef'), " error=", ($poe->error =~ /^ARRAY/ ? 'ARRAY' : $poe->error), "\n";
$poe->post('test/here' => 1) or die $poe->error;
$poe->disconnect;
print "done\n";
