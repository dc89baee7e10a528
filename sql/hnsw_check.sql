-- vectorsearch_check_index: an hnsw index passes after its build, inserts (new runs and upper
-- pages), DELETE and VACUUM, reuse of the freed slots, HOT updates and on an unlogged table,
-- with and without heapallindexed; anything that is not a vectorsearch index, a NULL and a
-- caller who cannot read the table get errors by SQLSTATE. (Corrupted indexes: test/t/007.)
CREATE FUNCTION check_result(idx regclass, heapallindexed boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM vectorsearch_check_index(idx, heapallindexed);
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- an empty index, then one built over rows, NULLs among them
CREATE TABLE checked (id int PRIMARY KEY, note text, v vector(24));
CREATE INDEX checked_v ON checked USING hnsw (v vector_l2_ops) WITH (m = 4);
SELECT check_result('checked_v'), check_result('checked_v', true);
DROP INDEX checked_v;
INSERT INTO checked SELECT i, 'row ' || i,
  CASE WHEN i % 97 = 0 THEN NULL ELSE (SELECT array_agg(hashint4(i * 24 + j) % 100 ORDER BY j) FROM generate_series(0, 23) j)::vector END
FROM generate_series(1, 3000) i;
CREATE INDEX checked_v ON checked USING hnsw (v vector_l2_ops) WITH (m = 4);
SELECT check_result('checked_v'), check_result('checked_v', true);
-- inserts one by one: new runs, upper tuples and upper pages
INSERT INTO checked SELECT i, 'row ' || i,
  (SELECT array_agg(hashint4(i * 24 + j) % 100 ORDER BY j) FROM generate_series(0, 23) j)::vector
FROM generate_series(3001, 6000) i;
SELECT pg_relation_size('checked_v') > 2 * current_setting('block_size')::int * 64 AS grew_by_runs;
SELECT check_result('checked_v', true);
-- the default of heapallindexed is false, and a sound index returns nothing
SELECT vectorsearch_check_index('checked_v');
-- deleted rows, VACUUM, then inserts into the freed slots
DELETE FROM checked WHERE id % 3 = 0;
SELECT check_result('checked_v', true);
VACUUM checked;
SELECT check_result('checked_v', true);
SELECT pg_relation_size('checked_v') AS size_before \gset
-- (a slot is reused once no snapshot older than the VACUUM is left: take a transaction ID)
SELECT pg_current_xact_id() IS NOT NULL AS xid_taken;
INSERT INTO checked SELECT i, 'row ' || i,
  (SELECT array_agg(hashint4(i * 24 + j) % 100 ORDER BY j) FROM generate_series(0, 23) j)::vector
FROM generate_series(6001, 7500) i;
SELECT pg_relation_size('checked_v') = :size_before AS slots_reused;
SELECT check_result('checked_v', true);
-- HOT updates: the index holds the root of each chain, which is what heapallindexed compares
BEGIN;
UPDATE checked SET note = 'updated' WHERE id % 5 = 1;
SELECT n_tup_hot_upd > 0 AS hot_updates FROM pg_stat_xact_user_tables WHERE relname = 'checked';
COMMIT;
SELECT check_result('checked_v', true);
-- updates of the vector: new elements, the old ones deleted by the next VACUUM
UPDATE checked SET v = v + v WHERE id % 7 = 2;
SELECT check_result('checked_v', true);
VACUUM checked;
SELECT check_result('checked_v', true);

-- cosine: zero vectors are not indexed, and heapallindexed does not ask for them
CREATE TABLE directions (id int, v vector(3));
INSERT INTO directions SELECT i, CASE WHEN i % 10 = 0 THEN '[0,0,0]'::vector ELSE ARRAY[i % 7, i % 11 + 1, i % 13]::vector END
FROM generate_series(1, 500) i;
CREATE INDEX directions_v ON directions USING hnsw (v vector_cosine_ops);
INSERT INTO directions VALUES (501, '[0,0,0]'), (502, '[1,2,3]');
SELECT check_result('directions_v', true);
-- a partial index holds only the rows of its predicate
CREATE INDEX directions_even ON directions USING hnsw (v vector_l2_ops) WHERE id % 2 = 0;
SELECT check_result('directions_even', true);
-- an unlogged table's index
CREATE UNLOGGED TABLE scratch (id int, v vector(3));
INSERT INTO scratch SELECT i, ARRAY[i, i % 17, i % 5] FROM generate_series(1, 800) i;
CREATE INDEX scratch_v ON scratch USING hnsw (v vector_ip_ops);
SELECT check_result('scratch_v', true);

-- not a vectorsearch index: 42809 wrong_object_type; no such relation: 42P01; NULL: 22004
SELECT check_result('checked_pkey');
SELECT check_result('checked');
SELECT check_result(0);
SELECT check_result(NULL);
SELECT check_result('checked_v', NULL);
CREATE TABLE parted (id int, v vector(3)) PARTITION BY RANGE (id);
CREATE INDEX parted_id ON parted (id);
SELECT check_result('parted_id');

-- the checker is not granted to PUBLIC (as amcheck's functions are not): 42501
CREATE ROLE regress_check_reader;
SET ROLE regress_check_reader;
SELECT check_result('checked_v');
RESET ROLE;
-- granted it, a role that cannot read the table still may not check its index: 42501
GRANT EXECUTE ON FUNCTION vectorsearch_check_index(regclass, boolean) TO regress_check_reader;
SET ROLE regress_check_reader;
SELECT check_result('checked_v');
RESET ROLE;
GRANT SELECT ON checked TO regress_check_reader;
SET ROLE regress_check_reader;
SELECT check_result('checked_v', true);
RESET ROLE;
REVOKE SELECT ON checked FROM regress_check_reader;
REVOKE EXECUTE ON FUNCTION vectorsearch_check_index(regclass, boolean) FROM regress_check_reader;
DROP ROLE regress_check_reader;

DROP TABLE checked, directions, scratch, parted;
DROP FUNCTION check_result;
