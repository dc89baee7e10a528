-- text input and output, typmod, and the binary wire format
SELECT '[1,2,3]'::vector;
SELECT '  [ 1 , -2.5 ,3e2 ]  '::vector;
SELECT '[1.5e-7,1e+06,123456.7,0.0001,-0]'::vector;
SELECT '[3.4028235e38,-3.4028235e38,1.17549435e-38]'::vector;
SELECT '[0.1,0.2,0.30000001]'::vector;
SELECT '[1,2,3]'::vector(3);
SELECT vector_dims(('[' || repeat('1,', 15999) || '1]')::vector);

-- typmod in table columns and casts
CREATE TABLE io_items (id int, embedding vector(3));
INSERT INTO io_items VALUES (1, '[1,2,3]'), (2, '[4,5,6]'), (3, NULL);
SELECT * FROM io_items ORDER BY id;
SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'io_items'::regclass AND attname = 'embedding';
SELECT '[1,2]'::vector::vector(2);

-- binary format: int16 dim, int16 unused, big-endian float4s
SELECT vector_send('[1,-2,0.5]');
SELECT vector_send('[1]');

-- text round trip keeps every float exactly
SELECT v::text::vector = v AS round_trip
FROM (SELECT ('[' || string_agg((random() * 1e6 - 5e5)::real::text, ',') || ']')::vector AS v
      FROM generate_series(1, 500)) s;

DROP TABLE io_items;
