# An index whose metapage names another layout version is refused, with SQLSTATE 0A000 and a
# REINDEX hint, by scans, inserts, VACUUM and the checker alike, and REINDEX makes it usable
# again. hnsw: once with the shared header's version field changed, once with the metapage
# beginning as 0.1.0's did (its own magic "VNSH", then a 32-bit layout version 2). lsh: its
# version field set to 1, the format before the planner's thresholds and the bucket pages' free
# space. Each is patched on disk with the server stopped.
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
CREATE TABLE hashed (id bigint PRIMARY KEY, embedding vector(16));
INSERT INTO hashed SELECT i, vec(i) FROM generate_series(1, 500) i;
CREATE INDEX hashed_lsh ON hashed USING lsh (embedding vector_l2_ops) WITH (shape_rows = 100);
});

# The common metapage header follows the 24-byte page header: magic (4 bytes), page id (2),
# layout version (2).
sub patch
{
	my ($index, $offset, $bytes) = @_;
	my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$index')");
	$node->stop;
	open(my $fh, '+<:raw', $file) or die "open $file: $!";
	seek($fh, 24 + $offset, 0) or die;
	print $fh $bytes;
	close($fh);
	$node->start;
}

# table => [index, version it reads, patches: case => [offset, bytes, version the patch claims]]
my %indexes = (
	items => [
		'items_hnsw', 3,
		{ 'version field of the shared header' => [6, pack('v', 2), 2],
		  '0.1.0 metapage' => [0, pack('VV', 0x48534e56, 2), 2] } ],
	hashed => [ 'hashed_lsh', 2, { 'version field of the shared header' => [6, pack('v', 1), 1] } ]);
for my $table (sort keys %indexes)
{
	my ($index, $reads, $patches) = @{ $indexes{$table} };
	my $query = "SET enable_seqscan = off; SELECT id FROM $table ORDER BY embedding <-> vec(7) LIMIT 1";
	for my $case (sort keys %$patches)
	{
		my ($offset, $bytes, $claimed) = @{ $patches->{$case} };
		patch($index, $offset, $bytes);
		for my $sql ($query, "INSERT INTO $table VALUES (1000, vec(1000))",
			"DELETE FROM $table WHERE id = 1; VACUUM $table", "SELECT vectorsearch_check_index('$index')")
		{
			my ($ret, $out, $err) = $node->psql('postgres', "\\set VERBOSITY verbose\n$sql");
			isnt($ret, 0, "$index, $case, refused: $sql");
			like($err, qr/0A000/, "$index, $case, SQLSTATE 0A000: $sql");
			like($err, qr/has layout version $claimed, this vectorsearch reads version $reads/,
				"$index, $case, message names both versions: $sql");
			like($err, qr/HINT:\s+REINDEX the index/, "$index, $case, hint to REINDEX: $sql");
		}
		$node->safe_psql('postgres', "REINDEX INDEX $index");
		is($node->safe_psql('postgres', $query), "7", "$index, $case: after REINDEX the index answers");
	}
}

$node->stop;
done_testing();
