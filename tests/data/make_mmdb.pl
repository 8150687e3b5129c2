#!/usr/bin/perl
#
# make_mmdb.pl - write small MaxMind DB files for the geo layer's tests
#
# Builds a GeoLite2-Country-layout database and a GeoLite2-ASN-layout
# database from a plain text spec, with MaxMind::DB::Writer (Debian's
# libmaxmind-db-writer-perl), so no binary database is ever committed.
#
# Usage:
#   make_mmdb.pl [--spec FILE]... [--entry LINE]... [--ip-version 4|6]
#       [--country-type TYPE] [--asn-type TYPE]
#       [--country OUT.mmdb] [--asn OUT.mmdb]
#
# Spec lines ('#' starts a comment, blank lines are ignored):
#   country    NETWORK CC        country and registered_country = CC
#   registered NETWORK CC        registered_country only (fallback path)
#   asn        NETWORK NUMBER [ORGANISATION...]
# NETWORK is CIDR (IPv4 or IPv6). Networks are inserted shortest prefix
# first, so a /32 inside a /24 keeps its own data whatever the spec order.
# Defaults: ip_version 6 with IPv4 aliased (::ffff:0:0/96 and friends reach
# the IPv4 subtree, so v4, v4-mapped and v6 lookups all work), record_size
# 24, database types "GeoLite2-Country" and "GeoLite2-ASN". Reserved
# networks (loopback, documentation ranges) are kept: the tests use only
# those. With --ip-version 4 the database is IPv4-only and IPv6 entries
# are an error.
#
# Trust: the spec is test data. Exit status 0 on success, 2 on a usage or
# spec error, 3 when the Perl module is missing; the writer's own refusals
# (say, a network inside an aliased IPv6 range) die with its message.
use strict;
use warnings;

use Getopt::Long qw(GetOptions);

BEGIN {
	unless (eval { require MaxMind::DB::Writer::Tree; 1 }) {
		print STDERR "make_mmdb.pl: Perl module MaxMind::DB::Writer::Tree"
		    . " is missing; install libmaxmind-db-writer-perl"
		    . " (ops/bootstrap does)\n";
		exit 3;
	}
}

my (@specs, @entries, $country_out, $asn_out);
my $ip_version   = 6;
my $country_type = 'GeoLite2-Country';
my $asn_type     = 'GeoLite2-ASN';

sub usage {
	print STDERR "make_mmdb.pl: @_\n" if @_;
	print STDERR "usage: make_mmdb.pl [--spec FILE]... [--entry LINE]..."
	    . " [--ip-version 4|6] [--country-type T] [--asn-type T]"
	    . " [--country OUT] [--asn OUT]\n";
	exit 2;
}

GetOptions(
	'spec=s'         => \@specs,
	'entry=s'        => \@entries,
	'ip-version=i'   => \$ip_version,
	'country-type=s' => \$country_type,
	'asn-type=s'     => \$asn_type,
	'country=s'      => \$country_out,
	'asn=s'          => \$asn_out,
) or usage();
usage('extra arguments: ' . join(' ', @ARGV)) if @ARGV;
usage('nothing to write: give --country and/or --asn')
    unless defined $country_out || defined $asn_out;
usage("--ip-version must be 4 or 6") unless $ip_version == 4 || $ip_version == 6;

# read every spec line, remembering where it came from
my @lines;
for my $file (@specs) {
	open my $fh, '<', $file or usage("cannot read $file: $!");
	while (my $l = <$fh>) {
		push @lines, [ $l, "$file:$." ];
	}
	close $fh;
}
my $n = 0;
push @lines, map { [ $_, 'entry ' . ++$n ] } @entries;

my (@country, @asn);
for my $ent (@lines) {
	my ($l, $where) = @$ent;
	$l =~ s/#.*//;
	$l =~ s/^\s+|\s+$//g;
	next if $l eq '';
	my ($kind, $net, @rest) = split /\s+/, $l;
	usage("$where: no network") unless defined $net;
	my $plen = net_plen($net, $where);
	if ($kind eq 'country' || $kind eq 'registered') {
		usage("$where: expected '$kind NETWORK CC'")
		    unless @rest == 1 && $rest[0] =~ /^[A-Za-z]{2}$/;
		my $cc   = uc $rest[0];
		my $name = { iso_code => $cc, names => { en => "Country $cc" } };
		my %data = (registered_country => $name);
		$data{country} = $name if $kind eq 'country';
		push @country, [ $net, $plen, \%data ];
	} elsif ($kind eq 'asn') {
		usage("$where: expected 'asn NETWORK NUMBER [ORG]'")
		    unless @rest >= 1 && $rest[0] =~ /^[0-9]{1,10}$/
		    && $rest[0] >= 1 && $rest[0] <= 4294967295;
		my $num = 0 + shift @rest;
		my $org = @rest ? join(' ', @rest) : "Test AS$num";
		push @asn, [ $net, $plen,
		    { autonomous_system_number => $num,
		      autonomous_system_organization => $org } ];
	} else {
		usage("$where: unknown kind '$kind' (country, registered, asn)");
	}
}

# net_plen - a prefix length on the 128-bit scale, for insertion order
sub net_plen {
	my ($net, $where) = @_;
	if ($net =~ m{^\d+\.\d+\.\d+\.\d+/(\d+)$} && $1 <= 32) {
		return 96 + $1;
	}
	if ($net =~ m{^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*/(\d+)$} && $1 <= 128) {
		usage("$where: IPv6 network $net in an IPv4 database")
		    if $ip_version == 4;
		return $1;
	}
	usage("$where: '$net' is not a CIDR network");
}

my %types = (
	country                        => 'map',
	registered_country             => 'map',
	names                          => 'map',
	iso_code                       => 'utf8_string',
	en                             => 'utf8_string',
	autonomous_system_number       => 'uint32',
	autonomous_system_organization => 'utf8_string',
);

# write_db - one database of type $type holding @$nets, to $out
sub write_db {
	my ($out, $type, $nets) = @_;
	my $tree = MaxMind::DB::Writer::Tree->new(
		ip_version               => $ip_version,
		record_size              => 24,
		database_type            => $type,
		languages                => ['en'],
		description              => { en => "mxsentry test $type" },
		map_key_type_callback    => sub { $types{ $_[0] } },
		merge_strategy           => 'none',
		alias_ipv6_to_ipv4       => $ip_version == 6 ? 1 : 0,
		remove_reserved_networks => 0,
	);
	for my $e (sort { $a->[1] <=> $b->[1] } @$nets) {
		$tree->insert_network($e->[0], $e->[2]);
	}
	open my $fh, '>:raw', $out or die "make_mmdb.pl: cannot write $out: $!\n";
	$tree->write_tree($fh);
	close $fh or die "make_mmdb.pl: cannot write $out: $!\n";
}

write_db($country_out, $country_type, \@country) if defined $country_out;
write_db($asn_out, $asn_type, \@asn) if defined $asn_out;
exit 0;
