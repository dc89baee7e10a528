# VACUUM moving the entry point while a walk is under way: an insert and a scan each read the
# entry point, then wait (a pause point of the test build) while VACUUM removes that element's
# row, moves the entry point to a live element and unlinks the old one. Resumed, the walk finds
# the old entry's lists gone; it must start again from the new entry point. Before the fix the
# insert linked its element to nothing (a live row no index scan returned) and the scan
# returned no row.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VectorSearchTest;

my $node = start_node('vacuum_entry_point', "autovacuum = off\n");
$node->safe_psql('postgres', PostgreSQL::Test::Utils::slurp_file("$FindBin::Bin/helpers.sql"));
$node->safe_psql('postgres', q{
CREATE FUNCTION hnsw_entry(regclass) RETURNS tid
  AS '$libdir/vectorsearch', 'vectorsearch_test_hnsw_entry' LANGUAGE C STRICT;
});

# Runs $sql in a session that pauses at $point; meanwhile deletes the entry point's row and
# vacuums; then lets the session go and returns its output.
sub walk_across_vacuum
{
	my ($tbl, $point, $sql) = @_;
	my $entry_id = $node->safe_psql('postgres',
		"SELECT id FROM $tbl WHERE ctid = hnsw_entry('${tbl}_hnsw')");
	$node->safe_psql('postgres', "DELETE FROM $tbl WHERE id = $entry_id");

	my $holder = hold_pauses($node);
	my $walker = start_psql($node, 'walker', "SET vectorsearch.test_pause = '$point'; $sql");
	wait_for_paused($node, 1, 'the walker');

	$node->safe_psql('postgres', "VACUUM (INDEX_CLEANUP ON) $tbl");
	my $moved = $node->safe_psql('postgres',
		"SELECT id FROM $tbl WHERE ctid = hnsw_entry('${tbl}_hnsw')");
	isnt($moved, '', "$tbl: VACUUM moved the entry point off the deleted row $entry_id");

	release_pauses($node, $holder);
	$walker->{h}->finish;
	is(${ $walker->{err} }, '', "$tbl: the walk paused at $point ended without an error");
	my $out = ${ $walker->{out} };
	chomp $out;
	return $out;
}

# Three rounds, each on a table of its own: a new element that happens to be drawn above the
# entry point becomes the entry point and is found however it was linked, so one round alone
# would not always catch the orphan.
for my $round (1 .. 3)
{
	my $tbl = "items$round";
	$node->safe_psql('postgres', qq{
CREATE TABLE $tbl (id bigint PRIMARY KEY, embedding vector(16));
INSERT INTO $tbl SELECT i, vec(i) FROM generate_series(1, 300) i;
CREATE INDEX ${tbl}_hnsw ON $tbl USING hnsw (embedding vector_l2_ops);
});

	walk_across_vacuum($tbl, 'hnsw_insert_walk',
		"INSERT INTO $tbl VALUES (1000, vec(1000))");
	is( $node->safe_psql('postgres', qq{
SET enable_seqscan = off;
SET hnsw.ef_search = 400;
SELECT id FROM $tbl ORDER BY embedding <-> vec(1000) LIMIT 1;
}),
		'1000',
		"$tbl: the row inserted across the VACUUM is found by its own vector");
	is( $node->safe_psql('postgres', qq{
SET enable_seqscan = off;
SET hnsw.ef_search = 400;
SELECT count(*) FROM self_lookup_failures('$tbl');
}),
		'0',
		"$tbl: every row is found by its own vector");

	my $rows = walk_across_vacuum($tbl, 'hnsw_scan_walk', qq{SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM $tbl ORDER BY embedding <-> vec(-5) LIMIT 10) s;});
	is($rows, '10', "$tbl: the scan paused across the VACUUM returns its 10 rows");
}

$node->stop;
done_testing();
