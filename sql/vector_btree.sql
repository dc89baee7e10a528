-- comparison operators and the btree opclass
SELECT '[1,2]'::vector < '[1,3]', '[1,2]'::vector < '[1,2,0]', '[2]'::vector > '[1,5]',
       '[1,2]'::vector = '[1,2]', '[0]'::vector = '[-0]', '[1,2]'::vector <> '[1,2,3]',
       '[1,2]'::vector <= '[1,2]', '[1,2]'::vector >= '[1,3]';
SELECT vector_cmp('[1,2]', '[1,3]'), vector_cmp('[1,3]', '[1,2]'), vector_cmp('[5]', '[5]');
CREATE TABLE bt (v vector);
INSERT INTO bt VALUES ('[1,2,3]'), ('[1,2]'), ('[0,9]'), ('[1,2,3]'), ('[-1]'), ('[1,2.5]');
SELECT v FROM bt ORDER BY v;
SELECT DISTINCT v FROM bt ORDER BY v;
SELECT v, count(*) FROM bt GROUP BY v ORDER BY v;
CREATE INDEX ON bt (v);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM bt WHERE v = '[1,2]';
SELECT * FROM bt WHERE v = '[1,2]';
SELECT * FROM bt WHERE v > '[1,2]' ORDER BY v;
RESET enable_seqscan;
CREATE UNIQUE INDEX bt_unique ON bt (v);
DELETE FROM bt WHERE ctid IN (SELECT min(ctid) FROM bt WHERE v = '[1,2,3]');
CREATE UNIQUE INDEX bt_unique ON bt (v);
INSERT INTO bt VALUES ('[0,9]');
DROP TABLE bt;
