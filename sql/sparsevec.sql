-- sparsevec: text and binary forms, typmods, casts to and from the dense types and arrays,
-- distances against the same vectors made dense, norms, btree order as the dense order, errors
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- text form: 1-based indices in any order, sorted; zeros dropped; whitespace anywhere
SELECT '{1:1.5,3:2}/5'::sparsevec, ' { 3 : 2 , 1 : 1.5 } / 5 '::sparsevec, '{1:0,2:1,3:0}/3'::sparsevec, '{}/4'::sparsevec;
SELECT '{1:1.23456,2:-1.5e+38}/2'::sparsevec, '{1:1.5e-38}/1'::sparsevec;
-- typmods
CREATE TABLE sparse_items (id int, embedding sparsevec(5));
INSERT INTO sparse_items VALUES (1, '{1:1,2:2}/5'), (2, '{}/5'), (3, '{5:-1}/5'), (4, '{1:1,2:2,5:0.5}/5'), (5, NULL);
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'sparse_items'::regclass AND attname = 'embedding';
-- casts: dense <-> sparse round trips, arrays, and the implicit vector -> sparsevec
SELECT '[0,1.5,0,-2]'::vector::sparsevec, '{2:1.5,4:-2}/4'::sparsevec::vector, '{2:1.5,4:-2}/4'::sparsevec::halfvec,
       '[0,1.5,0,-2]'::halfvec::sparsevec, ARRAY[0,3,0]::sparsevec, ARRAY[0.5,0]::float8[]::sparsevec;
SELECT count(*) AS rows, count(*) FILTER (WHERE embedding::vector::sparsevec = embedding) AS round_trips FROM sparse_items WHERE embedding IS NOT NULL;
SELECT id FROM sparse_items WHERE embedding = '[1,2,0,0,0]'::vector;
-- distances, each equal to the same on the vectors made dense
SELECT a, b, l2_distance(a, b) = l2_distance(a::vector, b::vector) AS l2,
       inner_product(a, b) = inner_product(a::vector, b::vector) AS ip,
       cosine_distance(a, b) = cosine_distance(a::vector, b::vector) AS cosine,
       l1_distance(a, b) = l1_distance(a::vector, b::vector) AS l1,
       a <-> b = l2_distance(a, b) AS op_l2, a <#> b = -inner_product(a, b) AS op_ip,
       a <=> b = cosine_distance(a, b) AS op_cosine, a <+> b = l1_distance(a, b) AS op_l1
FROM (VALUES ('{1:1,3:2,4:-3}/6'::sparsevec, '{2:5,3:1,6:2}/6'::sparsevec),
             ('{1:1}/6', '{6:1}/6'), ('{}/6', '{2:1}/6'), ('{1:2,2:3}/6', '{1:2,2:3}/6')) t(a, b);
SELECT '{1:3,2:4}/2'::sparsevec <-> '{}/2', '{1:1,2:2}/2'::sparsevec <#> '{1:3,2:4}/2', '{1:1}/2'::sparsevec <=> '{2:1}/2';
-- float sums past FLT_MAX stay finite, computed in double (pgvector gives Infinity)
SELECT inner_product('{1:3e38}/1'::sparsevec, '{1:3e38}/1'), l1_distance('{1:3e38}/1'::sparsevec, '{1:-3e38}/1');
SELECT cosine_distance('{}/2'::sparsevec, '{1:1}/2');
-- norms: elements that underflow when normalised are dropped
SELECT l2_norm('{1:3,2:4}/2'::sparsevec), l2_normalize('{1:3,2:4}/2'::sparsevec), l2_normalize('{1:3e38,2:1e-37}/2'::sparsevec), l2_normalize('{}/2'::sparsevec);
-- btree order is the order of the vectors made dense (lexicographic, then shorter first)
SELECT count(*) AS pairs, count(*) FILTER (WHERE sparsevec_cmp(a, b) = vector_cmp(a::vector, b::vector)) AS agree
FROM (VALUES ('{}/3'::sparsevec), ('{1:1}/3'), ('{1:-1}/3'), ('{2:1}/3'), ('{2:-1}/3'), ('{3:2}/3'), ('{1:1,2:1}/3'),
             ('{1:1,3:-1}/3'), ('{}/2'), ('{2:1}/2'), ('{1:1,2:2,3:3}/3'), ('{1:1}/4')) x(a),
     (VALUES ('{}/3'::sparsevec), ('{1:1}/3'), ('{1:-1}/3'), ('{2:1}/3'), ('{2:-1}/3'), ('{3:2}/3'), ('{1:1,2:1}/3'),
             ('{1:1,3:-1}/3'), ('{}/2'), ('{2:1}/2'), ('{1:1,2:2,3:3}/3'), ('{1:1}/4')) y(b);
CREATE INDEX sparse_items_btree ON sparse_items (embedding);
SELECT id, embedding FROM sparse_items ORDER BY embedding;
-- binary COPY round-trips every value exactly
CREATE TABLE sparse_copy (id int, embedding sparsevec);
INSERT INTO sparse_copy SELECT i, ARRAY(SELECT CASE WHEN j % (i % 7 + 2) = 0 THEN j / 3.0 ELSE 0 END FROM generate_series(1, 50) j)::real[]::sparsevec FROM generate_series(1, 300) i;
\copy sparse_copy TO 'results/sparsevec_copy.bin' WITH (FORMAT binary)
CREATE TABLE sparse_copy_back (LIKE sparse_copy);
\copy sparse_copy_back FROM 'results/sparsevec_copy.bin' WITH (FORMAT binary)
SELECT count(*) AS rows, count(*) FILTER (WHERE sparsevec_send(a.embedding) = sparsevec_send(b.embedding)) AS bytes_equal
FROM sparse_copy a JOIN sparse_copy_back b USING (id);
-- errors, by SQLSTATE
\pset tuples_only on
SELECT pg_temp.try($$SELECT '[1,2]'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:1}'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:1}/2x'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:1,}/2'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1}/2'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:1,1:2}/2'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{0:1}/2'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{3:1}/2'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:1}/0'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:1}/1000000001'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:4e38}/1'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:1e-46}/1'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:NaN}/1'::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:-inf}/1'::sparsevec$$);
SELECT pg_temp.try($$SELECT ('{' || (SELECT string_agg(i || ':1', ',') FROM generate_series(1, 16001) i) || '}/20000')::sparsevec$$);
SELECT pg_temp.try($$SELECT '{1:1}/2'::sparsevec(3)$$);
SELECT pg_temp.try($$SELECT '{1:1}/2'::sparsevec(0)$$);
SELECT pg_temp.try($$SELECT '{1:1}/2'::sparsevec(1000000001)$$);
SELECT pg_temp.try($$SELECT '{1:1}/2'::sparsevec <-> '{1:1}/3'$$);
SELECT pg_temp.try($$SELECT '{1:1}/16001'::sparsevec::vector$$);
SELECT pg_temp.try($$SELECT '{1:65520}/1'::sparsevec::halfvec$$);
SELECT pg_temp.try($$SELECT ARRAY[1, NULL]::real[]::sparsevec$$);
SELECT pg_temp.try($$SELECT array_fill(1, ARRAY[16001])::real[]::sparsevec$$);
-- dimensions are checked before any element is converted, as pgvector does
SELECT pg_temp.try($$SELECT ARRAY[1e39]::numeric[]::sparsevec(2)$$);
DROP TABLE sparse_items, sparse_copy, sparse_copy_back;
