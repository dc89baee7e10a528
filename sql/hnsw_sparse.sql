-- hnsw on sparsevec: every operator class returns what an exact scan returns when ef_search
-- covers the table, for keys of one page and keys of several (past pgvector's limit of 1,000
-- non-zero elements); inserts after the build, VACUUM and the reuse of slots and key space, the
-- checker, and the errors
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- the distances of the k rows nearest by an index scan, in the order they come, and by a
-- sequential scan (rows that tie may differ; the distances in their order may not);
-- each call sets every planner setting it depends on (SET LOCAL lasts to the end of the calling
-- statement, past this call) and raises an error unless the first query is an index scan
CREATE FUNCTION pg_temp.agree(order_by text, k int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  query text := format('SELECT array_agg(d) FROM (SELECT %s AS d FROM sparse ORDER BY %s LIMIT %s) t', order_by, order_by, k);
  line text;
  plan text := '';
  by_index float8[];
  by_scan float8[];
BEGIN
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    plan := plan || line || E'\n';
  END LOOP;
  IF plan !~ 'Index Scan using \w+ on sparse' THEN
    RAISE EXCEPTION 'not an index scan: %', plan;
  END IF;
  EXECUTE query INTO by_index;
  PERFORM set_config('enable_seqscan', 'on', true);
  PERFORM set_config('enable_indexscan', 'off', true);
  EXECUTE query INTO by_scan;
  RETURN by_index = by_scan;
END $$;
-- row i: n non-zero elements at one of 17 starts and 7 strides, so that rows share most of their
-- indices (rows that share none are all at about the same distance, where a graph loses some of
-- them), values from sin; every 40th row has 2,500 consecutive ones (a key of 20,004 bytes:
-- three pieces)
CREATE FUNCTION pg_temp.row_vector(i int, n int) RETURNS sparsevec LANGUAGE sql AS $$
  SELECT ('{' || string_agg(k || ':' || (1.5 + sin(i * 0.37 + k))::real, ',' ORDER BY k) || '}/3000')::sparsevec
  FROM (SELECT DISTINCT 1 + ((i % 17) * 5 + j * CASE WHEN n > 1000 THEN 1 ELSE 1 + i % 7 END) % 3000 AS k
        FROM generate_series(1, n) j) s
$$;
CREATE TABLE sparse (id int, s sparsevec(3000));
INSERT INTO sparse SELECT i, pg_temp.row_vector(i, CASE WHEN i % 40 = 0 THEN 2500 ELSE 20 + i % 40 END)
FROM generate_series(1, 400) i;
CREATE INDEX sparse_l2 ON sparse USING hnsw (s sparsevec_l2_ops);
CREATE INDEX sparse_ip ON sparse USING hnsw (s sparsevec_ip_ops);
CREATE INDEX sparse_cos ON sparse USING hnsw (s sparsevec_cosine_ops);
CREATE INDEX sparse_l1 ON sparse USING hnsw (s sparsevec_l1_ops);
-- rows added after the build go through the insert path
INSERT INTO sparse SELECT i, pg_temp.row_vector(i, CASE WHEN i % 40 = 0 THEN 2500 ELSE 20 + i % 40 END)
FROM generate_series(401, 600) i;
SELECT count(*) FILTER (WHERE nnz > 1000) AS rows_over_1000_nnz
FROM (SELECT length(replace(s::text, ':', '::')) - length(s::text) AS nnz FROM sparse) t;
SET hnsw.ef_search = 1000;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM sparse ORDER BY s <-> '{1:1,2:2}/3000' LIMIT 5;
RESET enable_seqscan;
-- exact agreement, for queries of one piece and of three (80, 440), built and inserted
SELECT q, pg_temp.agree(format('s <-> (SELECT s FROM sparse WHERE id = %s)', q), 10) AS l2,
          pg_temp.agree(format('s <#> (SELECT s FROM sparse WHERE id = %s)', q), 10) AS ip,
          pg_temp.agree(format('s <=> (SELECT s FROM sparse WHERE id = %s)', q), 10) AS cosine,
          pg_temp.agree(format('s <+> (SELECT s FROM sparse WHERE id = %s)', q), 10) AS l1
FROM unnest(ARRAY[1, 80, 333, 440, 599]) q;
-- the nearest row to a row with 2,500 elements is itself, at distance 0
SET enable_seqscan = off;
SELECT id, s <-> (SELECT s FROM sparse WHERE id = 440) AS distance FROM sparse
ORDER BY s <-> (SELECT s FROM sparse WHERE id = 440) LIMIT 1;
RESET enable_seqscan;
-- an empty vector has no direction: the cosine index leaves it out, the others hold it
INSERT INTO sparse VALUES (0, '{}/3000');
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE id = 0) AS empty_by_cosine FROM (SELECT id FROM sparse ORDER BY s <=> '{1:1}/3000' LIMIT 1000) t;
SELECT count(*) FILTER (WHERE id = 0) AS empty_by_l2 FROM (SELECT id FROM sparse ORDER BY s <-> '{1:1}/3000' LIMIT 1000) t;
RESET enable_seqscan;
SELECT c.relname, vectorsearch_check_index(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'sparse'::regclass ORDER BY 1;
-- VACUUM removes deleted rows; their slots and their keys' space are taken by new rows of the
-- same sizes, so the index does not grow
DELETE FROM sparse WHERE id % 3 = 0;
VACUUM sparse;
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE id % 3 = 0) AS deleted_returned FROM (SELECT id FROM sparse ORDER BY s <-> (SELECT s FROM sparse WHERE id = 1) LIMIT 50) t;
RESET enable_seqscan;
-- (slots are free once no snapshot from before the VACUUM remains: a transaction that takes an
-- ID moves that horizon on)
SELECT pg_current_xact_id() IS NOT NULL AS horizon_moved;
SELECT pg_relation_size('sparse_l2') AS size_before \gset
INSERT INTO sparse SELECT i + 1000, pg_temp.row_vector(i, CASE WHEN i % 40 = 0 THEN 2500 ELSE 20 + i % 40 END)
FROM generate_series(3, 600, 3) i;
SELECT pg_relation_size('sparse_l2') = :size_before AS space_reused;
SELECT q, pg_temp.agree(format('s <-> (SELECT s FROM sparse WHERE id = %s)', q), 10) AS l2,
          pg_temp.agree(format('s <=> (SELECT s FROM sparse WHERE id = %s)', q), 10) AS cosine
FROM unnest(ARRAY[1, 1120, 1003]) q;
SELECT c.relname, vectorsearch_check_index(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'sparse'::regclass ORDER BY 1;
RESET hnsw.ef_search;
-- the most a sparsevec holds, 16,000 elements, is indexed too
CREATE TABLE dense_sparse (s sparsevec(100000));
INSERT INTO dense_sparse SELECT ('{' || string_agg((j * 6 + i) || ':' || (1 + (i * j) % 5), ',' ORDER BY j) || '}/100000')::sparsevec
FROM generate_series(1, 3) i, generate_series(1, 16000) j GROUP BY i;
CREATE INDEX dense_sparse_l2 ON dense_sparse USING hnsw (s sparsevec_l2_ops);
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT 1 FROM dense_sparse ORDER BY s <-> (SELECT s FROM dense_sparse LIMIT 1) LIMIT 5) t;
RESET enable_seqscan;
SELECT vectorsearch_check_index('dense_sparse_l2', true);
-- errors
\pset tuples_only on
SELECT pg_temp.try($$SELECT id FROM sparse ORDER BY s <-> '{1:1}/5' LIMIT 1$$);
CREATE TABLE untyped (s sparsevec);
SELECT pg_temp.try($$CREATE INDEX ON untyped USING hnsw (s sparsevec_l2_ops)$$);
SELECT pg_temp.try($$CREATE INDEX ON sparse USING lsh (s)$$);
DROP TABLE sparse, dense_sparse, untyped;
