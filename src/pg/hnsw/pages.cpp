// Page layout arithmetic and element I/O of the hnsw index, shared by every phase; and the page
// store through which the core's graph algorithms read and change the graph.
#include "pg/hnsw/hnsw.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/xlog.h"
#pragma GCC diagnostic pop
}

#include <algorithm>
#include <cfloat>
#include <cmath>

// Chooses how many elements a run holds: the count, up to about 64 pages' worth, that wastes
// the least space at the ends of its link and vector areas.
void hnsw_layout(vs::Element element, int dims, int m, HnswIndexInfo *info) {
    info->element = element;
    info->dims = dims;
    info->key_bytes = vs::element_vector_bytes(element, dims);
    info->slot_bytes = hnsw_slot_bytes(element, dims);
    info->m = m;
    info->link_record_size = sizeof(HnswLinkRecordHeader) + sizeof(HnswLink) * 2 * m;
    info->records_per_link_page = uint32(INDEX_PAGE_SPACE / info->link_record_size);
    Size vector_bytes = info->slot_bytes;
    uint32 limit = uint32(std::min<Size>(65535, std::max<Size>(1, 64 * INDEX_PAGE_SPACE / (info->link_record_size + vector_bytes))));
    double best = 0;
    for (uint32 n = 1; n <= limit; n++) {
        uint32 link_pages = (n + info->records_per_link_page - 1) / info->records_per_link_page;
        uint32 vector_pages = uint32((n * vector_bytes + INDEX_PAGE_SPACE - 1) / INDEX_PAGE_SPACE);
        double per_page = double(n) / double(link_pages + vector_pages);
        if (per_page > best * 1.0000001) {
            best = per_page;
            info->elements_per_run = n;
            info->link_pages_per_run = link_pages;
            info->vector_pages_per_run = vector_pages;
        }
    }
}

HnswMeta *hnsw_init_meta_page(Page page, const HnswIndexInfo *info) {
    auto *meta = reinterpret_cast<HnswMeta *>(
        index_init_meta_page(page, VS_HNSW_PAGE_ID, HNSW_LAYOUT_VERSION, info->element, info->metric, info->dims,
                             sizeof(HnswMeta)));
    meta->m = info->m;
    meta->ef_construction = info->ef_construction;
    meta->elements_per_run = info->elements_per_run;
    meta->link_pages_per_run = info->link_pages_per_run;
    meta->vector_pages_per_run = info->vector_pages_per_run;
    meta->records_per_link_page = info->records_per_link_page;
    meta->entry = vs::kNoRef;
    meta->entry_level = -1;
    meta->last_run = InvalidBlockNumber;
    meta->last_run_used = 0;
    meta->upper_page = InvalidBlockNumber;
    meta->free_block = InvalidBlockNumber;
    meta->free_after = InvalidFullTransactionId;
    meta->key_page = InvalidBlockNumber;
    return meta;
}

// Layouts 1 and 2 (vectorsearch 0.1.0) began the metapage with a magic of their own, "VNSH",
// and a 32-bit layout version, before the shared header existed.
void hnsw_refuse_old_layout(Relation index, const void *meta_data) {
    constexpr uint32 old_magic = 0x48534e56;
    uint32 words[2];
    memcpy(words, meta_data, sizeof(words));
    if (words[0] == old_magic)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("index \"%s\" has layout version %u, this vectorsearch reads version %d",
                               RelationGetRelationName(index), words[1], HNSW_LAYOUT_VERSION),
                        errhint("REINDEX the index.")));
}

void hnsw_read_meta(Relation index, HnswMeta *meta) {
    Buffer buf = index_read_buffer(index, VS_METAPAGE_BLKNO);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    memcpy(meta, index_page_data(BufferGetPage(buf)), sizeof(HnswMeta));
    UnlockReleaseBuffer(buf);
    hnsw_refuse_old_layout(index, meta);
    index_check_meta(index, &meta->header, VS_HNSW_PAGE_ID, HNSW_LAYOUT_VERSION);
}

vs::hnsw::EntryPoint hnsw_entry_point(Relation index, const HnswIndexInfo *info, bool after_dead_end) {
    HnswMeta meta;
    hnsw_read_meta(index, &meta);
    vs::hnsw::EntryPoint entry{meta.entry, meta.entry_level};
    if (entry.ref != vs::kNoRef && (entry.level < 0 || entry.level > vs::hnsw::kMaxLevel))
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("hnsw index \"%s\" has an entry point at level %d", RelationGetRelationName(index),
                               entry.level),
                        errhint("REINDEX the index.")));
    if (!after_dead_end) return entry;
    CHECK_FOR_INTERRUPTS();
    // Another VACUUM may have moved the entry point and unlinked it between the two reads: only an
    // unlinked entry point the metapage still names when read again is corruption.
    while (entry.ref != vs::kNoRef && (hnsw_element_flags(index, info, entry.ref, nullptr) & HNSW_FLAG_UNLINKED)) {
        CHECK_FOR_INTERRUPTS();
        hnsw_read_meta(index, &meta);
        if (meta.entry == entry.ref)
            ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                            errmsg("hnsw index \"%s\" has an unlinked element as its entry point",
                                   RelationGetRelationName(index)),
                            errhint("REINDEX the index.")));
        entry = {meta.entry, meta.entry_level};
    }
    return entry;
}

// The layout is read as the build chose it, not chosen again: a later release may choose
// differently for new indexes and still read this one.
static void read_index_info(Relation index, void *into) {
    HnswMeta meta;
    hnsw_read_meta(index, &meta);
    index_check_element(index, &meta.header);
    auto &info = *static_cast<HnswIndexInfo *>(into);
    info.element = vs::Element(meta.header.element_type);
    info.metric = vs::Metric(meta.header.metric);
    info.distance = index_kernel(info.element, info.metric);
    info.summable = vs::element_summable(info.element, info.metric);
    info.dims = meta.header.dims;
    info.key_bytes = vs::element_vector_bytes(info.element, info.dims);
    info.slot_bytes = hnsw_slot_bytes(info.element, info.dims);
    info.m = meta.m;
    info.ef_construction = meta.ef_construction;
    info.link_record_size = sizeof(HnswLinkRecordHeader) + sizeof(HnswLink) * 2 * meta.m;
    info.elements_per_run = meta.elements_per_run;
    info.link_pages_per_run = meta.link_pages_per_run;
    info.vector_pages_per_run = meta.vector_pages_per_run;
    info.records_per_link_page = meta.records_per_link_page;
}

const HnswIndexInfo *hnsw_index_info(Relation index) {
    return static_cast<const HnswIndexInfo *>(index_cached_info(index, sizeof(HnswIndexInfo), read_index_info));
}

// Every read of an element (its record here, its vector from the same run) starts from this
// block, so a link or entry point that a damaged page holds is refused here, before a read: a
// run at block 0 or whose end would pass the last block number, or a slot beyond the run's.
BlockNumber hnsw_link_block(const HnswIndexInfo *info, vs::Ref ref) {
    BlockNumber run = hnsw_ref_run(ref);
    uint32 run_pages = info->link_pages_per_run + info->vector_pages_per_run;
    if (run == VS_METAPAGE_BLKNO || run > MaxBlockNumber - run_pages || hnsw_ref_index(ref) >= info->elements_per_run)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("hnsw index has a link to a slot that cannot exist (run %u, slot %u)", run,
                               hnsw_ref_index(ref)),
                        errhint("REINDEX the index.")));
    return run + hnsw_ref_index(ref) / info->records_per_link_page;
}

HnswLinkRecordHeader *hnsw_link_record(Page page, const HnswIndexInfo *info, uint32 index) {
    Size offset = (index % info->records_per_link_page) * info->link_record_size;
    return reinterpret_cast<HnswLinkRecordHeader *>(index_page_data(page) + offset);
}

// On a primary, vector pages are read under a pin alone, without the content lock: a vector is
// written before any link leads to it, and changes only when an insert reuses its slot, which
// waits until no scan that could reach the old element is running (see vacuum.cpp); a write
// to its page meanwhile stores the same bytes again, so a pinned page shows it whole. A hot
// standby's replay may zero a page in its buffer before restoring its full image, so there the
// share lock is taken; its scans re-rank their results with HnswPageStore::checked_distance.
// Returns whether it locked: the unlock must not ask again, as recovery may end in between.
static bool lock_vector_page(Buffer buf) {
    bool standby = RecoveryInProgress();
    if (standby) LockBuffer(buf, BUFFER_LOCK_SHARE);
    return standby;
}

void hnsw_read_slot(Relation index, const HnswIndexInfo *info, vs::Ref ref, unsigned char *out) {
    unsigned char *dest = out;
    hnsw_vector_pieces(info, ref, [&](BlockNumber block, Size in_page, Size done, Size piece) {
        Buffer buf = index_read_buffer(index, block);
        bool locked = lock_vector_page(buf);
        memcpy(dest + done, index_page_data(BufferGetPage(buf)) + in_page, piece);
        if (locked) LockBuffer(buf, BUFFER_LOCK_UNLOCK);
        ReleaseBuffer(buf);
    });
}

static_assert(INDEX_PAGE_SPACE % 8 == 0 && sizeof(ItemPointerData) <= 8);

ItemPointerData hnsw_sparse_key_tid(Relation index, const HnswIndexInfo *info, vs::Ref ref) {
    unsigned char slot[8];
    hnsw_read_slot(index, info, ref, slot);
    ItemPointerData tid;
    memcpy(&tid, slot, sizeof(tid));
    return tid;
}

void hnsw_report_bad_key(Relation index, ItemPointer tid, const char *problem) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("hnsw index \"%s\" has a sparse key piece at (%u,%u) that %s", RelationGetRelationName(index),
                           ItemPointerGetBlockNumberNoCheck(tid), ItemPointerGetOffsetNumberNoCheck(tid), problem),
                    errhint("REINDEX the index.")));
}

const HnswKeyPiece *hnsw_key_piece(Page page, ItemPointer tid, Size *bytes, const char **problem) {
    OffsetNumber offset = ItemPointerGetOffsetNumberNoCheck(tid);
    const IndexPageOpaque *opaque = index_page_opaque(page);
    if (opaque == nullptr || opaque->page_id != VS_HNSW_PAGE_ID || opaque->page_type != HNSW_PAGE_KEYS) {
        *problem = "is not on a key page";
        return nullptr;
    }
    if (offset < FirstOffsetNumber || offset > PageGetMaxOffsetNumber(page) || !ItemIdIsNormal(PageGetItemId(page, offset))) {
        *problem = "is not a tuple of its page";
        return nullptr;
    }
    ItemId item = PageGetItemId(page, offset);
    Size length = ItemIdGetLength(item);
    auto *header = reinterpret_cast<PageHeader>(page);
    if (length <= sizeof(HnswKeyPiece) || length > sizeof(HnswKeyPiece) + HNSW_KEY_PIECE_MAX_BYTES ||
        ItemIdGetOffset(item) < header->pd_upper || ItemIdGetOffset(item) + length > header->pd_special ||
        ItemIdGetOffset(item) % sizeof(int32) != 0) {
        *problem = "has the wrong length or place";
        return nullptr;
    }
    *bytes = length - sizeof(HnswKeyPiece);
    return reinterpret_cast<const HnswKeyPiece *>(PageGetItem(page, item));
}

bool hnsw_read_key(Relation index, const HnswIndexInfo *info, vs::Ref ref, unsigned char *out) {
    if (info->element != vs::Element::Sparse) {
        hnsw_read_slot(index, info, ref, out);
        return true;
    }
    ItemPointerData tid = hnsw_sparse_key_tid(index, info, ref);
    Size length = hnsw_visit_key_pieces(index, tid, info->key_bytes,
                                        [&](const unsigned char *bytes, Size n, Size offset, ItemPointer) {
                                            memcpy(out + offset, bytes, n);
                                        });
    // (a whole chain of pieces of another key, reused where a stale TID leads, may be no key)
    return length > 0 && vs::sparse_key::complete(out, length);
}

Size hnsw_upper_tuple_size(int level, int m) { return sizeof(HnswLink) * Size(level) * m; }

static void report_bad_upper(Relation index, ItemPointer upper) {
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("hnsw index \"%s\" has an invalid upper-layer pointer (%u,%u)", RelationGetRelationName(index),
                           ItemPointerGetBlockNumberNoCheck(upper), ItemPointerGetOffsetNumberNoCheck(upper)),
                    errhint("REINDEX the index.")));
}

Buffer hnsw_read_upper_buffer(Relation index, ItemPointer upper) {
    // InvalidBlockNumber would be P_NEW to ReadBuffer: an extension, not a read. A block past the
    // end fails the read with an error of its own.
    BlockNumber block = ItemPointerGetBlockNumberNoCheck(upper);
    if (block == VS_METAPAGE_BLKNO || block == InvalidBlockNumber) report_bad_upper(index, upper);
    return index_read_buffer(index, block);
}

HnswLink *hnsw_upper_links(Relation index, Page page, ItemPointer upper, int level, int m) {
    OffsetNumber offset = ItemPointerGetOffsetNumberNoCheck(upper);
    const IndexPageOpaque *opaque = index_page_opaque(page);
    if (opaque == nullptr || opaque->page_id != VS_HNSW_PAGE_ID || opaque->page_type != HNSW_PAGE_UPPER ||
        offset < FirstOffsetNumber || offset > PageGetMaxOffsetNumber(page))
        report_bad_upper(index, upper);
    ItemId item = PageGetItemId(page, offset);
    if (!ItemIdIsNormal(item) || ItemIdGetLength(item) != hnsw_upper_tuple_size(level, m)) report_bad_upper(index, upper);
    return reinterpret_cast<HnswLink *>(PageGetItem(page, item));
}


void HnswPageStore::init(Relation index, const HnswIndexInfo *info, MemoryContext context) {
    index_ = index;
    info_ = info;
    query_ = nullptr;
    scattered_ = nullptr;
    if (info->element == vs::Element::Sparse && info->dims <= HNSW_SCATTER_MAX_DIMS) {
        sparse_query_ = {static_cast<float *>(MemoryContextAlloc(context, sizeof(float) * (info->dims + 1))),
                         Size(info->dims), {0, nullptr, nullptr}, 0, 0, 0};
        scattered_ = vs::sparse_query_distance(info->metric);
    }
    scratch_ = static_cast<unsigned char *>(MemoryContextAlloc(context, info->key_bytes));
    piece_scratch_ = info->summable ? nullptr : static_cast<unsigned char *>(MemoryContextAlloc(context, info->key_bytes));
    pool_ = static_cast<vs::Candidate *>(MemoryContextAlloc(context, sizeof(vs::Candidate) * (2 * info->m + 1)));
    selected_ = static_cast<vs::Ref *>(MemoryContextAlloc(context, sizeof(vs::Ref) * (2 * info->m + 1)));
    // A new element's list (up to 2m on layer 0) merged with the 2m links already on its page.
    merge_pool_ = static_cast<vs::Candidate *>(MemoryContextAlloc(context, sizeof(vs::Candidate) * (4 * info->m)));
}

void HnswPageStore::set_query(const unsigned char *query) {
    query_ = query;
    if (scattered_) vs::sparse_query_set(&sparse_query_, vs::sparse_key::view(query));
}

// Piece by piece, without copying the key out, where the distance sums over pieces (see
// core/index/vector_type.h; pieces are cut between elements, as every key's size and the page
// space are multiples of its element's). A distance that does not sum is computed in place on a
// key within one page (its one piece) and over a copy of a key that crosses pages.
float HnswPageStore::distance_from(const unsigned char *q, vs::Ref r) {
    static_assert(INDEX_PAGE_SPACE % sizeof(float) == 0);
    if (info_->element == vs::Element::Sparse) return sparse_distance_from(q, r, false);
    if (!info_->summable && hnsw_vector_crosses_pages(info_, r)) {
        hnsw_read_slot(index_, info_, r, piece_scratch_);
        return info_->distance(q, piece_scratch_, info_->key_bytes);
    }
    float sum = 0;
    hnsw_vector_pieces(info_, r, [&](BlockNumber block, Size in_page, Size done, Size piece) {
        Buffer buf = index_read_buffer(index_, block);
        bool locked = lock_vector_page(buf);
        const unsigned char *x = reinterpret_cast<const unsigned char *>(index_page_data(BufferGetPage(buf))) + in_page;
        sum += info_->distance(q + done, x, piece);
        if (locked) LockBuffer(buf, BUFFER_LOCK_UNLOCK);
        ReleaseBuffer(buf);
    });
    return sum;
}

// A key of one piece is compared on its page; the pieces of a longer one are copied out first.
float HnswPageStore::sparse_distance_from(const unsigned char *q, vs::Ref r, bool by_merge) {
    ItemPointerData tid = hnsw_sparse_key_tid(index_, info_, r);
    bool scattered = scattered_ && q == query_ && !by_merge;
    auto distance = [&](const unsigned char *key, Size length) {
        return scattered ? scattered_(sparse_query_, vs::sparse_key::view(key)) : info_->distance(q, key, length);
    };
    float d = 0;
    bool first = true, in_place = false, whole = true;
    Size length = hnsw_visit_key_pieces(index_, tid, info_->key_bytes, [&](const unsigned char *bytes, Size n, Size offset,
                                                                            ItemPointer) {
        // The last piece at offset 0 is the whole key.
        if (first && offset == 0) {
            in_place = true;
            whole = vs::sparse_key::complete(bytes, n);
            if (whole) d = distance(bytes, n);
        } else {
            memcpy(piece_scratch_ + offset, bytes, n);
        }
        first = false;
    });
    // A key not whole is as far as can be (NaN under cosine would upset the order).
    if (!in_place) whole = length > 0 && vs::sparse_key::complete(piece_scratch_, length);
    if (!whole) return FLT_MAX;
    return in_place ? d : distance(piece_scratch_, length);
}

// Prefetches every vector of a batch before computing any distance, so that their memory reads
// overlap. The addresses come from where each block was last found, without a pin: a prefetch
// of a buffer that has since been replaced costs a wasted load, nothing more. Each vector is then
// pinned only while its distance is computed, since holding many pins at once is slow.
void HnswPageStore::distances_to_query(const vs::Ref *refs, int n, float *out) {
    Size bytes = info_->slot_bytes;
    for (int i = 0; i < n; i++) {
        Size offset = Size(hnsw_ref_index(refs[i])) * bytes;
        index_prefetch_buffer(index_, hnsw_ref_run(refs[i]) + info_->link_pages_per_run + BlockNumber(offset / INDEX_PAGE_SPACE),
                             MAXALIGN(SizeOfPageHeaderData) + offset % INDEX_PAGE_SPACE, bytes);
    }
    for (int i = 0; i < n; i++) out[i] = distance_from(query_, refs[i]);
}

float HnswPageStore::distance(vs::Ref a, vs::Ref b) {
    if (!hnsw_read_key(index_, info_, a, scratch_)) return FLT_MAX;
    return distance_from(scratch_, b);
}

// Copies the raw links of r on layer (2m on layer 0, m above); returns how many slots there are.
int HnswPageStore::read_links(vs::Ref r, int layer, HnswLink *out, uint8 *flags) {
    Buffer buf = index_read_buffer(index_, hnsw_link_block(info_, r));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    HnswLinkRecordHeader *record = hnsw_link_record(BufferGetPage(buf), info_, hnsw_ref_index(r));
    if (flags) *flags = record->flags;
    int slots = vs::hnsw::max_degree(info_->m, layer);
    if (layer == 0) {
        memcpy(out, hnsw_record_links(record), sizeof(HnswLink) * slots);
        UnlockReleaseBuffer(buf);
        return slots;
    }
    if (layer > record->level) {
        UnlockReleaseBuffer(buf);
        return 0;
    }
    ItemPointerData upper = record->upper;
    int level = record->level;
    UnlockReleaseBuffer(buf);
    buf = hnsw_read_upper_buffer(index_, &upper);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    HnswLink *links = hnsw_upper_links(index_, BufferGetPage(buf), &upper, level, info_->m);
    memcpy(out, links + Size(layer - 1) * info_->m, sizeof(HnswLink) * slots);
    UnlockReleaseBuffer(buf);
    return slots;
}

int HnswPageStore::neighbors(vs::Ref r, int layer, vs::Ref *out) {
    // Every step of a graph walk comes through here: the place to honour a cancel.
    CHECK_FOR_INTERRUPTS();
    HnswLink links[2 * vs::hnsw::kMaxM];
    uint8 flags;
    int slots = read_links(r, layer, links, &flags);
    // An unlinked element's lists lead nowhere a scan should go: its slot may be being reused.
    // (An element still being inserted is followed: a scan that reached it on an upper layer
    // must go on from it.)
    if (flags & HNSW_FLAG_UNLINKED) return vs::hnsw::kGone;
    int n = 0;
    for (int i = 0; i < slots && hnsw_link_valid(links[i]); i++) out[n++] = hnsw_link_ref(links[i]);
    return n;
}

float HnswPageStore::checked_distance(vs::Ref r, uint8 *flags) {
    Buffer buf = index_read_buffer(index_, hnsw_link_block(info_, r));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    *flags = hnsw_link_record(BufferGetPage(buf), info_, hnsw_ref_index(r))->flags;
    float d = exact_distance(r);
    UnlockReleaseBuffer(buf);
    return d;
}

float HnswPageStore::exact_distance(vs::Ref r) {
    if (info_->element == vs::Element::Sparse) return sparse_distance_from(query_, r, true);
    hnsw_read_key(index_, info_, r, scratch_);
    return info_->distance(query_, scratch_, info_->key_bytes);
}

bool HnswPageStore::distance_exact(vs::Ref r) const {
    if (info_->element == vs::Element::Sparse) return scattered_ == nullptr || vs::sparse_query_exact(info_->metric);
    return !(info_->summable && hnsw_vector_crosses_pages(info_, r));
}

uint8 hnsw_element_flags(Relation index, const HnswIndexInfo *info, vs::Ref ref, ItemPointer heap_tid) {
    Buffer buf = index_read_buffer(index, hnsw_link_block(info, ref));
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    HnswLinkRecordHeader *record = hnsw_link_record(BufferGetPage(buf), info, hnsw_ref_index(ref));
    uint8 flags = record->flags;
    if (heap_tid) *heap_tid = record->heap_tid;
    UnlockReleaseBuffer(buf);
    return flags;
}

// Writes r's list on layer, WAL-logged, if the list still holds exactly the expected links;
// returns false otherwise: another backend changed it since the caller read it, and the caller
// recomputes.
static bool write_links(Relation index, const HnswIndexInfo *info, vs::Ref r, int layer, const vs::Ref *list, int n,
                        const HnswLink *expected) {
    int slots = vs::hnsw::max_degree(info->m, layer);
    Buffer buf = index_read_buffer(index, hnsw_link_block(info, r));
    // Above layer 0 the record only says where the upper tuple is: a share lock does.
    LockBuffer(buf, layer == 0 ? BUFFER_LOCK_EXCLUSIVE : BUFFER_LOCK_SHARE);
    HnswLinkRecordHeader *record = hnsw_link_record(BufferGetPage(buf), info, hnsw_ref_index(r));
    Buffer target = buf;
    ItemPointerData upper = record->upper;
    int level = record->level;
    if (layer > 0) {
        UnlockReleaseBuffer(buf);
        // A slot keeps its level when it is reused, so no caller asks for a layer above it.
        if (layer > level) report_bad_upper(index, &upper);
        target = hnsw_read_upper_buffer(index, &upper);
        LockBuffer(target, BUFFER_LOCK_EXCLUSIVE);
    }
    bool written = index_edit_page(index, target, [&](Page page) {
        HnswLink *links = layer == 0 ? hnsw_record_links(hnsw_link_record(page, info, hnsw_ref_index(r)))
                                     : hnsw_upper_links(index, page, &upper, level, info->m) + Size(layer - 1) * info->m;
        if (memcmp(links, expected, sizeof(HnswLink) * slots) != 0) return false;
        for (int i = 0; i < slots; i++) links[i] = i < n ? hnsw_make_link(list[i]) : HNSW_NO_LINK;
        return true;
    });
    UnlockReleaseBuffer(target);
    return written;
}

// Sets a new element's list. Once the element is reachable on a layer, a concurrent inserter
// may already have linked itself into that list: its links are kept, not written over (which
// could leave that inserter unreachable). As when a link joins any list, all are kept while
// they fit, and the heuristic chooses only among more.
void HnswPageStore::set_neighbors(vs::Ref r, int layer, const vs::Ref *list, int n) {
    HnswLink slots[2 * vs::hnsw::kMaxM];
    int capacity = vs::hnsw::max_degree(info_->m, layer);
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        int n_slots = read_links(r, layer, slots);
        if (n_slots == 0 || !hnsw_link_valid(slots[0])) {
            if (replace_links(r, layer, list, n, slots)) return;
            continue;
        }
        // r is the element being inserted, whose key is the query (core/hnsw/hnsw.h's insert)
        int n_pool = 0;
        auto consider = [&](vs::Ref candidate) {
            for (int i = 0; i < n_pool; i++)
                if (merge_pool_[i].ref == candidate) return;
            merge_pool_[n_pool++] = {distance_to_query(candidate), candidate};
        };
        for (int i = 0; i < n; i++) consider(list[i]);
        for (int i = 0; i < n_slots && hnsw_link_valid(slots[i]); i++) consider(hnsw_link_ref(slots[i]));
        std::sort(merge_pool_, merge_pool_ + n_pool,
                  [](const vs::Candidate &a, const vs::Candidate &b) { return a.distance < b.distance; });
        int kept = n_pool;
        if (n_pool <= capacity) {
            for (int i = 0; i < n_pool; i++) selected_[i] = merge_pool_[i].ref;
        } else {
            kept = vs::hnsw::select_neighbors(*this, merge_pool_, n_pool, capacity, selected_);
        }
        if (replace_links(r, layer, selected_, kept, slots)) return;
    }
}

bool HnswPageStore::replace_links(vs::Ref r, int layer, const vs::Ref *list, int n, const HnswLink *expected) {
    return write_links(index_, info_, r, layer, list, n, expected);
}

// Links new_ref from r. The new list is computed from a copy read under a share lock, since
// pruning a full list reads other elements' vectors and must not hold r's page meanwhile (two
// inserters doing so in opposite order would deadlock). The write then checks that the list is
// unchanged, and recomputes if another backend got there first.
void HnswPageStore::add_neighbor(vs::Ref r, int layer, vs::Ref new_ref, float d) {
    HnswLink links[2 * vs::hnsw::kMaxM];
    vs::Ref current[2 * vs::hnsw::kMaxM];
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        int slots = read_links(r, layer, links);
        int count = 0;
        while (count < slots && hnsw_link_valid(links[count])) {
            current[count] = hnsw_link_ref(links[count]);
            count++;
        }
        int n = vs::hnsw::updated_neighbors(*this, r, current, count, new_ref, d, slots, pool_, selected_);
        if (replace_links(r, layer, selected_, n, links)) return;
    }
}
