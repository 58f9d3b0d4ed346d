#!/usr/bin/perl
# POE client: cli2.pl PORT PROTOCOL SERIALIZER... ; posts one event after connecting, then shuts down.
use strict; use warnings;
use POE; use POE::Component::IKC::Client; use POE::Component::IKC::Responder;
my ($port, $proto, @ser) = @ARGV;
POE::Component::IKC::Responder->spawn;
POE::Session->create(inline_states=>{
  _start=>sub { $_[KERNEL]->alias_set('me');
     POE::Component::IKC::Client->spawn(ip=>'127.0.0.1', port=>$port, name=>'Cli2', aliases=>['Two'], protocol=>$proto, serializers=>[@ser],
        on_connect=>sub { $poe_kernel->post(me=>'go') }); },
  go=>sub { $_[KERNEL]->post(IKC=>'post', 'poe://srv-id/test/here', 'hi'); $_[KERNEL]->delay(bye=>0.5) },
  bye=>sub { $_[KERNEL]->post(IKC=>'shutdown') },
});
$poe_kernel->run;
