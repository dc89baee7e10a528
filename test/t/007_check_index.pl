# vectorsearch_check_index on hand-corrupted hnsw indexes: with the server stopped, chosen bytes
# of the index's file are changed (a link out of range, to nowhere or to itself; a page type or
# page id; a metapage field; flags; an upper-tuple pointer; a heap TID past the heap, past its page's line
# pointers or onto another row; a stored vector), and the checker must report XX002 naming the
# block (and slot) of the damage; the last two only heapallindexed can see. Then random byte
# flips: the checker complains, or index scans still agree with a sequential scan. Last, the
# checker on a hot standby.
use strict;
use warnings;

use File::Copy;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VectorSearchTest;

my $BLCKSZ = 8192;
my $PAGE_DATA = 24;    # MAXALIGN(SizeOfPageHeaderData)
my $SPECIAL = $BLCKSZ - 8;    # IndexPageOpaque: aux (hnsw: run start) u32, page type u16, page id u16
my $PAGE_SPACE = $SPECIAL - $PAGE_DATA;

my $node = start_node('check_index', "autovacuum = off\n", allows_streaming => 1);
$node->safe_psql('postgres', PostgreSQL::Test::Utils::slurp_file("$FindBin::Bin/helpers.sql"));
$node->safe_psql('postgres', q{
CREATE TABLE items (id int PRIMARY KEY, embedding vector(16));
INSERT INTO items SELECT i, vec(i) FROM generate_series(1, 3000) i;
CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16);
INSERT INTO items SELECT i, vec(i) FROM generate_series(3001, 3600) i;
DELETE FROM items WHERE id % 40 = 0;
VACUUM items;
INSERT INTO items SELECT i, vec(i) FROM generate_series(3601, 3650) i;
});

sub checker_error
{
	my ($heapallindexed, $on) = @_;
	my ($ret, $out, $err) = ($on // $node)->psql('postgres',
		"\\set VERBOSITY verbose\nSELECT vectorsearch_check_index('items_hnsw', $heapallindexed)");
	return $ret == 0 ? '' : $err;
}

is(checker_error('true'), '', 'the sound index passes, heapallindexed');

my $file = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('items_hnsw')");
$node->stop;
copy($file, "$file.sound") or die "copy: $!";
my $nblocks = (-s $file) / $BLCKSZ;

# the metapage (HnswMeta after the page header: IndexMetaHeader, then hnsw's fields) and the
# layout it gives
my $meta_page = read_block($file, 0);
my %meta;
@meta{qw(magic page_id version element_type metric dims m ef_construction elements_per_run link_pages vector_pages records_per_page entry entry_level last_run last_run_used upper_page free_block)}
  = unpack('V v v v v l< l< l< V V V V Q< l< V V V V', substr($meta_page, $PAGE_DATA));
my %meta_offset = (dims => 12, elements_per_run => 24, last_run => 52);
my $record_size = 14 + 6 * 2 * $meta{m};
my $run_pages = $meta{link_pages} + $meta{vector_pages};

sub page_type { my ($page) = @_; return unpack('v', substr($page, $SPECIAL + 4, 2)); }
sub run_start { my ($page) = @_; return unpack('V', substr($page, $SPECIAL, 4)); }

sub record_at
{
	my ($page, $slot) = @_;
	my ($level, $flags, $tid_hi, $tid_lo, $tid_off, $up_hi, $up_lo, $up_off, @links)
	  = unpack('C C v v v v v v v*', substr($page, $PAGE_DATA + $slot * $record_size, $record_size));
	return {
		level => $level, flags => $flags,
		heap_block => $tid_hi * 65536 + $tid_lo, heap_offset => $tid_off,
		upper_block => $up_hi * 65536 + $up_lo, upper_offset => $up_off,
		links => \@links };
}

# a link page holding a valid element of level 0 with at least two links, another valid one,
# and one above level 0 (levels are random: about one element in m is above 0, so the first
# link page may have none), and its run
my ($link_block, $run, $link_page, $slot, $upper_slot, $other_slot);
for my $block (1 .. $nblocks - 1)
{
	my $page = read_block($file, $block);
	next unless page_type($page) == 2;
	my ($s0, $s_upper, $s_other);
	for my $s (0 .. $meta{records_per_page} - 1)
	{
		my $r = record_at($page, $s);
		next unless $r->{flags} == 1 && $r->{links}[1] != 0xffff;
		if ($r->{level} == 0) { defined $s0 ? ($s_other //= $s) : ($s0 = $s); }
		$s_upper //= $s if $r->{level} > 0;
	}
	next unless defined $s0 && defined $s_upper && defined $s_other;
	($link_block, $run, $link_page, $slot, $upper_slot, $other_slot) = ($block, run_start($page), $page, $s0, $s_upper, $s_other);
	last;
}
die 'no suitable slots' unless defined $link_block;
# the element of $slot, as links name it
my $element = ($link_block - $run) * $meta{records_per_page} + $slot;
my $record = record_at($link_page, $slot);
my $record_offset = $PAGE_DATA + $slot * $record_size;
my $links_offset = $record_offset + 14;

# Restores the sound file, applies $damage, and checks the checker's error matches $expected;
# with plain_passes, the check without heapallindexed must pass.
sub damaged
{
	my ($label, $damage, $expected, %opt) = @_;
	copy("$file.sound", $file) or die "copy: $!";
	$damage->();
	$node->start;
	if ($opt{plain_passes})
	{
		is(checker_error('false'), '', "$label: the structure alone passes");
	}
	like(checker_error('true'), $expected, $label);
	$node->stop;
	return;
}

my $pack_link = sub { my ($block, $index) = @_; return pack('v v v', $block >> 16, $block & 0xffff, $index); };

damaged('a layer-0 link past the elements of a run',
	sub { write_at($file, $link_block, $links_offset + 4, pack('v', 0xfffe)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot, layer 0: link 0, to element 65534 of run \d+, lies past the elements a run holds/);
damaged('a layer-0 link past the end of the index',
	sub { write_at($file, $link_block, $links_offset + 6, $pack_link->($nblocks + 100, 3)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot, layer 0: link 1, to element 3 of run ${\($nblocks + 100)}, lies past the end of the index/);
damaged('a layer-0 link to a block that starts no run',
	sub { write_at($file, $link_block, $links_offset, $pack_link->($run + 1, 0)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot, layer 0: link 0, to element 0 of run ${\($run + 1)}, is in no run/);
damaged('a link of an element to itself',
	sub { write_at($file, $link_block, $links_offset, $pack_link->($run, $element)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot, layer 0: link 0 leads to the element itself/);
damaged('a link twice in one list',
	sub { write_at($file, $link_block, $links_offset + 6, substr($link_page, $links_offset, 6)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot, layer 0: element \d+ of run \d+ is linked twice/);

my $vector_block = $run + $meta{link_pages};
damaged('a vector page of a run marked as an upper page',
	sub { write_at($file, $vector_block, $SPECIAL + 4, pack('v', 4)) },
	qr/XX002: index "items_hnsw" is corrupt at block $vector_block: run $run, which holds elements, ends after $meta{link_pages} of its $run_pages pages at an upper page/);
damaged('a link page of an unknown type',
	sub { write_at($file, $link_block, $SPECIAL + 4, pack('v', 9)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: page type 9/);
damaged('a vector page naming another run',
	sub { write_at($file, $vector_block, $SPECIAL, pack('V', $run + 1)) },
	qr/XX002: index "items_hnsw" is corrupt at block $vector_block: page $meta{link_pages} of run $run is a vector page of run ${\($run + 1)}/);

damaged('the metapage with other dimensions than the column',
	sub { write_at($file, 0, $PAGE_DATA + $meta_offset{dims}, pack('l<', 17)) },
	qr/XX002: index "items_hnsw" is corrupt at block 0: dims 17, for a column of 16 dimensions/);
damaged('the metapage with a layout that does not fit',
	sub { write_at($file, 0, $PAGE_DATA + $meta_offset{elements_per_run}, pack('V', $meta{elements_per_run} * 2)) },
	qr/XX002: index "items_hnsw" is corrupt at block 0: its layout/);
damaged('the metapage with its last run past the end',
	sub { write_at($file, 0, $PAGE_DATA + $meta_offset{last_run}, pack('V', $nblocks + 7)) },
	qr/XX002: index "items_hnsw" is corrupt at block 0: last run ${\($nblocks + 7)}/);
damaged('the metapage with a wrong magic number',
	sub { write_at($file, 0, $PAGE_DATA, pack('V', 0x12345678)) },
	qr/XX002: index "items_hnsw" is corrupt at block 0: magic number 0x12345678 and page id 0xFFA1/);
damaged('a vector page with another access method\'s page id',
	sub { write_at($file, $vector_block, $SPECIAL + 6, pack('v', 0xFF83)) },
	qr/XX002: index "items_hnsw" is corrupt at block $vector_block: page id 0xFF83, not hnsw's 0xFFA1/);

damaged('unlinked but not deleted',
	sub { write_at($file, $link_block, $record_offset + 1, pack('C', 0x04)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot: flags 0x04/);
damaged('a level above the highest',
	sub { write_at($file, $link_block, $record_offset, pack('C', 40)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot: level 40/);
my $upper_record_offset = $PAGE_DATA + $upper_slot * $record_size;
damaged('an upper-tuple pointer to no tuple',
	sub { write_at($file, $link_block, $upper_record_offset + 12, pack('v', 250)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $upper_slot: the upper tuple pointer \(\d+,250\) of a level \d+ element is not a tuple of its page/);

damaged('a heap TID past the end of the table',
	sub { write_at($file, $link_block, $record_offset + 2, pack('v v v', 1, 34464, 1)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot: heap TID \(100000,1\) points to a block past the end of the table/);
damaged('a heap TID past the line pointers of its page',
	sub { write_at($file, $link_block, $record_offset + 6, pack('v', 250)) },
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot: heap TID \(\d+,250\) points to an offset past the last line pointer/);
damaged('a heap TID that is another row\'s: only heapallindexed sees the row left out',
	sub { write_at($file, $link_block, $record_offset + 2, substr($link_page, $PAGE_DATA + $other_slot * $record_size + 2, 6)) },
	qr/XX002: index "items_hnsw" lacks heap row \($record->{heap_block},$record->{heap_offset}\) of table "items"/,
	plain_passes => 1);
damaged('a deleted mark on a live element: only heapallindexed sees the row left out',
	sub { write_at($file, $link_block, $record_offset + 1, pack('C', 0x03)) },
	qr/XX002: index "items_hnsw" lacks heap row \($record->{heap_block},$record->{heap_offset}\) of table "items"/,
	plain_passes => 1);
# $element's vector: the run's vectors are one stream over its vector pages
my $vector_offset = $element * 4 * $meta{dims};
damaged('a changed vector: only heapallindexed compares it with the row',
	sub {
		write_at($file, $run + $meta{link_pages} + int($vector_offset / $PAGE_SPACE),
			$PAGE_DATA + $vector_offset % $PAGE_SPACE + 2, pack('C', 0x5a));
	},
	qr/XX002: index "items_hnsw" is corrupt at block $link_block: slot $slot: the element of heap row \($record->{heap_block},$record->{heap_offset}\) stores another key than the row/,
	plain_passes => 1);

# Random byte flips anywhere: the checker reports an error (corruption, XX002; a page header
# the buffer manager refuses, XX001; a layout version it does not read, 0A000), or index scans
# still agree with a sequential scan.
srand(15);
my ($complained, $harmless) = (0, 0);
for my $round (1 .. 30)
{
	my $block = int(rand($nblocks));
	my $offset = int(rand($BLCKSZ));
	my $xor = 1 + int(rand(255));
	copy("$file.sound", $file) or die "copy: $!";
	write_at($file, $block, $offset, pack('C', ord(substr(read_block($file, $block), $offset, 1)) ^ $xor));
	$node->start;
	my $err = checker_error('true');
	if ($err ne '')
	{
		like($err, qr/ERROR:  (XX002|XX001|0A000):/, "flip $round (block $block, byte $offset, xor $xor): the checker complains");
		$complained++;
	}
	else
	{
		my ($ret, $out, $scan_err) = $node->psql('postgres', q{
SET hnsw.ef_search = 400;
SELECT count(*) FILTER (WHERE same_as_seqscan('items', vec(-i), 10)) FROM generate_series(1, 20) i;
});
		is("$ret $out $scan_err", '0 20 ', "flip $round (block $block, byte $offset, xor $xor): unseen, and index scans stay exact");
		$harmless++;
	}
	$node->stop;
}
note("random flips: $complained reported by the checker, $harmless unseen with exact index scans");

copy("$file.sound", $file) or die "copy: $!";
$node->start;
is(checker_error('true'), '', 'the restored index passes again');

# On a hot standby, after the base backup and after more inserts, DELETE and VACUUM replayed.
$node->backup('base');
my $standby = PostgreSQL::Test::Cluster->new('check_standby');
$standby->init_from_backup($node, 'base', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);
is(checker_error('true', $standby), '', 'on a hot standby, the index passes, heapallindexed');
$node->safe_psql('postgres', q{
INSERT INTO items SELECT i, vec(i) FROM generate_series(3651, 4500) i;
DELETE FROM items WHERE id % 7 = 0;
VACUUM items;
INSERT INTO items SELECT i, vec(i) FROM generate_series(4501, 4700) i;
});
$node->wait_for_catchup($standby);
is(checker_error('true', $standby), '', 'on a hot standby, after inserts, DELETE and VACUUM replayed');
is(checker_error('true'), '', 'and on the primary');
$standby->stop;
$node->stop;
done_testing();
