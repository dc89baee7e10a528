// The lsh verifier behind vectorsearch_check_index (src/pg/index/check.h), in two passes:
//
//   1. every block in order: the metapage and its hash layout; each page's id and type, and its
//      place (the directory's blocks hold directory pages and nothing else; every other block a
//      bucket page, or a page the relation was extended by but that was never initialised);
//      each bucket page's header and heap TIDs. Table 0 holds every row once: its entries are
//      claimed for the heap checks, fingerprinted by their sketch and bucket;
//   2. from the directory, every chain: each page on it a bucket page of the chain's table and
//      bucket, none reached twice (a cycle: each bucket has one chain); then every bucket page
//      pass 1 saw must be on a chain. With heapallindexed, each entry of the other tables is
//      matched with table 0's claim of its row, so that the heap check also finds a row some
//      table lacks or stores with another sketch (mark_rows_lacking_tables).
//
// The check runs beside inserts and VACUUM. Pages never leave their chain, and a page joins a
// chain in the WAL record that initialises it, under both pages' locks: a bucket page pass 1
// saw was on its chain then, and pass 2, which reads the directory and the chains afresh after
// pass 1, reaches it. Pages past the blocks pass 1 read were added since: pass 2 follows them
// to the older pages behind them, but does not judge their rows. Entries only move within their
// page (VACUUM fills a hole with the page's last entry), and each page is copied under its lock,
// so each pass sees every entry that stays throughout the check once.
#include "pg/lsh/lsh.h"
#include "pg/index/check.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/htup_details.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

#include <algorithm>
#include <cmath>

namespace {

// What the passes saw at a block.
struct BlockSeen {
    uint32 bucket;  // of a bucket page
    uint16 table;
    bool bucket_page;  // pass 1 found one
    bool on_chain;     // pass 2 reached it from the directory
};

// The entries of tables above 0 that name a claim's row: with its sketch, or with another.
struct TablesSeen {
    uint8 same;
    uint8 other;
};

struct LshCheck {
    VsIndexCheck *check;
    LshIndexInfo info;  // from the metapage as the check read it
    BlockNumber nblocks;  // the blocks pass 1 reads
    BlockSeen *blocks;
    TablesSeen *tables;  // per claim of table 0, once pass 1 sorted them (heapallindexed, 2 tables or more)
    // fingerprint()'s: the heap row, hashed as an insert hashes it
    vs::Allocator allocator;
    vs::lsh::Hasher hasher;
    float *row;
    uint64 *sketch;
    PGAlignedBlock directory;  // the directory page pass 2 reads slots from
    PGAlignedBlock scratch;    // chain pages, and pages read again
};

static_assert(std::is_trivially_destructible_v<LshCheck>);

const LshBucketHeader &bucket_header(Page page) { return *lsh_bucket_header(page); }

bool in_directory(const LshCheck *s, BlockNumber block) {
    return block >= s->info.meta.directory_start && block - s->info.meta.directory_start < s->info.meta.directory_pages;
}

// The fingerprint of a stored key: the entry's sketch, then the bucket of table 0 it is in.
uint32 entry_fingerprint(const uint64 *sketch, int words, uint32 bucket) {
    return vs_fingerprint_end(vs_fingerprint_add(vs_fingerprint_add(VS_FINGERPRINT_START, sketch, sizeof(uint64) * words),
                                                 &bucket, sizeof(bucket)));
}

// The metapage on its own: identity, a hash layout the hasher can follow, and a directory that
// fits the layout and lies inside the index.
void check_meta(LshCheck *s, Page page) {
    VsIndexCheck *check = s->check;
    vs_check_meta_header(check, page, VS_LSH_PAGE_ID, LSH_LAYOUT_VERSION, nullptr);
    LshMeta &meta = s->info.meta;
    memcpy(&meta, index_page_data(page), sizeof(meta));

    const vs::lsh::Layout &layout = meta.layout;
    if (const char *problem = lsh_layout_problem(meta))
        vs_check_corrupt(check, 0, "its hash layout (%d tables of %u buckets, %d sketch bits, metric %d, %u dimensions) is unsound: %s",
                         layout.tables, layout.buckets, layout.sketch_bits, int(layout.metric), layout.dims, problem);
    lsh_derive_info(&s->info);

    BlockNumber nblocks = s->nblocks;
    uint64 slots = uint64(layout.tables) * layout.buckets;
    uint64 directory_pages = (slots + s->info.slots_per_page - 1) / s->info.slots_per_page;
    if (meta.directory_start == VS_METAPAGE_BLKNO || meta.directory_pages != directory_pages ||
        uint64(meta.directory_start) + meta.directory_pages > nblocks)
        vs_check_corrupt(check, 0, "a directory of %u pages at block %u, for %d tables of %u buckets in an index of %u blocks",
                         meta.directory_pages, meta.directory_start, layout.tables, layout.buckets, nblocks);
    if (meta.built_blocks > nblocks)
        vs_check_corrupt(check, 0, "built with %u blocks, more than the index's %u", meta.built_blocks, nblocks);
    if (!meta.shaped) return;
    for (int k = 0; k < LSH_KNOTS; k++) {
        if (meta.knots[k].target != LSH_CALIBRATION_TARGETS[k] || meta.knots[k].probes < 1 || meta.knots[k].candidates < 1)
            vs_check_corrupt(check, 0, "calibration %d has target %g, %d probes and %d candidates, not target %g with positive ones",
                             k, double(meta.knots[k].target), meta.knots[k].probes, meta.knots[k].candidates,
                             double(LSH_CALIBRATION_TARGETS[k]));
        else if (meta.knots[k].threshold != 0 && !lsh_knot_plans(meta, meta.knots[k]))
            vs_check_corrupt(check, 0, "calibration %d plans to expected recall %g, which %s", k,
                             double(meta.knots[k].threshold),
                             meta.layout.family == vs::lsh::Family::Sliced ? "is out of range"
                                                                          : "only a sliced layout can do");
    }
}

// Pass 1 at a bucket page: its header, and its entries' heap TIDs; table 0's are claimed.
void walk_bucket_page(LshCheck *s, BlockNumber block, Page page) {
    VsIndexCheck *check = s->check;
    const LshIndexInfo &info = s->info;
    const LshBucketHeader &header = bucket_header(page);
    if (header.count > info.capacity)
        vs_check_corrupt(check, block, "%u entries, more than the %u a bucket page holds", header.count, info.capacity);
    if (!lsh_bucket_hole_placed(&info, page))
        vs_check_corrupt(check, block, "free space from %u to %u, where its %u entries leave their unused sketch slots",
                         unsigned(reinterpret_cast<PageHeader>(page)->pd_lower),
                         unsigned(reinterpret_cast<PageHeader>(page)->pd_upper), header.count);
    if (header.table >= info.meta.layout.tables || header.bucket >= info.meta.layout.buckets)
        vs_check_corrupt(check, block, "a page of table %u bucket %u, in an index of %d tables of %u buckets", header.table,
                         header.bucket, info.meta.layout.tables, info.meta.layout.buckets);
    BlockNumber next = header.next;
    // A page added after the walk began may follow this one already.
    if (next != InvalidBlockNumber &&
        (next == VS_METAPAGE_BLKNO || in_directory(s, next) ||
         (next >= s->nblocks && next >= RelationGetNumberOfBlocks(check->index))))
        vs_check_corrupt(check, block, "its next page, %u, is not a bucket page's block (the index has %u blocks)", next,
                         RelationGetNumberOfBlocks(check->index));
    const ItemPointerData *tids = lsh_bucket_tids(&info, page);
    const uint64 *sketches = lsh_bucket_sketches(page);
    for (uint16 slot = 0; slot < header.count; slot++) {
        ItemPointerData tid = tids[slot];
        BlockNumber heap_block = ItemPointerGetBlockNumberNoCheck(&tid);
        OffsetNumber heap_offset = ItemPointerGetOffsetNumberNoCheck(&tid);
        if (!index_heap_tid_possible(&tid))
            vs_check_corrupt(check, block, "slot %u: heap TID (%u,%u) is not one a heap tuple can have", slot, heap_block,
                             heap_offset);
        if (header.table == 0)
            vs_check_claim(check, &tid, block, slot,
                           check->heapallindexed
                               ? entry_fingerprint(sketches + Size(slot) * info.sketch_words, info.sketch_words, header.bucket)
                               : 0,
                           true);
    }
    s->blocks[block] = {header.bucket, header.table, true, false};
}

void walk_page(LshCheck *s, BlockNumber block, Page page) {
    const IndexPageOpaque *opaque = index_page_opaque(page);
    bool directory_block = in_directory(s, block);
    if (opaque == nullptr) {
        // The directory is written at build; a page that extends a chain is initialised in the
        // WAL record that links it, so only an extension a crash or an error cut short leaves one.
        if (directory_block) vs_check_corrupt(s->check, block, "a page of the directory was never initialised");
        return;
    }
    vs_check_special(s->check, block, page, VS_LSH_PAGE_ID);
    uint16 type = opaque->page_type;
    if (directory_block != (type == LSH_PAGE_DIRECTORY) || (type != LSH_PAGE_DIRECTORY && type != LSH_PAGE_BUCKET))
        vs_check_corrupt(s->check, block, "page type %u, where the directory (blocks %u to %u) has type %d and other blocks %d",
                         type, s->info.meta.directory_start, s->info.meta.directory_start + s->info.meta.directory_pages - 1,
                         LSH_PAGE_DIRECTORY, LSH_PAGE_BUCKET);
    if (type == LSH_PAGE_BUCKET) walk_bucket_page(s, block, page);
}

// Counts the entry at slot of a page of a table above 0 for each claim of table 0 that names
// its row.
void match_entry(LshCheck *s, Page page, uint16 slot) {
    VsIndexCheck *check = s->check;
    VsHeapClaim key{};
    key.heap_tid = lsh_bucket_tids(&s->info, page)[slot];
    const uint64 *sketch = lsh_bucket_sketches(page) + Size(slot) * s->info.sketch_words;
    VsHeapClaim *end = check->claims + check->n_claims;
    for (VsHeapClaim *c = std::lower_bound(check->claims, end, key, vs_claim_tid_less);
         c < end && ItemPointerEquals(&c->heap_tid, &key.heap_tid); c++) {
        TablesSeen &seen = s->tables[c - check->claims];
        uint8 &count = c->fingerprint == entry_fingerprint(sketch, s->info.sketch_words, s->blocks[c->block].bucket)
                           ? seen.same
                           : seen.other;
        count = uint8(std::min(count + 1, int(PG_UINT8_MAX)));  // a row is in 16 tables at most
    }
}

// Why a chain cannot go on to block, or nullptr; problem is room for the message.
const char *bad_link(LshCheck *s, BlockNumber block, int table, uint32 bucket, char *problem, Size size) {
    if (block == VS_METAPAGE_BLKNO || in_directory(s, block)) return "which is not a bucket page";
    Page page = vs_check_read_page(s->check, block, &s->scratch);
    const IndexPageOpaque *opaque = index_page_opaque(page);
    if (opaque == nullptr) return "which was never initialised";
    if (opaque->page_id != VS_LSH_PAGE_ID || opaque->page_type != LSH_PAGE_BUCKET) return "which is not a bucket page";
    const LshBucketHeader &header = bucket_header(page);
    if (header.table != table || header.bucket != bucket) {
        snprintf(problem, size, "a page of table %u bucket %u", header.table, header.bucket);
        return problem;
    }
    if (header.count > s->info.capacity) return "which holds more entries than a bucket page can";
    if (block < s->nblocks && s->blocks[block].on_chain) return "which is on it already: a cycle";
    return nullptr;
}

// Pass 2 along the chain of (table, bucket) from start, which the directory's block names in
// its slot.
void walk_chain(LshCheck *s, BlockNumber directory_block, uint32 slot, int table, uint32 bucket, BlockNumber start) {
    VsIndexCheck *check = s->check;
    BlockNumber from = directory_block;
    // Pages added since pass 1 (an insert put a new page first in the chain) are followed to
    // the older ones behind them, but hold only rows pass 1 did not claim; they are bounded by
    // what the index has grown by, which bounds a cycle among them.
    BlockNumber grown = 0, size_now = s->nblocks;
    for (BlockNumber block = start; block != InvalidBlockNumber;) {
        CHECK_FOR_INTERRUPTS();
        char buffer[64];
        const char *problem = nullptr;
        const bool added = block >= s->nblocks;
        if (added && block >= size_now) size_now = RelationGetNumberOfBlocks(check->index);
        if (added && block >= size_now)
            problem = "past the end of the index";
        else if (added && ++grown > size_now - s->nblocks)
            problem = "which is on it already: a cycle";
        else
            problem = bad_link(s, block, table, bucket, buffer, sizeof(buffer));
        if (problem && from == directory_block)
            vs_check_corrupt(check, from, "slot %u, the chain of table %d bucket %u, starts at block %u, %s", slot, table,
                             bucket, block, problem);
        if (problem)
            vs_check_corrupt(check, from, "the chain of table %d bucket %u goes on to block %u, %s", table, bucket, block,
                             problem);
        Page page = static_cast<Page>(s->scratch.data);
        if (!added) s->blocks[block].on_chain = true;
        if (!added && table > 0 && s->tables)
            for (uint16 i = 0; i < bucket_header(page).count; i++) match_entry(s, page, i);
        from = block;
        block = bucket_header(page).next;
    }
}

void walk_directory(LshCheck *s) {
    const LshMeta &meta = s->info.meta;
    const uint64 slots = uint64(meta.layout.tables) * meta.layout.buckets;
    for (uint32 p = 0; p < meta.directory_pages; p++) {
        BlockNumber block = meta.directory_start + p;
        const BlockNumber *starts = lsh_directory_slots(vs_check_read_page(s->check, block, &s->directory));
        for (uint32 i = 0; i < s->info.slots_per_page; i++) {
            uint64 slot = uint64(p) * s->info.slots_per_page + i;
            if (starts[i] == InvalidBlockNumber) continue;
            if (slot >= slots)
                vs_check_corrupt(s->check, block, "slot %u lies past the last bucket, but names block %u", i, starts[i]);
            walk_chain(s, block, i, int(slot / meta.layout.buckets), uint32(slot % meta.layout.buckets), starts[i]);
        }
    }
}

// After pass 2, for the heap check: a row must be in every table, with one sketch. A claim
// whose row some table lacks is marked not returned, so that the heap check reports the row
// missing; one whose row another table stores with another sketch gets another fingerprint
// than its own, so that it reports the row's key stored wrong (naming table 0's entry: which
// of the two is wrong the heap row would tell). Both only if the check's snapshot sees the row. A row it
// does not see may lack tables soundly: an insert is still appending it table by table (each
// append is a WAL record of its own, so a crash may also have cut one short), or VACUUM, which
// removes entries in block order, has passed only some of its pages; and its heap TID may
// since name a new row whose entries pass 2 finds too. The number of entries per table differs
// in those cases as well, which is why it is not compared.
void mark_rows_lacking_tables(LshCheck *s) {
    VsIndexCheck *check = s->check;
    const int others = s->info.meta.layout.tables - 1;
    for (Size i = 0; i < check->n_claims; i++) {
        const TablesSeen &seen = s->tables[i];
        if (seen.same >= others) continue;
        if (seen.same + seen.other >= others)
            check->claims[i].fingerprint ^= 1;
        else
            check->claims[i].returned = false;
    }
}

void lsh_verify(VsIndexCheck *check) {
    auto *s = static_cast<LshCheck *>(MemoryContextAllocZero(check->context, sizeof(LshCheck)));
    check->am_state = s;
    s->check = check;
    s->nblocks = check->nblocks;
    check_meta(s, vs_check_read_page(check, VS_METAPAGE_BLKNO, &check->page));
    s->blocks = static_cast<BlockSeen *>(
        MemoryContextAllocExtended(check->context, sizeof(BlockSeen) * s->nblocks, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
    const vs::lsh::Layout &layout = s->info.meta.layout;
    if (check->heapallindexed) {
        s->allocator = index_allocator(check->context);
        if (s->info.meta.shaped) s->hasher.init(&layout, &s->allocator);
        s->row = static_cast<float *>(MemoryContextAlloc(check->context, sizeof(float) * s->info.dims));
        s->sketch = static_cast<uint64 *>(MemoryContextAllocZero(check->context, sizeof(uint64) * Max(1, s->info.sketch_words)));
    }

    vs_check_walk(check, VS_METAPAGE_BLKNO + 1, [&](BlockNumber block, Page page) { walk_page(s, block, page); });

    if (check->heapallindexed && layout.tables > 1) {
        std::sort(check->claims, check->claims + check->n_claims, vs_claim_tid_less);
        s->tables = static_cast<TablesSeen *>(MemoryContextAllocExtended(
            check->context, sizeof(TablesSeen) * Max(check->n_claims, Size(1)), MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
    }
    walk_directory(s);
    for (BlockNumber block = VS_METAPAGE_BLKNO + 1; block < s->nblocks; block++)
        if (s->blocks[block].bucket_page && !s->blocks[block].on_chain)
            vs_check_corrupt(check, block, "a bucket page of table %u bucket %u that no chain reaches", s->blocks[block].table,
                             s->blocks[block].bucket);
    if (s->tables) mark_rows_lacking_tables(s);
}

// Whether any slot of the claim's page still names its row: VACUUM moves a page's last entry
// into the slot of one it removes, so the row may have moved within the page, never off it.
bool lsh_still_claims(VsIndexCheck *check, const VsHeapClaim *claim) {
    auto *s = static_cast<LshCheck *>(check->am_state);
    Page page = vs_check_read_page(check, claim->block, &s->scratch);
    const IndexPageOpaque *opaque = index_page_opaque(page);
    if (opaque == nullptr || opaque->page_id != VS_LSH_PAGE_ID || opaque->page_type != LSH_PAGE_BUCKET) return false;
    const ItemPointerData *tids = lsh_bucket_tids(&s->info, page);
    uint32 count = std::min<uint32>(bucket_header(page).count, s->info.capacity);
    for (uint32 i = 0; i < count; i++)
        if (ItemPointerEquals(const_cast<ItemPointer>(&tids[i]), const_cast<ItemPointer>(&claim->heap_tid))) return true;
    return false;
}

// As lsh_insert decides: a zero vector under cosine distance has no direction and is not
// indexed; an unshaped index stores no sketch, in bucket 0; a shaped one the row's sketch in
// its bucket of table 0.
bool lsh_fingerprint(VsIndexCheck *check, Datum value, uint32 *fingerprint) {
    auto *s = static_cast<LshCheck *>(check->am_state);
    const LshIndexInfo &info = s->info;
    index_read_floats(value, vs::Element(info.meta.header.element_type), info.dims, s->row);
    if (!info.meta.shaped) {
        if (!lsh_indexes_vector(info.metric, s->row, info.dims)) return false;
        *fingerprint = entry_fingerprint(s->sketch, 0, 0);
        return true;
    }
    if (!s->hasher.load(s->row, false)) return false;
    s->hasher.sketch_into(s->sketch);
    *fingerprint = entry_fingerprint(s->sketch, info.sketch_words, s->hasher.bucket(0));
    return true;
}

}  // namespace

const VsIndexCheckMethods lsh_check_methods = {lshhandler, lsh_verify, lsh_still_claims, lsh_fingerprint};
