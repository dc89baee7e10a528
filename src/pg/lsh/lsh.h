// The lsh index access method: locality-sensitive hashing over the hash families, sketches and
// scan of src/core/lsh (its DESIGN.md gives the families and the reasons for each default),
// stored in pages through the shared layer of src/pg/index.
//
// Every row is hashed into one bucket in each of L tables and stored there as an entry: its
// heap TID and a B-bit sketch of its vector (the same sketch in every table). The index holds no
// vectors: a scan ranks the entries of the buckets it probes by sketch Hamming distance, reads
// the best C rows from the heap and returns them in exact distance order.
//
//   block 0         metapage: the common header (src/pg/index/page.h), where the directory is,
//                   the rows the layout was built for, the calibration (probes and C per target
//                   recall), then the layout itself (vs::lsh::Layout: family, tables, buckets,
//                   sketch bits, slot cuts; about 4 KB)
//   bucket page     LshBucketHeader | sketches [capacity][B/64 words] | heap TIDs [capacity]
//                   pd_lower ends the sketches in use and pd_upper starts the TIDs: the unused
//                   sketch slots are the page's hole, which GenericXLog does not compare and a
//                   full-page image leaves out
//   directory page  [2,040] BlockNumber: for each (table, bucket), slot table * buckets + bucket,
//                   the first page of its chain (InvalidBlockNumber: no entry yet)
//
// A bucket is a chain of pages linked by next, newest first: the directory names the newest.
// Pages never leave their chain: VACUUM removes dead entries by moving the page's last entry
// into their place, and inserts fill the first page with room among the chain's newest, so
// deleted rows' space goes to the bucket's next rows. A page that extends a chain becomes its
// first in the same WAL record as the directory slot that names it, so no crash leaves a
// pointer to a page that was not written.
//
// An index built on fewer than shape_rows rows (an empty table, the common CREATE INDEX then
// load) is unshaped: a hash layout needs a sample to fit its cuts and a calibration needs rows
// to use as queries. It is one chain of TID-only entries, which a scan re-ranks entirely (exact);
// once it holds shape_rows, an insert says in a NOTICE that a REINDEX lays it out. A shaped
// index grown past four times its build's rows gets the same NOTICE: its buckets are then four
// times as full as designed.
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
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "utils/rel.h"
#pragma GCC diagnostic pop
}

#include "core/index/memory.h"
#include "core/lsh/calibrate.h"
#include "core/lsh/params.h"
#include "core/lsh/search.h"

// 2 (0.2.0): the planner's threshold in each knot, and a bucket page's free space its unused
// sketch slots; 1 was never released.
#define LSH_LAYOUT_VERSION 2

#define LSH_PAGE_DIRECTORY 2
#define LSH_PAGE_BUCKET 3

// Support function numbers: 1 the distance (as hnsw's operator classes), 3 the shared
// INDEX_METRIC_PROC.
#define LSH_DISTANCE_PROC 1

#define LSH_DEFAULT_SHAPE_ROWS 10000
// Pages an insert looks at for room VACUUM freed before it starts a new page: a shaped bucket's
// chain is one or two pages, and an unshaped index's single chain would cost a walk per row.
#define LSH_INSERT_WALK 8
#define LSH_DEFAULT_TARGET_RECALL 0.9

// Target recalls the build calibrates for; a scan takes the first at or above lsh.target_recall
// plus LSH_TARGET_MARGIN (a quarter of what the target leaves to 1, if less). The margin is
// there because the calibration's queries are rows of the table, and queries from elsewhere
// (Fashion-MNIST-angular's test images) measured up to 0.03 below the recall the same settings
// had on them.
constexpr float LSH_CALIBRATION_TARGETS[] = {0.50f, 0.55f, 0.60f, 0.65f, 0.70f, 0.75f, 0.76f, 0.77f, 0.78f, 0.79f,
                                             0.80f, 0.81f, 0.82f, 0.83f, 0.84f, 0.85f, 0.86f, 0.87f, 0.88f, 0.89f,
                                             0.90f, 0.91f, 0.92f, 0.93f, 0.94f, 0.95f, 0.96f, 0.97f, 0.98f, 0.99f,
                                             0.995f, 0.999f};
constexpr double LSH_TARGET_MARGIN = 0.01;

// A scan's release rule (scan.cpp): the first batch, calibrated for the nearest 10, releases 10
// rows; later ones 5 per first batch's candidates of all rows re-ranked. The cost estimate
// prices a LIMIT by it.
constexpr int LSH_FIRST_RELEASE = 10;
constexpr int LSH_RELEASE_PER_CANDIDATES = 5;
constexpr int LSH_KNOTS = sizeof(LSH_CALIBRATION_TARGETS) / sizeof(LSH_CALIBRATION_TARGETS[0]);

// The scan settings that met one target on the calibration queries: fixed probes and
// candidates, and, where the per-query planner (Searcher::plan) met it for less, its threshold.
// The fixed pair also seeds later batches and the cost estimate.
struct LshKnot {
    float target;
    float recall;      // the calibration queries' mean recall@10 at these settings
    int32 probes;      // buckets per table
    int32 candidates;  // entries re-ranked
    float threshold;   // the planner's stop; 0: fixed settings
};

// The calibration's scans, and the planner's limits in a scan (a query the planner cannot take
// to its threshold stops where its calibration run did): probes per table, entries re-ranked.
constexpr int LSH_CALIBRATION_PROBES = 128;
constexpr int LSH_CALIBRATION_CANDIDATES = 8192;

// The planner models its coverage at 1.25 x the sample's typical distance to its 10th
// neighbour (r10, a quarter of the sketch width): the nearest ten lie within r10, but the
// slots' Gaussian model is optimistic where the data is not Gaussian, and at 1.25 r10 the
// thresholds calibrated on seed's rows match their targets (0.947 for 0.95, 0.989 for 0.99).
inline double lsh_plan_reference(const vs::lsh::Layout &layout) { return 1.25 * layout.sketch_width / 4; }

struct LshMeta {
    IndexMetaHeader header;
    uint32 shaped;              // 0: one chain (table 0, bucket 0) re-ranked entirely
    uint32 shape_rows;          // as the build's option said
    BlockNumber directory_start;
    uint32 directory_pages;
    float8 built_rows;          // rows indexed at build
    BlockNumber built_blocks;   // the index's size after build
    uint32 calibration_queries;
    LshKnot knots[LSH_KNOTS];
    vs::lsh::Layout layout;     // of an unshaped index: one table of one bucket, no sketch
};

// A bucket page's header; the entries follow, sketches first (8-byte words), then heap TIDs.
struct LshBucketHeader {
    uint32 bucket;
    uint16 table;
    uint16 count;
    BlockNumber next;  // the next (older) page of the chain, or InvalidBlockNumber
    // The entries of the older pages when this page became the chain's first: with its own
    // count, the chain's size, never lowered by VACUUM (an unshaped index's NOTICE reads it).
    uint32 older_entries;
};

// Whether a scan at knot plans per query: a sliced layout (the planner's model is the slots')
// with a positive, finite sketch width, and a threshold the calibration can have written;
// anything else (a damaged metapage too) takes the fixed pair.
inline bool lsh_knot_plans(const LshMeta &meta, const LshKnot &knot) {
    const double reference = lsh_plan_reference(meta.layout);
    return meta.layout.family == vs::lsh::Family::Sliced && knot.threshold > 0 &&
           knot.threshold <= vs::lsh::kPlanLogEnd && reference > 0 && std::isfinite(reference);
}

// WITH (...) options, as stored in rd_options.
struct LshOptions {
    int32 vl_len_;
    int tables;
    int buckets;
    int sketch_bits;
    int shape_rows;
};

// What every phase needs to know of one index: the metapage, and what follows from it.
struct LshIndexInfo {
    LshMeta meta;
    vs::Metric metric;
    int dims;
    int sketch_words;
    uint32 capacity;        // entries per bucket page
    Size tids_offset;       // where a bucket page's TIDs start, from its header
    uint32 slots_per_page;  // of a directory page
};

static_assert(sizeof(LshMeta) <= INDEX_PAGE_SPACE, "the metapage holds the layout");
// test/t/009_lsh_check_index.pl edits metapages at these offsets.
static_assert(offsetof(LshMeta, knots) == 48 && offsetof(LshMeta, layout) == 688, "the TAP test's offsets");
static_assert(std::is_trivially_destructible_v<LshIndexInfo>);

extern double lsh_target_recall;
extern int lsh_probes;
extern int lsh_candidates;
extern IterativeScanSettings lsh_iterative;

// handler.cpp
extern "C" Datum lshhandler(PG_FUNCTION_ARGS);
void lsh_init_gucs();
LshOptions lsh_options(Relation index);

// pages.cpp: the page format, and reading and appending entries
inline vs::Ref lsh_tid_ref(ItemPointer tid) {
    return (vs::Ref(ItemPointerGetBlockNumberNoCheck(tid)) << 16) | ItemPointerGetOffsetNumberNoCheck(tid);
}
inline ItemPointerData lsh_ref_tid(vs::Ref ref) {
    ItemPointerData tid;
    ItemPointerSet(&tid, BlockNumber(ref >> 16), OffsetNumber(ref & 0xffff));
    return tid;
}
// Why meta's hash layout cannot be hashed with (the hasher indexes its arrays by its fields), or
// nullptr: every reader refuses such a metapage, and the checker reports it.
const char *lsh_layout_problem(const LshMeta &meta);
// Whether the index holds a row of vector x (dims floats): all but zero vectors under cosine,
// which have no direction (as in hnsw). Build, insert and the checker decide by it.
inline bool lsh_indexes_vector(vs::Metric metric, const float *x, int dims) {
    if (metric != vs::Metric::Cosine) return true;
    for (int i = 0; i < dims; i++)
        if (x[i] != 0) return true;
    return false;
}
// The distance of x from query in the order of the SQL operator (L2 squared, the negative inner
// product, the cosine distance): what a scan re-ranks by and the build's ground truth ranks by.
inline float lsh_exact_distance(vs::Metric metric, const float *query, const float *x, int dims) {
    switch (metric) {
        case vs::Metric::L2: return vs_kernels.l2_squared(query, x, std::size_t(dims));
        case vs::Metric::InnerProduct: return vs_kernels.negative_inner_product(query, x, std::size_t(dims));
        default: return float(vs::cosine_distance(vs_kernels.cosine_parts(query, x, std::size_t(dims))));
    }
}
// The entry arithmetic of a layout (info's meta.layout set).
void lsh_derive_info(LshIndexInfo *info);
// The index's info, kept with its relcache entry (index_cached_info); copy it to keep it across
// a call that may accept invalidations.
const LshIndexInfo *lsh_index_info(Relation index);
inline LshBucketHeader *lsh_bucket_header(Page page) { return reinterpret_cast<LshBucketHeader *>(index_page_data(page)); }
inline uint64 *lsh_bucket_sketches(Page page) { return reinterpret_cast<uint64 *>(lsh_bucket_header(page) + 1); }
inline ItemPointerData *lsh_bucket_tids(const LshIndexInfo *info, Page page) {
    return reinterpret_cast<ItemPointerData *>(reinterpret_cast<char *>(lsh_bucket_header(page) + 1) + info->tids_offset);
}
inline BlockNumber *lsh_directory_slots(Page page) { return reinterpret_cast<BlockNumber *>(index_page_data(page)); }
void lsh_init_bucket_page(const LshIndexInfo *info, Page page, uint16 table, uint32 bucket);
// Appends an entry to a bucket page with room.
void lsh_add_entry(const LshIndexInfo *info, Page page, const ItemPointerData *heap_tid, const uint64 *sketch);
// Sets the page's hole to its unused sketch slots, after its count changed.
void lsh_set_bucket_hole(const LshIndexInfo *info, Page page);
// Whether it is there: a hole elsewhere would have an edit's WAL record leave out entries in
// use (a count within the page's capacity first).
bool lsh_bucket_hole_placed(const LshIndexInfo *info, Page page);
void lsh_init_directory_page(Page page);
// Reports the index corrupt at block (XX002, with a REINDEX hint), what naming the problem.
pg_attribute_noreturn() void lsh_report_corrupt(Relation index, BlockNumber block, const char *what);
// The first page of bucket's chain in table, from the directory (InvalidBlockNumber: empty).
BlockNumber lsh_chain_start(Relation index, const LshIndexInfo *info, int table, uint32 bucket);
// Checks that the page buf holds locked is a bucket page of (table, bucket) with no more entries
// than a page holds, and reports corruption (XX002) with the lock released if not. Pages never
// leave their chain, so a mismatch is corruption on a standby too.
void lsh_check_bucket_page(Relation index, const LshIndexInfo *info, Buffer buf, int table, uint32 bucket);
// Appends the entry (heap_tid, sketch) to (table, bucket): to the first page with room among
// the first LSH_INSERT_WALK of its chain, else to a new first page. Returns about how many
// entries the chain holds.
uint64 lsh_append(Relation index, const LshIndexInfo *info, int table, uint32 bucket, ItemPointer heap_tid,
                  const uint64 *sketch);

// The bucket pages as the Store of src/core/lsh/search.h: reads a chain page by page and hands
// visit each page's sketches in place, while the page is share-locked (scoring them is pure
// computation; copying them out cost a seventh of a scan on seed). reserve(capacity) runs before
// each page is locked, so that visit allocates nothing under the lock. The TIDs are decoded into
// refs first.
class LshPageStore {
  public:
    void init(Relation index, const LshIndexInfo *info, MemoryContext context);
    template <class Reserve, class Visit>
    void read_bucket(int table, std::uint32_t bucket, Reserve &&reserve, Visit &&visit) {
        BlockNumber block = lsh_chain_start(index_, info_, table, bucket);
        for (BlockNumber hops = 0; block != InvalidBlockNumber; hops++) {
            CHECK_FOR_INTERRUPTS();
            reserve(int(info_->capacity));
            Buffer buf = lock_page(block, table, bucket, hops);
            Page page = BufferGetPage(buf);
            int n = decode_refs(page, block);
            if (n > 0) visit(refs_, lsh_bucket_sketches(page), n);
            block = lsh_bucket_header(page)->next;
            UnlockReleaseBuffer(buf);
        }
    }
    std::int64_t pages() const { return pages_; }

  private:
    // The chain page at block, share-locked, after checking that it is one of (table, bucket).
    Buffer lock_page(BlockNumber block, int table, uint32 bucket, BlockNumber hops);
    // Decodes the heap TIDs of the page at block into refs_, refusing one no tuple can have;
    // returns their count.
    int decode_refs(Page page, BlockNumber block);

    Relation index_;
    const LshIndexInfo *info_;
    vs::Ref *refs_;
    std::int64_t pages_;
    BlockNumber limit_;  // the index's size as a chain walk last read it
};
static_assert(std::is_trivially_destructible_v<LshPageStore>);

// build.cpp
IndexBuildResult *lsh_build(Relation heap, Relation index, IndexInfo *index_info);
void lsh_buildempty(Relation index);
char *lsh_buildphasename(int64 phase);
#define LSH_PHASE_SAMPLE 2     // reading a sample of the table to fit the layout
#define LSH_PHASE_HASH 3       // hashing every row into its buckets
#define LSH_PHASE_CALIBRATE 4  // measuring recall on sample rows

// insert.cpp
bool lsh_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap,
                IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *index_info);

// scan.cpp
IndexScanDesc lsh_beginscan(Relation index, int nkeys, int norderbys);
void lsh_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys);
bool lsh_gettuple(IndexScanDesc scan, ScanDirection dir);
void lsh_endscan(IndexScanDesc scan);
// The settings of a scan at lsh.target_recall, lsh.probes and lsh.candidates: the fixed pair,
// and whether the first batch plans per query instead (not when either is set).
struct LshScanSettings {
    vs::lsh::SearchSettings fixed;
    bool planned;
    vs::lsh::PlanSettings plan;
};
LshScanSettings lsh_scan_settings(const LshIndexInfo *info, int max_scan_tuples);

// vacuum.cpp
IndexBulkDeleteResult *lsh_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                      IndexBulkDeleteCallback callback, void *callback_state);
IndexBulkDeleteResult *lsh_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats);

// cost.cpp
void lsh_costestimate(struct PlannerInfo *root, struct IndexPath *path, double loop_count, Cost *startup_cost,
                      Cost *total_cost, Selectivity *selectivity, double *correlation, double *pages);

// check.cpp: the lsh part of vectorsearch_check_index (src/pg/index/check.h)
struct VsIndexCheckMethods;
extern const VsIndexCheckMethods lsh_check_methods;
