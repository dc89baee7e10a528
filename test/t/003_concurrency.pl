# Concurrent use of the indexes of each index type (VectorSearchTest::index_types, a node each):
# four sessions insert (pgbench, one row per statement) into an index built on 2,000 rows and
# into one that started empty, while two sessions run k-NN queries in a loop and check each
# answer; then again with deletes and VACUUMs running alongside. No session may see an error, and
# afterwards no element may be lost: every row is found by its own vector, the index agrees with a
# sequential scan when its scan is widened, and the counts add up.
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

# a query session: k-NN queries on both tables until a row appears in "done"; each answer must
# come nearest first, hold 10 rows on items (which never has fewer than 2,000) and no more than
# 10 on grows; then it logs how many queries it ran
sub start_query_session
{
	my ($session) = @_;
	return start_psql($node, "query session $session", qq{DO \$\$
DECLARE
  n int := 0;
  q vector;
  r record;
  cnt int;
  last_d float8;
  tbl text;
BEGIN
  PERFORM set_config('enable_seqscan', 'off', false);
  LOOP
    EXIT WHEN EXISTS (SELECT FROM done);
    q := vec(-1 - n * 2 - $session);
    FOREACH tbl IN ARRAY ARRAY['items', 'grows'] LOOP
      cnt := 0;
      last_d := 0;
      FOR r IN EXECUTE 'SELECT id, embedding <-> \$1 AS d FROM ' || tbl || ' ORDER BY embedding <-> \$1 LIMIT 10' USING q LOOP
        IF r.d < last_d THEN
          RAISE EXCEPTION 'query % on %: distances out of order (% after %)', n, tbl, r.d, last_d;
        END IF;
        last_d := r.d;
        cnt := cnt + 1;
      END LOOP;
      IF cnt > 10 OR (tbl = 'items' AND cnt <> 10) THEN
        RAISE EXCEPTION 'query % on %: % rows', n, tbl, cnt;
      END IF;
    END LOOP;
    n := n + 1;
  END LOOP;
  INSERT INTO query_log VALUES ($session, n);
END \$\$;});
}

sub finish_session
{
	my ($s) = @_;
	my $ok = eval { $s->{h}->finish; };
	is($ok ? 0 : 1, 0, "$s->{name} exited cleanly");
	is(${ $s->{err} }, '', "$s->{name} reported no error");
	return;
}

my $insert_script = q{
SELECT nextval('ids') AS n \gset
INSERT INTO items VALUES (:n, vec(:n));
INSERT INTO grows VALUES (:n, vec(:n));
};

# four pgbench sessions, $per_client transactions each, of $insert_script, none failing
sub insert_with_pgbench
{
	my ($per_client, $script_name, $label) = @_;
	my $total = 4 * $per_client;
	# Notices are not failures: an lsh index built on the empty table says once per session that
	# it outgrew its shape_rows. Warnings and errors still reach stderr and fail the test.
	local $ENV{PGOPTIONS} = '-c client_min_messages=warning';
	$node->pgbench(
		"--no-vacuum --client=4 --jobs=4 --transactions=$per_client",
		0,
		[
			qr{number of transactions actually processed: $total/$total},
			qr{number of failed transactions: 0 }
		],
		[qr{^$}],
		$label,
		{ $script_name => $insert_script });
	return;
}

sub check_tables
{
	my ($label) = @_;
	check_index($node, $label, $_, index_type => $am) for ('items', 'grows');
	return;
}

for my $index_type (index_types())
{
	$am = $index_type;
	$node = start_node("concurrency_$am", "shared_buffers = 16MB\nautovacuum = off\n");
	$node->safe_psql('postgres', PostgreSQL::Test::Utils::slurp_file("$FindBin::Bin/helpers.sql"));
	$node->safe_psql('postgres', qq{
CREATE TABLE items (id bigint PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT i, vec(i) FROM generate_series(1, 2000) i;
@{[ create_index_sql($am, 'items', options => 'with') ]}
CREATE TABLE grows (id bigint PRIMARY KEY, embedding vector(16));
@{[ create_index_sql($am, 'grows', options => 'with') ]}
ANALYZE items;
CREATE SEQUENCE ids START 100001;
CREATE TABLE done (flag boolean);
CREATE TABLE query_log (session int, queries int);
CREATE TABLE deleted_log (id bigint);
});

	# 1. four inserting sessions, two querying ones
	my @queriers = map { start_query_session($_) } (1, 2);
	insert_with_pgbench(500, '003_insert', '4 sessions insert 500 rows each into both tables');
	$node->safe_psql('postgres', 'INSERT INTO done VALUES (true)');
	finish_session($_) for @queriers;
	my $queries = $node->safe_psql('postgres',
		"SELECT count(*) || ' sessions, ' || min(queries) || ' queries at least' FROM query_log");
	like($queries, qr/^2 sessions, [1-9]\d* queries at least$/,
		"both query sessions ran queries meanwhile ($queries)");

	is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), '4000', 'items has 2000 + 2000 rows');
	is($node->safe_psql('postgres', 'SELECT count(*) FROM grows'), '2000', 'grows has 2000 rows');
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM grows g JOIN items i USING (id) WHERE i.embedding = g.embedding"),
		'2000',
		'every row inserted into grows was inserted into items alike');
	check_tables('after concurrent inserts');

	# 2. inserts, queries (pgbench: each answer checked in SQL for order and for all 10 rows, as
	# neither table has fewer than 1,800 rows now; a bad one divides by zero at run time), and a
	# session deleting rows and vacuuming, all at once
	$node->safe_psql('postgres', 'DELETE FROM done');
	# One -c per statement: each runs as soon as psql starts (input on stdin would wait for the
	# session to be finished), and VACUUM must not share a transaction with anything.
	my @deleter_statements;
	for my $k (1 .. 8)
	{
		my $upto = $k * 250;
		push @deleter_statements,
		  "DELETE FROM items WHERE id % 10 = 0 AND id <= $upto",
		  "WITH d AS (DELETE FROM grows WHERE id % 10 = 3 RETURNING id) INSERT INTO deleted_log SELECT id FROM d",
		  'VACUUM items', 'VACUUM grows', 'SELECT pg_sleep(0.2)';
	}
	my ($del_out, $del_err) = ('', '');
	my $deleter = {
		h => IPC::Run::start(
			[
				'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres'),
				map { ('-c', $_) } @deleter_statements
			],
			'>', \$del_out, '2>', \$del_err,
			IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default)),
		err => \$del_err,
		name => 'the deleting and vacuuming session'
	};

	my $query_script = q{
\set q random(1, 1000000)
SET enable_seqscan = off;
SELECT CASE WHEN count(*) = 10 AND bool_and(prev IS NULL OR d >= prev) THEN 1 ELSE 1 / (0 * count(*))::int END
FROM (SELECT d, lag(d) OVER () AS prev
      FROM (SELECT embedding <-> vec(-:q) AS d FROM items ORDER BY embedding <-> vec(-:q) LIMIT 10) s) t;
SELECT CASE WHEN count(*) = 10 AND bool_and(prev IS NULL OR d >= prev) THEN 1 ELSE 1 / (0 * count(*))::int END
FROM (SELECT d, lag(d) OVER () AS prev
      FROM (SELECT embedding <-> vec(-:q) AS d FROM grows ORDER BY embedding <-> vec(-:q) LIMIT 10) s) t;
};
	PostgreSQL::Test::Utils::append_to_file($node->basedir . '/003_query', $query_script);
	my ($q_out, $q_err) = ('', '');
	my $query_bench = IPC::Run::start(
		[
			'pgbench', '--no-vacuum', '--client=2', '--jobs=2', '--transactions=400',
			'-f', $node->basedir . '/003_query',
			'-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$q_out, '2>', \$q_err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));

	insert_with_pgbench(250, '003_insert_again',
		'4 sessions insert 250 more rows each while rows are deleted and vacuumed');
	ok(eval { $query_bench->finish }, 'pgbench queries, checked in SQL, ran without error')
	  or diag("pgbench stdout:\n$q_out\nstderr:\n$q_err");
	like($q_out, qr{number of transactions actually processed: 800/800},
		'800 query transactions');
	finish_session($deleter);

	# a last round of deletes and a VACUUM with nothing else running
	$node->safe_psql('postgres', q{
WITH d AS (DELETE FROM grows WHERE id % 10 = 3 RETURNING id) INSERT INTO deleted_log SELECT id FROM d;
VACUUM items;
VACUUM grows;
});
	is($node->safe_psql('postgres', 'SELECT count(*) FROM items'), '4800',
		'items has 4000 + 1000 - 200 rows');
	is( $node->safe_psql('postgres',
			'SELECT (SELECT count(*) FROM grows) + (SELECT count(*) FROM deleted_log)'),
		'3000',
		'grows: rows left and rows deleted add up to the 3000 inserted');
	is( $node->safe_psql('postgres', qq{
SET enable_seqscan = off;
@{[ widen_sql($am, 1000) ]}
SELECT (SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> vec(-7) LIMIT 1000) s
        WHERE id % 10 = 0 AND id <= 2000)
     + (SELECT count(*) FROM (SELECT id FROM grows ORDER BY embedding <-> vec(-7) LIMIT 1000) s
        WHERE id % 10 = 3);
}),
		'0',
		'no deleted row is returned');
	check_tables('after inserts, deletes, VACUUMs and queries at once');

	my $log = slurp_file($node->logfile);
	unlike($log, qr/ERROR|PANIC|TRAP:|terminated by signal/, 'no error, PANIC or crash in the server log');

	$node->stop;
}

done_testing();
