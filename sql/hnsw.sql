-- the hnsw index: options, operator classes, plans, exact agreement with a sequential scan on
-- small data at a high ef_search, inserts, deletes, NULLs, zero vectors and errors
CREATE TABLE items (id int PRIMARY KEY, embedding vector(3));
INSERT INTO items SELECT i, ARRAY[(i * 7) % 23, (i * 11) % 29, (i * 13) % 31] FROM generate_series(1, 2000) i;
INSERT INTO items VALUES (2001, NULL);
CREATE INDEX items_l2 ON items USING hnsw (embedding vector_l2_ops) WITH (m = 8, ef_construction = 40);
ANALYZE items;

-- the planner uses the index for a LIMIT on a table of some size, also one above hnsw.ef_search
-- (the scan goes on searching; hnsw_limit.sql); not on a small table, not without a LIMIT, not
-- for another operator, and not without an ORDER BY on its distance
CREATE TABLE plan_items (id int, embedding vector(3));
INSERT INTO plan_items SELECT i, ARRAY[i % 101, i % 103, i % 107] FROM generate_series(1, 20000) i;
CREATE INDEX ON plan_items USING hnsw (embedding vector_l2_ops);
ANALYZE plan_items;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <-> '[1,2,3]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <-> '[1,2,3]';
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <-> '[1,2,3]' LIMIT 41;
SET hnsw.ef_search = 100;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <-> '[1,2,3]' LIMIT 41;
RESET hnsw.ef_search;
SET hnsw.iterative_scan = relaxed_order;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <-> '[1,2,3]' LIMIT 41;
RESET hnsw.iterative_scan;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items ORDER BY embedding <#> '[1,2,3]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM plan_items WHERE embedding = '[1,2,3]';
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <-> '[1,2,3]' LIMIT 5;
DROP TABLE plan_items;

-- at a high ef_search the index returns exactly what a sequential scan returns; each call sets
-- every planner setting it depends on (SET LOCAL lasts to the end of the calling statement, past
-- this call) and raises an error unless the first query is a scan of index_name and the second
-- is none
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
CREATE FUNCTION pg_temp.same_as_seqscan(op text, q vector, k int, index_name text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  query text := format('SELECT array_agg(d) FROM (SELECT embedding %s $1 AS d FROM items ORDER BY embedding %s $1 LIMIT %s) s', op, op, k);
  plan text;
  by_index float8[];
  by_scan float8[];
BEGIN
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  plan := pg_temp.plan_of(query, q);
  IF plan !~ ('Index Scan using ' || index_name || ' on items') THEN
    RAISE EXCEPTION 'not a scan of %: %', index_name, plan;
  END IF;
  EXECUTE query INTO by_index USING q;
  PERFORM set_config('enable_seqscan', 'on', true);
  PERFORM set_config('enable_indexscan', 'off', true);
  plan := pg_temp.plan_of(query, q);
  IF plan !~ 'Seq Scan on items' OR plan ~ 'Index' THEN
    RAISE EXCEPTION 'not a sequential scan: %', plan;
  END IF;
  EXECUTE query INTO by_scan USING q;
  RETURN by_index = by_scan;
END $$;
SET hnsw.ef_search = 400;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('<->', ARRAY[i % 23, (i * 3) % 29, (i * 5) % 31]::vector, 10, 'items_l2')) AS l2_exact
FROM generate_series(1, 50) i;

-- rows inserted after the build are found
INSERT INTO items SELECT i, ARRAY[(i * 7) % 23 + 0.5, (i * 11) % 29, (i * 13) % 31] FROM generate_series(2002, 2500) i;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('<->', ARRAY[i % 23 + 0.5, (i * 3) % 29, (i * 5) % 31]::vector, 10, 'items_l2')) AS after_insert
FROM generate_series(1, 50) i;

-- deleted rows are never returned, before or after VACUUM
DELETE FROM items WHERE id % 3 = 0;
SET enable_seqscan = off;
SELECT count(*) AS deleted_returned FROM (SELECT id FROM items ORDER BY embedding <-> '[5,5,5]' LIMIT 100) s WHERE id % 3 = 0;
VACUUM items;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('<->', ARRAY[i % 23, (i * 3) % 29, (i * 5) % 31]::vector, 10, 'items_l2')) AS after_vacuum
FROM generate_series(1, 50) i;
RESET enable_seqscan;

-- VACUUM freed the 833 deleted rows' slots: once no snapshot from before it remains (one more
-- transaction ID is handed out), inserts take them
SELECT txid_current() > 0 AS one_more_transaction;
INSERT INTO items SELECT i, ARRAY[(i * 5) % 23 + 0.25, (i * 3) % 29, (i * 17) % 31] FROM generate_series(2501, 3300) i;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('<->', ARRAY[i % 23 + 0.25, (i * 3) % 29, (i * 5) % 31]::vector, 10, 'items_l2')) AS after_reuse
FROM generate_series(1, 50) i;

-- inserts into freed slots do not grow the index. A run holds at most 64 pages' worth of
-- elements: for vector(3) at m = 16 (a 206-byte link record and 12 bytes of vector each) under
-- 2,400, so 2,500 inserts that took no freed slot would have to allocate a new run.
CREATE TABLE reuse (id int, embedding vector(3));
INSERT INTO reuse SELECT i, ARRAY[i % 23, i % 29, i % 31] FROM generate_series(1, 3000) i;
CREATE INDEX reuse_l2 ON reuse USING hnsw (embedding vector_l2_ops) WITH (m = 16);
DELETE FROM reuse WHERE id <= 2500;
VACUUM reuse;
SELECT pg_relation_size('reuse_l2') AS size_before_reuse \gset
SELECT txid_current() > 0 AS one_more_transaction;
INSERT INTO reuse SELECT i, ARRAY[i % 23 + 0.5, i % 29, i % 31] FROM generate_series(3001, 5500) i;
SELECT pg_relation_size('reuse_l2') = :size_before_reuse AS space_reused;
DROP TABLE reuse;

-- a filter that passes one row in ten: a scan of ef_search 10 goes on until the LIMIT is met, in
-- every mode; strict_order (and off) return distances in order, relaxed_order nearly so;
-- hnsw.max_scan_tuples stops it early
SET enable_seqscan = off;
SET hnsw.ef_search = 10;
SELECT count(*) AS off_meets_limit
FROM (SELECT id FROM items WHERE id % 10 = 0 ORDER BY embedding <-> '[5,5,5]' LIMIT 20) s;
SET hnsw.iterative_scan = relaxed_order;
SELECT count(*) AS relaxed, count(DISTINCT id) AS distinct_rows, bool_and(id % 10 = 0) AS all_pass
FROM (SELECT id FROM items WHERE id % 10 = 0 ORDER BY embedding <-> '[5,5,5]' LIMIT 20) s;
SET hnsw.iterative_scan = strict_order;
SELECT count(*) AS strict, bool_and(d >= coalesce(previous, 0)) AS in_order
FROM (SELECT d, lag(d) OVER (ORDER BY n) AS previous
      FROM (SELECT embedding <-> '[5,5,5]' AS d, row_number() OVER () AS n
            FROM (SELECT embedding FROM items WHERE id % 10 = 0 ORDER BY embedding <-> '[5,5,5]' LIMIT 20) s) t) u;
SET hnsw.max_scan_tuples = 1;
SELECT count(*) < 20 AS stopped_early
FROM (SELECT id FROM items WHERE id % 10 = 0 ORDER BY embedding <-> '[5,5,5]' LIMIT 20) s;
RESET hnsw.max_scan_tuples;
RESET hnsw.iterative_scan;
RESET hnsw.ef_search;
RESET enable_seqscan;

-- the other operator classes
CREATE INDEX items_ip ON items USING hnsw (embedding vector_ip_ops);
CREATE INDEX items_cosine ON items USING hnsw (embedding vector_cosine_ops);
CREATE INDEX items_l1 ON items USING hnsw (embedding vector_l1_ops);
-- (inner product is no metric, and a graph walk by it can stop short: nearly all, not all)
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('<#>', ARRAY[i % 5, i % 7, 1]::vector, 5, 'items_ip')) >= 16 AS ip_nearly_exact,
       count(*) FILTER (WHERE pg_temp.same_as_seqscan('<+>', ARRAY[i % 5, i % 7, 1]::vector, 5, 'items_l1')) AS l1_exact
FROM generate_series(1, 20) i;
SELECT count(*) FILTER (WHERE pg_temp.same_as_seqscan('<=>', ARRAY[i % 5 + 1, i % 7 + 1, 2]::vector, 5, 'items_cosine')) AS cosine_exact
FROM generate_series(1, 20) i;
DROP INDEX items_ip, items_cosine, items_l1;

-- NULLs and, under cosine, zero vectors are not indexed; a NULL or zero query orders nothing
-- but still returns rows, as a sequential scan would
SET enable_seqscan = off;
SET plan_cache_mode = force_generic_plan;
PREPARE nearest(vector) AS SELECT id FROM items ORDER BY embedding <-> $1 LIMIT 5;
EXPLAIN (COSTS OFF) EXECUTE nearest(NULL);
SELECT count(*) FROM (SELECT id FROM items ORDER BY embedding <-> NULL LIMIT 5) s;
CREATE TEMP TABLE null_result AS EXECUTE nearest(NULL);
SELECT count(*) FROM null_result;
CREATE TABLE unit (id int, embedding vector(2));
INSERT INTO unit VALUES (1, '[0,0]'), (2, '[1,0]'), (3, '[0,1]'), (4, NULL);
CREATE INDEX ON unit USING hnsw (embedding vector_cosine_ops);
SELECT id FROM unit ORDER BY embedding <=> '[1,0.1]' LIMIT 5;
SELECT count(*) FROM (SELECT id FROM unit ORDER BY embedding <=> '[0,0]' LIMIT 5) s;
RESET enable_seqscan;
RESET plan_cache_mode;

-- an empty index, filled by INSERTs only
CREATE TABLE grows (id int, embedding vector(4));
CREATE INDEX ON grows USING hnsw (embedding vector_l2_ops);
INSERT INTO grows SELECT i, ARRAY[i, i % 5, i % 7, 1] FROM generate_series(1, 300) i;
SET enable_seqscan = off;
SELECT id FROM grows ORDER BY embedding <-> '[100,0,2,1]' LIMIT 3;
RESET enable_seqscan;

-- a graph that outgrows maintenance_work_mem is finished on disk, with a NOTICE; nearly every
-- row is found by its own vector (on this data hnswlib, built in memory, finds 2961 of 3000)
CREATE TABLE spill (id int, embedding vector(64));
INSERT INTO spill SELECT i, (SELECT array_agg(sin(i * j) * 10) FROM generate_series(1, 64) j) FROM generate_series(1, 3000) i;
SET maintenance_work_mem = '1MB';
SET client_min_messages = notice;
CREATE INDEX ON spill USING hnsw (embedding vector_l2_ops);
RESET maintenance_work_mem;
SET hnsw.ef_search = 400;
SET enable_seqscan = off;
SELECT count(*) >= 2930 AS found_itself FROM spill s
  WHERE (SELECT t.id FROM spill t ORDER BY t.embedding <-> s.embedding LIMIT 1) = s.id;
RESET enable_seqscan;
RESET hnsw.ef_search;

-- a build can be cancelled
SET statement_timeout = '100ms';
CREATE INDEX ON spill USING hnsw (embedding vector_l2_ops) WITH (ef_construction = 1000);
RESET statement_timeout;
DROP TABLE spill;

-- unlogged tables get an init fork
CREATE UNLOGGED TABLE scratch (embedding vector(2));
CREATE INDEX ON scratch USING hnsw (embedding vector_l2_ops);
INSERT INTO scratch VALUES ('[1,1]'), ('[2,2]');
SELECT count(*) FROM (SELECT * FROM scratch ORDER BY embedding <-> '[0,0]' LIMIT 2) s;

-- errors
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
\pset tuples_only on
SELECT pg_temp.try($$CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 1)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 101)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (ef_construction = 3)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (ef_construction = 1001)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (m = 40, ef_construction = 64)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WITH (lists = 4)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING hnsw (embedding)$$);
SELECT pg_temp.try($$CREATE INDEX ON items USING hnsw (id)$$);
SELECT pg_temp.try($$CREATE INDEX ON unit USING hnsw (embedding vector_l2_ops, id)$$);
CREATE TABLE anydims (embedding vector);
SELECT pg_temp.try($$CREATE INDEX ON anydims USING hnsw (embedding vector_l2_ops)$$);
SELECT pg_temp.try($$SET hnsw.ef_search = 0$$);
SELECT pg_temp.try($$SET hnsw.ef_search = 1001$$);
SELECT pg_temp.try($$SET hnsw.iterative_scan = sorted$$);
SELECT pg_temp.try($$SET hnsw.max_scan_tuples = 0$$);
SELECT pg_temp.try($$SET hnsw.scan_mem_multiplier = 0.5$$);
SELECT pg_temp.try($$SET hnsw.no_such_setting = 1$$);
SET enable_seqscan = off;
SELECT pg_temp.try($$SELECT id FROM items ORDER BY embedding <-> '[1,2]' LIMIT 5$$);
\pset tuples_only off
RESET ALL;
DROP TABLE items, unit, grows, scratch, anydims;
