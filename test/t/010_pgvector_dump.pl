# A database dumped by pgvector 0.8.6 (pg_dump's plain format, data/pgvector-0.8.6-dump.sql: every
# pgvector type as a column, hnsw indexes of each vector, halfvec and sparsevec operator class
# and both bit ones, expression indexes of pgvector's recipes, btree indexes, a view, a function with SET
# hnsw.ef_search, aggregates of vector and halfvec) restores, unedited, into a database with
# vectorsearch: its CREATE EXTENSION IF NOT EXISTS vector creates the alias (vector.control),
# which requires vectorsearch to be there first. The restored rows hold the values pgvector held,
# every index is valid and sound, and each answers as an exact scan does. (The dump was made with
# pgvector built outside this repository.)
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VectorSearchTest;

my $dump = "$FindBin::Bin/data/pgvector-0.8.6-dump.sql";
my $node = start_node('pgvector_dump', "autovacuum = off\n");

sub restore
{
	my ($db) = @_;
	return $node->psql($db, undef, extra_params => [ '-v', 'ON_ERROR_STOP=1', '-f', $dump ]);
}

# Without vectorsearch the restore stops at its first statement, saying what to do.
$node->safe_psql('postgres', 'CREATE DATABASE bare');
my ($status, $out, $err) = restore('bare');
isnt($status, 0, 'without vectorsearch the restore stops');
like($err, qr/required extension "vectorsearch" is not installed/, '... saying that vectorsearch is required');

# The documented step: CREATE EXTENSION vectorsearch in the new database, then the dump as it is.
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', 'CREATE EXTENSION vectorsearch');
($status, $out, $err) = restore('shop');
is($status, 0, 'the dump restores with ON_ERROR_STOP');
unlike($err, qr/ERROR/, '... without an error');

is($node->safe_psql('shop', 'SELECT extname || \' \' || extversion FROM pg_extension WHERE extname = \'vector\''),
	'vector 0.8.6', 'the vector extension is the alias, at the pgvector version the dump names');

# The rows hold what pgvector computed from the same expressions (the dump made them so).
is( $node->safe_psql('shop', q{
SELECT count(*) FILTER (WHERE embedding = ARRAY[sin(id), cos(id), sin(id * 0.5)]::vector(3)
                          AND half = ARRAY[cos(id), sin(id * 2), 0.25 * id]::halfvec(3)
                          AND sparse = ARRAY[0, sin(id), 0, 0, CASE WHEN id % 3 = 0 THEN 0 ELSE cos(id) END]::sparsevec(5)
                          AND bits = (SELECT string_agg(((id >> j) & 1)::text, '') FROM generate_series(0, 7) j)::bit(8)
                          AND loose IS NOT DISTINCT FROM CASE WHEN id % 10 = 0 THEN NULL ELSE ARRAY[id, -id]::int[]::vector END)
FROM items}),
	'200', 'every row holds the values pgvector stored');
like($node->safe_psql('shop', q{
SELECT l2_distance(centre, (SELECT avg(embedding) FROM items)) < 1e-6
   AND l2_distance(half_sum::vector, (SELECT sum(half) FROM items)::vector) < 1e-3 FROM centroids}),
	qr/^t$/, "pgvector's avg(vector) and sum(halfvec) agree with ours");

# Every index: valid, of its access method, and sound to the checker.
my @indexes = split /\n/, $node->safe_psql('shop', q{
SELECT c.relname || ' ' || am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam WHERE i.indrelid = 'items'::regclass AND i.indisvalid ORDER BY 1});
is(scalar(@indexes), 17, 'all 17 indexes of the table are valid');
for my $line (grep { / hnsw$/ } @indexes)
{
	my ($index) = split / /, $line;
	my ($s, $o, $e) = $node->psql('shop', "SELECT vectorsearch_check_index('$index', true)");
	is("$s$e", '0', "$index is sound");
}

# Each hnsw index answers 5 queries as an exact scan does (ef_search above the row count).
my @scans = (
	[ 'items_embedding_l2',        'embedding <-> %s', 'embedding' ],
	[ 'items_embedding_cosine',    'embedding <=> %s', 'embedding' ],
	[ 'items_embedding_ip',        'embedding <#> %s', 'embedding' ],
	[ 'items_embedding_l1',        'embedding <+> %s', 'embedding' ],
	[ 'items_half_l2',             'half <-> %s',      'half' ],
	[ 'items_half_cosine',         'half <=> %s',      'half' ],
	[ 'items_sparse_l2',           'sparse <-> %s',    'sparse' ],
	[ 'items_sparse_ip',           'sparse <#> %s',    'sparse' ],
	[ 'items_sparse_cosine',       'sparse <=> %s',    'sparse' ],
	[ 'items_sparse_l1',           'sparse <+> %s',    'sparse' ],
	[ 'items_bits_hamming',        'bits <~> %s',      'bits' ],
	[ 'items_bits_jaccard',        'bits <%%> %s',     'bits' ],
	[ 'items_embedding_as_half',   '(embedding::halfvec(3)) <#> (%s)::halfvec(3)', 'embedding' ],
	[ 'items_embedding_quantized', '(binary_quantize(embedding)::bit(3)) <~> (binary_quantize(%s)::bit(3))', 'embedding' ]);
for my $scan (@scans)
{
	my ($index, $order, $column) = @$scan;
	my $key = sprintf($order, "(SELECT $column FROM items WHERE id = q)");
	# the distances of the 10 nearest rows in the order they come, by the index and by a
	# sequential scan: with ties (bits have few distinct distances) the rows may differ, the
	# distances in their order may not
	my $sql = qq{
SELECT string_agg(k::text, ' ' ORDER BY q, rank) FROM generate_series(3, 200, 40) q,
LATERAL (SELECT k, row_number() OVER () AS rank FROM (SELECT $key AS k FROM items ORDER BY $key LIMIT 10) n) s};
	# (the table's btree indexes would otherwise serve a filtered sort of 200 rows)
	my $by_index = 'SET enable_seqscan = off; SET enable_bitmapscan = off; SET enable_sort = off; SET hnsw.ef_search = 400;';
	like($node->safe_psql('shop', "$by_index EXPLAIN (COSTS OFF) $sql"), qr/Index Scan using $index on items/,
		"$index serves its ORDER BY");
	is( $node->safe_psql('shop', "$by_index $sql"),
		$node->safe_psql('shop', "SET enable_indexscan = off; SET enable_bitmapscan = off; $sql"),
		"$index answers as an exact scan does");
}

# The view and the function (with its SET hnsw.ef_search) work as they did under pgvector.
is( $node->safe_psql('shop', q{SELECT string_agg(id::text, ' ' ORDER BY distance) FROM nearest_to_origin}),
	$node->safe_psql('shop', q{SELECT string_agg(id::text, ' ') FROM (SELECT id FROM items ORDER BY embedding <-> '[0,0,0]', id LIMIT 5) s}),
	'the view answers');
is( $node->safe_psql('shop', q{SELECT string_agg(x::text, ' ') FROM nearest('[0.5,0.5,0.5]', 10) x}),
	'26 114 139 51 1 89 164 177 76 64', 'the function returns the ids it returned under pgvector');

done_testing();
