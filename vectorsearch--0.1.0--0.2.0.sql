-- vectorsearch 0.1.0 -> 0.2.0. A new installation runs vectorsearch--0.1.0.sql and then this
-- script, so every catalog change after 0.1.0 lives here, in sections by topic.

\echo Use "ALTER EXTENSION vectorsearch UPDATE TO '0.2.0'" to load this file. \quit

-- Operator classes declare their metric. Support function 3 of every vectorsearch operator class
-- returns the distance the index orders by, so an access method never infers it from a function's
-- name. The internal argument is unused: it keeps the functions uncallable from SQL.

CREATE FUNCTION vectorsearch_l2_metric(internal) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vectorsearch_ip_metric(internal) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vectorsearch_cosine_metric(internal) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE FUNCTION vectorsearch_l1_metric(internal) RETURNS integer
	AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

ALTER OPERATOR FAMILY vector_l2_ops USING hnsw ADD FUNCTION 3 (vector, vector) vectorsearch_l2_metric(internal);
ALTER OPERATOR FAMILY vector_ip_ops USING hnsw ADD FUNCTION 3 (vector, vector) vectorsearch_ip_metric(internal);
ALTER OPERATOR FAMILY vector_cosine_ops USING hnsw ADD FUNCTION 3 (vector, vector) vectorsearch_cosine_metric(internal);
ALTER OPERATOR FAMILY vector_l1_ops USING hnsw ADD FUNCTION 3 (vector, vector) vectorsearch_l1_metric(internal);

-- Scan statistics: what the backend's last index scan cost. PostgreSQL 15 lets an index access
-- method add nothing to EXPLAIN, so the counters are read with a query after the scan.
-- index: the index scanned; batches: searches (the first and each continuation); visited:
-- elements reached; distances: distances computed; pages: index page accesses; pages_read: those
-- not found in shared buffers; rows: rows returned. NULL before the backend's first index scan.
-- VOLATILE: the answer changes with every scan.
CREATE FUNCTION vectorsearch_last_scan(OUT index regclass, OUT batches bigint, OUT visited bigint,
                                       OUT distances bigint, OUT pages bigint, OUT pages_read bigint,
                                       OUT rows bigint)
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

-- vectorsearch_check_index: the structure checker of every vectorsearch index (src/pg/index/check.h).
-- Read-only, and like amcheck's functions not granted to PUBLIC: a check reads the whole index and
-- table and holds memory in proportion to them, so the extension's owner grants it to whom it
-- trusts with that load. It also refuses a caller who cannot SELECT from the index's table. Not
-- STRICT: a NULL argument is an error, not a silent NULL a script could take for a passed check.
CREATE FUNCTION vectorsearch_check_index(index regclass, heapallindexed boolean DEFAULT false) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

REVOKE ALL ON FUNCTION vectorsearch_check_index(regclass, boolean) FROM PUBLIC;

COMMENT ON FUNCTION vectorsearch_check_index(regclass, boolean) IS
	'checks the structure of a vectorsearch index (and with heapallindexed that it holds every row of its table); raises XX002 at the first problem';

-- lsh: locality-sensitive hashing index for ORDER BY embedding <op> $1 LIMIT k. Each row is
-- hashed into a bucket of each of several tables with a short sketch; a scan probes the query's
-- likeliest buckets, ranks their entries by sketch and re-ranks the best exactly from the table.

CREATE FUNCTION lshhandler(internal) RETURNS index_am_handler
	AS 'MODULE_PATHNAME' LANGUAGE C;

CREATE ACCESS METHOD lsh TYPE INDEX HANDLER lshhandler;

COMMENT ON ACCESS METHOD lsh IS 'locality-sensitive hashing index for nearest-neighbour search, tuned by target recall';

-- Support function 1 names the distance, 3 the metric (as for hnsw). No L1 operator class: no
-- hash family here is sensitive to L1 distance.
CREATE OPERATOR CLASS vector_l2_ops
	FOR TYPE vector USING lsh AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector),
	FUNCTION 3 vectorsearch_l2_metric(internal);

CREATE OPERATOR CLASS vector_ip_ops
	FOR TYPE vector USING lsh AS
	OPERATOR 1 <#> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 3 vectorsearch_ip_metric(internal);

CREATE OPERATOR CLASS vector_cosine_ops
	FOR TYPE vector USING lsh AS
	OPERATOR 1 <=> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_negative_inner_product(vector, vector),
	FUNCTION 3 vectorsearch_cosine_metric(internal);
