-- named functions
SELECT l2_distance('[0,0]'::vector, '[3,4]');
SELECT inner_product('[1,2]'::vector, '[3,4]');
SELECT cosine_distance('[1,2]'::vector, '[2,4]');
SELECT cosine_distance('[1,0]'::vector, '[-1,0]');
SELECT l1_distance('[1,2]'::vector, '[-3,5]');
SELECT vector_dims('[1,2,3]'::vector);
SELECT vector_norm('[3,4]');
SELECT vector_norm('[3e38,3e38]');
SELECT l2_normalize('[3,4]'::vector);
SELECT l2_normalize('[0,0]'::vector);
SELECT l2_normalize('[3e38,3e38]'::vector);
SELECT binary_quantize('[1,-1,0,2,3,-4,5,6,7]'::vector);
SELECT subvector('[1,2,3,4,5]'::vector, 2, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 4, 10);
SELECT subvector('[1,2,3,4,5]'::vector, 0, 3);
SELECT subvector('[1,2,3,4,5]'::vector, 1, 2147483647);
SELECT vector_l2_squared_distance('[0,0]', '[3,4]');
SELECT vector_negative_inner_product('[1,2]', '[3,4]');
SELECT round(vector_spherical_distance('[1,0]', '[0,1]')::numeric, 6);
-- float sums past FLT_MAX: every distance is still finite, computed in double (pgvector gives
-- Infinity here, and NaN for the cosine)
SELECT l2_distance('[3e38,3e38]'::vector, '[-3e38,-3e38]'), vector_l2_squared_distance('[3e38,3e38]', '[-3e38,-3e38]');
SELECT inner_product('[3e38,3e38]'::vector, '[-3e38,-3e38]'), vector_negative_inner_product('[3e38,3e38]', '[-3e38,-3e38]');
SELECT l1_distance('[3e38,3e38]'::vector, '[-3e38,-3e38]');
SELECT '[3e38,3e38]'::vector <=> '[-3e38,-3e38]' AS opposite, '[3e38,3e38]'::vector <=> '[3e38,3e38]' AS same,
  '[3e38,-3e38]'::vector <=> '[3e38,3e38]' AS orthogonal;
SELECT vector_spherical_distance('[3e38,3e38]', '[-3e38,-3e38]');
-- 16,000 dimensions of +-2^100: the float products are +-inf and add to NaN, the exact sum is 0
CREATE TABLE huge_pairs AS SELECT
  (SELECT array_agg(CASE WHEN i % 2 = 0 THEN 2 ^ 100 ELSE -(2 ^ 100) END)::vector FROM generate_series(1, 16000) i) AS a,
  (SELECT array_fill(2 ^ 100, ARRAY[16000])::vector) AS b;
SELECT a <#> b AS negative_inner_product, inner_product(a, b), a <=> b AS cosine, a <-> b AS l2, a <+> b AS l1,
  vector_spherical_distance(a, b) AS spherical FROM huge_pairs;
DROP TABLE huge_pairs;
-- squares below the smallest float: a tiny vector still has a direction; only a zero one has none
SELECT cosine_distance('[1e-30,2e-30]'::vector, '[2,4]') AS same, cosine_distance('[1e-30,2e-30]'::vector, '[-1e-30,-2e-30]') AS opposite,
  cosine_distance('[1e-30,2e-30]'::vector, '[0,0]') AS zero, '[0,0]'::vector <=> '[0,0]' AS both_zero;
SELECT vector_norm('[1e-30,1e-30]'), l2_normalize('[1e-30,1e-30]'::vector);
-- markings: every function of the type is immutable, strict and parallel safe (AM handlers aside;
-- the index checker and the last scan's counters, which read state, are the exceptions)
SELECT proname, provolatile, proisstrict, proparallel FROM pg_proc p
  JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension e ON d.refobjid = e.oid AND e.extname = 'vectorsearch'
  WHERE p.prokind = 'f' AND p.prorettype <> 'index_am_handler'::regtype AND (provolatile <> 'i' OR NOT proisstrict OR proparallel <> 's')
  ORDER BY 1;
-- NULL in, NULL out
SELECT l2_distance(NULL, '[1]'::vector) IS NULL AS strict, vector_dims(NULL::vector) IS NULL AS strict_dims;
