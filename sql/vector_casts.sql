-- casts between vector and arrays
SELECT ARRAY[1,2,3]::vector;
SELECT ARRAY[1.5,2.25,-3]::real[]::vector;
SELECT ARRAY[1.5,2.25,-3]::double precision[]::vector;
SELECT ARRAY[1.5,2.25,-3]::numeric[]::vector;
SELECT '{4,5,6}'::int[]::vector(3);
SELECT '[1,2.5,-3]'::vector::real[];
SELECT ('[1,2.5,-3]'::vector)::real[] = ARRAY[1,2.5,-3]::real[] AS equal;
-- assignment casts: arrays store into vector columns
CREATE TABLE cast_items (embedding vector(3));
INSERT INTO cast_items VALUES (ARRAY[1,2,3]), (ARRAY[1.5,2,3]::real[]), (ARRAY[7,8,9]::float8[]);
SELECT * FROM cast_items;
DROP TABLE cast_items;
-- vector to real[] is implicit, so array functions apply directly
SELECT array_length('[1,2,3]'::vector::real[], 1);
-- a vector(n) column accepts a value only of n dims
SELECT '[1,2]'::vector(2)::vector(2);
