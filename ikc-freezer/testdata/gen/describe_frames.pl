#!/usr/bin/perl
# Adds `expected`: what Perl itself thaws each payload to (Storable::thaw,
# or IKC's Freezer: eval of the Dumper text), in the value description of
# codec-fixtures.jsonl. Usage: describe_frames.pl < frames-raw.jsonl
use strict;
use warnings;
use B ();
use JSON::PP ();
use Storable ();

my $json = JSON::PP->new->canonical->utf8;

sub describe {
    my ($v) = @_;
    return { undef => undef } unless defined $v;
    if (my $class = Scalar::Util::blessed($v)) {
        return { blessed => [ $class, describe_ref($v) ] };
    }
    return describe_ref($v) if ref $v;
    my $flags = B::svref_2object(\$v)->FLAGS;
    return { int => "$v" } if ($flags & B::SVf_IOK) && !($flags & B::SVf_POK);
    return { num => "$v" } if ($flags & B::SVf_NOK) && !($flags & B::SVf_POK);
    return { str => $v } if utf8::is_utf8($v);
    return { bytes => unpack('H*', $v) };
}

# A key is a JSON string, unless it is bytes beyond ASCII without the
# UTF-8 flag: then {"bytes": hex}.
sub describe_key {
    my ($k) = @_;
    return $k if utf8::is_utf8($k) || $k !~ /[^\x00-\x7f]/;
    return { bytes => unpack('H*', $k) };
}

sub describe_ref {
    my ($r) = @_;
    my $type = Scalar::Util::reftype($r);
    return { array => [ map { describe($_) } @$r ] } if $type eq 'ARRAY';
    return { hash => [ map { [ describe_key($_), describe($r->{$_}) ] } sort keys %$r ] }
        if $type eq 'HASH';
    return { ref => describe($$r) } if $type eq 'SCALAR' || $type eq 'REF';
    die "cannot describe $type";
}

use Scalar::Util ();
while (my $line = <STDIN>) {
    my $frame = $json->decode($line);
    my $payload = pack('H*', $frame->{payload_hex});
    my $value;
    if ($frame->{codec} eq 'Storable') {
        $value = Storable::thaw($payload);
    } else {
        no strict 'vars';
        local $POE::Component::IKC::Freezer::VAR1;
        eval $payload;
        die $@ if $@;
        $value = $POE::Component::IKC::Freezer::VAR1;
    }
    $frame->{expected} = describe($value);
    print $json->encode($frame), "\n";
}
