-- what monitoring sees of an hnsw index: its scans in pg_stat_user_indexes (tools that look for
-- unused indexes read idx_scan), and the settings that shape a scan in EXPLAIN (SETTINGS)
CREATE TABLE watched (id int, v vector(3));
INSERT INTO watched SELECT i, ARRAY[i % 17, i % 19, i % 23] FROM generate_series(1, 5000) i;
CREATE INDEX watched_v ON watched USING hnsw (v vector_l2_ops);
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM watched ORDER BY v <-> '[1,2,3]' LIMIT 5) s;
SELECT count(*) FROM (SELECT id FROM watched ORDER BY v <-> '[3,2,1]' LIMIT 7) s;
SELECT pg_stat_force_next_flush();
SELECT idx_scan, idx_tup_read FROM pg_stat_user_indexes WHERE indexrelid = 'watched_v'::regclass;
SET hnsw.ef_search = 100;
SET hnsw.iterative_scan = relaxed_order;
SET hnsw.max_scan_tuples = 5000;
SET hnsw.scan_mem_multiplier = 2;
EXPLAIN (SETTINGS, COSTS OFF) SELECT id FROM watched ORDER BY v <-> '[1,2,3]' LIMIT 5;
DROP TABLE watched;
