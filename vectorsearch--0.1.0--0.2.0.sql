-- vectorsearch 0.1.0 -> 0.2.0

\echo Use "ALTER EXTENSION vectorsearch UPDATE TO '0.2.0'" to load this file. \quit

-- ---------------------------------------------------------------------------------------------
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
