-- COPY in text and binary format round-trips every value exactly
CREATE TABLE copy_src (id int, embedding vector);
INSERT INTO copy_src SELECT i, ARRAY[i, -i / 7.0, 1e-3 * i, 1e20 / i]::real[]::vector FROM generate_series(1, 1000) i;
INSERT INTO copy_src VALUES (1001, '[1]'), (1002, NULL);
CREATE TABLE copy_text (LIKE copy_src);
CREATE TABLE copy_binary (LIKE copy_src);
\copy copy_src TO 'results/vector_copy.txt'
\copy copy_text FROM 'results/vector_copy.txt'
\copy copy_src TO 'results/vector_copy.bin' WITH (FORMAT binary)
\copy copy_binary FROM 'results/vector_copy.bin' WITH (FORMAT binary)
SELECT count(*) AS rows,
       count(*) FILTER (WHERE t.embedding IS NOT DISTINCT FROM s.embedding) AS text_equal,
       count(*) FILTER (WHERE b.embedding IS NOT DISTINCT FROM s.embedding) AS binary_equal,
       count(*) FILTER (WHERE vector_send(b.embedding) IS NOT DISTINCT FROM vector_send(s.embedding)) AS bytes_equal
FROM copy_src s JOIN copy_text t USING (id) JOIN copy_binary b USING (id);
-- binary COPY into a vector(n) column checks the dimensions
CREATE TABLE copy_typed (id int, embedding vector(4));
\copy copy_typed FROM 'results/vector_copy.bin' WITH (FORMAT binary)
DROP TABLE copy_src, copy_text, copy_binary, copy_typed;
