-- an hnsw scan reads its settings once, at rescan: changing them while it runs (set_config in
-- the query itself, SET between two FETCHes of a cursor) neither crashes nor changes the scan
-- already under way; and a backend keeps little of an iterative scan's memory afterwards
CREATE TABLE big (id int, v vector(4));
INSERT INTO big SELECT i, ARRAY[sin(i), cos(i * 1.3), sin(i * 0.7), cos(i * 2.1)] FROM generate_series(1, 20000) i;
CREATE INDEX big_v ON big USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
SET hnsw.iterative_scan = relaxed_order;
SET hnsw.max_scan_tuples = 100000;

-- widening the beam from inside the query once wrote past the scan's result buffer
SET hnsw.ef_search = 1;
SELECT count(DISTINCT id) AS distinct_rows, count(*) AS all_rows
FROM (SELECT id, set_config('hnsw.ef_search', '1000', false) FROM big ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 5000) s;
SHOW hnsw.ef_search;

-- the same through a cursor, with SET between FETCHes; the rows are the ones a sequential
-- scan ranks first, to within what an approximate search misses
SET hnsw.ef_search = 1;
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM big ORDER BY v <-> '[0.5,0.5,0.5,0.5]';
CREATE TEMP TABLE fetched (id int);
DO $$
DECLARE
  cur refcursor := 'c';
  r record;
BEGIN
  FOR i IN 1..3000 LOOP
    FETCH cur INTO r;
    EXIT WHEN NOT FOUND;
    INSERT INTO fetched VALUES (r.id);
    IF i % 500 = 0 THEN
      PERFORM set_config('hnsw.ef_search', CASE WHEN i % 1000 = 0 THEN '1' ELSE '1000' END, true);
    END IF;
  END LOOP;
END $$;
COMMIT;
SELECT count(*) AS fetched, count(DISTINCT id) AS distinct_fetched FROM fetched;
SET enable_indexscan = off;
SET enable_seqscan = on;
SELECT count(*) >= 2900 AS mostly_the_nearest
FROM fetched JOIN (SELECT id FROM big ORDER BY v <-> '[0.5,0.5,0.5,0.5]' LIMIT 3000) exact USING (id);
RESET enable_indexscan;
SET enable_seqscan = off;

DROP TABLE big;

-- an iterative scan that visits every element of a large index grows its search memory far
-- beyond a normal scan's; the backend keeps no more for its next scan than the widest normal
-- scan needs
CREATE TABLE wide (id int, v vector(2));
INSERT INTO wide SELECT i, ARRAY[sin(i), cos(i * 1.3)] FROM generate_series(1, 60000) i;
CREATE INDEX ON wide USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 8);
SET hnsw.ef_search = 1000;
RESET hnsw.iterative_scan;
SELECT count(*) AS widest_normal FROM (SELECT id FROM wide ORDER BY v <-> '[0.5,0.5]' LIMIT 1000) s;
SELECT sum(total_bytes) <= 1024 * 1024 AS normal_scan_memory_kept
FROM pg_backend_memory_contexts WHERE name = 'hnsw search';
SET hnsw.ef_search = 40;
SET hnsw.iterative_scan = relaxed_order;
SET hnsw.scan_mem_multiplier = 1000;
SELECT count(*) AS none_match FROM (SELECT id FROM wide WHERE id < 0 ORDER BY v <-> '[0.5,0.5]' LIMIT 10) s;
SELECT coalesce(sum(total_bytes), 0) <= 1024 * 1024 AS spare_memory_bounded
FROM pg_backend_memory_contexts WHERE name = 'hnsw search';
DROP TABLE wide;
