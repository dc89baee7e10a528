-- the lsh index: operator classes, plans, options, errors, NULL and zero vectors, and exact
-- agreement with a sequential scan when lsh.probes and lsh.candidates cover every bucket and
-- entry: after the build, inserts, deletes with VACUUM and reinserts; unshaped indexes (built on
-- fewer than shape_rows rows), unlogged tables, expression indexes and what monitoring sees
CREATE TABLE items (id int PRIMARY KEY, embedding vector(4));
INSERT INTO items SELECT i, ARRAY[sin(i), cos(i * 1.7), sin(i * 0.3) * 2, cos(i * 0.11) + 1] FROM generate_series(1, 3000) i;
INSERT INTO items VALUES (3001, NULL);
CREATE INDEX items_l2 ON items USING lsh (embedding vector_l2_ops) WITH (shape_rows = 1000);
CREATE INDEX items_ip ON items USING lsh (embedding vector_ip_ops) WITH (shape_rows = 1000);
CREATE INDEX items_cosine ON items USING lsh (embedding vector_cosine_ops) WITH (shape_rows = 1000);
ANALYZE items;

-- on a table of some size the planner uses each operator class for its own operator's ORDER BY
-- ... LIMIT; not without a LIMIT, not for another operator, not without an ORDER BY on a distance
CREATE TABLE plan_items (id int, embedding vector(3));
INSERT INTO plan_items SELECT i, ARRAY[sin(i * 0.7), cos(i * 1.1), sin(i * 2.3)] FROM generate_series(1, 20000) i;
CREATE INDEX ON plan_items USING lsh (embedding vector_l2_ops);
CREATE INDEX ON plan_items USING lsh (embedding vector_ip_ops);
CREATE INDEX ON plan_items USING lsh (embedding vector_cosine_ops);
ANALYZE plan_items;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <-> '[1,2,3]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <#> '[1,2,3]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <=> '[1,2,3]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <-> '[1,2,3]';
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <+> '[1,2,3]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items WHERE embedding = '[1,2,3]';
DROP TABLE plan_items;

-- the index's ids for a query are exactly a sequential scan's, in the same order. Each call sets
-- every planner setting it depends on (set_config(..., true) lasts to the end of the calling
-- statement) and raises an error unless the first query is a scan of index_name and the second
-- is none.
CREATE FUNCTION pg_temp.plan_of(query text, q vector) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  line text;
  plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query USING q LOOP
    plan := plan || line || E'\n';
  END LOOP;
  RETURN plan;
END $$;
CREATE FUNCTION pg_temp.same_as_seqscan(tab text, expr text, op text, q vector, k int, index_name text)
RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  query text := format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY %s %s $1 LIMIT %s) s', tab, expr, op, k);
  plan text;
  by_index int[];
  by_scan int[];
BEGIN
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  plan := pg_temp.plan_of(query, q);
  IF plan !~ ('Index Scan using ' || index_name || ' on ' || tab) THEN
    RAISE EXCEPTION 'not a scan of %: %', index_name, plan;
  END IF;
  EXECUTE query INTO by_index USING q;
  PERFORM set_config('enable_seqscan', 'on', true);
  PERFORM set_config('enable_indexscan', 'off', true);
  plan := pg_temp.plan_of(query, q);
  IF plan !~ ('Seq Scan on ' || tab) OR plan ~ 'Index' THEN
    RAISE EXCEPTION 'not a sequential scan: %', plan;
  END IF;
  EXECUTE query INTO by_scan USING q;
  RETURN by_index = by_scan AND cardinality(by_index) = k;
END $$;
-- how many of 20 queries, under each operator, the indexes answer exactly as a sequential scan
CREATE FUNCTION pg_temp.exact_queries(k int) RETURNS TABLE (l2 bigint, ip bigint, cosine bigint) LANGUAGE sql AS $$
  SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('items', 'embedding', '<->', v, k, 'items_l2')),
         count(*) FILTER (WHERE pg_temp.same_as_seqscan('items', 'embedding', '<#>', v, k, 'items_ip')),
         count(*) FILTER (WHERE pg_temp.same_as_seqscan('items', 'embedding', '<=>', v, k, 'items_cosine'))
  FROM (SELECT ARRAY[sin(q * 3.1), cos(q * 0.7), sin(q * 1.9) * 2, cos(q * 2.3) + 1]::vector AS v
        FROM generate_series(1, 20) q) queries
$$;
SET lsh.probes = 100000;
SET lsh.candidates = 100000;
SELECT * FROM pg_temp.exact_queries(10);
SELECT * FROM pg_temp.exact_queries(100);

-- rows inserted after the build are found
INSERT INTO items SELECT i, ARRAY[cos(i * 0.9), sin(i * 1.3), cos(i * 0.7) * 2, sin(i * 0.05) + 1] FROM generate_series(3002, 4000) i;
-- (and a row far longer than any the inner-product index was built on sets: it is still found)
INSERT INTO items VALUES (4001, '[30,30,30,30]');
SET enable_seqscan = off;
SELECT id FROM items ORDER BY embedding <#> '[1,1,1,1]' LIMIT 1;
RESET enable_seqscan;
SELECT * FROM pg_temp.exact_queries(10);

-- deleted rows are never returned, before or after VACUUM
DELETE FROM items WHERE id % 3 = 0;
SET enable_seqscan = off;
SELECT count(*) AS deleted_returned FROM (SELECT id FROM items ORDER BY embedding <-> '[0,1,0,1]' LIMIT 500) s WHERE id % 3 = 0;
VACUUM items;
SELECT count(*) AS deleted_returned FROM (SELECT id FROM items ORDER BY embedding <-> '[0,1,0,1]' LIMIT 500) s WHERE id % 3 = 0;
RESET enable_seqscan;
SELECT * FROM pg_temp.exact_queries(10);

-- the deleted rows come back when they are inserted again
INSERT INTO items SELECT i, ARRAY[sin(i), cos(i * 1.7), sin(i * 0.3) * 2, cos(i * 0.11) + 1] FROM generate_series(3, 3000, 3) i;
SELECT * FROM pg_temp.exact_queries(10);

-- a LIMIT above the table's rows: the index returns every row it holds, in the same order as a
-- sort; all but the NULL row, which a sort puts last
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5,0.5]' LIMIT 5000;
CREATE TEMP TABLE by_index AS
SELECT id, row_number() OVER () AS n FROM (SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5,0.5]' LIMIT 5000) s;
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TEMP TABLE by_sort AS
SELECT id, row_number() OVER () AS n FROM (SELECT id FROM items ORDER BY embedding <-> '[0.5,0.5,0.5,0.5]' LIMIT 5000) s;
RESET enable_indexscan;
SELECT (SELECT count(*) FROM by_index) AS index_rows, (SELECT count(*) FROM items) AS table_rows,
       (SELECT count(*) FROM items WHERE embedding IS NOT NULL) AS non_null_rows,
       (SELECT n FROM by_sort WHERE id = 3001) AS null_row_sorted_at;
SELECT count(*) AS same_position FROM by_index JOIN by_sort USING (id, n);
DROP TABLE by_index, by_sort;
-- under <-> a zero query is a query like any other
SELECT pg_temp.same_as_seqscan('items', 'embedding', '<->', '[0,0,0,0]', 10, 'items_l2') AS zero_l2_exact;
RESET lsh.probes;
RESET lsh.candidates;

-- at the default settings a shaped index reads a part of the table, and vectorsearch_last_scan()
-- names it
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[1,0,1,0]' LIMIT 10) s;
SELECT index, rows, distances < 1000 AS reranked_a_part FROM vectorsearch_last_scan();
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <=> '[1,0,1,0]' LIMIT 7) s;
SELECT index, rows FROM vectorsearch_last_scan();
RESET enable_seqscan;

-- a NULL query orders nothing, nor does a zero one under <=> and <#>; they still return rows
SET enable_seqscan = off;
SET plan_cache_mode = force_generic_plan;
PREPARE nearest(vector) AS SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 5;
EXPLAIN (COSTS OFF) EXECUTE nearest(NULL);
CREATE TEMP TABLE null_result AS EXECUTE nearest(NULL);
SELECT count(*) AS null_query_rows FROM null_result;
SELECT count(*) AS zero_cosine_rows FROM (SELECT id FROM items ORDER BY embedding <=> '[0,0,0,0]' LIMIT 5) s;
SELECT count(*) AS zero_ip_rows FROM (SELECT id FROM items ORDER BY embedding <#> '[0,0,0,0]' LIMIT 5) s;
SELECT count(*) AS null_ip_rows FROM (SELECT id FROM items ORDER BY embedding <#> NULL LIMIT 5) s;
SELECT index FROM vectorsearch_last_scan();
DEALLOCATE nearest;
RESET plan_cache_mode;
RESET enable_seqscan;

-- NULLs and, under cosine, zero vectors are not indexed
CREATE TABLE unit (id int, embedding vector(2));
INSERT INTO unit VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[0,1]'), (4, NULL);
CREATE INDEX unit_cosine ON unit USING lsh (embedding vector_cosine_ops);
CREATE INDEX unit_l2 ON unit USING lsh (embedding vector_l2_ops);
SET enable_seqscan = off;
SELECT id FROM unit ORDER BY embedding <=> '[1,0.1]' LIMIT 5;
SELECT id FROM unit ORDER BY embedding <-> '[1,0.1]' LIMIT 5;
INSERT INTO unit VALUES (5, '[0,0]'), (6, NULL), (7, '[-1,0]');
SELECT id FROM unit ORDER BY embedding <=> '[1,0.1]' LIMIT 10;
SELECT id FROM unit ORDER BY embedding <-> '[1,0.1]' LIMIT 10;
RESET enable_seqscan;

-- an index built on fewer rows than its shape_rows is unshaped: one chain of entries that a scan
-- re-ranks entirely, so at the default settings it is exact
CREATE TABLE small (id int, embedding vector(3));
INSERT INTO small SELECT i, ARRAY[sin(i * 0.7), cos(i * 1.1), sin(i * 2.3)] FROM generate_series(1, 500) i;
CREATE INDEX small_l2 ON small USING lsh (embedding vector_l2_ops);
CREATE INDEX small_cosine ON small USING lsh (embedding vector_cosine_ops);
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('small', 'embedding', '<->', ARRAY[sin(q), cos(q), sin(q * 0.5)]::vector, 10, 'small_l2')) AS l2_exact,
       count(*) FILTER (WHERE pg_temp.same_as_seqscan('small', 'embedding', '<=>', ARRAY[sin(q), cos(q), sin(q * 0.5)]::vector, 10, 'small_cosine')) AS cosine_exact
FROM generate_series(1, 20) q;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM small ORDER BY embedding <-> '[0,0,0]' LIMIT 10) s;
SELECT index, distances AS reranked_every_row FROM vectorsearch_last_scan();
RESET enable_seqscan;
DROP TABLE small;

-- the common order: CREATE INDEX on an empty table, then load. The index stays unshaped and
-- exact; the insert that takes it past shape_rows says so, once
CREATE TABLE grows (id int, embedding vector(3));
CREATE INDEX grows_l2 ON grows USING lsh (embedding vector_l2_ops) WITH (shape_rows = 100);
INSERT INTO grows SELECT i, ARRAY[sin(i * 0.7), cos(i * 1.1), sin(i * 2.3)] FROM generate_series(1, 100) i;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('grows', 'embedding', '<->', ARRAY[sin(q), cos(q), sin(q * 0.5)]::vector, 10, 'grows_l2')) AS exact_at_shape_rows
FROM generate_series(1, 20) q;
INSERT INTO grows VALUES (101, '[0.5,0.5,0.5]');
INSERT INTO grows SELECT i, ARRAY[sin(i * 0.7), cos(i * 1.1), sin(i * 2.3)] FROM generate_series(102, 3000) i;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('grows', 'embedding', '<->', ARRAY[sin(q), cos(q), sin(q * 0.5)]::vector, 10, 'grows_l2')) AS exact_past_shape_rows
FROM generate_series(1, 20) q;
-- REINDEX lays it out: a scan at the default settings re-ranks a part of the rows, and with
-- every bucket probed it is exact
REINDEX INDEX grows_l2;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM grows ORDER BY embedding <-> '[0,0,0]' LIMIT 10) s;
SELECT index, distances < 3000 AS reranked_a_part FROM vectorsearch_last_scan();
RESET enable_seqscan;
SET lsh.probes = 100000;
SET lsh.candidates = 100000;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('grows', 'embedding', '<->', ARRAY[sin(q), cos(q), sin(q * 0.5)]::vector, 10, 'grows_l2')) AS exact_after_reindex
FROM generate_series(1, 20) q;
RESET lsh.probes;
RESET lsh.candidates;
DROP TABLE grows;

-- unlogged tables get an init fork
CREATE UNLOGGED TABLE scratch (id int, embedding vector(2));
CREATE INDEX scratch_l2 ON scratch USING lsh (embedding vector_l2_ops);
SELECT pg_relation_size('scratch_l2', 'init') > 0 AS has_init_fork;
INSERT INTO scratch SELECT i, ARRAY[i, i % 7] FROM generate_series(1, 50) i;
SET enable_seqscan = off;
SELECT id FROM scratch ORDER BY embedding <-> '[20,3]' LIMIT 3;
RESET enable_seqscan;
DROP TABLE scratch;

-- an expression index: its value is not in the table, and the scan computes it from the row to
-- re-rank; a column of any dimensions indexed through a cast that gives them, and a subvector
CREATE TABLE loose (id int, embedding vector);
INSERT INTO loose SELECT i, ARRAY[sin(i * 0.7), cos(i * 1.1), sin(i * 2.3)] FROM generate_series(1, 2000) i;
CREATE INDEX loose_l2 ON loose USING lsh ((embedding::vector(3)) vector_l2_ops) WITH (shape_rows = 500);
CREATE INDEX loose_sub ON loose USING lsh ((subvector(embedding, 2, 2)::vector(2)) vector_cosine_ops) WITH (shape_rows = 500);
SET lsh.probes = 100000;
SET lsh.candidates = 100000;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('loose', 'embedding::vector(3)', '<->', ARRAY[sin(q), cos(q), sin(q * 0.5)]::vector, 10, 'loose_l2')) AS cast_exact,
       count(*) FILTER (WHERE pg_temp.same_as_seqscan('loose', 'subvector(embedding, 2, 2)::vector(2)', '<=>', ARRAY[cos(q), sin(q * 0.5)]::vector, 10, 'loose_sub')) AS subvector_exact
FROM generate_series(1, 20) q;
RESET lsh.probes;
RESET lsh.candidates;

-- the scans of an index are counted in pg_stat_user_indexes
CREATE INDEX items_l2_counted ON items USING lsh (embedding vector_l2_ops) WITH (shape_rows = 1000);
DROP INDEX items_l2;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[1,2,3,4]' LIMIT 5) s;
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> '[4,3,2,1]' LIMIT 7) s;
RESET enable_seqscan;
SELECT pg_stat_force_next_flush();
SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes WHERE indexrelid = 'items_l2_counted'::regclass;

-- options: each within its range, 0 choosing tables, buckets and sketch_bits from the data
CREATE TABLE opt_items AS SELECT * FROM items;
CREATE INDEX opts_a ON opt_items USING lsh (embedding vector_l2_ops) WITH (tables = 16, buckets = 8, sketch_bits = 64, shape_rows = 100);
CREATE INDEX opts_b ON opt_items USING lsh (embedding vector_ip_ops) WITH (tables = 1, buckets = 1, sketch_bits = 1024, shape_rows = 100);
CREATE INDEX opts_c ON opt_items USING lsh (embedding vector_cosine_ops) WITH (tables = 0, buckets = 0, sketch_bits = 0, shape_rows = 1000000);
SELECT relname, reloptions FROM pg_class WHERE relname IN ('opts_a', 'opts_b', 'opts_c') ORDER BY relname;
SET lsh.probes = 100000;
SET lsh.candidates = 100000;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('opt_items', 'embedding', '<->', ARRAY[sin(q), cos(q), sin(q * 0.5), 1]::vector, 10, 'opts_a')) AS opts_a_exact,
       count(*) FILTER (WHERE pg_temp.same_as_seqscan('opt_items', 'embedding', '<#>', ARRAY[sin(q), cos(q), sin(q * 0.5), 1]::vector, 10, 'opts_b')) AS opts_b_exact,
       count(*) FILTER (WHERE pg_temp.same_as_seqscan('opt_items', 'embedding', '<=>', ARRAY[sin(q), cos(q), sin(q * 0.5), 1]::vector, 10, 'opts_c')) AS opts_c_exact
FROM generate_series(1, 10) q;
RESET lsh.probes;
RESET lsh.candidates;
DROP TABLE opt_items;

-- errors, with their SQLSTATEs
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
\pset tuples_only on
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (tables = -1)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (tables = 17)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (buckets = -1)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (buckets = 1048577)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (sketch_bits = -1)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (sketch_bits = 1025)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (shape_rows = 99)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (shape_rows = 1000001)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (tables = many)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (lists = 4)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops) WITH (m = 16)$$);
SELECT pg_temp.try($$ALTER INDEX items_cosine SET (tables = 17)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l1_ops)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (id)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING lsh (embedding vector_l2_ops, id)$$);
SELECT pg_temp.try($$CREATE UNIQUE INDEX ON items USING lsh (embedding vector_l2_ops)$$);
SELECT pg_temp.try($$CREATE INDEX ON loose USING lsh (embedding vector_l2_ops)$$);
SELECT pg_temp.try($$CREATE INDEX ON loose USING lsh ((subvector(embedding, 1, 2)) vector_l2_ops)$$);
CREATE TABLE anydims (embedding vector);
SELECT pg_temp.try($$CREATE INDEX ON anydims USING lsh (embedding vector_cosine_ops)$$);
SELECT pg_temp.try($$INSERT INTO items VALUES (9001, '[1,2,3]')$$);
SELECT pg_temp.try($$INSERT INTO loose VALUES (9001, '[1,2,3,4]')$$);
SET enable_seqscan = off;
SELECT pg_temp.try($$SELECT id FROM items ORDER BY embedding <-> '[1,2]' LIMIT 5$$);
SELECT pg_temp.try($$SELECT id FROM items ORDER BY embedding <=> '[1,2,3,4,5]' LIMIT 5$$);
SELECT pg_temp.try($$SELECT id FROM loose ORDER BY embedding::vector(3) <-> '[1,2]' LIMIT 5$$);
\pset tuples_only off
RESET ALL;
-- halfvec: rows hashed as the floats their halves widen to and re-ranked by halfvec's own
-- distances, so that with every bucket probed each class answers exactly as a sequential scan
-- does; also pgvector's recipe of a vector column indexed as halfvec; the checker passes them
CREATE TABLE halves (id int, h halfvec(4), v vector(4));
INSERT INTO halves SELECT i, x::halfvec(4), x
FROM (SELECT i, ARRAY[sin(i * 1.3), cos(i * 0.4), sin(i * 2.1) * 2, cos(i * 1.7) + 1]::vector(4) AS x FROM generate_series(1, 3000) i) s;
CREATE INDEX halves_l2 ON halves USING lsh (h halfvec_l2_ops) WITH (shape_rows = 1000);
CREATE INDEX halves_ip ON halves USING lsh (h halfvec_ip_ops) WITH (shape_rows = 1000);
CREATE INDEX halves_cosine ON halves USING lsh (h halfvec_cosine_ops) WITH (shape_rows = 1000);
CREATE INDEX halves_of_vectors ON halves USING lsh ((v::halfvec(4)) halfvec_l2_ops) WITH (shape_rows = 1000);
INSERT INTO halves SELECT i, x::halfvec(4), x
FROM (SELECT i, ARRAY[cos(i * 0.9), sin(i * 1.1), cos(i * 0.3) * 2, sin(i * 0.6) - 1]::vector(4) AS x FROM generate_series(3001, 3500) i) s;
SET lsh.probes = 100000;
SET lsh.candidates = 100000;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('halves', 'h', '<->', v, 10, 'halves_l2')) AS l2,
       count(*) FILTER (WHERE pg_temp.same_as_seqscan('halves', 'h', '<#>', v, 10, 'halves_ip')) AS ip,
       count(*) FILTER (WHERE pg_temp.same_as_seqscan('halves', 'h', '<=>', v, 10, 'halves_cosine')) AS cosine,
       count(*) FILTER (WHERE pg_temp.same_as_seqscan('halves', 'v::halfvec(4)', '<->', v, 10, 'halves_of_vectors')) AS expression
FROM (SELECT ARRAY[sin(q * 3.1), cos(q * 0.7), sin(q * 1.9) * 2, cos(q * 2.3) + 1]::vector AS v FROM generate_series(1, 20) q) queries;
RESET lsh.probes;
RESET lsh.candidates;
SELECT c.relname, vectorsearch_check_index(c.oid, true) FROM pg_class c WHERE c.relname LIKE 'halves\_%' ORDER BY 1;
DROP TABLE items, unit, loose, anydims, halves;
