-- what VACUUM of an hnsw index reads: its sweeps read the link pages and jump over the vector
-- pages, reading vectors only to repair the lists that linked to a deleted element. At 512
-- dimensions vector pages are most of the index, and with m = 4 few lists link to one element:
-- a VACUUM after one row is deleted reads fewer blocks than the index has (a sweep of every
-- page, twice, read more than twice as many).
CREATE TABLE swept (id int, v vector(512));
INSERT INTO swept SELECT i, (SELECT array_agg((hashint4(i * 512 + j) % 100)::float4) FROM generate_series(1, 512) j)::vector
FROM generate_series(1, 4000) i;
CREATE INDEX swept_v ON swept USING hnsw (v vector_l2_ops) WITH (m = 4);
DELETE FROM swept WHERE id = 1;
SELECT pg_stat_force_next_flush();
CREATE TEMP TABLE blocks_before AS
SELECT idx_blks_read + idx_blks_hit AS blocks FROM pg_statio_user_indexes WHERE indexrelid = 'swept_v'::regclass;
VACUUM (INDEX_CLEANUP ON) swept;
SELECT pg_stat_force_next_flush();
SELECT s.idx_blks_read + s.idx_blks_hit - b.blocks < pg_relation_size('swept_v') / current_setting('block_size')::int
       AS vacuum_reads_fewer_blocks_than_the_index_has
FROM pg_statio_user_indexes s, blocks_before b WHERE s.indexrelid = 'swept_v'::regclass;
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT id FROM swept ORDER BY v <-> (SELECT v FROM swept WHERE id = 2) LIMIT 10) s;
DROP TABLE swept;
