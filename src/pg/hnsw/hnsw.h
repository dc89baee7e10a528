// The hnsw index access method: layout of its pages and the functions of each phase.
//
// Elements live in runs: groups of consecutive blocks allocated together, each holding up to
// elements_per_run elements. A run starts with its link pages, an array of fixed-size link
// records (one per element, never split across pages, so one page lock covers a record), and
// continues with its vector pages, the elements' vectors laid end to end as one byte stream that
// may cross page boundaries. A vector changes only when its slot is reused, once no scan can
// reach the old element (vacuum.cpp), so a reader may copy one piece by piece; packing them this way stores 784-d vectors 2.6 to a page where whole-tuple layouts
// fit only 2. An element is addressed by (run start block, index in run).
//
//   block 0        metapage: the common header (src/pg/index/page.h: magic, page id, layout
//                  version, element type, metric, dims), options, entry point, where to insert
//                  next, where VACUUM freed slots and when they may be reused
//   run            [link page]...[link page][vector page]...[vector page]
//   upper page     slotted page of upper-layer tuples: links on layers 1..level of one element
//   key page       slotted page of sparse key pieces (sparsevec indexes only)
//
//   link record    level | flags | heap TID | upper tuple TID | layer-0 links (2m x 6 bytes)
//   upper tuple    for each layer 1..level: m links (6 bytes each, unused ones invalid)
//   key piece      TID of the piece before | offset in the key | bytes of the key from there
//
// A sparse key (vs::sparse_key) has no fixed size, so its element's place in the vector stream
// holds a TID: where the last piece of its key is. A key that fits a page is one piece, compared
// where it lies; a longer one (over 1,017 non-zero elements) is a chain of pieces, copied out
// before it is compared. A slot's key is deleted when the slot is reused.
//
// Every page carries the shared special space (IndexPageOpaque): hnsw's page id VS_HNSW_PAGE_ID,
// its page type below, and for link and vector pages the start of their run. After the build,
// every change is WAL-logged through index_edit_page (src/pg/index/wal.h); the build writes its
// pages with IndexBulkWriter and logs them in bulk.
#pragma once

#include "pg/index/allocator.h"
#include "pg/index/buffer.h"
#include "pg/index/key.h"
#include "pg/index/metric.h"
#include "pg/index/options.h"
#include "pg/index/page.h"
#include "pg/index/wal.h"
#include "pg/types/dense.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/amapi.h"
#include "access/generic_xlog.h"
#include "access/transam.h"
#include "access/reloptions.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#pragma GCC diagnostic pop
}

#include "core/hnsw/hnsw.h"
#include "core/hnsw/memory_graph.h"
#include "core/index/memory.h"
#include "core/index/vector_type.h"

// 3: the shared page format of src/pg/index/page.h (page id, common metapage header).
#define HNSW_LAYOUT_VERSION 3

#define HNSW_PAGE_LINKS 2
#define HNSW_PAGE_VECTORS 3
#define HNSW_PAGE_UPPER 4
#define HNSW_PAGE_KEYS 5

#define HNSW_DEFAULT_M 16
#define HNSW_DEFAULT_EF_CONSTRUCTION 64
#define HNSW_DEFAULT_EF_SEARCH 40

// Support function numbers of the operator classes: 1 the distance, 3 the shared
// INDEX_METRIC_PROC. (Cosine's 2, vector_norm, stays in 0.1.0's catalog; the metric now says
// that vectors are normalised.)
#define HNSW_DISTANCE_PROC 1

#define HNSW_FLAG_VALID 0x01    // written completely; absent on a slot an insert reserved but did not finish
#define HNSW_FLAG_DELETED 0x02  // its heap row is gone: never returned, navigable until unlinked
#define HNSW_FLAG_UNLINKED 0x04  // deleted, and no list links to it: its slot is free (see vacuum.cpp)

// A link to an element, 6 bytes and 2-byte aligned so that lists pack densely.
struct HnswLink {
    uint16 block_hi;
    uint16 block_lo;
    uint16 index;
};

struct HnswLinkRecordHeader {
    uint8 level;
    uint8 flags;
    ItemPointerData heap_tid;
    ItemPointerData upper;  // invalid when level is 0
    // followed by 2m HnswLink
};

struct HnswMeta {
    IndexMetaHeader header;
    int32 m;
    int32 ef_construction;
    uint32 elements_per_run;
    uint32 link_pages_per_run;
    uint32 vector_pages_per_run;
    uint32 records_per_link_page;
    vs::Ref entry;  // vs::kNoRef while the index is empty
    int32 entry_level;
    BlockNumber last_run;  // InvalidBlockNumber before the first run
    uint32 last_run_used;  // elements placed in last_run
    BlockNumber upper_page;  // where the next upper tuple goes, or InvalidBlockNumber
    BlockNumber free_block;  // no link page before it holds an unlinked slot; InvalidBlockNumber: none does
    FullTransactionId free_after;  // unlinked slots are free once no snapshot older than this remains
    BlockNumber key_page;  // where the next sparse key piece goes, or InvalidBlockNumber
};

struct HnswKeyPiece {
    ItemPointerData earlier;  // invalid in a key's first piece
    uint16 unused;
    uint32 offset;  // of its bytes in the key
    // followed by the bytes
};

// The most bytes of a key one piece holds: what is left of a page for one tuple.
#define HNSW_KEY_PIECE_MAX_BYTES \
    (MAXALIGN_DOWN(INDEX_PAGE_SPACE - sizeof(ItemIdData)) - sizeof(HnswKeyPiece))
// The most pieces a sparse key has.
#define HNSW_MAX_KEY_PIECES ((vs::sparse_key::kMaxBytes + HNSW_KEY_PIECE_MAX_BYTES - 1) / HNSW_KEY_PIECE_MAX_BYTES)

// WITH (...) options, as stored in rd_options.
struct HnswOptions {
    int32 vl_len_;
    int m;
    int ef_construction;
};

// Everything a phase needs to know about one index, computed from the metapage and options.
struct HnswIndexInfo {
    vs::Element element;
    vs::Metric metric;
    vs::AnyKernel distance;
    bool summable;  // whether the distance over a key is the sum over its pieces on each page
    int dims;
    Size key_bytes;   // the most a key has
    Size slot_bytes;  // of an element's place in its run's vector stream: its key, or a sparse key's TID
    int m;
    int ef_construction;
    uint32 elements_per_run;
    uint32 link_pages_per_run;
    uint32 vector_pages_per_run;
    uint32 records_per_link_page;
    Size link_record_size;
};


extern int hnsw_ef_search;
extern IterativeScanSettings hnsw_iterative;

// handler.cpp
extern "C" Datum hnswhandler(PG_FUNCTION_ARGS);
void hnsw_init_gucs();
int hnsw_option_m(Relation index);
int hnsw_option_ef_construction(Relation index);

// pages.cpp: layout arithmetic and element I/O shared by build, insert, scan and vacuum
inline vs::Ref hnsw_ref(BlockNumber run_start, uint32 index) { return (vs::Ref(run_start) << 16) | index; }
inline BlockNumber hnsw_ref_run(vs::Ref ref) { return BlockNumber(ref >> 16); }
inline uint32 hnsw_ref_index(vs::Ref ref) { return uint32(ref & 0xffff); }
inline vs::Ref hnsw_link_ref(const HnswLink &l) {
    return hnsw_ref((BlockNumber(l.block_hi) << 16) | l.block_lo, l.index);
}
inline HnswLink hnsw_make_link(vs::Ref ref) {
    BlockNumber b = hnsw_ref_run(ref);
    return {uint16(b >> 16), uint16(b & 0xffff), uint16(hnsw_ref_index(ref))};
}
// Unused slots hold HNSW_NO_LINK; block 0 is the metapage, so a zeroed slot (of a record that
// was never written) is no link either.
inline bool hnsw_link_valid(const HnswLink &l) {
    return (l.block_hi != 0xffff || l.block_lo != 0xffff) && (l.block_hi != 0 || l.block_lo != 0);
}
constexpr HnswLink HNSW_NO_LINK = {0xffff, 0xffff, 0xffff};

void hnsw_layout(vs::Element element, int dims, int m, HnswIndexInfo *info);
// A sparse key's TID takes 8 bytes, so that none spans pages and is ever read half written.
inline Size hnsw_slot_bytes(vs::Element element, int dims) {
    return element == vs::Element::Sparse ? 8 : vs::element_vector_bytes(element, Size(dims));
}
// The index's layout and distance, kept with its relcache entry (index_cached_info): copy the
// struct rather than keep the pointer across a call that may accept invalidations.
const HnswIndexInfo *hnsw_index_info(Relation index);
inline void hnsw_init_page(Page page, uint16 type, BlockNumber run_start) {
    index_init_page(page, VS_HNSW_PAGE_ID, type, run_start);
    // Link and vector pages are fixed arrays, not slotted: claim the whole space up front.
    if (type == HNSW_PAGE_LINKS || type == HNSW_PAGE_VECTORS)
        reinterpret_cast<PageHeader>(page)->pd_lower = reinterpret_cast<PageHeader>(page)->pd_upper;
}
HnswMeta *hnsw_init_meta_page(Page page, const HnswIndexInfo *info);  // an empty index's metapage
inline HnswMeta *hnsw_meta(Page page) { return reinterpret_cast<HnswMeta *>(index_page_data(page)); }
// A copy of the metapage, after the shared header check.
void hnsw_read_meta(Relation index, HnswMeta *meta);
// Refuses, with the REINDEX hint, a metapage of the layouts before the shared header (0.1.0's).
void hnsw_refuse_old_layout(Relation index, const void *meta_data);
// The entry point a graph walk starts from. A walk that reached a dead end (vs::hnsw::kDeadEnd:
// an element it stood on was unlinked meanwhile) asks again with after_dead_end and starts over:
// VACUUM moves the entry point off an element before it unlinks it, so the metapage names a
// live one by then, and one that does not is reported as corruption.
vs::hnsw::EntryPoint hnsw_entry_point(Relation index, const HnswIndexInfo *info, bool after_dead_end);
HnswLinkRecordHeader *hnsw_link_record(Page page, const HnswIndexInfo *info, uint32 index);
inline HnswLink *hnsw_record_links(HnswLinkRecordHeader *record) { return reinterpret_cast<HnswLink *>(record + 1); }
BlockNumber hnsw_link_block(const HnswIndexInfo *info, vs::Ref ref);
// Copies an element's slot in the vector stream, which may span pages.
void hnsw_read_slot(Relation index, const HnswIndexInfo *info, vs::Ref ref, unsigned char *out);
// Copies an element's key, from its slot or, for a sparse key, from its pieces; false for a
// sparse key that is not whole (see hnsw_visit_key_pieces).
bool hnsw_read_key(Relation index, const HnswIndexInfo *info, vs::Ref ref, unsigned char *out);
// Where a sparse element's key ends: the TID of its last piece, which its slot holds.
ItemPointerData hnsw_sparse_key_tid(Relation index, const HnswIndexInfo *info, vs::Ref ref);
// The piece at tid on its page, read or locked by the caller; null, with the problem, when the
// pointer or the piece's length (at least one byte, at most a page's worth) is wrong.
const HnswKeyPiece *hnsw_key_piece(Page page, ItemPointer tid, Size *bytes, const char **problem);
pg_attribute_noreturn() void hnsw_report_bad_key(Relation index, ItemPointer tid, const char *problem);
// Why a piece of bytes does not continue a key walked from its last piece, or nullptr: it ends
// where the piece after it begins (end: the key's length, for the last), within capacity, and
// names a piece before it exactly when it does not start the key.
inline const char *hnsw_piece_out_of_place(const HnswKeyPiece *piece, Size bytes, Size end, Size capacity) {
    if (piece->offset + bytes != end || end > capacity) return "does not end where the next piece begins";
    if ((piece->offset == 0) == ItemPointerIsValid(&piece->earlier)) return "names a wrong piece before it";
    return nullptr;
}

// Calls visit(bytes, length, offset in key, tid) for each piece of the sparse key whose last
// piece is at tid, last first, with its page share-locked, after checking that it ends where the
// next one begins. Returns the key's length, at most capacity, or 0 for a key that is not whole
// there: a walk may reach a slot whose key is being replaced, through a link a failed insert left
// to it (vacuum.cpp) or, on a hot standby, through a TID read before replay deleted the pieces
// (the primary's wait before reuse does not see the standby's scans; those re-rank their results
// under each element's lock, where the key is whole). Such a key is as far as can be; the
// checker reports one that stays broken.
template <typename Visit>
Size hnsw_visit_key_pieces(Relation index, ItemPointerData tid, Size capacity, Visit visit) {
    Size length = 0, end = 0;  // the key's, and where this piece must end
    for (bool last = true;; last = false) {
        // Offsets fall from piece to piece and no piece is empty, so the walk ends.
        BlockNumber block = ItemPointerGetBlockNumberNoCheck(&tid);
        const char *problem = block == VS_METAPAGE_BLKNO || block == InvalidBlockNumber ? "is not in a block of the index" : nullptr;
        Buffer buf = problem ? InvalidBuffer : index_read_buffer(index, block);
        const HnswKeyPiece *piece = nullptr;
        Size bytes = 0;
        if (!problem) {
            LockBuffer(buf, BUFFER_LOCK_SHARE);
            piece = hnsw_key_piece(BufferGetPage(buf), &tid, &bytes, &problem);
        }
        if (piece) {
            if (last) length = end = piece->offset + bytes;
            problem = hnsw_piece_out_of_place(piece, bytes, end, capacity);
        }
        if (problem) {
            if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
            return 0;
        }
        Size offset = piece->offset;
        ItemPointerData earlier = piece->earlier;
        visit(reinterpret_cast<const unsigned char *>(piece + 1), bytes, offset, &tid);
        UnlockReleaseBuffer(buf);
        if (offset == 0) return length;
        tid = earlier;
        end = offset;
    }
}

inline bool hnsw_vector_crosses_pages(const HnswIndexInfo *info, vs::Ref ref) {
    Size length = info->slot_bytes;
    return (Size(hnsw_ref_index(ref)) * length) % INDEX_PAGE_SPACE + length > INDEX_PAGE_SPACE;
}

// Calls visit(block, offset in page, offset in slot, length) for each piece of ref's slot in
// the run's byte stream, in order.
template <typename Visit>
void hnsw_vector_pieces(const HnswIndexInfo *info, vs::Ref ref, Visit visit) {
    Size length = info->slot_bytes;
    Size offset = Size(hnsw_ref_index(ref)) * length;
    BlockNumber block = hnsw_ref_run(ref) + info->link_pages_per_run + BlockNumber(offset / INDEX_PAGE_SPACE);
    Size in_page = offset % INDEX_PAGE_SPACE;
    for (Size done = 0; done < length; block++, in_page = 0) {
        Size piece = Min(length - done, INDEX_PAGE_SPACE - in_page);
        visit(block, in_page, done, piece);
        done += piece;
    }
}
Size hnsw_upper_tuple_size(int level, int m);
// The buffer of an upper tuple, and its links on a page of it read or locked by the caller,
// both after checking the pointer (block, page type, offset, length) and reporting a bad one as
// corruption.
Buffer hnsw_read_upper_buffer(Relation index, ItemPointer upper);
HnswLink *hnsw_upper_links(Relation index, Page page, ItemPointer upper, int level, int m);
// An element's flags, and its heap TID when heap_tid is given, read under a share lock.
uint8 hnsw_element_flags(Relation index, const HnswIndexInfo *info, vs::Ref ref, ItemPointer heap_tid);

// The graph in pages, as the Store of src/core/hnsw/hnsw.h.
class HnswPageStore {
  public:
    void init(Relation index, const HnswIndexInfo *info, MemoryContext context);
    // query stays readable while the store uses it.
    void set_query(const unsigned char *query);
    float distance_to_query(vs::Ref r) { return distance_from(query_, r); }
    void distances_to_query(const vs::Ref *refs, int n, float *out);
    float distance(vs::Ref a, vs::Ref b);
    int neighbors(vs::Ref r, int layer, vs::Ref *out);
    void set_neighbors(vs::Ref r, int layer, const vs::Ref *list, int n);
    void add_neighbor(vs::Ref r, int layer, vs::Ref new_ref, float distance);
    bool linkable(vs::Ref r) { return !(hnsw_element_flags(index_, info_, r, nullptr) & HNSW_FLAG_DELETED); }
    // r's distance to the query as the SQL operator computes it: one kernel call over the whole
    // vector. distance_to_query sums the pieces on each page, which for a vector across a page
    // boundary can differ in the last bit, as may the L2 or L1 of a scattered sparse query.
    float exact_distance(vs::Ref r);
    // Whether distance_to_query(r) is exact_distance(r).
    bool distance_exact(vs::Ref r) const;
    // r's flags and exact distance, read while r's link record is share-locked: the vector of an
    // element that is valid then cannot change until the lock is released.
    float checked_distance(vs::Ref r, uint8 *flags);

    // The raw slots of r's list on layer (2m on layer 0, m above, 0 above r's level), and r's
    // flags if asked; returns the slot count.
    int read_links(vs::Ref r, int layer, HnswLink *out, uint8 *flags = nullptr);
    // Writes r's list only if its slots still equal expected (from read_links); false if not.
    bool replace_links(vs::Ref r, int layer, const vs::Ref *list, int n, const HnswLink *expected);

  private:
    // Distance from q to r's key, computed piece by piece on the pages themselves.
    float distance_from(const unsigned char *q, vs::Ref r);
    // by_merge: with the merge kernel, even for the scattered query
    float sparse_distance_from(const unsigned char *q, vs::Ref r, bool by_merge);

    Relation index_;
    const HnswIndexInfo *info_;
    const unsigned char *query_;
    // A sparse query scattered over its dimensions (vs::SparseQuery), up to
    // HNSW_SCATTER_MAX_DIMS of them; scattered_ is null when the query is not.
    vs::SparseQuery sparse_query_;
    vs::SparseQueryDistance scattered_;
    unsigned char *scratch_;
    unsigned char *piece_scratch_;  // a key copied out whole, for a distance that does not sum
    vs::Candidate *pool_;
    vs::Ref *selected_;
    vs::Candidate *merge_pool_;  // a new element's links and those concurrent inserters added
};

// The most dimensions a sparse query is scattered over: a megabyte of floats, cleared per query.
#define HNSW_SCATTER_MAX_DIMS (1 << 18)

// The page store and the core's search state it serves live in frames that a buffer read's
// ereport may unwind by longjmp: nothing in them may need a destructor.
static_assert(std::is_trivially_destructible_v<HnswPageStore>);
static_assert(std::is_trivially_destructible_v<vs::hnsw::Workspace>);
static_assert(std::is_trivially_destructible_v<HnswIndexInfo>);

// build.cpp: the build's phases, as pg_stat_progress_create_index shows them
#define HNSW_PHASE_LOAD 2   // reading the table into the graph
#define HNSW_PHASE_WRITE 3  // writing the graph to pages
IndexBuildResult *hnsw_build(Relation heap, Relation index, IndexInfo *index_info);
char *hnsw_buildphasename(int64 phase);
void hnsw_buildempty(Relation index);

// insert.cpp
bool hnsw_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap,
                 IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *index_info);
void hnsw_insert_element(Relation index, Relation heap, const HnswIndexInfo *info, const unsigned char *key,
                         ItemPointer heap_tid, MemoryContext context);

// scan.cpp
IndexScanDesc hnsw_beginscan(Relation index, int nkeys, int norderbys);
void hnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool hnsw_gettuple(IndexScanDesc scan, ScanDirection dir);
void hnsw_endscan(IndexScanDesc scan);

// cost.cpp
void hnsw_costestimate(struct PlannerInfo *root, struct IndexPath *path, double loop_count, Cost *startup_cost,
                       Cost *total_cost, Selectivity *selectivity, double *correlation, double *pages);

// check.cpp: the hnsw part of vectorsearch_check_index (src/pg/index/check.h)
struct VsIndexCheckMethods;
extern const VsIndexCheckMethods hnsw_check_methods;

// vacuum.cpp
IndexBulkDeleteResult *hnsw_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                       IndexBulkDeleteCallback callback, void *callback_state);
IndexBulkDeleteResult *hnsw_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);
