-- Every page of an index carries its access method's page id in the last two bytes of the special
-- space, and a page type before it; block 0 starts with the common metapage header.
CREATE EXTENSION pageinspect;
CREATE TABLE pages_items (id int, v vector(3));
INSERT INTO pages_items SELECT i, ARRAY[i % 7, i % 11, i % 13]::vector FROM generate_series(1, 2000) i;
CREATE INDEX pages_items_l2 ON pages_items USING hnsw (v vector_l2_ops);
CREATE INDEX pages_items_cos ON pages_items USING hnsw (v vector_cosine_ops);

-- The id 0xFFA1, little-endian, on every block; the page types a dump shows.
CREATE FUNCTION page_ids(index regclass) RETURNS TABLE (page_id text, page_type int, pages bigint) AS $$
    SELECT encode(substring(p FROM 8191 FOR 2), 'hex'),
           get_byte(p, 8188) + 256 * get_byte(p, 8189), count(*)
    FROM generate_series(0, pg_relation_size(index) / 8192 - 1) b, get_raw_page(index::text, b::int) p
    GROUP BY 1, 2 ORDER BY 2
$$ LANGUAGE sql;
SELECT page_id, page_type, pages > 0 AS present FROM page_ids('pages_items_l2');

-- The metapage header: magic "VSIX", page id, layout version 3, element type 1 (float4),
-- the metric the operator class declares (1 L2, 3 cosine), dimensions.
CREATE FUNCTION meta_header(index regclass) RETURNS TABLE (magic text, page_id text, version int, element_type int, metric int, dims int) AS $$
    SELECT convert_from(substring(p FROM 25 FOR 4), 'UTF8'), encode(substring(p FROM 29 FOR 2), 'hex'),
           get_byte(p, 30) + 256 * get_byte(p, 31), get_byte(p, 32) + 256 * get_byte(p, 33),
           get_byte(p, 34) + 256 * get_byte(p, 35), get_byte(p, 36) + 256 * get_byte(p, 37)
    FROM get_raw_page(index::text, 0) p
$$ LANGUAGE sql;
SELECT * FROM meta_header('pages_items_l2');
SELECT * FROM meta_header('pages_items_cos');

-- The metric comes from the operator class: support function 3 of each.
SELECT opf.opfname, p.proname
FROM pg_amproc ap JOIN pg_opfamily opf ON opf.oid = ap.amprocfamily JOIN pg_proc p ON p.oid = ap.amproc
JOIN pg_am am ON am.oid = opf.opfmethod
WHERE am.amname = 'hnsw' AND ap.amprocnum = 3 ORDER BY 1;

SELECT opcname, amvalidate(opc.oid) FROM pg_opclass opc JOIN pg_am am ON am.oid = opc.opcmethod
WHERE am.amname = 'hnsw' ORDER BY 1;

-- An operator class without the metric function is invalid, and no index can use it.
CREATE OPERATOR CLASS no_metric_ops FOR TYPE vector USING hnsw AS
	OPERATOR 1 <-> (vector, vector) FOR ORDER BY float_ops,
	FUNCTION 1 vector_l2_squared_distance(vector, vector);
SELECT amvalidate(oid) FROM pg_opclass WHERE opcname = 'no_metric_ops';
\set VERBOSITY sqlstate
CREATE INDEX ON pages_items USING hnsw (v no_metric_ops);
\set VERBOSITY default
DROP OPERATOR CLASS no_metric_ops USING hnsw;
DROP OPERATOR FAMILY no_metric_ops USING hnsw;

DROP TABLE pages_items;
DROP FUNCTION page_ids(regclass);
DROP FUNCTION meta_header(regclass);
DROP EXTENSION pageinspect;
