# An index whose metapage names another layout version is refused, with SQLSTATE 0A000 and a
# REINDEX hint, by scans, inserts, VACUUM and the checker alike, and REINDEX makes it usable
# again: once with the shared header's version field changed, once with the metapage beginning
# as 0.1.0's did (its own magic "VNSH", then a 32-bit layout version 2). Both are patched on
# disk with the server stopped.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VectorSearchTest;

my $node = start_node('layout_version', "autovacuum = off\n");
$node->safe_psql('postgres', PostgreSQL::Test::Utils::slurp_file("$FindBin::Bin/helpers.sql"));
$node->safe_psql('postgres', q{
CREATE TABLE items (id bigint PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT i, vec(i) FROM generate_series(1, 500) i;
CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops);
});
my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('items_hnsw')");

# The common metapage header follows the 24-byte page header: magic (4 bytes), page id (2),
# layout version (2).
sub patch
{
	my ($offset, $bytes) = @_;
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	seek($fh, 24 + $offset, 0) or die;
	print $fh $bytes;
	close($fh);
}

my $query = "SET enable_seqscan = off; SELECT id FROM items ORDER BY embedding <-> vec(7) LIMIT 1";
my %patches = (
	'version field of the shared header' => [6, pack('v', 2)],
	'0.1.0 metapage' => [0, pack('VV', 0x48534e56, 2)]);
for my $case (sort keys %patches)
{
	$node->stop;
	patch(@{ $patches{$case} });
	$node->start;
	for my $sql ($query, "INSERT INTO items VALUES (1000, vec(1000))", "DELETE FROM items WHERE id = 1; VACUUM items",
		"SELECT vectorsearch_check_index('items_hnsw')")
	{
		my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
		isnt($ret, 0, "$case, refused: $sql");
		like($err, qr/0A000/, "$case, SQLSTATE 0A000: $sql");
		like($err, qr/has layout version 2, this vectorsearch reads version 3/, "$case, message names both versions: $sql");
		like($err, qr/HINT:\s+REINDEX the index/, "$case, hint to REINDEX: $sql");
	}
	$node->safe_psql('postgres', 'REINDEX INDEX items_hnsw');
	is($node->safe_psql('postgres', $query), "7", "$case: after REINDEX the index answers");
	$file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('items_hnsw')");
}

$node->stop;
done_testing();
