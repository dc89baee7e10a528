# vectorsearch_check_index on lsh indexes: sound ones pass (shaped under L2 and cosine, with a
# zero vector the cosine index leaves out; unshaped; one insert paused halfway through its
# tables), then, with the server stopped, chosen bytes of a shaped index's file are changed (a
# bucket page's count, page type, next pointer, a directory slot, the metapage's directory, heap
# TIDs, sketches, entries removed by lowering a count) and the checker must report XX002 naming
# the block (and slot) of the damage; what only the rows can show only heapallindexed sees.
use strict;
use warnings;

use File::Copy;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VectorSearchTest;

# the page format of src/pg/index/page.h and src/pg/lsh/lsh.h
my $BLCKSZ = 8192;
my $PAGE_DATA = 24;    # MAXALIGN(SizeOfPageHeaderData)
my $SPECIAL = $BLCKSZ - 8;    # IndexPageOpaque: aux u32, page type u16, page id u16
my $BUCKET_SPACE = $SPECIAL - $PAGE_DATA - 16;    # after LshBucketHeader: bucket u32, table u16, count u16, next u32, u32
my $SKETCHES = $PAGE_DATA + 16;
my $INVALID_BLOCK = 0xFFFFFFFF;
my %PAGE_TYPE = (directory => 2, bucket => 3);
# LshMeta after the page header: IndexMetaHeader (16 bytes), shaped, shape_rows,
# directory_start, directory_pages, built_rows, built_blocks, calibration_queries, 32 knots of 20
# bytes from 48; the layout (vs::lsh::Layout) at 688: tables at 32, buckets at 60, sketch bits at 64
my %META_OFFSET = (shaped => 16, directory_start => 24, directory_pages => 28, knots => 48, layout => 688);

my $node = start_node('lsh_check_index', "autovacuum = off\n");
$node->safe_psql('postgres', PostgreSQL::Test::Utils::slurp_file("$FindBin::Bin/helpers.sql"));
$node->safe_psql('postgres', q{
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT i, vec(i) FROM generate_series(1, 3000) i;
CREATE INDEX items_lsh ON items USING lsh (embedding vector_l2_ops) WITH (shape_rows = 1000);
INSERT INTO items SELECT i, vec(i) FROM generate_series(3001, 3600) i;
DELETE FROM items WHERE id % 40 = 0;
VACUUM items;
INSERT INTO items SELECT i, vec(i) FROM generate_series(3601, 3650) i;
CREATE TABLE angles (id int PRIMARY KEY, embedding vector(16));
INSERT INTO angles SELECT i, vec(i) FROM generate_series(1, 2000) i;
INSERT INTO angles VALUES (0, array_fill(0, ARRAY[16])::vector);
CREATE INDEX angles_lsh ON angles USING lsh (embedding vector_cosine_ops) WITH (shape_rows = 1000, tables = 4);
INSERT INTO angles VALUES (-1, array_fill(0, ARRAY[16])::vector);
CREATE TABLE few (id int PRIMARY KEY, embedding vector(16));
INSERT INTO few SELECT i, vec(i) FROM generate_series(1, 500) i;
CREATE INDEX few_lsh ON few USING lsh (embedding vector_l2_ops);
CREATE INDEX few_cosine ON few USING lsh (embedding vector_cosine_ops);
INSERT INTO few VALUES (0, array_fill(0, ARRAY[16])::vector);
INSERT INTO few SELECT i, vec(i) FROM generate_series(501, 700) i;
});

sub checker_error
{
	my ($index, $heapallindexed) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT vectorsearch_check_index('$index', $heapallindexed)");
	return $ret == 0 ? '' : $err;
}

# the metapage's shaped flag (0 or 1: its low byte)
sub shaped
{
	my ($index) = @_;
	return $node->safe_psql('postgres',
		"SELECT get_byte(get_raw_page('$index', 0), $PAGE_DATA + $META_OFFSET{shaped})");
}

$node->safe_psql('postgres', 'CREATE EXTENSION pageinspect');
is(shaped('items_lsh'), '1', 'items_lsh is shaped');
is(shaped('angles_lsh'), '1', 'angles_lsh is shaped');
is(shaped('few_lsh'), '0', 'few_lsh, built on 500 rows, is unshaped');
for my $index ('items_lsh', 'angles_lsh', 'few_lsh', 'few_cosine')
{
	is(checker_error($index, 'true'), '', "the sound $index passes, heapallindexed");
}

# An insert paused after its row's first table: its row is in table 0 and not in the others,
# and no snapshot sees it yet.
my $holder = hold_pauses($node);
my $inserter = start_psql($node, 'paused inserter', q{
SELECT set_config('vectorsearch.test_pause', 'lsh_insert_table', false);
INSERT INTO items VALUES (5000, vec(5000));});
wait_for_paused($node, 1, 'the inserter');
is(checker_error('items_lsh', 'true'), '', 'an insert paused between its tables: the index passes');
release_pauses($node, $holder);
$inserter->{h}->finish;
is(checker_error('items_lsh', 'true'), '', 'and once the insert committed');

my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('items_lsh')");
$node->stop;
copy($file, "$file.sound") or die "copy: $!";
my $nblocks = (-s $file) / $BLCKSZ;

# the layout, and the entry arithmetic of pages.cpp's lsh_derive_info
my $meta_page = read_block($file, 0);
my ($directory_start, $directory_pages) = unpack('V V', substr($meta_page, $PAGE_DATA + $META_OFFSET{directory_start}, 8));
my ($tables) = unpack('l<', substr($meta_page, $PAGE_DATA + $META_OFFSET{layout} + 32, 4));
my ($buckets, $sketch_bits) = unpack('V l<', substr($meta_page, $PAGE_DATA + $META_OFFSET{layout} + 60, 8));
my $words = $sketch_bits / 64;
my $capacity = int($BUCKET_SPACE / (8 * $words + 6));
my $tids = $SKETCHES + 8 * $words * $capacity;
my $slots_per_page = ($SPECIAL - $PAGE_DATA) / 4;
cmp_ok($tables, '>=', 2, "items_lsh has $tables tables of $buckets buckets, $sketch_bits sketch bits");

sub tid_at
{
	my ($page, $slot) = @_;
	my ($hi, $lo, $offset) = unpack('v v v', substr($page, $tids + 6 * $slot, 6));
	return ($hi * 65536 + $lo, $offset);
}

# every bucket page (table, bucket, count, next, entries' heap TIDs), and the chains' first pages
my (%pages, %chain_start);
for my $block (1 .. $nblocks - 1)
{
	my $page = read_block($file, $block);
	my $type = unpack('v', substr($page, $SPECIAL + 4, 2));
	if ($type == $PAGE_TYPE{directory})
	{
		my @slots = unpack('V*', substr($page, $PAGE_DATA, 4 * $slots_per_page));
		for my $i (0 .. $#slots)
		{
			my $slot = ($block - $directory_start) * $slots_per_page + $i;
			$chain_start{$slot} = $slots[$i] if $slots[$i] != $INVALID_BLOCK;
		}
		next;
	}
	next unless $type == $PAGE_TYPE{bucket};
	my ($bucket, $table, $count, $next) = unpack('V v v V', substr($page, $PAGE_DATA, 12));
	$pages{$block} = { table => $table, bucket => $bucket, count => $count, next => $next,
		tids => [ map { join ',', tid_at($page, $_) } 0 .. $count - 1 ] };
}
my @table0 = grep { $pages{$_}{table} == 0 && $pages{$_}{count} >= 2 } sort { $a <=> $b } keys %pages;
my @table1 = grep { $pages{$_}{table} == 1 && $pages{$_}{count} >= 2 } sort { $a <=> $b } keys %pages;
my @chains = sort { $a <=> $b } keys %chain_start;
ok(@table0 >= 2 && @table1 >= 1 && @chains >= 2, 'found bucket pages of tables 0 and 1, and chains');

sub chain_pages
{
	my ($slot) = @_;
	my @blocks;
	for (my $block = $chain_start{$slot}; $block != $INVALID_BLOCK; $block = $pages{$block}{next})
	{
		push @blocks, $block;
	}
	return @blocks;
}

# Restores the sound file, applies $damage, and checks the checker's error matches $expected;
# with plain_passes, the check without heapallindexed must pass.
sub damaged
{
	my ($label, $damage, $expected, %opt) = @_;
	copy("$file.sound", $file) or die "copy: $!";
	$damage->();
	$node->start;
	is(checker_error('items_lsh', 'false'), '', "$label: the structure alone passes") if $opt{plain_passes};
	like(checker_error('items_lsh', 'true'), $expected, $label);
	$node->stop;
	return;
}

my $corrupt = qr/XX002: index "items_lsh" is corrupt at block/;
my $block = $table0[0];
my $page = $pages{$block};

damaged('a bucket page counting more entries than it holds',
	sub { write_at($file, $block, $PAGE_DATA + 6, pack('v', $capacity + 1)) },
	qr/$corrupt $block: ${\($capacity + 1)} entries, more than the $capacity a bucket page holds/);
damaged('a bucket page whose free space starts inside its entries',
	sub { write_at($file, $block, 12, pack('v', $PAGE_DATA + 16)) },
	qr/$corrupt $block: free space from ${\($PAGE_DATA + 16)} to \d+, where its $page->{count} entries leave their unused sketch slots/);
# the same refused where a change would log the page: VACUUM's, with the hole's end moved
copy("$file.sound", $file) or die "copy: $!";
write_at($file, $block, 14, pack('v', unpack('v', substr(read_block($file, $block), 14, 2)) + 8));
$node->start;
my ($vacuum_status, $vacuum_out, $vacuum_err) = $node->psql('postgres', "\\set VERBOSITY verbose\nVACUUM items");
like($vacuum_err, qr/XX002: lsh index "items_lsh" is corrupt at block $block: free space that is not its unused sketch slots/,
	'VACUUM refuses a bucket page whose free space ends inside its TIDs');
$node->stop;
damaged('a bucket page marked a directory page',
	sub { write_at($file, $block, $SPECIAL + 4, pack('v', $PAGE_TYPE{directory})) },
	qr/$corrupt $block: page type 2, where the directory \(blocks $directory_start to \d+\) has type 2 and other blocks 3/);

my ($slot, $other_slot) = @chains;
my ($table, $bucket) = (int($slot / $buckets), $slot % $buckets);
my @chain = chain_pages($slot);
damaged('a chain whose last page goes back to its first',
	sub { write_at($file, $chain[-1], $PAGE_DATA + 8, pack('V', $chain[0])) },
	qr/$corrupt $chain[-1]: the chain of table $table bucket $bucket goes on to block $chain[0], which is on it already: a cycle/);

my $directory_block = $directory_start + int($slot / $slots_per_page);
my $slot_offset = $PAGE_DATA + 4 * ($slot % $slots_per_page);
my $other = $chain_start{$other_slot};
damaged('a directory slot naming the first page of another bucket',
	sub { write_at($file, $directory_block, $slot_offset, pack('V', $other)) },
	qr/$corrupt $directory_block: slot ${\($slot % $slots_per_page)}, the chain of table $table bucket $bucket, starts at block $other, a page of table $pages{$other}{table} bucket $pages{$other}{bucket}/);
my $lowest = (sort { $a <=> $b } @chain)[0];
damaged('a directory slot emptied: its chain reached by none',
	sub { write_at($file, $directory_block, $slot_offset, pack('V', $INVALID_BLOCK)) },
	qr/$corrupt $lowest: a bucket page of table $table bucket $bucket that no chain reaches/);
damaged('a bucket page whose next page is the metapage',
	sub { write_at($file, $chain[-1], $PAGE_DATA + 8, pack('V', 0)) },
	qr/$corrupt $chain[-1]: its next page, 0, is not a bucket page's block/);
damaged('the metapage with a directory one page longer',
	sub { write_at($file, 0, $PAGE_DATA + $META_OFFSET{directory_pages}, pack('V', $directory_pages + 1)) },
	qr/$corrupt 0: a directory of ${\($directory_pages + 1)} pages at block $directory_start, for $tables tables of $buckets buckets/);
# knot 0's threshold (the last of its five 4-byte fields): a scan of it would plan to an
# expected recall no run reaches
damaged('a calibration planning to an expected recall above 1',
	sub { write_at($file, 0, $PAGE_DATA + $META_OFFSET{knots} + 16, pack('f<', 2)) },
	qr/$corrupt 0: calibration 0 plans to expected recall 2, which is out of range/);

my ($heap_block, $heap_offset) = tid_at(read_block($file, $block), 0);
damaged('a table-0 entry naming a row that does not exist',
	sub { write_at($file, $block, $tids + 4, pack('v', 250)) },
	qr/$corrupt $block: slot 0: heap TID \($heap_block,250\) points to an offset past the last line pointer of its page/);
damaged('a heap TID no tuple can have, in table 1',
	sub { write_at($file, $table1[0], $tids + 4, pack('v', 0)) },
	qr/$corrupt $table1[0]: slot 0: heap TID \(\d+,0\) is not one a heap tuple can have/);

my $last = $page->{count} - 1;
my ($last_block, $last_offset) = split /,/, $page->{tids}[$last];
# An entry removed as VACUUM would: the count one lower, and the page's free space (from
# pd_lower, at 12) one sketch longer.
sub remove_last_entry
{
	my ($at, $count) = @_;
	my ($lower) = unpack('v', substr(read_block($file, $at), 12, 2));
	write_at($file, $at, $PAGE_DATA + 6, pack('v', $count - 1));
	write_at($file, $at, 12, pack('v', $lower - $sketch_bits / 8));
	return;
}
damaged('a table-0 entry removed: only heapallindexed sees the row left out',
	sub { remove_last_entry($block, $page->{count}) },
	qr/XX002: index "items_lsh" lacks heap row \($last_block,$last_offset\) of table "items"/,
	plain_passes => 1);
my $page1 = $pages{ $table1[0] };
my ($lost_block, $lost_offset) = split /,/, $page1->{tids}[ $page1->{count} - 1 ];
damaged('a table-1 entry removed: only heapallindexed sees the row missing from a table',
	sub { remove_last_entry($table1[0], $page1->{count}) },
	qr/XX002: index "items_lsh" lacks heap row \($lost_block,$lost_offset\) of table "items"/,
	plain_passes => 1);

damaged('a changed sketch in table 0: only heapallindexed compares it with the row',
	sub { write_at($file, $block, $SKETCHES + 3, pack('C', ord(substr(read_block($file, $block), $SKETCHES + 3, 1)) ^ 0x10)) },
	qr/$corrupt $block: slot 0: the element of heap row \($heap_block,$heap_offset\) stores another key than the row/,
	plain_passes => 1);
# the row of table 1's first entry, where table 0 holds it
my $row = $page1->{tids}[0];
my ($row_block) = grep { $pages{$_}{table} == 0 && grep { $_ eq $row } @{ $pages{$_}{tids} } } keys %pages;
my ($row_slot) = grep { $pages{$row_block}{tids}[$_] eq $row } 0 .. $pages{$row_block}{count} - 1;
damaged('a changed sketch in table 1: reported at the row\'s table-0 entry',
	sub { write_at($file, $table1[0], $SKETCHES + 5, pack('C', ord(substr(read_block($file, $table1[0]), $SKETCHES + 5, 1)) ^ 0x01)) },
	qr/$corrupt $row_block: slot $row_slot: the element of heap row \($row\) stores another key than the row/,
	plain_passes => 1);

copy("$file.sound", $file) or die "copy: $!";
$node->start;
is(checker_error('items_lsh', 'true'), '', 'the restored index passes again');
$node->stop;
done_testing();
