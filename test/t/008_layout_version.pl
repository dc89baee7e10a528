# An index whose metapage names another layout version (as one built by an older release would)
# is refused, with SQLSTATE 0A000 and a REINDEX hint, by scans, inserts and VACUUM alike, and
# REINDEX makes it usable again. The version is patched on disk with the server stopped.
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
sub patch_version
{
	my ($version) = @_;
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	seek($fh, 24 + 6, 0) or die;
	print $fh pack('v', $version);
	close($fh);
}

$node->stop;
patch_version(2);
$node->start;

my $query = "SET enable_seqscan = off; SELECT id FROM items ORDER BY embedding <-> vec(7) LIMIT 1";
for my $sql ($query, "INSERT INTO items VALUES (1000, vec(1000))", "DELETE FROM items WHERE id = 1; VACUUM items")
{
	my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
	isnt($ret, 0, "refused: $sql");
	like($err, qr/0A000/, "SQLSTATE 0A000: $sql");
	like($err, qr/has layout version 2, this vectorsearch reads version 3/, "message names both versions: $sql");
	like($err, qr/HINT:\s+REINDEX the index/, "hint to REINDEX: $sql");
}

$node->safe_psql('postgres', 'REINDEX INDEX items_hnsw');
is($node->safe_psql('postgres', $query), "7", 'after REINDEX the index answers');

$node->stop;
done_testing();
