-- lsh's query settings: their ranges, EXPLAIN (SETTINGS), lsh.target_recall choosing how much a
-- scan re-ranks, lsh.probes and lsh.candidates overriding it, settings read once at rescan
-- (set_config inside the query, SET between two FETCHes of a cursor), and scans that go on past
-- their first batch to meet a LIMIT, with and without a filter, in each lsh.iterative_scan mode
CREATE TABLE big (id int, v vector(4));
INSERT INTO big SELECT i, ARRAY[sin(i), cos(i * 1.3), sin(i * 0.7), cos(i * 2.1)] FROM generate_series(1, 5000) i;
CREATE INDEX big_v ON big USING lsh (v vector_l2_ops) WITH (shape_rows = 1000);
ANALYZE big;

-- the ranges of the settings
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
\pset tuples_only on
SHOW lsh.target_recall;
SHOW lsh.probes;
SHOW lsh.candidates;
SHOW lsh.iterative_scan;
SHOW lsh.max_scan_tuples;
SELECT pg_temp.try($$SET lsh.target_recall = 0.5$$);
SELECT pg_temp.try($$SET lsh.target_recall = 0.999$$);
SELECT pg_temp.try($$SET lsh.target_recall = 0.49$$);
SELECT pg_temp.try($$SET lsh.target_recall = 0.9995$$);
SELECT pg_temp.try($$SET lsh.target_recall = 1$$);
SELECT pg_temp.try($$SET lsh.probes = 0$$);
SELECT pg_temp.try($$SET lsh.probes = -1$$);
SELECT pg_temp.try($$SET lsh.probes = 1048577$$);
SELECT pg_temp.try($$SET lsh.candidates = 0$$);
SELECT pg_temp.try($$SET lsh.candidates = -1$$);
SELECT pg_temp.try($$SET lsh.candidates = 16777217$$);
SELECT pg_temp.try($$SET lsh.iterative_scan = sorted$$);
SELECT pg_temp.try($$SET lsh.max_scan_tuples = 0$$);
SELECT pg_temp.try($$SET lsh.scan_mem_multiplier = 0.5$$);
SELECT pg_temp.try($$SET lsh.no_such_setting = 1$$);
-- the session's settings are unchanged by the statements above
SHOW lsh.target_recall;
\pset tuples_only off

-- EXPLAIN (SETTINGS) shows the lsh settings that differ from their defaults
SET enable_seqscan = off;
SET lsh.target_recall = 0.95;
SET lsh.probes = 3;
SET lsh.candidates = 200;
SET lsh.iterative_scan = strict_order;
SET lsh.max_scan_tuples = 5000;
SET lsh.scan_mem_multiplier = 2;
EXPLAIN (SETTINGS, COSTS OFF) SELECT id FROM big ORDER BY v <-> '[1,0,1,0]' LIMIT 5;
RESET lsh.target_recall;
RESET lsh.probes;
RESET lsh.candidates;
RESET lsh.iterative_scan;
RESET lsh.max_scan_tuples;
RESET lsh.scan_mem_multiplier;

-- a higher lsh.target_recall re-ranks more rows, and finds more of the true nearest 10 over 50
-- queries (rows of the same formula the table's rows come from, not in the table)
CREATE TEMP TABLE queries AS
SELECT q, ARRAY[sin(q), cos(q * 1.3), sin(q * 0.7), cos(q * 2.1)]::vector(4) AS v FROM generate_series(5001, 5050) q;
RESET enable_seqscan;
SET enable_indexscan = off;
CREATE TEMP TABLE exact AS
SELECT q.q, r.id FROM queries q, LATERAL (SELECT id FROM big ORDER BY v <-> q.v LIMIT 10) r;
RESET enable_indexscan;
SET enable_seqscan = off;
CREATE FUNCTION pg_temp.found_at(target text) RETURNS TABLE (recall numeric, reranked bigint) LANGUAGE plpgsql AS $$
DECLARE
  total bigint := 0;
  hits bigint := 0;
  query record;
BEGIN
  PERFORM set_config('lsh.target_recall', target, true);
  FOR query IN SELECT q, v FROM queries ORDER BY q LOOP
    hits := hits + (SELECT count(*) FROM (SELECT id FROM big ORDER BY v <-> query.v LIMIT 10) r
                    JOIN exact e ON e.q = query.q AND e.id = r.id);
    total := total + (SELECT distances FROM vectorsearch_last_scan());
  END LOOP;
  RETURN QUERY SELECT round(hits / 500.0, 3), total;
END $$;
SELECT f.recall AS recall_050, f.reranked AS reranked_050 FROM pg_temp.found_at('0.5') f \gset
SELECT f.recall AS recall_090, f.reranked AS reranked_090 FROM pg_temp.found_at('0.9') f \gset
SELECT f.recall AS recall_0999, f.reranked AS reranked_0999 FROM pg_temp.found_at('0.999') f \gset
SELECT :reranked_050 < :reranked_090 AND :reranked_090 < :reranked_0999 AS more_reranked,
       :recall_050 <= :recall_090 AND :recall_090 <= :recall_0999 AS more_found,
       :recall_0999 >= 0.95 AS nearly_all_at_0999;

-- lsh.probes and lsh.candidates override the target: one bucket per table, ten rows re-ranked
SET lsh.probes = 1;
SET lsh.candidates = 10;
SELECT count(*) FROM (SELECT id FROM big ORDER BY v <-> '[1,0,1,0]' LIMIT 5) s;
SELECT batches, distances, rows FROM vectorsearch_last_scan();

-- a LIMIT beyond one batch: the scan goes on with doubled settings and returns that many rows,
-- each once, in non-decreasing distance; from the default settings, from a batch of ten rows,
-- and up to every row of the table
CREATE FUNCTION pg_temp.in_order(query text) RETURNS TABLE (rows bigint, distinct_rows bigint, in_order boolean)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'SELECT count(*), count(DISTINCT id), coalesce(bool_and(d >= previous), true)
     FROM (SELECT id, d, lag(d) OVER (ORDER BY n) AS previous
           FROM (SELECT id, d, row_number() OVER () AS n FROM (%s) s) t) u', query);
END $$;
RESET lsh.probes;
RESET lsh.candidates;
SELECT * FROM pg_temp.in_order($$SELECT id, v <-> '[1,0,1,0]' AS d FROM big ORDER BY v <-> '[1,0,1,0]' LIMIT 500$$);
SELECT batches > 1 AS continued, rows FROM vectorsearch_last_scan();
SET lsh.probes = 1;
SET lsh.candidates = 10;
SELECT * FROM pg_temp.in_order($$SELECT id, v <-> '[1,0,1,0]' AS d FROM big ORDER BY v <-> '[1,0,1,0]' LIMIT 500$$);
RESET lsh.probes;
RESET lsh.candidates;
-- (a row nearer than one already returned is left out in this order, so a scan that reads the
-- whole index may miss some of the rows its early batches ranked wrongly: not more than 15%,
-- where the same scan in relaxed order returns every row)
EXPLAIN (COSTS OFF) SELECT id FROM big ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 5000;
SELECT rows >= 4250 AS nearly_every_row, distinct_rows = rows AS each_once, in_order
FROM pg_temp.in_order($$SELECT id, v <-> '[0.5,0.5,0.5,0.5]' AS d FROM big ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 5000$$);
SET lsh.probes = 1;
SET lsh.candidates = 10;

-- a filter that passes one row in ten meets LIMIT 20 in every mode; strict_order (and off) in
-- non-decreasing distance; lsh.max_scan_tuples stops a scan early
SELECT * FROM pg_temp.in_order($$SELECT id, v <-> '[1,0,1,0]' AS d FROM big WHERE id % 10 = 0 ORDER BY v <-> '[1,0,1,0]' LIMIT 20$$) AS off;
SET lsh.iterative_scan = strict_order;
SELECT * FROM pg_temp.in_order($$SELECT id, v <-> '[1,0,1,0]' AS d FROM big WHERE id % 10 = 0 ORDER BY v <-> '[1,0,1,0]' LIMIT 20$$) AS strict;
SET lsh.iterative_scan = relaxed_order;
SELECT count(*) AS relaxed, count(DISTINCT id) AS distinct_rows, bool_and(id % 10 = 0) AS all_pass
FROM (SELECT id FROM big WHERE id % 10 = 0 ORDER BY v <-> '[1,0,1,0]' LIMIT 20) s;
SET lsh.max_scan_tuples = 10;
SELECT count(*) < 20 AS stopped_early
FROM (SELECT id FROM big WHERE id % 10 = 0 ORDER BY v <-> '[1,0,1,0]' LIMIT 20) s;
SELECT distances <= 10 AS within_max_scan_tuples FROM vectorsearch_last_scan();
RESET lsh.max_scan_tuples;
RESET lsh.iterative_scan;

-- widening the scan from inside the query, while it runs, neither crashes nor changes it: it
-- goes on from its own settings, batch after batch
SELECT count(DISTINCT id) AS distinct_rows, count(*) AS all_rows
FROM (SELECT id, set_config('lsh.candidates', '100000', false) FROM big ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 200) s;
SHOW lsh.candidates;
SELECT batches > 2 AS kept_its_settings, rows FROM vectorsearch_last_scan();

-- the same through a cursor, with SET between FETCHes: the rows come once each, in order, and
-- the scan goes on from the settings it started with
SET lsh.probes = 1;
SET lsh.candidates = 10;
BEGIN;
DECLARE c CURSOR FOR SELECT id, v <-> '[0.5,0.5,0.5,0.5]' AS d FROM big ORDER BY v <-> '[0.5,0.5,0.5,0.5]';
CREATE TEMP TABLE fetched (n int, id int, d float8);
DO $$
DECLARE
  cur refcursor := 'c';
  r record;
BEGIN
  FOR i IN 1..200 LOOP
    FETCH cur INTO r;
    EXIT WHEN NOT FOUND;
    INSERT INTO fetched VALUES (i, r.id, r.d);
    IF i % 50 = 0 THEN
      PERFORM set_config('lsh.candidates', CASE WHEN i % 100 = 0 THEN '1' ELSE '100000' END, true);
      PERFORM set_config('lsh.probes', CASE WHEN i % 100 = 0 THEN '1' ELSE '100000' END, true);
    END IF;
  END LOOP;
END $$;
CLOSE c;
COMMIT;
SELECT batches > 2 AS kept_its_settings, rows FROM vectorsearch_last_scan();
SELECT count(*) AS fetched, count(DISTINCT id) AS distinct_fetched,
       bool_and(d >= previous) AS in_order
FROM (SELECT id, d, lag(d) OVER (ORDER BY n) AS previous FROM fetched) s;

-- a cursor opened at settings that cover every bucket and row returns exactly a sort's order
-- (the same distance at every position: two rows of the table tie), however the settings change
-- between FETCHes
SET lsh.probes = 100000;
SET lsh.candidates = 100000;
TRUNCATE fetched;
BEGIN;
DECLARE c CURSOR FOR SELECT id, v <-> '[0.5,0.5,0.5,0.5]' AS d FROM big ORDER BY v <-> '[0.5,0.5,0.5,0.5]';
DO $$
DECLARE
  cur refcursor := 'c';
  r record;
BEGIN
  FOR i IN 1..3000 LOOP
    FETCH cur INTO r;
    EXIT WHEN NOT FOUND;
    INSERT INTO fetched VALUES (i, r.id, r.d);
    IF i % 500 = 0 THEN
      PERFORM set_config('lsh.candidates', CASE WHEN i % 1000 = 0 THEN '100000' ELSE '1' END, true);
      PERFORM set_config('lsh.probes', CASE WHEN i % 1000 = 0 THEN '100000' ELSE '1' END, true);
    END IF;
  END LOOP;
END $$;
COMMIT;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT count(*) AS fetched, count(DISTINCT f.id) AS distinct_fetched, count(*) FILTER (WHERE e.d = f.d) AS same_as_sort
FROM fetched f JOIN (SELECT v <-> '[0.5,0.5,0.5,0.5]' AS d, row_number() OVER () AS n
                     FROM (SELECT v FROM big ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 3000) s) e USING (n);
RESET ALL;
DROP TABLE big;
