-- halfvec: text and binary forms, rounding to half precision, casts, functions, operators,
-- aggregates and btree order, each compared with the same computation on vector where one exists
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- text form: whitespace, exponents, and the shortest text of the float each half stands for
SELECT '[1,2,3]'::halfvec, ' [ -1 , 2.5e0 ,3 ] '::halfvec, '[1.23456]'::halfvec, '[65519]'::halfvec;
-- below the smallest subnormal half a value becomes a zero of its sign; subnormals survive
SELECT '[1e-8,-1e-8,6e-8,1e-7]'::halfvec;
-- 65,536 floats from -32 to 32 in steps of 1/1024, as halves, read back as themselves from text
SELECT count(*) AS halves, count(*) FILTER (WHERE h::text::halfvec = h) AS round_trips
FROM (SELECT ARRAY[i / 1024.0 - 32]::real[]::halfvec AS h FROM generate_series(0, 65535) i) t;
-- rounding agrees with vector's value rounded to the nearest half (ties to even)
SELECT '[2049,2051,0.1]'::halfvec, '[2049,2051,0.1]'::vector::halfvec::vector;
-- typmods
CREATE TABLE half_items (id int, embedding halfvec(3));
INSERT INTO half_items VALUES (1, '[1,2,3]'), (2, '[4,5,6]'), (3, '[1,1,1]'), (4, NULL);
SELECT pg_temp.try($$INSERT INTO half_items VALUES (5, '[1,2]')$$);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'half_items'::regclass AND attname = 'embedding';
-- casts: vector <-> halfvec, arrays, and the implicit vector -> halfvec of a query parameter
SELECT '[1.5,2]'::vector::halfvec, '[1.5,2]'::halfvec::vector, '[1.5,2]'::halfvec::real[];
SELECT ARRAY[1,2]::halfvec, ARRAY[1.5,2.5]::real[]::halfvec, ARRAY[1.5,2.5]::float8[]::halfvec, ARRAY[1.5,2.5]::numeric[]::halfvec;
SELECT id FROM half_items WHERE embedding = '[1,2,3]'::vector;
SELECT '[1,2]'::halfvec(2), '[1,2]'::vector::halfvec(2);
-- distances, against vector's on the same (exactly representable) values
SELECT l2_distance(h, g) = l2_distance(h::vector, g::vector) AS l2,
       inner_product(h, g) = inner_product(h::vector, g::vector) AS ip,
       cosine_distance(h, g) = cosine_distance(h::vector, g::vector) AS cosine,
       l1_distance(h, g) = l1_distance(h::vector, g::vector) AS l1,
       h <-> g = l2_distance(h, g) AS op_l2, h <#> g = -inner_product(h, g) AS op_ip,
       h <=> g = cosine_distance(h, g) AS op_cosine, h <+> g = l1_distance(h, g) AS op_l1
FROM (SELECT '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]'::halfvec h,
             '[17,16,15,14,13,12,11,10,9,8,7,6,5,4,3,2,-1]'::halfvec g) t;
SELECT '[3,4]'::halfvec <-> '[0,0]', '[1,2]'::halfvec <#> '[3,4]', '[1,0]'::halfvec <=> '[0,1]', '[1,2]'::halfvec <+> '[4,-2]';
-- the largest halves: products and sums past the half range are fine as distances
SELECT inner_product('[65504]'::halfvec, '[65504]'), l2_distance('[65504]'::halfvec, '[-65504]');
-- a zero vector has no cosine
SELECT cosine_distance('[0,0]'::halfvec, '[1,1]');
-- functions
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec), l2_normalize('[3,4]'::halfvec), l2_normalize('[0,0]'::halfvec);
SELECT binary_quantize('[1,0,-1,2]'::halfvec), subvector('[1,2,3,4,5]'::halfvec, 2, 3), subvector('[1,2,3]'::halfvec, -1, 3);
-- arithmetic, done in float and rounded back to half
SELECT '[1,2]'::halfvec + '[3,4]', '[1,2]'::halfvec - '[3,5]', '[1,2]'::halfvec * '[3,0.5]', '[1,2]'::halfvec || '[3]';
SELECT '[2049]'::halfvec + '[1]';
-- comparison and btree order: by elements, then shorter first; -0 equals 0
SELECT '[1,2]'::halfvec < '[1,3]', '[1,2]'::halfvec < '[1,2,0]', '[-0]'::halfvec = '[0]', halfvec_cmp('[2]', '[1,9]');
CREATE INDEX half_items_btree ON half_items (embedding);
SET enable_seqscan = off;
SELECT id FROM half_items WHERE embedding = '[4,5,6]';
RESET enable_seqscan;
SELECT id, embedding FROM half_items ORDER BY embedding;
-- aggregates: avg rounds the float8 mean to half, sum adds in half
SELECT avg(embedding), sum(embedding) FROM half_items;
SELECT avg(v) FROM (VALUES ('[65504]'::halfvec), ('[65504]')) t(v);
SELECT pg_temp.try($$SELECT sum(v) FROM (VALUES ('[65504]'::halfvec), ('[65504]')) t(v)$$);
SELECT avg(embedding) IS NULL AS empty_avg, sum(embedding) IS NULL AS empty_sum FROM half_items WHERE false;
-- binary COPY round-trips every half exactly
CREATE TABLE half_copy (id int, embedding halfvec);
INSERT INTO half_copy SELECT i, ARRAY[i / 7.0, -i, 1e-3 * i]::real[]::halfvec FROM generate_series(1, 500) i;
\copy half_copy TO 'results/halfvec_copy.bin' WITH (FORMAT binary)
CREATE TABLE half_copy_back (LIKE half_copy);
\copy half_copy_back FROM 'results/halfvec_copy.bin' WITH (FORMAT binary)
SELECT count(*) AS rows, count(*) FILTER (WHERE halfvec_send(a.embedding) = halfvec_send(b.embedding)) AS bytes_equal
FROM half_copy a JOIN half_copy_back b USING (id);
-- errors, by SQLSTATE
\pset tuples_only on
SELECT pg_temp.try($$SELECT '1,2'::halfvec$$);
SELECT pg_temp.try($$SELECT '[1,2'::halfvec$$);
SELECT pg_temp.try($$SELECT '[1]x'::halfvec$$);
SELECT pg_temp.try($$SELECT '[]'::halfvec$$);
SELECT pg_temp.try($$SELECT '[65520]'::halfvec$$);
SELECT pg_temp.try($$SELECT '[-1e39]'::halfvec$$);
SELECT pg_temp.try($$SELECT '[NaN]'::halfvec$$);
SELECT pg_temp.try($$SELECT '[inf]'::halfvec$$);
SELECT pg_temp.try($$SELECT ('[' || repeat('1,', 16000) || '1]')::halfvec$$);
SELECT pg_temp.try($$SELECT '[1,2]'::halfvec(3)$$);
SELECT pg_temp.try($$SELECT '[1]'::halfvec(0)$$);
SELECT pg_temp.try($$SELECT '[1]'::halfvec(16001)$$);
SELECT pg_temp.try($$SELECT '[1]'::halfvec(1, 2)$$);
SELECT pg_temp.try($$SELECT '[65520]'::vector::halfvec$$);
SELECT pg_temp.try($$SELECT ARRAY[65520]::real[]::halfvec$$);
SELECT pg_temp.try($$SELECT ARRAY[1, NULL]::real[]::halfvec$$);
SELECT pg_temp.try($$SELECT ARRAY[[1]]::real[]::halfvec$$);
SELECT pg_temp.try($$SELECT ARRAY['NaN']::real[]::halfvec$$);
-- every element converted before any is checked, as pgvector reports it
SELECT pg_temp.try($$SELECT ARRAY['NaN', 65520]::real[]::halfvec$$);
SELECT pg_temp.try($$SELECT '[1,2]'::halfvec <-> '[1]'$$);
SELECT pg_temp.try($$SELECT '[65504]'::halfvec + '[65504]'$$);
SELECT pg_temp.try($$SELECT '[1e-7]'::halfvec * '[1e-7]'$$);
SELECT pg_temp.try($$SELECT subvector('[1,2]'::halfvec, 3, 1)$$);
SELECT pg_temp.try($$SELECT subvector('[1,2]'::halfvec, 1, 0)$$);
SELECT pg_temp.try($$SELECT halfvec_avg('{1}')$$);
SELECT pg_temp.try($$SELECT avg(v) FROM (VALUES ('[1]'::halfvec), ('[1,2]')) t(v)$$);
DROP TABLE half_items, half_copy, half_copy_back;
