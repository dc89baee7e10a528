-- VACUUM of an lsh index removes the entries of dead rows from their buckets: the index counts
-- the rows that remain, a deleted row never comes back through it, and the space goes to the
-- bucket's next rows, so reinserting the same vectors (which hash to the same buckets) does not
-- grow it; for a shaped index and for an unshaped one
CREATE TABLE churn (id int, v vector(3));
INSERT INTO churn SELECT i, ARRAY[sin(i * 0.7), cos(i * 1.1), sin(i * 2.3)] FROM generate_series(1, 6000) i;
CREATE INDEX churn_l2 ON churn USING lsh (v vector_l2_ops) WITH (shape_rows = 1000);
CREATE INDEX churn_cosine ON churn USING lsh (v vector_cosine_ops) WITH (shape_rows = 1000);
-- unshaped: built on fewer rows than its shape_rows
CREATE INDEX churn_ip ON churn USING lsh (v vector_ip_ops) WITH (shape_rows = 10000);
SELECT relname, reltuples FROM pg_class WHERE relname IN ('churn_l2', 'churn_cosine', 'churn_ip') ORDER BY relname;
SELECT pg_relation_size('churn_l2') AS l2_size, pg_relation_size('churn_cosine') AS cosine_size,
       pg_relation_size('churn_ip') AS ip_size \gset

-- the ids a scan of each index returns for 20 queries, LIMIT 50, at settings that cover every
-- bucket and row, against a sort's (an error unless the index was scanned); and how many rows
-- came back that the table no longer holds
CREATE FUNCTION pg_temp.compare_with_sort() RETURNS TABLE (op text, same_position bigint, deleted_returned bigint)
LANGUAGE plpgsql AS $$
DECLARE
  distance_op text;
  scanned regclass;
BEGIN
  PERFORM set_config('lsh.probes', '100000', true);
  PERFORM set_config('lsh.candidates', '100000', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  CREATE TEMP TABLE by_index (q int, n bigint, id int);
  CREATE TEMP TABLE by_sort (q int, n bigint, id int);
  FOREACH distance_op IN ARRAY ARRAY['<->', '<=>', '<#>'] LOOP
    PERFORM set_config('enable_seqscan', 'off', true);
    PERFORM set_config('enable_indexscan', 'on', true);
    EXECUTE format($q$INSERT INTO by_index SELECT q, n, id FROM generate_series(1, 20) q,
      LATERAL (SELECT id, row_number() OVER () AS n
               FROM (SELECT id FROM churn ORDER BY v %s ARRAY[sin(q), cos(q), sin(q * 0.5)]::vector LIMIT 50) s) r$q$, distance_op);
    scanned := (SELECT index FROM vectorsearch_last_scan());
    IF scanned <> ('{"<->": "churn_l2", "<=>": "churn_cosine", "<#>": "churn_ip"}'::jsonb ->> distance_op)::regclass THEN
      RAISE EXCEPTION 'the queries under % scanned %', distance_op, scanned;
    END IF;
    PERFORM set_config('enable_seqscan', 'on', true);
    PERFORM set_config('enable_indexscan', 'off', true);
    EXECUTE format($q$INSERT INTO by_sort SELECT q, n, id FROM generate_series(1, 20) q,
      LATERAL (SELECT id, row_number() OVER () AS n
               FROM (SELECT id FROM churn ORDER BY v %s ARRAY[sin(q), cos(q), sin(q * 0.5)]::vector LIMIT 50) s) r$q$, distance_op);
    RETURN QUERY SELECT distance_op, (SELECT count(*) FROM by_index JOIN by_sort USING (q, n, id)),
                        (SELECT count(*) FROM by_index i WHERE NOT EXISTS (SELECT FROM churn c WHERE c.id = i.id));
    TRUNCATE by_index, by_sort;
  END LOOP;
  DROP TABLE by_index, by_sort;
END $$;
-- the plans of compare_with_sort's queries
SET lsh.probes = 100000;
SET lsh.candidates = 100000;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM churn ORDER BY v <-> '[1,0,0]' LIMIT 50;
EXPLAIN (COSTS OFF) SELECT id FROM churn ORDER BY v <=> '[1,0,0]' LIMIT 50;
EXPLAIN (COSTS OFF) SELECT id FROM churn ORDER BY v <#> '[1,0,0]' LIMIT 50;
RESET enable_seqscan;
RESET lsh.probes;
RESET lsh.candidates;
SELECT * FROM pg_temp.compare_with_sort();

-- delete half: before VACUUM the index still holds the dead rows' entries; none is returned
DELETE FROM churn WHERE id % 2 = 0;
SELECT * FROM pg_temp.compare_with_sort();
VACUUM churn;
SELECT relname, reltuples FROM pg_class WHERE relname IN ('churn_l2', 'churn_cosine', 'churn_ip') ORDER BY relname;
SELECT * FROM pg_temp.compare_with_sort();

-- a LIMIT above the table's rows returns exactly the live rows
SET lsh.probes = 100000;
SET lsh.candidates = 100000;
SET enable_seqscan = off;
SELECT count(*) AS rows, count(*) FILTER (WHERE id % 2 = 0) AS deleted_returned
FROM (SELECT id FROM churn ORDER BY v <-> '[1,0,0]' LIMIT 10000) s;
RESET enable_seqscan;
RESET lsh.probes;
RESET lsh.candidates;

-- the same vectors again, under the deleted rows' ids: they fill the space VACUUM freed
INSERT INTO churn SELECT i, ARRAY[sin(i * 0.7), cos(i * 1.1), sin(i * 2.3)] FROM generate_series(2, 6000, 2) i;
SELECT pg_relation_size('churn_l2') = :l2_size AS l2_not_grown, pg_relation_size('churn_cosine') = :cosine_size AS cosine_not_grown,
       pg_relation_size('churn_ip') = :ip_size AS ip_not_grown;
SELECT * FROM pg_temp.compare_with_sort();

-- VACUUM with nothing to remove still counts the rows
VACUUM churn;
SELECT relname, reltuples FROM pg_class WHERE relname IN ('churn_l2', 'churn_cosine', 'churn_ip') ORDER BY relname;

-- an index emptied by VACUUM returns nothing, and fills again
DELETE FROM churn;
VACUUM churn;
SET enable_seqscan = off;
SELECT count(*) AS rows FROM (SELECT id FROM churn ORDER BY v <-> '[1,0,0]' LIMIT 10) s;
INSERT INTO churn SELECT i, ARRAY[sin(i * 0.7), cos(i * 1.1), sin(i * 2.3)] FROM generate_series(1, 6000) i;
RESET enable_seqscan;
SELECT pg_relation_size('churn_l2') = :l2_size AS l2_not_grown, pg_relation_size('churn_cosine') = :cosine_size AS cosine_not_grown,
       pg_relation_size('churn_ip') = :ip_size AS ip_not_grown;
SELECT * FROM pg_temp.compare_with_sort();
DROP TABLE churn;
