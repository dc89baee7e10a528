-- 0.1.0 installed from its own script, then updated: the operator classes gain their metric
-- support function, and an index built afterwards answers as a sequential scan does.
DROP EXTENSION vectorsearch;
CREATE EXTENSION vectorsearch VERSION '0.1.0';
CREATE TABLE upgrade_items (id int, v vector(2));
INSERT INTO upgrade_items SELECT i, ARRAY[i % 17, i % 23]::vector FROM generate_series(1, 500) i;
-- A 0.1.0 catalog under this library: the operator class declares no metric yet.
\set VERBOSITY sqlstate
CREATE INDEX upgrade_items_v ON upgrade_items USING hnsw (v vector_l2_ops);
\set VERBOSITY default
CREATE INDEX upgrade_items_v ON upgrade_items USING hnsw (v vector_l2_ops);
ALTER EXTENSION vectorsearch UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'vectorsearch';
-- A backend caches operator classes for its lifetime: the new support function is seen by a new one.
\c
CREATE INDEX upgrade_items_v ON upgrade_items USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM upgrade_items ORDER BY v <-> '[3,4]' LIMIT 5;
CREATE TEMP TABLE via_index AS SELECT v <-> '[3,4]' AS d FROM upgrade_items ORDER BY v <-> '[3,4]' LIMIT 5;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT (SELECT array_agg(d ORDER BY d) FROM via_index) =
       (SELECT array_agg(d ORDER BY d) FROM (SELECT v <-> '[3,4]' AS d FROM upgrade_items ORDER BY 1 LIMIT 5) s) AS same_distances;
RESET enable_indexscan;
DROP TABLE upgrade_items;
