-- hnsw serves any LIMIT: a LIMIT above hnsw.ef_search and a generic plan's LIMIT $1 are planned
-- as index scans, which go on searching while rows are fetched and return them in order, with
-- the recall of a good approximate search; a query without a LIMIT is still sorted exactly.
-- vectorsearch_last_scan() reports what the last scan cost.
CREATE TABLE lim (id int, v vector(8));
SELECT setseed(0.42);
INSERT INTO lim SELECT i, ARRAY(SELECT random() FROM generate_series(1, 8) WHERE i > 0) FROM generate_series(1, 20000) i;
CREATE INDEX lim_v ON lim USING hnsw (v vector_l2_ops);
ANALYZE lim;
CREATE TABLE queries AS
SELECT q, ARRAY(SELECT random() FROM generate_series(1, 8) WHERE q > 0)::vector(8) AS v
FROM generate_series(1, 20) q;

-- before the backend's first index scan there is nothing to report
SELECT vectorsearch_last_scan() IS NULL AS no_scan_yet;

-- at the default settings (ef_search 40, no iterative scan), LIMIT 100 uses the index; a query
-- that wants every row does not
SHOW hnsw.ef_search;
SHOW hnsw.iterative_scan;
EXPLAIN (COSTS OFF) SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 100;
EXPLAIN (COSTS OFF) SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]';
EXPLAIN (COSTS OFF) SELECT r.id FROM queries q, LATERAL (SELECT id FROM lim ORDER BY v <-> q.v LIMIT 100) r;

-- LIMIT 100 returns 100 rows per query, in non-decreasing distance, and nearly the exact 100
CREATE TABLE by_index AS
SELECT q.q, r.id, r.d, r.n
FROM queries q, LATERAL (SELECT id, d, row_number() OVER () AS n
                         FROM (SELECT id, v <-> q.v AS d FROM lim ORDER BY v <-> q.v LIMIT 100) s) r;
SET enable_indexscan = off;
EXPLAIN (COSTS OFF) SELECT r.id FROM queries q, LATERAL (SELECT id FROM lim ORDER BY v <-> q.v LIMIT 100) r;
CREATE TABLE exact AS
SELECT q.q, r.id FROM queries q, LATERAL (SELECT id FROM lim ORDER BY v <-> q.v LIMIT 100) r;
RESET enable_indexscan;
SELECT count(*) AS rows, count(DISTINCT (q, id)) AS distinct_rows, min(n) AS first, max(n) AS last
FROM by_index;
SELECT bool_and(d >= previous) AS in_order
FROM (SELECT d, lag(d) OVER (PARTITION BY q ORDER BY n) AS previous FROM by_index) s WHERE previous IS NOT NULL;
SELECT count(*) / 2000.0 >= 0.95 AS recall_at_least_095 FROM by_index JOIN exact USING (q, id);

-- a generic plan's LIMIT $1 (ORMs, plan_cache_mode = force_generic_plan) uses the index too, and
-- returns as many rows as asked, in order
SET plan_cache_mode = force_generic_plan;
PREPARE nearest(vector, bigint) AS SELECT id, v <-> $1 AS d FROM lim ORDER BY v <-> $1 LIMIT $2;
EXPLAIN (COSTS OFF) EXECUTE nearest('[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]', 100);
CREATE TABLE by_generic (q int, id int, d float8, n int);
DO $$
DECLARE
  query record;
  r record;
  n int;
BEGIN
  FOR query IN SELECT q, v FROM queries LOOP
    n := 0;
    FOR r IN EXECUTE format('EXECUTE nearest(%L, 100)', query.v) LOOP
      n := n + 1;
      INSERT INTO by_generic VALUES (query.q, r.id, r.d, n);
    END LOOP;
  END LOOP;
END $$;
SELECT count(*) AS generic_rows, count(DISTINCT (q, id)) AS distinct_rows FROM by_generic;
SELECT bool_and(d >= previous) AS in_order
FROM (SELECT d, lag(d) OVER (PARTITION BY q ORDER BY n) AS previous FROM by_generic) s WHERE previous IS NOT NULL;
SELECT count(*) / 2000.0 >= 0.95 AS recall_at_least_095 FROM by_generic JOIN exact USING (q, id);
DEALLOCATE nearest;
RESET plan_cache_mode;

-- what a scan cost: one batch for LIMIT 5, the rows returned, counters that grow with ef_search
SET hnsw.ef_search = 10;
SELECT count(*) FROM (SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 5) s;
SELECT index, batches, rows, visited > 0 AS visited, distances >= visited AS distances, pages > 0 AS pages,
       pages_read >= 0 AND pages_read <= pages AS pages_read
FROM vectorsearch_last_scan();
SELECT visited AS visited_10, distances AS distances_10, pages AS pages_10 FROM vectorsearch_last_scan() \gset
SET hnsw.ef_search = 100;
SELECT count(*) FROM (SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 5) s;
SELECT visited > :visited_10 AS more_visited, distances > :distances_10 AS more_distances,
       pages > :pages_10 AS more_pages
FROM vectorsearch_last_scan();
-- LIMIT 100 at ef_search 10 runs further batches
SET hnsw.ef_search = 10;
SELECT count(*) FROM (SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 100) s;
SELECT batches > 1 AS continued, rows FROM vectorsearch_last_scan();
RESET hnsw.ef_search;

-- without an iterative scan asked for, the LIMIT must be met: a scan expected to visit more than
-- hnsw.max_scan_tuples elements for it (2m per row, estimated) is left to a sequential scan; an
-- iterative scan was asked to stop there, and keeps the index
SET hnsw.max_scan_tuples = 1000;
EXPLAIN (COSTS OFF) SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 100;
SET hnsw.iterative_scan = strict_order;
EXPLAIN (COSTS OFF) SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 100;
RESET hnsw.iterative_scan;
RESET hnsw.max_scan_tuples;

-- a filter that passes one row in ten at ef_search 10: the scan goes on past the rows it
-- rejects until the LIMIT is met, in order, every row passing
SET hnsw.ef_search = 10;
SET enable_seqscan = off;
SELECT count(*) AS filtered_rows, count(DISTINCT id) AS distinct_rows, bool_and(id % 10 = 0) AS all_pass,
       bool_and(d >= coalesce(previous, 0)) AS in_order
FROM (SELECT id, d, lag(d) OVER (ORDER BY n) AS previous
      FROM (SELECT id, d, row_number() OVER () AS n
            FROM (SELECT id, v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' AS d FROM lim WHERE id % 10 = 0
                  ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 50) s) t) u;
RESET enable_seqscan;
RESET hnsw.ef_search;

-- A query the index cannot serve (no LIMIT: it wants every row) is not planned on it even when
-- the alternatives are disabled, which the planner prices at disable_cost per disabled node.
SET enable_seqscan = off;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]';
SELECT count(*) AS all_rows FROM (SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]') s;
RESET enable_seqscan;
RESET enable_sort;

-- Without an iterative scan a small work_mem does not cut a LIMIT short: the scan is bounded by
-- hnsw.max_scan_tuples, which the planner checked.
SET work_mem = '64kB';
EXPLAIN (COSTS OFF) SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 100;
SELECT count(*) AS rows FROM (SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 100) s;
RESET work_mem;

-- A scan of an empty index right after one of a full index in the same backend (which keeps
-- its search memory for the next scan) finds nothing to continue from: the candidates the first
-- scan left belong to the other index. (They were followed, and the scan failed reading a block
-- the empty index does not have.)
CREATE TABLE lim_empty (id int, v vector(8));
CREATE INDEX lim_empty_v ON lim_empty USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
SELECT count(*) AS rows FROM (SELECT id FROM lim ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 5) s;
SELECT count(*) AS rows FROM (SELECT id FROM lim_empty ORDER BY v <-> '[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]' LIMIT 10) s;
RESET enable_seqscan;
DROP TABLE lim_empty;

DROP TABLE lim, queries, by_index, exact, by_generic;
