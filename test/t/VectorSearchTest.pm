# Perl helpers shared by the TAP tests in test/t (the SQL ones are in helpers.sql).
package VectorSearchTest;
use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

our @EXPORT = qw(index_types index_type create_index_sql widen_sql start_node start_psql check_index
  insert_and_find hold_pauses wait_for_paused release_pauses read_block write_at);

# The index access methods the generic TAP tests (001, 002, 003, 006) run against, one round each;
# adding an access method here runs them on it. Per access method:
#   with, other_with  two WITH clauses for the tests' indexes (two page layouts)
#   widen             the settings that widen a scan, each set to the same count n (more
#                     candidates: more recall, more cost); lsh probes n buckets per table (all of
#                     them in the tests' tables) and re-ranks n entries, since more candidates
#                     alone do not reach rows in buckets the target recall's probes leave out
#   insert_pause      a pause point (src/pg/test_hooks.h) in an insert after its index changes are
#                     WAL-logged, before it commits (lsh: after the first table's, the others' to come)
#   scan_pause        a pause point in a scan's search
#   build_pause       a pause point where a parallel build's leader and workers load rows
# VS_INDEX_TYPES (comma-separated names) picks some of them; all by default.
my %INDEX_TYPES = (
	hnsw => {
		with => 'm = 16, ef_construction = 64',
		other_with => 'm = 8, ef_construction = 40',
		widen => ['hnsw.ef_search'],
		insert_pause => 'hnsw_insert_linked',
		scan_pause => 'hnsw_scan_walk',
		build_pause => 'hnsw_build_tuple',
	},
	lsh => {
		# shape_rows below the tests' tables (2,000 and 3,000 rows), so that their indexes are
		# shaped (hash tables) and an index built on an empty table is not
		with => 'shape_rows = 1000',
		other_with => 'shape_rows = 1000, tables = 4',
		widen => [ 'lsh.candidates', 'lsh.probes' ],
		insert_pause => 'lsh_insert_table',
		scan_pause => 'lsh_scan_probe',
		build_pause => 'lsh_build_hash',
	});

sub index_types
{
	my @names = $ENV{VS_INDEX_TYPES} ? split(/,/, $ENV{VS_INDEX_TYPES}) : sort keys %INDEX_TYPES;
	index_type($_) for @names;
	return @names;
}

# the entry of %INDEX_TYPES for $am
sub index_type
{
	my ($am) = @_;
	return $INDEX_TYPES{$am} // die "unknown index type $am (known: " . join(', ', sort keys %INDEX_TYPES) . ')';
}

# CREATE INDEX ${tbl}_$am (the name the helpers expect; $opt{name} another) on $tbl's column
# embedding with $opt{opclass} (vector_l2_ops), and the WITH clause $opt{options} names in the
# type's entry ('with', 'other_with'; none: the access method's defaults)
sub create_index_sql
{
	my ($am, $tbl, %opt) = @_;
	my $name = $opt{name} // "${tbl}_$am";
	my $opclass = $opt{opclass} // 'vector_l2_ops';
	my $with = defined $opt{options} ? ' WITH (' . index_type($am)->{ $opt{options} } . ')' : '';
	return "CREATE INDEX $name ON $tbl USING $am (embedding $opclass)$with;";
}

# SET of $am's widen settings to $n, so that a scan considers $n candidates
sub widen_sql
{
	my ($am, $n) = @_;
	return join(' ', map { "SET $_ = $n;" } @{ index_type($am)->{widen} });
}

# a started node named $name: init(%init), then $conf appended to postgresql.conf
sub start_node
{
	my ($name, $conf, %init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%init);
	$node->append_conf('postgresql.conf', $conf);
	$node->start;
	return $node;
}

# psql in the background on database postgres, running $sql (psql -c: one statement, sent at
# once) and stopping at the first error; $conn_extra is appended to the connection string.
# Returns { h, out, err, name }.
sub start_psql
{
	my ($node, $name, $sql, $conn_extra) = @_;
	my ($out, $err) = ('', '');
	my $connstr = $node->connstr('postgres');
	$connstr .= " $conn_extra" if defined $conn_extra;
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $connstr, '-c', $sql ],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return { h => $h, out => \$out, err => \$err, name => $name };
}

# Checks of the index ${tbl}_$opt{index_type} (hnsw by default; L2): vectorsearch_check_index
# finds it sound and every row of $tbl in it (heapallindexed); the planner picks it; rows of $tbl
# are found by their own vector with the type's widen settings at $opt{ef_search} (400 by
# default; every row, or those the WHERE clause $opt{sample} selects); the index agrees with a
# sequential scan for 20 queries with that setting at 400.
sub check_index
{
	my ($node, $label, $tbl, %opt) = @_;
	my $am = $opt{index_type} // 'hnsw';
	my $widen = $opt{ef_search} // 400;
	my $sample = $opt{sample};

	my $checked = "${tbl}_$am";
	my ($check_status, $check_out, $check_err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT vectorsearch_check_index('$checked', true)");
	is("$check_status$check_err", '0',
		"$label: vectorsearch_check_index finds $checked sound, every row of $tbl in it");

	like(
		$node->safe_psql('postgres', qq{
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM $tbl ORDER BY embedding <-> vec(-1) LIMIT 10;
}),
		qr/Index Scan using $checked on $tbl/,
		"$label: lookups on $tbl go through the $am index");

	my $where = defined $sample ? " WHERE $sample" : '';
	my $sample_arg = defined $sample ? ", '$sample'" : '';
	my $rows = $node->safe_psql('postgres', "SELECT count(*) FROM $tbl$where");
	is( $node->safe_psql('postgres', qq{
SET enable_seqscan = off;
@{[ widen_sql($am, $widen) ]}
SELECT count(*) || coalesce(': ' || string_agg(format('%s (found %s at %s)', missing_id, found_id, found_distance), ', '), '')
FROM self_lookup_failures('$tbl'$sample_arg);
}),
		'0',
		"$label: each of the $rows " . (defined $sample ? 'sampled ' : '')
		  . "rows of $tbl is found by its own vector");

	is( $node->safe_psql('postgres', qq{
@{[ widen_sql($am, 400) ]}
SELECT count(*) FILTER (WHERE same_as_seqscan('$tbl', vec(-i), 10)) FROM generate_series(1, 20) i;
}),
		'20',
		"$label: on $tbl the index agrees with a sequential scan, " . join(' and ', @{ index_type($am)->{widen} }) . ' at 400');
	return;
}

# inserts rows $from .. $to (vec(id)) into $tbl, then returns the id the index finds nearest to
# vec($probe)
sub insert_and_find
{
	my ($node, $tbl, $from, $to, $probe) = @_;
	return $node->safe_psql('postgres', qq{
INSERT INTO $tbl SELECT i, vec(i) FROM generate_series($from, $to) i;
SET enable_seqscan = off;
SELECT id FROM $tbl ORDER BY embedding <-> vec($probe) LIMIT 1;
});
}

# The pause points of the test build (src/pg/test_hooks.h) wait for advisory lock 7. hold_pauses
# starts a session that holds it; wait_for_paused returns once $n sessions wait at pause points
# ($what names them in the error otherwise); release_pauses ends the holding session's backend
# (which would outlive its killed psql) and waits until the lock is free, so the paused ones go on.
sub hold_pauses
{
	my ($node) = @_;
	my $holder = start_psql($node, 'pause holder', 'SELECT pg_advisory_lock(7); SELECT pg_sleep(3600);',
		'application_name=pause_holder');
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_locks WHERE locktype = 'advisory' AND granted")
	  or die 'the pause holder did not take its lock';
	return $holder;
}

sub wait_for_paused
{
	my ($node, $n, $what) = @_;
	$node->poll_query_until('postgres',
		"SELECT count(*) = $n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
	  or die "$what did not reach the pause point";
	return;
}

sub release_pauses
{
	my ($node, $holder) = @_;
	$node->safe_psql('postgres',
		"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'pause_holder'");
	$holder->{h}->kill_kill;
	$node->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_locks WHERE locktype = 'advisory' AND granted")
	  or die 'the pause holder did not let go';
	return;
}

# Block $block of the relation file $file, and $bytes written into one at $offset: for tests
# that damage an index on disk, with the server stopped.
sub read_block
{
	my ($file, $block) = @_;
	open my $fh, '<:raw', $file or die "open $file: $!";
	seek $fh, $block * 8192, 0;
	read($fh, my $page, 8192);
	close $fh;
	return $page;
}

sub write_at
{
	my ($file, $block, $offset, $bytes) = @_;
	open my $fh, '+<:raw', $file or die "open $file: $!";
	seek $fh, $block * 8192 + $offset, 0;
	print $fh $bytes;
	close $fh;
	return;
}

1;
