-- vectorsearch 0.1.0 -> 0.2.0. Each change has its own section.

\echo Use "ALTER EXTENSION vectorsearch UPDATE TO '0.2.0'" to load this file. \quit

-- vectorsearch_check_index: the structure checker of every vectorsearch index (src/pg/index/check.h).
-- Read-only, and granted to PUBLIC: it refuses a caller who cannot SELECT from the index's table,
-- and tells nothing that SELECT does not. Not STRICT: a NULL argument is an error, not a silent
-- NULL that a script could take for a passed check.
CREATE FUNCTION vectorsearch_check_index(index regclass, heapallindexed boolean DEFAULT false) RETURNS void
	AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION vectorsearch_check_index(regclass, boolean) IS
	'checks the structure of a vectorsearch index (and with heapallindexed that it holds every row of its table); raises XX002 at the first problem';
