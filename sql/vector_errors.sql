-- every error path reports a clear message and the right SQLSTATE
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- the same, with the detail that tells one bad argument from another
CREATE FUNCTION pg_temp.try_detail(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  detail text;
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
  RETURN SQLSTATE || ': ' || SQLERRM || ' (' || detail || ')';
END $$;
\pset tuples_only on
-- malformed text: 22P02
SELECT pg_temp.try($$SELECT '1,2,3'::vector$$);
SELECT pg_temp.try($$SELECT '[1,2,3'::vector$$);
SELECT pg_temp.try($$SELECT '[1,,2]'::vector$$);
SELECT pg_temp.try($$SELECT '[1,2,]'::vector$$);
SELECT pg_temp.try($$SELECT '[1 2]'::vector$$);
SELECT pg_temp.try($$SELECT '[a]'::vector$$);
SELECT pg_temp.try($$SELECT '[1]x'::vector$$);
SELECT pg_temp.try($$SELECT ''::vector$$);
-- out of range: 22003
SELECT pg_temp.try($$SELECT '[1e39]'::vector$$);
SELECT pg_temp.try($$SELECT '[-1e39]'::vector$$);
-- NaN and infinity: 22000
SELECT pg_temp.try($$SELECT '[NaN]'::vector$$);
SELECT pg_temp.try($$SELECT '[1,Infinity]'::vector$$);
SELECT pg_temp.try($$SELECT '[-inf]'::vector$$);
SELECT pg_temp.try($$SELECT ARRAY['NaN']::real[]::vector$$);
SELECT pg_temp.try($$SELECT ARRAY['Infinity']::float8[]::vector$$);
-- too large for float4: 22003
SELECT pg_temp.try($$SELECT ARRAY[1e300]::float8[]::vector$$);
SELECT pg_temp.try($$SELECT ARRAY[1e50]::numeric[]::vector$$);
-- empty: 22000
SELECT pg_temp.try($$SELECT '[]'::vector$$);
SELECT pg_temp.try($$SELECT '[ ]'::vector$$);
SELECT pg_temp.try($$SELECT '{}'::real[]::vector$$);
-- too many dims: 54000
SELECT pg_temp.try($$SELECT ('[' || repeat('1,', 16000) || '1]')::vector$$);
SELECT pg_temp.try($$SELECT array_fill(1, ARRAY[16001])::vector$$);
SELECT pg_temp.try($$SELECT ('[' || repeat('1,', 9999) || '1]')::vector || ('[' || repeat('1,', 9999) || '1]')::vector$$);
-- typmod: 22023 for a bad modifier, 22000 for a value of other dims
SELECT pg_temp.try($$SELECT '[1]'::vector(0)$$);
SELECT pg_temp.try($$SELECT '[1]'::vector(16001)$$);
SELECT pg_temp.try($$SELECT '[1]'::vector(2, 3)$$);
SELECT pg_temp.try($$SELECT '[1]'::vector('a')$$);
SELECT pg_temp.try($$SELECT '[1,2,3]'::vector(2)$$);
SELECT pg_temp.try($$SELECT ARRAY[1,2,3]::vector(2)$$);
CREATE TABLE err_items (embedding vector(3));
SELECT pg_temp.try($$INSERT INTO err_items VALUES ('[1,2]')$$);
SELECT pg_temp.try($$INSERT INTO err_items VALUES (ARRAY[1,2,3,4])$$);
DROP TABLE err_items;
-- dimension mismatch between operands: 22000
SELECT pg_temp.try($$SELECT '[1,2]'::vector <-> '[1,2,3]'$$);
SELECT pg_temp.try($$SELECT '[1,2]'::vector <#> '[1,2,3]'$$);
SELECT pg_temp.try($$SELECT '[1,2]'::vector <=> '[1,2,3]'$$);
SELECT pg_temp.try($$SELECT '[1,2]'::vector <+> '[1,2,3]'$$);
SELECT pg_temp.try($$SELECT '[1,2]'::vector + '[1,2,3]'$$);
SELECT pg_temp.try($$SELECT '[1,2]'::vector - '[1]'$$);
SELECT pg_temp.try($$SELECT '[1,2]'::vector * '[1]'$$);
SELECT pg_temp.try($$SELECT l2_distance('[1]'::vector, '[1,2]')$$);
SELECT pg_temp.try($$SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v)$$);
SELECT pg_temp.try($$SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v)$$);
-- arithmetic overflow and underflow: 22003
SELECT pg_temp.try($$SELECT '[3e38]'::vector + '[3e38]'$$);
SELECT pg_temp.try($$SELECT '[-3e38]'::vector - '[3e38]'$$);
SELECT pg_temp.try($$SELECT '[1e30]'::vector * '[1e30]'$$);
SELECT pg_temp.try($$SELECT '[1e-30]'::vector * '[1e-30]'$$);
SELECT pg_temp.try($$SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v)$$);
SELECT pg_temp.try($$SELECT '[3e38,-3e38]'::vector * '[2,2]'$$);
SELECT pg_temp.try($$SELECT '[-3e38]'::vector + '[-3e38]'$$);
SELECT pg_temp.try($$SELECT sum(v) FROM (VALUES ('[1,-3e38]'::vector), ('[1,-3e38]')) t(v)$$);
-- arrays: 22000 for multiple dimensions, 22004 for nulls
SELECT pg_temp.try($$SELECT '{{1,2},{3,4}}'::real[]::vector$$);
SELECT pg_temp.try($$SELECT ARRAY[1,NULL,3]::vector$$);
-- subvector out of bounds: 22000
SELECT pg_temp.try($$SELECT subvector('[1,2,3]'::vector, 1, 0)$$);
SELECT pg_temp.try($$SELECT subvector('[1,2,3]'::vector, 4, 1)$$);
SELECT pg_temp.try($$SELECT subvector('[1,2,3]'::vector, -5, 3)$$);
-- avg's state arrays from a caller are checked: 22023 for one that the aggregate cannot have made
SELECT pg_temp.try_detail($$SELECT vector_avg('{}')$$);
SELECT pg_temp.try_detail($$SELECT vector_accum('{{1}}', '[1]')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{{1,2}}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{1,NULL}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{-1,1}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{0.5,1}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{NaN,1}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{Infinity,1}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{1,NaN}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{1,-Infinity}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{0,5}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg('{1}')$$);
SELECT pg_temp.try_detail($$SELECT vector_avg(array_fill(1::float8, ARRAY[16002]))$$);
SELECT pg_temp.try_detail($$SELECT vector_accum('{-1,1}', '[1]')$$);
SELECT pg_temp.try_detail($$SELECT vector_accum('{2.5,1}', '[1]')$$);
SELECT pg_temp.try_detail($$SELECT vector_accum('{1,NaN}', '[1]')$$);
SELECT pg_temp.try_detail($$SELECT vector_accum('{1,2,-Infinity}', '[1,2]')$$);
SELECT pg_temp.try_detail($$SELECT vector_accum('{0,0,3}', '[1,2]')$$);
SELECT pg_temp.try_detail($$SELECT vector_combine('{-1,1}', '{1,1}')$$);
SELECT pg_temp.try_detail($$SELECT vector_combine('{1,1}', '{1,NaN}')$$);
SELECT pg_temp.try_detail($$SELECT vector_combine('{0}', '{1}')$$);
SELECT pg_temp.try_detail($$SELECT vector_combine(array_fill(1::float8, ARRAY[16002]), array_fill(1::float8, ARRAY[16002]))$$);
-- an aggregate of a caller's own, with a state the real one never starts from
CREATE AGGREGATE bad_avg(vector) (SFUNC = vector_accum, STYPE = float8[], FINALFUNC = vector_avg, INITCOND = '{-1,1}');
SELECT pg_temp.try_detail($$SELECT bad_avg(v) FROM (VALUES ('[1]'::vector), ('[2]')) t(v)$$);
DROP AGGREGATE bad_avg(vector);
CREATE AGGREGATE bad_avg(vector) (SFUNC = vector_accum, STYPE = float8[], FINALFUNC = vector_avg, INITCOND = '{1,NaN}');
SELECT pg_temp.try_detail($$SELECT bad_avg(v) FROM (VALUES ('[1]'::vector), ('[2]')) t(v)$$);
DROP AGGREGATE bad_avg(vector);
-- states that do not match each other or the vector: 22000, as for two vectors
SELECT pg_temp.try($$SELECT vector_combine('{1,1}', '{1,1,1}')$$);
SELECT pg_temp.try($$SELECT vector_accum('{1,1}', '[1,2]')$$);
-- sums past float8 and averages past float4: 22003 and 22000
SELECT pg_temp.try($$SELECT vector_combine('{1,1e308}', '{1,1e308}')$$);
SELECT pg_temp.try($$SELECT vector_combine('{1e308,1}', '{1e308,1}')$$);
SELECT pg_temp.try($$SELECT vector_avg('{1,1e300}')$$);
