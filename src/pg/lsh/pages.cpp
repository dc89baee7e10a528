// The lsh page format (lsh.h): the index's info from its metapage, checked reads of chain
// pages, and appending an entry to a bucket.
#include "pg/lsh/lsh.h"

#include <algorithm>
#include <cmath>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/htup_details.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

void lsh_derive_info(LshIndexInfo *info) {
    const vs::lsh::Layout &layout = info->meta.layout;
    info->metric = vs::Metric(info->meta.header.metric);
    info->dims = info->meta.header.dims;
    info->sketch_words = info->meta.shaped ? layout.sketch_words() : 0;
    Size space = INDEX_PAGE_SPACE - sizeof(LshBucketHeader);
    info->capacity = uint32(space / (sizeof(uint64) * info->sketch_words + sizeof(ItemPointerData)));
    info->tids_offset = sizeof(uint64) * info->sketch_words * info->capacity;
    info->slots_per_page = uint32(INDEX_PAGE_SPACE / sizeof(BlockNumber));
}

// Why a shaped layout cannot be hashed with as it is, or nullptr. The hasher indexes its
// arrays by these fields, so each must be what default_layout and fit_layout can produce.
static const char *shaped_layout_problem(const vs::lsh::Layout &layout) {
    if (layout.tables < 1 || layout.tables > vs::lsh::kMaxTables) return "the tables are out of range";
    if (layout.functions < 1 || layout.functions > vs::lsh::kMaxFunctions) return "the functions per table are out of range";
    if (layout.family != (layout.metric == vs::Metric::L2 ? vs::lsh::Family::Sliced : vs::lsh::Family::CrossPolytope))
        return "its hash family is not the metric's";
    if (layout.hashed_dims != layout.dims + (layout.metric == vs::Metric::InnerProduct) ||
        layout.input_padded != vs::lsh::padded_dims(layout.hashed_dims) ||
        layout.padded != std::min(layout.input_padded, vs::lsh::kMaxHashedDims))
        return "its hashed and padded dimensions do not follow from the column's";
    uint64 buckets = 1;
    for (int j = 0; j < layout.functions; j++) {
        int values = layout.values(j);
        bool valid = layout.family == vs::lsh::Family::Sliced
                         ? values >= 2 && values <= vs::lsh::kMaxSlots
                         : values >= 2 && values % 2 == 0 && uint32(values) <= 2 * layout.padded;
        if (!valid) return "a hash function has a number of values it cannot have";
        buckets *= uint64(values);
        if (buckets > PG_UINT32_MAX) break;
    }
    if (buckets != layout.buckets) return "its buckets are not the product of its functions' values";
    if (layout.family == vs::lsh::Family::Sliced) {
        for (int t = 0; t < layout.tables; t++)
            for (int j = 0; j < layout.functions; j++)
                for (int c = 0; c + 1 < layout.slots; c++)
                    if (!std::isfinite(layout.cuts[t][j][c]) || (c > 0 && layout.cuts[t][j][c] < layout.cuts[t][j][c - 1]))
                        return "a function's slot cuts are not ascending";
        if (!(layout.sketch_width > 0) || !std::isfinite(layout.sketch_width)) return "its sketch width is not positive";
    }
    if (layout.metric == vs::Metric::InnerProduct && (!(layout.lift_norm > 0) || !std::isfinite(layout.lift_norm)))
        return "its lift norm is not positive";
    if (layout.sketch_bits < 64 || layout.sketch_bits > vs::lsh::kMaxSketchBits || layout.sketch_bits % 64 != 0)
        return "its sketch bits are not a multiple of 64 from 64 to 1024";
    return nullptr;
}

const char *lsh_layout_problem(const LshMeta &meta) {
    const vs::lsh::Layout &layout = meta.layout;
    if (meta.shaped > 1) return "its shaped flag is neither 0 nor 1";
    if (meta.header.dims < 1 || meta.header.dims > VECTOR_MAX_DIM) return "its dimensions are out of range";
    if (int(layout.metric) != meta.header.metric || layout.dims != uint32(meta.header.dims))
        return "its metric or dimensions are not the metapage header's";
    if (layout.metric != vs::Metric::L2 && layout.metric != vs::Metric::InnerProduct && layout.metric != vs::Metric::Cosine)
        return "no hash family serves its metric";
    if (meta.shaped) return shaped_layout_problem(layout);
    if (layout.tables != 1 || layout.buckets != 1) return "an unshaped index has one table of one bucket";
    return nullptr;
}

static void fill_info(Relation index, void *out) {
    auto *info = static_cast<LshIndexInfo *>(out);
    Buffer buf = ReadBuffer(index, VS_METAPAGE_BLKNO);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    // Copied out and checked after the unlock: the check reads the operator class's catalog.
    info->meta = *reinterpret_cast<const LshMeta *>(index_page_data(BufferGetPage(buf)));
    UnlockReleaseBuffer(buf);
    index_check_meta(index, &info->meta.header, VS_LSH_PAGE_ID, LSH_LAYOUT_VERSION);
    index_check_element(index, &info->meta.header);
    const vs::lsh::Layout &layout = info->meta.layout;
    const char *problem = lsh_layout_problem(info->meta);
    const uint32 slots_per_page = uint32(INDEX_PAGE_SPACE / sizeof(BlockNumber));
    if (problem == nullptr &&
        (info->meta.directory_start == VS_METAPAGE_BLKNO || info->meta.directory_start == InvalidBlockNumber ||
         uint64(info->meta.directory_pages) * slots_per_page < uint64(layout.tables) * layout.buckets))
        problem = "its directory does not fit its buckets";
    if (problem != nullptr)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("lsh index \"%s\" has an invalid metapage: %s", RelationGetRelationName(index), problem),
                        errhint("REINDEX the index.")));
    lsh_derive_info(info);
}

const LshIndexInfo *lsh_index_info(Relation index) {
    return static_cast<const LshIndexInfo *>(index_cached_info(index, sizeof(LshIndexInfo), fill_info));
}

void lsh_init_bucket_page(const LshIndexInfo *info, Page page, uint16 table, uint32 bucket) {
    index_init_page(page, VS_LSH_PAGE_ID, LSH_PAGE_BUCKET, InvalidBlockNumber);
    *lsh_bucket_header(page) = {bucket, table, 0, InvalidBlockNumber, 0};
    lsh_set_bucket_hole(info, page);
}

// Where a bucket page of count entries has its hole: from the end of its sketches in use to
// the start of its TIDs.
static void bucket_hole(const LshIndexInfo *info, Page page, uint32 count, LocationIndex *lower, LocationIndex *upper) {
    const char *sketches = reinterpret_cast<const char *>(lsh_bucket_sketches(page));
    *lower = LocationIndex(sketches + sizeof(uint64) * info->sketch_words * count - page);
    *upper = LocationIndex(reinterpret_cast<const char *>(lsh_bucket_tids(info, page)) - page);
}

void lsh_set_bucket_hole(const LshIndexInfo *info, Page page) {
    PageHeader header = reinterpret_cast<PageHeader>(page);
    bucket_hole(info, page, lsh_bucket_header(page)->count, &header->pd_lower, &header->pd_upper);
}

bool lsh_bucket_hole_placed(const LshIndexInfo *info, Page page) {
    LocationIndex lower, upper;
    bucket_hole(info, page, lsh_bucket_header(page)->count, &lower, &upper);
    return reinterpret_cast<PageHeader>(page)->pd_lower == lower && reinterpret_cast<PageHeader>(page)->pd_upper == upper;
}

void lsh_init_directory_page(Page page) {
    index_init_page(page, VS_LSH_PAGE_ID, LSH_PAGE_DIRECTORY, InvalidBlockNumber);
    // Every slot is in use: no hole.
    reinterpret_cast<PageHeader>(page)->pd_lower = reinterpret_cast<PageHeader>(page)->pd_upper;
    BlockNumber *slots = lsh_directory_slots(page);
    for (Size i = 0; i < INDEX_PAGE_SPACE / sizeof(BlockNumber); i++) slots[i] = InvalidBlockNumber;
}

void lsh_report_corrupt(Relation index, BlockNumber block, const char *what) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("lsh index \"%s\" is corrupt at block %u: %s", RelationGetRelationName(index), block, what),
                    errhint("REINDEX the index.")));
}

// A chain cannot hold more pages than the index has: a longer walk is a cycle. limit caches the
// index's size, read again only when a walk passes it (the chain may grow meanwhile).
static void check_hops(Relation index, BlockNumber *limit, BlockNumber hops, BlockNumber block) {
    if (hops < *limit) return;
    *limit = RelationGetNumberOfBlocks(index);
    if (hops >= *limit) lsh_report_corrupt(index, block, "a cycle in a bucket's chain");
}

static uint64 slot_of(const LshIndexInfo *info, int table, uint32 bucket) {
    return uint64(table) * info->meta.layout.buckets + bucket;
}

static BlockNumber directory_block(const LshIndexInfo *info, uint64 slot) {
    return info->meta.directory_start + BlockNumber(slot / info->slots_per_page);
}

// Locks the pinned buffer buf in mode, after checking that it is a directory page.
static void lock_directory(Relation index, Buffer buf, int mode) {
    LockBuffer(buf, mode);
    const IndexPageOpaque *opaque = index_page_opaque(BufferGetPage(buf));
    if (opaque == nullptr || opaque->page_id != VS_LSH_PAGE_ID || opaque->page_type != LSH_PAGE_DIRECTORY) {
        BlockNumber block = BufferGetBlockNumber(buf);
        UnlockReleaseBuffer(buf);
        lsh_report_corrupt(index, block, "not a directory page");
    }
}

BlockNumber lsh_chain_start(Relation index, const LshIndexInfo *info, int table, uint32 bucket) {
    uint64 slot = slot_of(info, table, bucket);
    Buffer buf = index_read_buffer(index, directory_block(info, slot));
    lock_directory(index, buf, BUFFER_LOCK_SHARE);
    BlockNumber start = lsh_directory_slots(BufferGetPage(buf))[slot % info->slots_per_page];
    UnlockReleaseBuffer(buf);
    return start;
}

void lsh_check_bucket_page(Relation index, const LshIndexInfo *info, Buffer buf, int table, uint32 bucket) {
    Page page = BufferGetPage(buf);
    const IndexPageOpaque *opaque = index_page_opaque(page);
    const char *problem = nullptr;
    if (opaque == nullptr || opaque->page_id != VS_LSH_PAGE_ID || opaque->page_type != LSH_PAGE_BUCKET)
        problem = "not a bucket page";
    else if (lsh_bucket_header(page)->table != table || lsh_bucket_header(page)->bucket != bucket)
        problem = "a page of another bucket in a chain";
    else if (lsh_bucket_header(page)->count > info->capacity)
        problem = "more entries than a page holds";
    else if (!lsh_bucket_hole_placed(info, page))
        problem = "free space that is not its unused sketch slots";
    if (problem == nullptr) return;
    BlockNumber block = BufferGetBlockNumber(buf);
    UnlockReleaseBuffer(buf);
    lsh_report_corrupt(index, block, problem);
}

void LshPageStore::init(Relation index, const LshIndexInfo *info, MemoryContext context) {
    index_ = index;
    info_ = info;
    refs_ = static_cast<vs::Ref *>(MemoryContextAlloc(context, sizeof(vs::Ref) * info->capacity));
    pages_ = 0;
    limit_ = 0;
}

Buffer LshPageStore::lock_page(BlockNumber block, int table, uint32 bucket, BlockNumber hops) {
    check_hops(index_, &limit_, hops, block);
    Buffer buf = index_read_buffer(index_, block);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    lsh_check_bucket_page(index_, info_, buf, table, bucket);
    pages_++;
    return buf;
}

int LshPageStore::decode_refs(Page page, BlockNumber block) {
    const int n = lsh_bucket_header(page)->count;
    const ItemPointerData *tids = lsh_bucket_tids(info_, page);
    for (int i = 0; i < n; i++) {
        if (!index_heap_tid_possible(&tids[i])) lsh_report_corrupt(index_, block, "a heap TID no tuple can have");
        refs_[i] = lsh_tid_ref(const_cast<ItemPointer>(&tids[i]));
    }
    return n;
}

void lsh_add_entry(const LshIndexInfo *info, Page page, const ItemPointerData *heap_tid, const uint64 *sketch) {
    LshBucketHeader *header = lsh_bucket_header(page);
    uint32 i = header->count++;
    memcpy(lsh_bucket_sketches(page) + Size(i) * info->sketch_words, sketch, sizeof(uint64) * info->sketch_words);
    lsh_bucket_tids(info, page)[i] = *heap_tid;
    lsh_set_bucket_hole(info, page);
}

// A new first page for bucket's chain, holding the entry, whose older pages held about older
// entries: the page and the directory slot that names it in one WAL record. The directory page
// is read before the page is extended, and the page extended before the directory is locked, so
// no lock is held across a read: scans never wait on the directory across I/O, nor VACUUM and
// the checker on the new page.
static uint64 push_new_page(Relation index, const LshIndexInfo *info, int table, uint32 bucket, ItemPointer heap_tid,
                            const uint64 *sketch, uint64 older_estimate) {
    uint64 slot = slot_of(info, table, bucket);
    Buffer dir = index_read_buffer(index, directory_block(info, slot));
    Buffer buf = index_extend(index);
    BlockNumber block = BufferGetBlockNumber(buf);
    lock_directory(index, dir, BUFFER_LOCK_EXCLUSIVE);
    BlockNumber first = lsh_directory_slots(BufferGetPage(dir))[slot % info->slots_per_page];
    const uint32 older = first == InvalidBlockNumber ? 0 : uint32(Min(older_estimate, uint64(PG_UINT32_MAX)));
    index_edit_pages(index, buf, GENERIC_XLOG_FULL_IMAGE, dir, 0, [&](Page page, Page dir_page) {
        lsh_init_bucket_page(info, page, uint16(table), bucket);
        lsh_bucket_header(page)->next = first;
        lsh_bucket_header(page)->older_entries = older;
        lsh_add_entry(info, page, heap_tid, sketch);
        lsh_directory_slots(dir_page)[slot % info->slots_per_page] = block;
    });
    UnlockReleaseBuffer(dir);
    UnlockReleaseBuffer(buf);
    return uint64(older) + 1;
}

uint64 lsh_append(Relation index, const LshIndexInfo *info, int table, uint32 bucket, ItemPointer heap_tid,
                  const uint64 *sketch) {
    BlockNumber block = lsh_chain_start(index, info, table, bucket);
    uint64 estimate = 1;  // the chain's entries with this one
    for (int walked = 0; block != InvalidBlockNumber && walked < LSH_INSERT_WALK; walked++) {
        CHECK_FOR_INTERRUPTS();
        Buffer buf = index_read_buffer(index, block);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        lsh_check_bucket_page(index, info, buf, table, bucket);
        const LshBucketHeader *header = lsh_bucket_header(BufferGetPage(buf));
        if (walked == 0) estimate = uint64(header->older_entries) + header->count + 1;
        if (header->count < info->capacity) {
            index_edit_page(index, buf, [&](Page edited) { lsh_add_entry(info, edited, heap_tid, sketch); });
            UnlockReleaseBuffer(buf);
            return estimate;
        }
        block = header->next;
        UnlockReleaseBuffer(buf);
    }
    return push_new_page(index, info, table, bucket, heap_tid, sketch, estimate - 1);
}
