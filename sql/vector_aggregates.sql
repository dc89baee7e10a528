-- avg and sum over vectors, serial and parallel (integral values keep float sums exact,
-- so the result does not depend on the order in which workers add)
SELECT avg(v), sum(v) FROM (VALUES ('[1,2,3]'::vector), ('[3,4,5]'), (NULL)) t(v);
SELECT avg(v), sum(v) FROM (VALUES ('[1,2,3]'::vector)) t(v);
SELECT avg(v) IS NULL AS avg_empty, sum(v) IS NULL AS sum_empty FROM (SELECT '[1]'::vector AS v WHERE false) t;
SELECT avg(v) FROM (VALUES ('[1e38]'::vector), ('[3e38]')) t(v);
SELECT id % 2 AS grp, avg(v), sum(v) FROM (VALUES (1, '[1,1]'::vector), (2, '[2,2]'), (3, '[5,7]'), (4, '[4,6]')) t(id, v)
  GROUP BY 1 ORDER BY 1;
-- a direct call leaves its state argument untouched
SELECT vector_accum('{1,1,1}', '[2,3]'), vector_combine('{1,1,1}', '{2,4,6}'), vector_avg('{2,4,6}');
-- valid states of every kind are still accepted: empty ones (of any length), with or without rows
SELECT vector_accum('{0}', '[2,3]'), vector_accum('{0,0,0}', '[2,3]'), vector_combine('{0}', '{2,4,6}'),
  vector_combine('{2,4,6}', '{0}'), vector_combine('{0,0}', '{0}'), vector_avg('{0}') IS NULL AS no_rows;
-- sums kept in double do not overflow where float4 sums would
SELECT avg(v), sum(v) FROM (VALUES ('[3e38,-3e38,1]'::vector), ('[-3e38,3e38,1e-30]'), ('[3e38,3e38,1]')) t(v);
SELECT avg(v) = array_fill(3e38::real, ARRAY[16000])::vector AS exact
  FROM (SELECT array_fill(3e38::real, ARRAY[16000])::vector AS v FROM generate_series(1, 3)) t;

CREATE TABLE agg_items (id int, v vector(3));
INSERT INTO agg_items SELECT i, ARRAY[i % 10, (i % 7) * 2, -(i % 3)] FROM generate_series(1, 100000) i;
ANALYZE agg_items;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM agg_items;
SELECT avg(v), sum(v) FROM agg_items;
RESET ALL;
SELECT avg(v), sum(v) FROM agg_items;
DROP TABLE agg_items;
