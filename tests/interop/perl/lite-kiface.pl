#!/usr/bin/perl
# Perl's ClientLite against a server with session `who` (issue 13): calls
# who/whoami (published: answers what it knows of its SENDER), who/hidden
# (not published: runs only in no-publish mode) and who/secret (refused by
# the hook), printing each answer, or 'remote_error' when IKC refused it.
# usage: perl lite-kiface.pl PORT [FREEZER]
use strict; use warnings;
use POE::Component::IKC::ClientLite;
my ($port, $ser) = @ARGV;
my $poe = POE::Component::IKC::ClientLite->spawn(port => $port, name => 'PerlLite',
    serialiser => ($ser || 'Storable'), timeout => 10)
    or die $POE::Component::IKC::ClientLite::error;
for my $state (qw(whoami hidden secret)) {
    my $r = $poe->call("who/$state" => 'x');
    if (defined $r) {
        print "$state=$r\n";
    } else {
        # ClientLite dies with the remote_error's params stringified (an
        # array reference), as it does against Perl's own server.
        my $e = $poe->error; $e =~ s/\s+\z//;
        print "$state error: ", ($e =~ /^ARRAY\(/ ? 'remote_error' : $e), "\n";
    }
}
$poe->disconnect;
print "done\n";
