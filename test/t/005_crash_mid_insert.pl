# A crash in the middle of an insert, at each step of it: an inserting session stops at a pause
# point of the test build (its slot reserved; its element written, before it is linked; linked,
# before it is marked valid) and the server is stopped in immediate mode, both into an empty
# index (whose first element becomes the entry point) and into a built one. After recovery the
# index must take more inserts, a VACUUM that frees the crashed element's slot, and inserts that
# reuse it, and still find every committed row by its own vector and agree with a sequential
# scan, also once its pages were written out and read back. The WAL of each step must come in dependency order: a slot and its upper tuple are
# logged before the element that uses them, and the element before the entry point naming it.
# The interrupted element is given level 2, so that it has an upper tuple for certain.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VectorSearchTest;

my $node = start_node('crash_mid_insert', "autovacuum = off\n");
$node->safe_psql('postgres', PostgreSQL::Test::Utils::slurp_file("$FindBin::Bin/helpers.sql"));

my $round = 0;
for my $point (qw(hnsw_insert_reserved hnsw_insert_walk hnsw_insert_linked))
{
	for my $start_rows (0, 500)
	{
		$round++;
		my $tbl = "items$round";
		my $label = "$point, $start_rows rows before";
		$node->safe_psql('postgres', qq{
CREATE TABLE $tbl (id bigint PRIMARY KEY, embedding vector(16));
INSERT INTO $tbl SELECT i, vec(i) FROM generate_series(1, $start_rows) i;
CREATE INDEX ${tbl}_hnsw ON $tbl USING hnsw (embedding vector_l2_ops);
});
		my $holder = hold_pauses($node);
		my $inserter = start_psql($node, 'inserter',
			"SET vectorsearch.test_pause = '$point'; SET vectorsearch.test_level = 2; INSERT INTO $tbl VALUES (100000, vec(100000));");
		wait_for_paused($node, 1, "the inserter");
		$node->stop('immediate');
		$holder->{h}->kill_kill;
		$inserter->{h}->kill_kill;
		$node->start;

		is($node->safe_psql('postgres', "SELECT count(*) FROM $tbl WHERE id = 100000"),
			'0', "$label: the interrupted insert's row is gone");
		$node->safe_psql('postgres',
			"INSERT INTO $tbl SELECT i, vec(i) FROM generate_series($start_rows + 1, $start_rows + 300) i");
		check_index($node, "$label: after recovery and 300 inserts", $tbl, ef_search => 400);
		$node->safe_psql('postgres', qq{
DELETE FROM $tbl WHERE id % 2 = 0;
VACUUM (INDEX_CLEANUP ON) $tbl;
INSERT INTO $tbl SELECT i, vec(i) FROM generate_series(200001, 200300) i;
});
		check_index($node, "$label: after VACUUM and inserts into the freed slots", $tbl, ef_search => 400);
		# every page, written out and read back, must pass PostgreSQL's page checks
		$node->restart;
		check_index($node, "$label: after a clean restart", $tbl, ef_search => 400);
	}
}

$node->stop;
done_testing();
