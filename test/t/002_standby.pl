# Streaming replication of the indexes of each index type (VectorSearchTest::index_types, a
# primary and a standby each): a standby replays the build (log_newpage_range), the GenericXLog
# records of inserts, of VACUUM's link repair and of inserts into freed slots, and answers k-NN
# queries through the index with exactly the rows the primary returns, from pages byte for byte
# the primary's (hnsw's round adds indexes of halves, of sparse vectors and of bits, each key
# type's pages). Then the standby is promoted and keeps going.
use strict;
use warnings;

use FindBin;
use IPC::Run;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VectorSearchTest;

my ($am, $primary, $standby);    # the index type of this round, and its nodes
my @other_indexes;               # this round's indexes of other key types

# 30 queries, 10 nearest each, the scan widened to 100 candidates: one line of ids per query
sub knn_sql
{
	my ($op) = @_;
	return qq{
SELECT q, string_agg(id::text, ' ' ORDER BY rank)
FROM generate_series(1, 30) q,
     LATERAL (SELECT id, row_number() OVER () AS rank
              FROM (SELECT id FROM items ORDER BY embedding $op vec(-q) LIMIT 10) s) n
GROUP BY q ORDER BY q};
}

sub knn
{
	my ($node, $op) = @_;
	return $node->safe_psql('postgres',
		"SET enable_seqscan = off;\n" . widen_sql($am, 100) . "\n" . knn_sql($op));
}

sub plan_of
{
	my ($node, $op) = @_;
	return $node->safe_psql('postgres', qq{
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding $op vec(-1) LIMIT 10;
});
}

sub compare
{
	my ($label, $deleted) = @_;
	like(plan_of($standby, '<->'), qr/Index Scan using items_$am on items/,
		"$label: the standby uses the l2 index");
	like(plan_of($standby, '<=>'), qr/Index Scan using items_cosine on items/,
		"$label: the standby uses the cosine index");
	for my $op ('<->', '<=>')
	{
		like(
			$standby->safe_psql('postgres',
				"SET enable_seqscan = off;\nEXPLAIN (COSTS OFF) " . knn_sql($op)),
			qr/Index Scan using items_(?:$am|cosine) on items/,
			"$label, $op: the 30 queries go through the index on the standby");
		my $on_primary = knn($primary, $op);
		my $on_standby = knn($standby, $op);
		my @lines = split /\n/, $on_primary;
		is(scalar(@lines), 30, "$label, $op: 30 queries answered on the primary");
		ok(!grep({ !/^\d+\|(?:\d+ ){9}\d+$/ } @lines),
			"$label, $op: 10 rows for each query on the primary");
		is($on_standby, $on_primary, "$label, $op: the standby returns the same ids as the primary");
		ok(!grep({ $deleted->($_) } map { my ($q, $ids) = split /\|/; split / /, $ids } @lines),
			"$label, $op: no deleted row is returned");
	}
	is( $standby->safe_psql('postgres', 'SELECT count(*) FROM items'),
		$primary->safe_psql('postgres', 'SELECT count(*) FROM items'),
		"$label: same row count");
	for my $index ("items_$am", 'items_cosine', @other_indexes)
	{
		my ($status, $out, $err) = $standby->psql('postgres',
			"\\set VERBOSITY verbose\nSELECT vectorsearch_check_index('$index', true)");
		is("$status$err", '0', "$label: the checker finds $index sound on the standby");
		# the same bytes in every block after the LSN and checksum (a page's free space too:
		# GenericXLog zeroes it on both sides)
		my $pages_sql = qq{SELECT string_agg(md5(substr(get_raw_page('$index', b::int), 11)), ' ' ORDER BY b)
FROM generate_series(0, pg_relation_size('$index') / current_setting('block_size')::int - 1) b};
		is($standby->safe_psql('postgres', $pages_sql), $primary->safe_psql('postgres', $pages_sql),
			"$label: ${index}'s pages on the standby are the primary's");
	}
	return;
}

for my $index_type (index_types())
{
	$am = $index_type;
	# (autovacuum off: its snapshots would hold back the reuse of freed slots checked below)
	$primary = start_node("primary_$am", "shared_buffers = 4MB\nautovacuum = off\n", allows_streaming => 1);
	$primary->safe_psql('postgres', PostgreSQL::Test::Utils::slurp_file("$FindBin::Bin/helpers.sql"));
	$primary->safe_psql('postgres', q{
CREATE EXTENSION pageinspect;
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT i, vec(i) FROM generate_series(1, 3000) i;
});

	# the standby exists before the index: it gets the build through the WAL stream
	$primary->backup('backup');
	$standby = PostgreSQL::Test::Cluster->new("standby_$am");
	$standby->init_from_backup($primary, 'backup', has_streaming => 1);
	$standby->append_conf('postgresql.conf', "shared_buffers = 4MB\n");
	$standby->start;

	$primary->safe_psql('postgres', qq{
@{[ create_index_sql($am, 'items', options => 'with') ]}
@{[ create_index_sql($am, 'items', options => 'other_with', name => 'items_cosine', opclass => 'vector_cosine_ops') ]}
ANALYZE items;
});
	# halves, sparse vectors (their keys on key pages, deleted and replaced when a slot is
	# reused), and bits under Jaccard (computed over whole keys, not summed over pieces)
	@other_indexes = $am eq 'hnsw' ? ('items_half', 'items_sparse', 'items_bits') : ();
	$primary->safe_psql('postgres', q{
CREATE INDEX items_half ON items USING hnsw ((embedding::halfvec(16)) halfvec_l2_ops);
CREATE INDEX items_sparse ON items USING hnsw ((embedding::sparsevec(16)) sparsevec_l2_ops);
CREATE INDEX items_bits ON items USING hnsw ((binary_quantize(embedding)::bit(16)) bit_jaccard_ops);
}) if @other_indexes;
	$primary->safe_psql('postgres',
		'INSERT INTO items SELECT i, vec(i) FROM generate_series(3001, 3500) i');
	$primary->safe_psql('postgres', 'DELETE FROM items WHERE id % 5 = 1 OR id <= 2500');
	$primary->safe_psql('postgres', 'VACUUM items');
	$primary->safe_psql('postgres',
		'INSERT INTO items SELECT i, vec(i) FROM generate_series(3501, 4000) i');
	# one row per transaction, too, as an application inserts: these reuse the slots VACUUM freed
	# (2,700, of which the 500 rows above took at most 500), so the index does not grow. A run
	# holds at most 64 pages' worth of elements, for vector(16) at m = 16 (a 206-byte link record
	# and 64 bytes of vector each) under 1,950: without reuse these 2,000 would need a new run (hnsw).
	my $size_sql = "SELECT pg_relation_size('items_$am')";
	my $size_before = $primary->safe_psql('postgres', $size_sql);
	$primary->safe_psql('postgres',
		q{DO $$ BEGIN FOR i IN 4001 .. 6000 LOOP INSERT INTO items VALUES (i, vec(i)); COMMIT; END LOOP; END $$});
	is($primary->safe_psql('postgres', $size_sql), $size_before, 'inserts after VACUUM reuse the freed space');
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));

	compare('after build, inserts, DELETE + VACUUM, inserts',
		sub { $_[0] <= 2500 || ($_[0] % 5 == 1 && $_[0] <= 3500) });

	# every row on the standby is found by its own vector
	is( $standby->safe_psql('postgres', qq{
SET enable_seqscan = off;
@{[ widen_sql($am, 100) ]}
SELECT count(*) FROM items r
WHERE (SELECT i.embedding <-> r.embedding FROM items i ORDER BY i.embedding <-> r.embedding LIMIT 1) <> 0
   OR NOT EXISTS (SELECT FROM (SELECT 1 FROM items i ORDER BY i.embedding <-> r.embedding LIMIT 1) s);
}),
		'0',
		'every row on the standby is found by its own vector');
	like( $standby->safe_psql('postgres', q{
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT (SELECT i.id FROM items i ORDER BY i.embedding <-> r.embedding LIMIT 1) FROM items r;
}),
		qr/Index Scan using items_$am on items i/,
		'(that self-lookup goes through the index)');

	# a second round of changes, streamed while the standby runs queries: the primary marks
	# elements deleted, unlinks them and hands their slots to new rows while standby scans may be
	# reading them (the primary cannot see the standby's snapshots; the standby re-reads each
	# result under its record's lock). Every standby answer must hold 10 rows in distance order.
	# (Each standby query is a statement of its own: a long one would hold back replay and be
	# cancelled for its conflict with the VACUUM's records.)
	$primary->safe_psql('postgres', 'CREATE TABLE done (flag boolean)');
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	my $script = "$PostgreSQL::Test::Utils::tmp_check/second_round_$am.sql";  # one per index type: append_to_file appends
	PostgreSQL::Test::Utils::append_to_file($script, q{
DELETE FROM items WHERE id % 5 = 1 OR id BETWEEN 5800 AND 6000;
VACUUM items;
DO $$ BEGIN FOR i IN 6001 .. 6500 LOOP IF i % 5 <> 1 THEN INSERT INTO items VALUES (i, vec(i)); COMMIT; END IF; END LOOP; END $$;
INSERT INTO done VALUES (true);
});
	my ($round_out, $round_err) = ('', '');
	my $round = IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $primary->connstr('postgres'), '-f', $script ],
		'>', \$round_out, '2>', \$round_err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	my ($standby_queries, $bad_answers) = (0, 0);
	while ($standby->safe_psql('postgres', 'SELECT count(*) FROM done') eq '0')
	{
		my $q = -1 - $standby_queries % 50;
		my @answers = ([ split /\n/, $standby->safe_psql('postgres', qq{
SET enable_seqscan = off;
SELECT embedding <-> vec($q) FROM items ORDER BY embedding <-> vec($q) LIMIT 10;
}) ]);
		# and through the sparse index, whose keys' pieces replay may delete under a scan
		push @answers, [ split /\n/, $standby->safe_psql('postgres', qq{
SET enable_seqscan = off;
SELECT embedding::sparsevec(16) <-> vec($q)::sparsevec(16) FROM items
ORDER BY embedding::sparsevec(16) <-> vec($q)::sparsevec(16) LIMIT 10;
}) ] if @other_indexes;
		for my $answer (@answers)
		{
			my @d = @$answer;
			my $ordered = !grep { $d[$_] < $d[ $_ - 1 ] } 1 .. $#d;
			if (@d != 10 || !$ordered)
			{
				$bad_answers++;
				diag("standby query $standby_queries: " . scalar(@d) . ' rows' . ($ordered ? '' : ', out of order'));
			}
		}
		$standby_queries++;
	}
	$round->finish;
	is($round_err, '', 'the second round ran on the primary');
	is($bad_answers, 0,
		"each of the $standby_queries standby queries during the DELETE, VACUUM and inserts into freed slots returned 10 rows in order");
	ok($standby_queries > 0, '(the standby ran queries meanwhile)');
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	compare('after a second round',
		sub { $_[0] <= 2500 || $_[0] % 5 == 1 || ($_[0] >= 5800 && $_[0] <= 6000) });

	# the promoted standby writes to the replayed index
	$standby->promote;
	$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
	  or die 'the standby was not promoted';
	is(insert_and_find($standby, 'items', 7001, 7300, 7150),
		'7150', 'the promoted standby inserts into the index and finds the new rows');
	my ($status, $out, $err) = $standby->psql('postgres', "SELECT vectorsearch_check_index('items_$am', true)");
	is("$status$err", '0', 'after promotion the checker finds the index sound');

	my $log = slurp_file($standby->logfile) . slurp_file($primary->logfile);
	unlike($log, qr/PANIC|TRAP:|terminated by signal/, 'no PANIC, assertion failure or crash');

	$standby->stop;
	$primary->stop;
}

done_testing();
