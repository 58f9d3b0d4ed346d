#!/usr/bin/perl
# A Perl POE IKC client as a leaf of a Rust mesh: it connects to one Rust
# kernel and reaches kernel FAR two Rust hops away through it (a post, a
# call with an RSVP), and answers FAR's post and call (greet, twice).
# usage: perl mesh-client.pl PORT FAR
use strict; use warnings;
use POE; use POE::Component::IKC::Client; use POE::Component::IKC::Responder;
my ($port, $far) = @ARGV;
$| = 1;
POE::Component::IKC::Responder->spawn;
my %seen;
POE::Session->create(inline_states=>{
  _start=>sub { $_[KERNEL]->alias_set('me');
     $_[KERNEL]->call(IKC=>'publish', me=>[qw(reply greet twice)]);
     $_[KERNEL]->post(IKC=>'monitor', '*'=>{error=>'err'});
     POE::Component::IKC::Client->spawn(port=>$port, name=>'PerlLeaf', protocol=>'IKC0',
        serializers=>['Storable'], on_connect=>sub { $poe_kernel->post(me=>'go') }); },
  err=>sub { print "monitor error $_[ARG4]: $_[ARG5]\n" },
  go=>sub { my $k=$_[KERNEL];
     print "connected\n";
     $k->post(IKC=>'post', "poe://$far/node/hello", 'from-perl');
     $k->post(IKC=>'call', "poe://$far/node/echo", 'perl-call', 'poe:/me/reply'); },
  reply=>sub { print "reply: $_[ARG0]\n"; $seen{reply}++; $_[KERNEL]->yield('maybe_bye') },
  greet=>sub { print "greet: $_[ARG0]\n"; $seen{greet}++; $_[KERNEL]->yield('maybe_bye') },
  twice=>sub { print "twice: $_[ARG0]\n"; $seen{twice}++; $_[KERNEL]->yield('maybe_bye'); return 2 * $_[ARG0] },
  maybe_bye=>sub { return unless $seen{reply} && $seen{greet} && $seen{twice};
     $_[KERNEL]->delay(bye=>0.5) },
  bye=>sub { print "bye\n"; $_[KERNEL]->post(IKC=>'shutdown') },
});
$poe_kernel->run;
