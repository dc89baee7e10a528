-- hnsw on halfvec and bit: every operator class, as a column and as pgvector's expression-index
-- recipes, returns what an exact scan returns when ef_search covers the table; inserts after the
-- build, VACUUM, the checker, the size of a halfvec index beside a vector one, and the limits
CREATE FUNCTION pg_temp.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE statement;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
-- the distances of the k rows nearest by an index scan, in the order they come, and by a
-- sequential scan (rows that tie may differ; the distances in their order may not);
-- each call sets every planner setting it depends on (SET LOCAL lasts to the end of the calling
-- statement, past this call) and raises an error unless the first query is an index scan
CREATE FUNCTION pg_temp.agree(order_by text, k int) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
  query text := format('SELECT array_agg(d) FROM (SELECT %s AS d FROM typed ORDER BY %s LIMIT %s) t', order_by, order_by, k);
  line text;
  plan text := '';
  by_index float8[];
  by_scan float8[];
BEGIN
  PERFORM set_config('enable_seqscan', 'off', true);
  PERFORM set_config('enable_indexscan', 'on', true);
  PERFORM set_config('enable_bitmapscan', 'off', true);
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query LOOP
    plan := plan || line || E'\n';
  END LOOP;
  IF plan !~ 'Index Scan using \w+ on typed' THEN
    RAISE EXCEPTION 'not an index scan: %', plan;
  END IF;
  EXECUTE query INTO by_index;
  PERFORM set_config('enable_seqscan', 'on', true);
  PERFORM set_config('enable_indexscan', 'off', true);
  EXECUTE query INTO by_scan;
  RETURN by_index = by_scan;
END $$;
-- no other index on the table: with enable_seqscan off, an ORDER BY can only be served by hnsw
CREATE TABLE typed (id int, v vector(24), h halfvec(24), b bit(24));
INSERT INTO typed SELECT i, x, x::halfvec(24), binary_quantize(x)::bit(24)
FROM (SELECT i, ARRAY(SELECT sin(i * 7.3 + j * 1.7) FROM generate_series(1, 24) j)::real[]::vector(24) AS x
      FROM generate_series(1, 600) i) s;
CREATE INDEX typed_h_l2 ON typed USING hnsw (h halfvec_l2_ops);
CREATE INDEX typed_h_ip ON typed USING hnsw (h halfvec_ip_ops);
CREATE INDEX typed_h_cos ON typed USING hnsw (h halfvec_cosine_ops);
CREATE INDEX typed_h_l1 ON typed USING hnsw (h halfvec_l1_ops);
CREATE INDEX typed_b_ham ON typed USING hnsw (b bit_hamming_ops);
CREATE INDEX typed_b_jac ON typed USING hnsw (b bit_jaccard_ops);
-- rows added after the build go through the insert path
INSERT INTO typed SELECT i, x, x::halfvec(24), binary_quantize(x)::bit(24)
FROM (SELECT i, ARRAY(SELECT cos(i * 3.1 + j * 0.9) FROM generate_series(1, 24) j)::real[]::vector(24) AS x
      FROM generate_series(601, 800) i) s;
SET hnsw.ef_search = 1000;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM typed ORDER BY h <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM typed ORDER BY b <~> '101010101010101010101010' LIMIT 5;
RESET enable_seqscan;
-- exact agreement for a few queries per class (distances tie often for bits: ties go by id)
SELECT q, pg_temp.agree(format('h <-> (SELECT h FROM typed WHERE id = %s)', q), 10) AS l2,
          pg_temp.agree(format('h <#> (SELECT h FROM typed WHERE id = %s)', q), 10) AS ip,
          pg_temp.agree(format('h <=> (SELECT h FROM typed WHERE id = %s)', q), 10) AS cosine,
          pg_temp.agree(format('h <+> (SELECT h FROM typed WHERE id = %s)', q), 10) AS l1
FROM unnest(ARRAY[1, 77, 650]) q;
-- bits: the k-th nearest distance agrees (many rows tie, so ids may differ between equal distances)
CREATE FUNCTION pg_temp.kth(order_by text, k int, use_index boolean) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
  d float8;
BEGIN
  EXECUTE format('SET LOCAL enable_seqscan = %s', NOT use_index);
  EXECUTE format('SET LOCAL enable_indexscan = %s', use_index);
  EXECUTE format('SELECT max(d) FROM (SELECT %s AS d FROM typed ORDER BY %s LIMIT %s) t', order_by, order_by, k) INTO d;
  RETURN d;
END $$;
SELECT q, pg_temp.kth(format('b <~> (SELECT b FROM typed WHERE id = %s)', q), 10, true)
          = pg_temp.kth(format('b <~> (SELECT b FROM typed WHERE id = %s)', q), 10, false) AS hamming,
          pg_temp.kth(format('b <%%> (SELECT b FROM typed WHERE id = %s)', q), 10, true)
          = pg_temp.kth(format('b <%%> (SELECT b FROM typed WHERE id = %s)', q), 10, false) AS jaccard
FROM unnest(ARRAY[1, 77, 650]) q;
-- under cosine the rows come in the operator's order (to within the float the index keeps a
-- distance in: a relative 1e-6 allows ties), even among near-duplicates 1e-6 apart, whose halves
-- scaled to unit length and rounded would swap (1,790 rows out of order when they were)
CREATE TABLE close (id int, h halfvec(64));
INSERT INTO close SELECT i, ARRAY(SELECT 1 + 0.02 * sin(i * 0.7 + j * 1.3) + 0.001 * cos(i * j) FROM generate_series(1, 64) j)::real[]::halfvec(64)
FROM generate_series(1, 2000) i;
CREATE INDEX close_cosine ON close USING hnsw (h halfvec_cosine_ops);
SET enable_seqscan = off;
SELECT count(*) AS queries, count(*) FILTER (WHERE ordered) AS in_order FROM (
  SELECT q, bool_and(d >= previous * (1 - 1e-6)) AS ordered FROM (
    SELECT q, d, lag(d, 1, 0::float8) OVER (PARTITION BY q ORDER BY rank) AS previous FROM generate_series(1, 40) q,
    LATERAL (SELECT h <=> (SELECT h FROM close WHERE id = q * 50) AS d, row_number() OVER () AS rank
             FROM (SELECT h FROM close ORDER BY h <=> (SELECT h FROM close WHERE id = q * 50) LIMIT 100) n) s) t
  GROUP BY q) u;
RESET enable_seqscan;
-- pgvector's recipes: an expression index on a vector column cast to halfvec, and binary
-- quantization with a re-ranking query
CREATE INDEX typed_v_half ON typed USING hnsw ((v::halfvec(24)) halfvec_l2_ops);
CREATE INDEX typed_v_bits ON typed USING hnsw ((binary_quantize(v)::bit(24)) bit_hamming_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM typed ORDER BY v::halfvec(24) <-> '[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24]' LIMIT 5;
EXPLAIN (COSTS OFF) SELECT id FROM typed ORDER BY binary_quantize(v)::bit(24) <~> binary_quantize('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24]'::vector)::bit(24) LIMIT 5;
RESET enable_seqscan;
SELECT pg_temp.agree('v::halfvec(24) <-> (SELECT v FROM typed WHERE id = 5)::halfvec(24)', 10) AS halfvec_expression;
SELECT array_agg(id ORDER BY id) = (SELECT array_agg(id ORDER BY id) FROM (SELECT id FROM typed ORDER BY v <-> (SELECT v FROM typed WHERE id = 9) LIMIT 5) e) AS reranked
FROM (SELECT id FROM (SELECT id, v FROM typed ORDER BY binary_quantize(v)::bit(24) <~> binary_quantize((SELECT v FROM typed WHERE id = 9))::bit(24) LIMIT 200) c
      ORDER BY v <-> (SELECT v FROM typed WHERE id = 9) LIMIT 5) t;
-- VACUUM removes deleted rows from every index; the checker passes them all
DELETE FROM typed WHERE id % 3 = 0;
VACUUM typed;
SELECT count(*) FILTER (WHERE id % 3 = 0) AS deleted_returned FROM (SELECT id FROM typed ORDER BY h <-> (SELECT h FROM typed WHERE id = 1) LIMIT 50) t;
SELECT c.relname, vectorsearch_check_index(c.oid, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = 'typed'::regclass AND am.amname = 'hnsw' ORDER BY 1;
RESET hnsw.ef_search;
-- a halfvec index holds halves: about half the size of the vector index on the same rows
CREATE TABLE wide (v vector(768));
INSERT INTO wide SELECT ARRAY(SELECT sin(i * 0.37 + j) FROM generate_series(1, 768) j)::real[]::vector(768) FROM generate_series(1, 300) i;
CREATE INDEX wide_v ON wide USING hnsw (v vector_l2_ops);
CREATE INDEX wide_h ON wide USING hnsw ((v::halfvec(768)) halfvec_l2_ops);
SELECT round(pg_relation_size('wide_h')::numeric / pg_relation_size('wide_v'), 1) AS size_ratio;
-- further than pgvector (4,000): halfvec indexed at 16,000 dimensions
CREATE TABLE huge (h halfvec(16000));
INSERT INTO huge SELECT ARRAY(SELECT sin(i + j * 0.01) FROM generate_series(1, 16000) j)::real[]::halfvec(16000) FROM generate_series(1, 20) i;
CREATE INDEX huge_h ON huge USING hnsw (h halfvec_l2_ops);
SET enable_seqscan = off;
SELECT count(*) FROM (SELECT 1 FROM huge ORDER BY h <-> (SELECT h FROM huge LIMIT 1) LIMIT 5) t;
RESET enable_seqscan;
-- errors
\pset tuples_only on
SELECT pg_temp.try($$SELECT id FROM typed ORDER BY b <~> '101' LIMIT 1$$);
SELECT pg_temp.try($$SELECT id FROM typed ORDER BY h <-> '[1,2]' LIMIT 1$$);
CREATE TABLE untyped (h halfvec, b bit varying);
SELECT pg_temp.try($$CREATE INDEX ON untyped USING hnsw (h halfvec_l2_ops)$$);
SELECT pg_temp.try($$CREATE INDEX ON untyped USING hnsw (b bit_hamming_ops)$$);
CREATE TABLE short_bits (b bit varying(8));
SELECT pg_temp.try($$CREATE INDEX ON short_bits USING hnsw (b bit_hamming_ops)$$);
SELECT pg_temp.try($$CREATE INDEX ON short_bits USING hnsw ((b::bit(8)) bit_hamming_ops)$$);
-- bits past vector's 16,000 dimensions: built, and sound to the checker
CREATE TABLE wide_bits (b bit(20000));
INSERT INTO wide_bits SELECT (SELECT string_agg(((i * j) % 3 = 0)::int::text, '') FROM generate_series(1, 20000) j)::bit(20000) FROM generate_series(1, 30) i;
CREATE INDEX wide_bits_hamming ON wide_bits USING hnsw (b bit_hamming_ops);
SELECT pg_temp.try($$SELECT vectorsearch_check_index('wide_bits_hamming', true)$$);
CREATE TABLE too_many_bits (b bit(600000));
SELECT pg_temp.try($$CREATE INDEX ON too_many_bits USING hnsw (b bit_hamming_ops)$$);
SELECT pg_temp.try($$CREATE INDEX ON typed USING lsh (b bit_hamming_ops)$$);
DROP TABLE typed, close, wide, huge, untyped, short_bits, wide_bits, too_many_bits;
