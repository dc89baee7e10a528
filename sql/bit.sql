-- Hamming and Jaccard distances on PostgreSQL's bit type, against counting the bits in SQL
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT '1010'::bit(4) <~> '0110', hamming_distance('1111', '0000'), hamming_distance('', '');
SELECT '1100'::bit(4) <%> '1010', jaccard_distance('0000', '0000'), jaccard_distance('1111', '1111'), jaccard_distance('', '');
-- varbit arguments go through PostgreSQL's cast to bit
SELECT hamming_distance('111', '000'::varbit(4));
-- every length up to 200 bits, against counting bit by bit with PostgreSQL's own functions
WITH pairs AS (
  SELECT n, a, b FROM generate_series(1, 200) n,
  LATERAL (SELECT string_agg(CASE WHEN (i * 7 + n) % 3 = 0 THEN '1' ELSE '0' END, '')::varbit AS a,
                  string_agg(CASE WHEN (i * 5 + n) % 4 = 0 THEN '1' ELSE '0' END, '')::varbit AS b
           FROM generate_series(1, n) i) s)
SELECT count(*) AS lengths,
       count(*) FILTER (WHERE hamming_distance(a, b) = length(replace((a # b)::text, '0', ''))) AS hamming_right,
       count(*) FILTER (WHERE jaccard_distance(a, b) =
                        CASE WHEN length(replace((a & b)::text, '0', '')) = 0 THEN 1
                             ELSE 1 - length(replace((a & b)::text, '0', ''))::float8
                                      / length(replace((a | b)::text, '0', '')) END) AS jaccard_right
FROM pairs;
-- binary_quantize makes bits to compare
SELECT binary_quantize('[1,-1,2,-2]'::vector) <~> binary_quantize('[1,1,-2,-2]'::vector);
-- lengths must match: 22000
\pset tuples_only on
SELECT pg_temp.try($$SELECT '101'::bit(3) <~> '1010'::bit(4)$$);
SELECT pg_temp.try($$SELECT jaccard_distance('1', '10')$$);
