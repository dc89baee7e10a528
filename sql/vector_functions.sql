-- named functions
SELECT l2_distance('[0,0]', '[3,4]');
SELECT inner_product('[1,2]', '[3,4]');
SELECT cosine_distance('[1,2]', '[2,4]');
SELECT cosine_distance('[1,0]', '[-1,0]');
SELECT l1_distance('[1,2]', '[-3,5]');
SELECT vector_dims('[1,2,3]');
SELECT vector_norm('[3,4]');
SELECT vector_norm('[3e38,3e38]');
SELECT l2_normalize('[3,4]');
SELECT l2_normalize('[0,0]');
SELECT l2_normalize('[3e38,3e38]');
SELECT binary_quantize('[1,-1,0,2,3,-4,5,6,7]');
SELECT subvector('[1,2,3,4,5]', 2, 3);
SELECT subvector('[1,2,3,4,5]', 4, 10);
SELECT subvector('[1,2,3,4,5]', 0, 3);
SELECT subvector('[1,2,3,4,5]', 1, 2147483647);
SELECT vector_l2_squared_distance('[0,0]', '[3,4]');
SELECT vector_negative_inner_product('[1,2]', '[3,4]');
SELECT round(vector_spherical_distance('[1,0]', '[0,1]')::numeric, 6);
-- markings: every function of the type is immutable, strict and parallel safe (AM handlers aside)
SELECT proname, provolatile, proisstrict, proparallel FROM pg_proc p
  JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
  JOIN pg_extension e ON d.refobjid = e.oid AND e.extname = 'vectorsearch'
  WHERE p.prokind = 'f' AND p.prorettype <> 'index_am_handler'::regtype AND (provolatile <> 'i' OR NOT proisstrict OR proparallel <> 's')
  ORDER BY 1;
-- NULL in, NULL out
SELECT l2_distance(NULL, '[1]') IS NULL AS strict, vector_dims(NULL) IS NULL AS strict_dims;
