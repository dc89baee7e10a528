# Cancelling index work, for each index type (VectorSearchTest::index_types, a node each): a scan
# stopped by pg_cancel_backend during its search (held at the type's scan_pause, hnsw_scan_walk
# for hnsw, so the cancel lands inside the scan for certain) fails with SQLSTATE 57014, and the
# session and the index are usable afterwards; a parallel build cancelled while its leader and
# its worker both load rows (held at the type's build_pause, hnsw_build_tuple) fails the same way,
# leaves no worker and no index behind, and builds again afterwards.
use strict;
use warnings;

use FindBin;
use IPC::Run;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VectorSearchTest;

my ($am, $node);    # the index type of this round, and its node

# psql in the background reading statements from ${ $s->{in} } as they are appended, with
# VERBOSITY verbose, so that an error shows its SQLSTATE
sub start_interactive_psql
{
	my ($application_name) = @_;
	my ($in, $out, $err) = ("\\set VERBOSITY verbose\n", '', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres') . " application_name=$application_name" ],
		'<', \$in, '>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return { h => $h, in => \$in, out => \$out, err => \$err };
}

# IPC::Run writes input only while it is pumped: this returns once psql has read all of it
sub feed
{
	my ($s) = @_;
	$s->{h}->pump while length ${ $s->{in} };
	return;
}

sub sqlstate_of
{
	my ($s) = @_;
	return ${ $s->{err} } =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : "none in: ${ $s->{err} }";
}

for my $index_type (index_types())
{
	$am = $index_type;
	$node = start_node("cancel_$am", "autovacuum = off\n");
	$node->safe_psql('postgres', PostgreSQL::Test::Utils::slurp_file("$FindBin::Bin/helpers.sql"));
	$node->safe_psql('postgres', qq{
CREATE TABLE items (id bigint PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT i, vec(i) FROM generate_series(1, 2000) i;
@{[ create_index_sql($am, 'items') ]}
ANALYZE items;
});
	my %pause = (scan => index_type($am)->{scan_pause}, build => index_type($am)->{build_pause});

	# 1. a scan cancelled in the middle of its search; the same session then scans again
	my $holder = hold_pauses($node);
	my $scanner = start_interactive_psql('scanner');
	${ $scanner->{in} } .= qq{SET enable_seqscan = off;
SET vectorsearch.test_pause = '$pause{scan}';
SELECT id FROM items ORDER BY embedding <-> vec(-1) LIMIT 10;
};
	feed($scanner);
	wait_for_paused($node, 1, 'the scan');
	is( $node->safe_psql('postgres',
			"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'scanner'"),
		't', 'cancel sent to the scanning backend');
	$scanner->{h}->pump until ${ $scanner->{err} } =~ /ERROR/;
	is(sqlstate_of($scanner), '57014', 'the cancelled scan fails with 57014');
	release_pauses($node, $holder);
	${ $scanner->{in} } .= qq{RESET vectorsearch.test_pause;
@{[ widen_sql($am, 400) ]}
SELECT 'agrees:' || count(*) FILTER (WHERE same_as_seqscan('items', vec(-i), 10)) FROM generate_series(1, 20) i;
};
	$scanner->{h}->pump until ${ $scanner->{out} } =~ /agrees:\d+/;
	like(${ $scanner->{out} }, qr/agrees:20/, 'the session that was cancelled scans the index again, exactly');
	${ $scanner->{in} } .= "\\q\n";
	$scanner->{h}->finish;
	check_index($node, 'after a cancelled scan', 'items', index_type => $am);

	# 2. a parallel build cancelled while the leader and its worker load rows
	$node->safe_psql('postgres', q{
CREATE TABLE big (id bigint PRIMARY KEY, embedding vector(16)) WITH (parallel_workers = 1);
INSERT INTO big SELECT i, vec(i) FROM generate_series(1, 20000) i;
ANALYZE big;
});
	$holder = hold_pauses($node);
	my $builder = start_interactive_psql('builder');
	${ $builder->{in} } .= qq{SET max_parallel_maintenance_workers = 1;
SET maintenance_work_mem = '256MB';
SET vectorsearch.test_pause = '$pause{build}';
@{[ create_index_sql($am, 'big') ]}
};
	feed($builder);
	wait_for_paused($node, 2, 'the leader and its parallel worker');
	pass('the leader and its parallel worker both load rows');
	is( $node->safe_psql('postgres',
			"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'builder' AND backend_type = 'client backend'"),
		't', 'cancel sent to the building backend');
	$builder->{h}->pump until ${ $builder->{err} } =~ /ERROR/;
	is(sqlstate_of($builder), '57014', 'the cancelled build fails with 57014');
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'parallel worker'"),
		'no parallel worker is left');
	is($node->safe_psql('postgres', "SELECT count(*) FROM pg_class WHERE relname = 'big_$am'"),
		'0', 'the cancelled build left no index');
	release_pauses($node, $holder);
	${ $builder->{in} } .= qq{RESET vectorsearch.test_pause;
@{[ create_index_sql($am, 'big') ]}
SELECT 'built';
};
	$builder->{h}->pump until ${ $builder->{out} } =~ /built/;
	${ $builder->{in} } .= "\\q\n";
	$builder->{h}->finish;
	check_index($node, 'after a cancelled parallel build and a second one', 'big',
		index_type => $am,
		sample => 'id % 50 = 0');

	my $log = slurp_file($node->logfile);
	unlike($log, qr/PANIC|TRAP:|terminated by signal|leak/, 'no PANIC, crash or leak warning in the server log');

	$node->stop;
}

done_testing();
