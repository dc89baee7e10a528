-- SQL helpers shared by the TAP tests in test/t; each test loads this file once on its (primary)
-- node with safe_psql.
CREATE EXTENSION vectorsearch;
-- vec(i): a deterministic pseudo-random 16-dimensional vector per integer, components in
-- (-10, 10); rows hold vec(id), queries use ids never stored. (hashint8 equals hashint4 on values
-- in int range, so an int argument gives the same vector either way.)
CREATE FUNCTION vec(i bigint) RETURNS vector IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
  SELECT array_agg((hashint8(i * 16 + j) % 1000) / 100.0 ORDER BY j)::vector(16)
  FROM generate_series(0, 15) j
$$;
-- rows of tbl (all of them, or those the WHERE clause sample selects) whose own vector, as a
-- query, does not find them: the nearest row must be the row itself or one at distance 0 (an
-- identical vector)
CREATE FUNCTION self_lookup_failures(tbl regclass, sample text DEFAULT 'true')
RETURNS TABLE (missing_id bigint, found_id bigint, found_distance float8) LANGUAGE plpgsql AS $f$
DECLARE
  r record;
BEGIN
  FOR r IN EXECUTE format('SELECT id, embedding FROM %s WHERE %s ORDER BY id', tbl, sample) LOOP
    EXECUTE format('SELECT id, embedding <-> $1 FROM %s ORDER BY embedding <-> $1 LIMIT 1', tbl)
      INTO found_id, found_distance USING r.embedding;
    IF found_id IS DISTINCT FROM r.id AND found_distance IS DISTINCT FROM 0 THEN
      missing_id := r.id;
      RETURN NEXT;
    END IF;
  END LOOP;
END $f$;
-- the plan of query, run with q as $1
CREATE FUNCTION plan_of(query text, q vector) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  line text;
  plan text := '';
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || query USING q LOOP
    plan := plan || line || E'\n';
  END LOOP;
  RETURN plan;
END $f$;
-- the k distances an index scan of tbl returns for q equal those of a sequential scan; raises
-- an error unless the first query is a scan of an index ${tbl}_<index type> and the second is none
CREATE FUNCTION same_as_seqscan(tbl regclass, q vector, k int) RETURNS boolean LANGUAGE plpgsql AS $f$
DECLARE
  by_index float8[];
  by_scan float8[];
  query text := format('SELECT array_agg(d) FROM (SELECT embedding <-> $1 AS d FROM %s ORDER BY embedding <-> $1 LIMIT %s) s', tbl, k);
  plan text;
BEGIN
  SET LOCAL enable_seqscan = off;
  SET LOCAL enable_indexscan = on;
  SET LOCAL enable_bitmapscan = off;
  plan := plan_of(query, q);
  IF plan !~ format('Index Scan using %s_\w+ on %s', tbl, tbl) THEN
    RAISE EXCEPTION 'not a scan of an index %_<index type>: %', tbl, plan;
  END IF;
  EXECUTE query INTO by_index USING q;
  SET LOCAL enable_seqscan = on;
  SET LOCAL enable_indexscan = off;
  plan := plan_of(query, q);
  IF plan !~ format('Seq Scan on %s', tbl) OR plan ~ 'Index' THEN
    RAISE EXCEPTION 'not a sequential scan: %', plan;
  END IF;
  EXECUTE query INTO by_scan USING q;
  RETURN by_index = by_scan;
END $f$;
