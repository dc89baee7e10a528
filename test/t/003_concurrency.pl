# Concurrent use of hnsw indexes: four sessions insert (pgbench, one row per statement) into an
# index built on 2,000 rows and into one that started empty, while two sessions run k-NN queries
# in a loop and check each answer; then again with deletes and VACUUMs running alongside. No
# session may see an error, and afterwards no element may be lost: every row is found by its own
# vector, the index agrees with a sequential scan at a high ef_search, and the counts add up.
use strict;
use warnings;

use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('concurrency');
$node->init;
$node->append_conf('postgresql.conf', "shared_buffers = 16MB\nautovacuum = off\n");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION vectorsearch;
CREATE FUNCTION vec(i bigint) RETURNS vector IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
  SELECT array_agg((hashint8(i * 16 + j) % 1000) / 100.0 ORDER BY j)::vector(16)
  FROM generate_series(0, 15) j
$$;
-- rows of tbl whose own vector, as a query, does not find them (nor an identical vector)
CREATE FUNCTION self_lookup_failures(tbl regclass)
RETURNS TABLE (missing_id bigint, found_id bigint, found_distance float8) LANGUAGE plpgsql AS $f$
DECLARE
  r record;
BEGIN
  FOR r IN EXECUTE format('SELECT id, embedding FROM %s ORDER BY id', tbl) LOOP
    EXECUTE format('SELECT id, embedding <-> $1 FROM %s ORDER BY embedding <-> $1 LIMIT 1', tbl)
      INTO found_id, found_distance USING r.embedding;
    IF found_id IS DISTINCT FROM r.id AND found_distance IS DISTINCT FROM 0 THEN
      missing_id := r.id;
      RETURN NEXT;
    END IF;
  END LOOP;
END $f$;
CREATE FUNCTION same_as_seqscan(tbl regclass, q vector, k int) RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE
  by_index float8[];
  by_scan float8[];
  query text := format('SELECT array_agg(d) FROM (SELECT embedding <-> $1 AS d FROM %s ORDER BY embedding <-> $1 LIMIT %s) s', tbl, k);
BEGIN
  SET LOCAL enable_seqscan = off;
  EXECUTE query INTO by_index USING q;
  SET LOCAL enable_seqscan = on;
  SET LOCAL enable_indexscan = off;
  SET LOCAL enable_bitmapscan = off;
  EXECUTE query INTO by_scan USING q;
  RETURN by_index = by_scan;
END $f$;
CREATE TABLE items (id bigint PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT i, vec(i) FROM generate_series(1, 2000) i;
CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
CREATE TABLE grows (id bigint PRIMARY KEY, embedding vector(16));
CREATE INDEX grows_hnsw ON grows USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
ANALYZE items;
CREATE SEQUENCE ids START 100001;
CREATE TABLE done (flag boolean);
CREATE TABLE query_log (session int, queries int);
CREATE TABLE deleted_log (id bigint);
-- answers of fewer than 10 rows while rows come and go: MVCC may hide some of the ef_search
-- candidates from a query's snapshot, so they are counted and reported, not failed
CREATE TABLE short_answers (q int, n bigint);
});

# a query session: k-NN queries on both tables until a row appears in "done"; each answer must
# come nearest first, hold 10 rows on items (which never has fewer than 2,000) and no more than
# 10 on grows; then it logs how many queries it ran
sub start_query_session
{
	my ($session) = @_;
	my ($out, $err) = ('', '');
	my $sql = qq{DO \$\$
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
END \$\$;};
	my $h = IPC::Run::start(
		[
			'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1',
			'-d', $node->connstr('postgres'), '-c', $sql
		],
		'>', \$out, '2>', \$err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
	return { h => $h, out => \$out, err => \$err, name => "query session $session" };
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

sub check_tables
{
	my ($label) = @_;
	for my $tbl ('items', 'grows')
	{
		like(
			$node->safe_psql('postgres',
				"SET enable_seqscan = off; EXPLAIN (COSTS OFF) SELECT id FROM $tbl ORDER BY embedding <-> vec(1) LIMIT 1"),
			qr/Index Scan using ${tbl}_hnsw/,
			"$label: lookups on $tbl go through the index");
		my $rows = $node->safe_psql('postgres', "SELECT count(*) FROM $tbl");
		is( $node->safe_psql('postgres', qq{
SET enable_seqscan = off;
SET hnsw.ef_search = 400;
SELECT count(*) || coalesce(': ' || string_agg(format('%s (found %s at %s)', missing_id, found_id, found_distance), ', '), '')
FROM self_lookup_failures('$tbl');
}),
			'0',
			"$label: each of the $rows rows of $tbl is found by its own vector");
		is( $node->safe_psql('postgres', qq{
SET hnsw.ef_search = 400;
SELECT count(*) FILTER (WHERE same_as_seqscan('$tbl', vec(-i), 10)) FROM generate_series(1, 20) i;
}),
			'20',
			"$label: on $tbl the index agrees with a sequential scan at ef_search 400");
	}
	return;
}

# 1. four inserting sessions, two querying ones
my @queriers = map { start_query_session($_) } (1, 2);
$node->pgbench(
	'--no-vacuum --client=4 --jobs=4 --transactions=500',
	0,
	[
		qr{number of transactions actually processed: 2000/2000},
		qr{number of failed transactions: 0 }
	],
	[qr{^$}],
	'4 sessions insert 500 rows each into both tables',
	{ '003_insert' => $insert_script });
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

# 2. inserts, queries (pgbench: each answer checked in SQL for order, a bad one divides by zero
# at run time), and a
# session deleting rows and vacuuming, all at once
$node->safe_psql('postgres', 'DELETE FROM done');
my $deleter_sql = '';
for my $k (1 .. 8)
{
	my $upto = $k * 250;
	$deleter_sql .= "DELETE FROM items WHERE id % 10 = 0 AND id <= $upto;\n";
	$deleter_sql .= "WITH d AS (DELETE FROM grows WHERE id % 10 = 3 RETURNING id) "
	  . "INSERT INTO deleted_log SELECT id FROM d;\n";
	$deleter_sql .= "VACUUM items;\nVACUUM grows;\nSELECT pg_sleep(0.2);\n";
}
my ($del_out, $del_err) = ('', '');
my $deleter = {
	h => IPC::Run::start(
		[ 'psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr('postgres') ],
		'<', \$deleter_sql, '>', \$del_out, '2>', \$del_err,
		IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default)),
	err => \$del_err,
	name => 'the deleting and vacuuming session'
};

my $query_script = q{
\set q random(1, 1000000)
SET enable_seqscan = off;
SELECT CASE WHEN count(*) >= 1 AND bool_and(prev IS NULL OR d >= prev) THEN 1 ELSE 1 / (0 * count(*))::int END
FROM (SELECT d, lag(d) OVER () AS prev
      FROM (SELECT embedding <-> vec(-:q) AS d FROM items ORDER BY embedding <-> vec(-:q) LIMIT 10) s) t;
INSERT INTO short_answers SELECT :q, count(*)
FROM (SELECT id FROM items ORDER BY embedding <-> vec(-:q) LIMIT 10) s HAVING count(*) < 10;
SELECT CASE WHEN count(*) <= 10 AND bool_and(prev IS NULL OR d >= prev) THEN 1 ELSE 1 / (0 * count(*))::int END
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

$node->pgbench(
	'--no-vacuum --client=4 --jobs=4 --transactions=250',
	0,
	[
		qr{number of transactions actually processed: 1000/1000},
		qr{number of failed transactions: 0 }
	],
	[qr{^$}],
	'4 sessions insert 250 more rows each while rows are deleted and vacuumed',
	{ '003_insert_again' => $insert_script });
ok(eval { $query_bench->finish }, 'pgbench queries, checked in SQL, ran without error')
  or diag("pgbench stdout:\n$q_out\nstderr:\n$q_err");
diag('answers of fewer than 10 rows under concurrent changes: '
	  . $node->safe_psql('postgres', "SELECT count(*) || ' (' || coalesce(string_agg(n::text, ','), '') || ')' FROM short_answers"));
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
is( $node->safe_psql('postgres', q{
SET enable_seqscan = off;
SET hnsw.ef_search = 1000;
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
done_testing();
