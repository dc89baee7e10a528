# Crash recovery of the indexes of each index type (VectorSearchTest::index_types, a node each):
# the build's WAL (log_newpage_range, or none at all under wal_level = minimal), GenericXLog
# inserts interrupted by a kill -9 of the inserting backend and by an immediate shutdown, replayed
# into an index that still finds every committed row, agrees with a sequential scan when its scan
# is widened, and takes more inserts, deletes and VACUUM. Unlogged tables come back empty with a
# usable index (their init fork).
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VectorSearchTest;

my ($am, $node);    # the index type of this round, and its node

# Every check after a crash: the planner picks the index; rows are found by their own vector at
# ef_search 100 (about 200 sampled ones plus every row above $recent_from); the index agrees with
# a sequential scan for 20 queries at ef_search 400.
sub check_items
{
	my ($label, $recent_from) = @_;
	check_index($node, $label, 'items',
		index_type => $am,
		ef_search => 100,
		sample => "id % 16 = 0 OR id > $recent_from");
	return;
}

# An inserter in the background: one row per transaction from id $from on, until killed.
sub start_inserter
{
	my ($from) = @_;
	return start_psql($node, 'inserter', qq{DO \$\$ BEGIN
  FOR i IN $from .. $from + 1000000 LOOP
    INSERT INTO items VALUES (i, vec(i));
    COMMIT;
  END LOOP;
END \$\$;}, 'application_name=inserter');
}

sub wait_for_rows
{
	my ($from, $n) = @_;
	$node->poll_query_until('postgres', "SELECT count(*) >= $n FROM items WHERE id >= $from")
	  or die "the inserter did not get to $n rows";
	return $node->safe_psql('postgres', "SELECT count(*) FROM items WHERE id >= $from");
}

sub finish_quietly
{
	my ($s) = @_;
	eval { $s->{h}->finish; };
	return;
}

for my $index_type (index_types())
{
	$am = $index_type;
	# wal_level = minimal at first: the build is synced at commit, not logged
	$node = start_node("crash_$am", "shared_buffers = 4MB\n");
	$node->safe_psql('postgres', PostgreSQL::Test::Utils::slurp_file("$FindBin::Bin/helpers.sql"));
	$node->safe_psql('postgres', qq{
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT i, vec(i) FROM generate_series(1, 3000) i;
@{[ create_index_sql($am, 'items', options => 'with') ]}
ANALYZE items;
CREATE UNLOGGED TABLE scratch (id int, embedding vector(16));
INSERT INTO scratch SELECT i, vec(i) FROM generate_series(1, 500) i;
@{[ create_index_sql($am, 'scratch') ]}
});
	# inserts after the build, WAL-logged one by one
	$node->safe_psql('postgres',
		'INSERT INTO items SELECT i, vec(i) FROM generate_series(3001, 3200) i');

	# 1. wal_level = minimal: the build and 200 inserts, then an immediate shutdown.
	$node->stop('immediate');
	$node->start;
	check_items('wal_level minimal, immediate shutdown after build and inserts', 3000);
	is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), '3200', 'all 3200 rows are there');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM scratch'), '0', 'the unlogged table was reset');
	is(insert_and_find($node, 'scratch', 1, 300, 77),
		'77', 'the reset unlogged index takes inserts and finds them');

	# 2. wal_level = replica from here on, and the postmaster reinitializes after a backend crash.
	$node->append_conf('postgresql.conf',
		"wal_level = replica\nmax_wal_senders = 2\nrestart_after_crash = on\n");
	$node->restart;
	$node->safe_psql('postgres', 'CHECKPOINT');

	# kill -9 of a backend in the middle of an insert: after 500 committed rows, one more stops at
	# the type's insert_pause (its index changes WAL-logged, not committed; hnsw_insert_linked:
	# its element written and linked into the graph, not yet marked valid). A commit in another
	# session then flushes the WAL past those records, so recovery replays them. The postmaster
	# kills every other backend and replays the WAL from the last checkpoint (so the first change
	# of each page is a full image).
	my $pause = index_type($am)->{insert_pause};
	my $from = 3201;
	my $killed_id = $from + 500;
	$node->safe_psql('postgres', 'CREATE TABLE wal_flushed (id int)');
	my $holder = hold_pauses($node);
	my $inserter = start_psql($node, 'inserter', qq{DO \$\$ BEGIN
  FOR i IN $from .. $killed_id - 1 LOOP
    INSERT INTO items VALUES (i, vec(i));
    COMMIT;
  END LOOP;
  PERFORM set_config('vectorsearch.test_pause', '$pause', false);
  INSERT INTO items VALUES ($killed_id, vec($killed_id));
END \$\$;}, 'application_name=inserter');
	wait_for_paused($node, 1, 'the inserter');
	$node->safe_psql('postgres', 'INSERT INTO wal_flushed VALUES (1)');
	my $pid = $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE application_name = 'inserter'");
	ok($pid =~ /^\d+$/, 'found the inserting backend');
	my $log_offset = -s $node->logfile;
	kill 'KILL', $pid;
	finish_quietly($inserter);
	$holder->{h}->kill_kill;
	$node->poll_query_until('postgres', 'SELECT 1', '1') or die 'no recovery after kill -9';
	ok( $node->log_contains(qr/all server processes terminated; reinitializing/, $log_offset),
		'the postmaster went through crash recovery');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM wal_flushed'),
		'1', 'the commit made after the pause survived: the paused insert\'s WAL was flushed');
	is($node->safe_psql('postgres', "SELECT count(*) FROM items WHERE id >= $from AND id < $killed_id"),
		'500', 'kill -9 mid-insert: the 500 committed rows survived');
	is($node->safe_psql('postgres', "SELECT count(*) FROM items WHERE id = $killed_id"),
		'0', 'kill -9 mid-insert: the killed insert\'s row is absent');
	check_items('kill -9 of the inserting backend', $from - 1);

	# an immediate shutdown in the middle of inserts, without a checkpoint since the last crash
	$from = $node->safe_psql('postgres', 'SELECT max(id) + 1 FROM items');
	$inserter = start_inserter($from);
	my $seen = wait_for_rows($from, 500);
	$node->stop('immediate');
	finish_quietly($inserter);
	$node->start;
	my $after = $node->safe_psql('postgres', "SELECT count(*) FROM items WHERE id >= $from");
	cmp_ok($after, '>=', $seen,
		"immediate shutdown mid-insert: every committed row survived ($after >= $seen)");
	check_items('immediate shutdown mid-insert', 3200);

	# 3. the recovered index keeps working: inserts, deletes and VACUUM, and one more crash after
	$from = $node->safe_psql('postgres', 'SELECT max(id) + 1 FROM items');
	my $to = $from + 499;
	$node->safe_psql('postgres', "INSERT INTO items SELECT i, vec(i) FROM generate_series($from, $to) i");
	$node->safe_psql('postgres', 'DELETE FROM items WHERE id % 7 = 3');
	$node->safe_psql('postgres', 'VACUUM items');
	is( $node->safe_psql('postgres', qq{
SET enable_seqscan = off;
@{[ widen_sql($am, 200) ]}
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> vec(-5) LIMIT 200) s WHERE id % 7 = 3;
}),
		'0',
		'deleted rows are not returned');
	check_items('inserts, DELETE and VACUUM after recovery', $from - 1);
	$node->stop('immediate');
	$node->start;
	check_items('immediate shutdown after VACUUM', $from - 1);
	is( $node->safe_psql('postgres',
			'SELECT count(*) = count(*) FILTER (WHERE id % 7 <> 3) FROM items'),
		't', 'no deleted row came back');

	# no assertion failure, segfault or PANIC (a failed redo) anywhere in the server log
	my $log = slurp_file($node->logfile);
	unlike($log, qr/PANIC|TRAP:|terminated by signal (?:6|11)\b/,
		'the server log shows no PANIC, assertion failure or crash other than the kill -9');

	$node->stop;
}

done_testing();
