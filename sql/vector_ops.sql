-- distance operators, arithmetic and concatenation
SELECT '[1,2,3]'::vector <-> '[4,6,8]' AS l2;
SELECT '[1,2,3]'::vector <#> '[4,6,8]' AS negative_inner_product;
SELECT '[1,2,3]'::vector <=> '[4,6,8]' AS cosine;
SELECT '[1,2,3]'::vector <+> '[4,6,8]' AS l1;
SELECT '[1,1]'::vector <=> '[-1,-1]' AS opposite, '[1,0]'::vector <=> '[0,1]' AS orthogonal,
       '[3,4]'::vector <=> '[6,8]' AS parallel;
SELECT '[0,0]'::vector <=> '[1,1]' AS zero_vector_cosine;
SELECT '[1,2,3]'::vector + '[4,5,6]';
SELECT '[1,2,3]'::vector - '[4,5,6]';
SELECT '[1,2,3]'::vector * '[4,5,6]';
SELECT '[1,2]'::vector || '[3]';
-- commutators let the planner flip operands
SELECT '[4,6,8]'::vector <-> '[1,2,3]' = '[1,2,3]'::vector <-> '[4,6,8]' AS symmetric;
-- the distance operators agree with a computation in double precision over many dims
WITH v AS (
  SELECT array_agg(sin(i)::real ORDER BY i) AS a, array_agg(cos(i * 0.7)::real ORDER BY i) AS b
  FROM generate_series(1, 1001) i
), ref AS (
  SELECT sqrt(sum((a[i]::float8 - b[i]::float8) ^ 2)) AS l2,
         sum(a[i]::float8 * b[i]::float8) AS ip,
         sum(abs(a[i]::float8 - b[i]::float8)) AS l1,
         sum(a[i]::float8 * b[i]::float8) / sqrt(sum(a[i]::float8 ^ 2) * sum(b[i]::float8 ^ 2)) AS cos
  FROM v, generate_series(1, 1001) i
)
SELECT abs((a::vector <-> b::vector) - l2) < 1e-4 * l2 AS l2_ok,
       abs((a::vector <#> b::vector) + ip) < 1e-3 AS ip_ok,
       abs((a::vector <+> b::vector) - l1) < 1e-4 * l1 AS l1_ok,
       abs((a::vector <=> b::vector) - (1 - cos)) < 1e-5 AS cosine_ok
FROM v, ref;

-- exact k-NN by sequential scan returns the brute-force order
CREATE TABLE knn (id int PRIMARY KEY, embedding vector(2));
INSERT INTO knn SELECT i, ARRAY[i % 10, i / 10]::vector FROM generate_series(0, 99) i;
SELECT id, embedding <-> '[3.2,4.9]' AS d FROM knn ORDER BY embedding <-> '[3.2,4.9]', id LIMIT 5;
SELECT id FROM knn ORDER BY embedding <#> '[1,2]', id LIMIT 3;
SELECT id FROM knn WHERE id > 0 ORDER BY embedding <=> '[1,1]', id LIMIT 4;
SELECT id FROM knn ORDER BY embedding <+> '[5,5]', id LIMIT 5;
DROP TABLE knn;
