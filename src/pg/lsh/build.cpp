// Building an lsh index in two passes over the table, then a calibration on the written pages.
//
//   sample     a uniform reservoir of up to 2,000 rows within a quarter of maintenance_work_mem
//              (Vitter's algorithm R, fixed seed, so that a build of the same table is the same
//              index), and the row count: the layout's
//              defaults come from the rows (src/core/lsh/params.h) and its cuts, lift norm and
//              sketch width are fitted on the sample (fit_layout)
//   hash       every row is hashed into its bucket of each table; each bucket fills a page in
//              memory, written out when full (so pages are written in block order, in bulk,
//              as btree's build does) and chained to the bucket's previous page. The same pass
//              finds the exact 10 nearest rows of each calibration query (sample rows, their
//              own row excluded): the ground truth costs one pass over the rows, not one per query
//   write      the partly filled pages, which become the chains' first pages (where inserts
//              go), and the directory after them; the metapage is completed last
//   calibrate  each calibration query is scanned over the pages up to 128 probes per table and
//              the rank of each true neighbour in the sketch order recorded, which gives the
//              recall of every (probes, candidates) pair at once (src/core/lsh/calibrate.h); the
//              cheapest pair for each target recall goes to the metapage
//
// An index built on fewer than shape_rows rows is unshaped (lsh.h): one chain, no calibration.
#include "pg/lsh/lsh.h"
#include "pg/index/parallel.h"
#include "pg/test_hooks.h"

#include <algorithm>
#include <cmath>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/tableam.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

// The sample: 2,000 rows, or as many as a quarter of maintenance_work_mem holds (at least 200:
// 16,000 dimensions at the default 64 MB give 262).
static constexpr std::size_t LSH_SAMPLE_ROWS = 2000;
static constexpr std::size_t LSH_MIN_SAMPLE_ROWS = 200;
static constexpr uint64 LSH_SEED = 0x6c73682d73656564ULL;  // fixed: one table, one index
static constexpr int LSH_TRUTH_K = 10;

struct LshBuildState {
    Relation index;
    LshIndexInfo info;
    LshOptions options;
    MemoryContext context;
    MemoryContext tuple_context;  // reset after every row
    vs::Allocator allocator;
    double indexed;

    // sample
    pg_prng_state prng;
    float *sample;
    vs::Ref *sample_refs;
    std::size_t sample_capacity;
    std::size_t sampled;

    // hash
    vs::lsh::Hasher hasher;
    uint64 *sketch;
    float *row;               // the row as the ground truth compares it
    Page *open_pages;         // [tables * buckets]: the page each bucket fills, or null
    BlockNumber *last_page;   // [tables * buckets]: the bucket's page written last
    uint32 *chain_entries;    // [tables * buckets]: the entries written to the bucket's pages
    IndexBulkWriter writer;
    BlockNumber next_block;
    std::size_t queries;
    float *query_vectors;     // the calibration queries: the first rows of the sample
    vs::CandidateHeap<true> *truth;
    std::size_t open_limit;   // open pages that fit in maintenance_work_mem
    std::size_t open_count;
    bool noticed_memory;
    struct LshShared *shared; // of a parallel build's participant, or null
};
static_assert(std::is_trivially_destructible_v<LshBuildState>);  // lives across buffer writes

char *lsh_buildphasename(int64 phase) {
    return vs::guard([&]() -> char * {
        switch (phase) {
            case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE: return const_cast<char *>("initializing");
            case LSH_PHASE_SAMPLE: return const_cast<char *>("sampling tuples");
            case LSH_PHASE_HASH: return const_cast<char *>("loading tuples");
            case LSH_PHASE_CALIBRATE: return const_cast<char *>("calibrating");
        }
        return nullptr;
    });
}

// The metapage of an index before its layout is chosen: unshaped, one table of one bucket.
static void init_unshaped(Relation index, LshIndexInfo *info, const LshOptions &options) {
    memset(info, 0, sizeof(LshIndexInfo));
    LshMeta &meta = info->meta;
    // Rows are hashed as floats, so any dense type will do: halves widen exactly.
    const vs::Element element = index_element(index);
    if (element != vs::Element::Float4 && element != vs::Element::Half)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("lsh indexes vector and halfvec columns only")));
    const vs::Metric metric = index_metric(index);
    if (metric != vs::Metric::L2 && metric != vs::Metric::InnerProduct && metric != vs::Metric::Cosine)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("lsh indexes support the <->, <#> and <=> distances only"),
                        errdetail("No hash family here is sensitive to the operator class's distance.")));
    meta.header = {VS_META_MAGIC, VS_LSH_PAGE_ID, LSH_LAYOUT_VERSION, uint16(element), uint16(metric),
                   int32(index_column_dims(index, element))};
    meta.shape_rows = uint32(options.shape_rows);
    meta.directory_start = InvalidBlockNumber;
    vs::lsh::Layout &layout = meta.layout;
    layout.metric = vs::Metric(meta.header.metric);
    layout.dims = uint32(meta.header.dims);
    layout.tables = 1;
    layout.buckets = 1;
    lsh_derive_info(info);
}

static void write_meta_page(Page page, const LshMeta &meta) {
    index_init_meta_page(page, VS_LSH_PAGE_ID, LSH_LAYOUT_VERSION, vs::Element(meta.header.element_type),
                         vs::Metric(meta.header.metric), meta.header.dims, sizeof(LshMeta));
    *reinterpret_cast<LshMeta *>(index_page_data(page)) = meta;
}

// The row of values[0], into state->row; false for a row the index does not hold.
static bool load_row(LshBuildState *state, Datum value) {
    index_read_floats(value, vs::Element(state->info.meta.header.element_type), state->info.dims, state->row);
    return lsh_indexes_vector(state->info.metric, state->row, state->info.dims);
}

static void sample_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg) {
    auto *state = static_cast<LshBuildState *>(arg);
    CHECK_FOR_INTERRUPTS();
    VS_TEST_PAUSE("lsh_build_tuple");
    if (isnull[0]) return;
    MemoryContext old = MemoryContextSwitchTo(state->tuple_context);
    if (load_row(state, values[0])) {
        std::size_t slot = state->sampled;
        if (slot >= state->sample_capacity) {
            uint64 drawn = pg_prng_uint64_range(&state->prng, 0, uint64(state->indexed));
            slot = drawn < state->sample_capacity ? std::size_t(drawn) : state->sample_capacity;
        } else {
            state->sampled++;
        }
        if (slot < state->sample_capacity) {
            memcpy(state->sample + slot * state->info.dims, state->row, sizeof(float) * state->info.dims);
            state->sample_refs[slot] = lsh_tid_ref(tid);
        }
        state->indexed++;
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(state->tuple_context);
}

// Writes page as the bucket's next page, chained to the one written before it.
static void write_bucket_page(LshBuildState *state, std::size_t slot, Page page) {
    lsh_bucket_header(page)->next = state->last_page[slot];
    lsh_bucket_header(page)->older_entries = state->chain_entries[slot];
    state->chain_entries[slot] += lsh_bucket_header(page)->count;
    state->writer.write(page);
    state->last_page[slot] = state->next_block++;
}

// Writes every open page, full or not, and frees it: the build's memory then starts over.
static void write_open_pages(LshBuildState *state) {
    const std::size_t slots = std::size_t(state->info.meta.layout.tables) * state->info.meta.layout.buckets;
    for (std::size_t slot = 0; slot < slots; slot++) {
        CHECK_FOR_INTERRUPTS();
        Page page = state->open_pages[slot];
        if (page == nullptr) continue;
        if (lsh_bucket_header(page)->count > 0) write_bucket_page(state, slot, page);
        pfree(page);
        state->open_pages[slot] = nullptr;
    }
    state->open_count = 0;
}

static void add_to_bucket(LshBuildState *state, int table, uint32 bucket, ItemPointer tid) {
    std::size_t slot = std::size_t(table) * state->info.meta.layout.buckets + bucket;
    Page &page = state->open_pages[slot];
    if (page == nullptr) {
        if (state->open_count == state->open_limit) {
            // A page per bucket no longer fits: the open pages go out part-filled, and the
            // inserts that follow fill their room.
            if (!state->noticed_memory)
                ereport(NOTICE, (errmsg("lsh build no longer fits into maintenance_work_mem after %.0f tuples",
                                        state->indexed),
                                 errdetail("Bucket pages are written part-filled, so the index takes more space."),
                                 errhint("Increase maintenance_work_mem to build a denser index.")));
            state->noticed_memory = true;
            write_open_pages(state);
        }
        page = static_cast<Page>(MemoryContextAlloc(state->context, BLCKSZ));
        lsh_init_bucket_page(&state->info, page, uint16(table), bucket);
        state->open_count++;
    }
    lsh_add_entry(&state->info, page, tid, state->sketch);
    if (lsh_bucket_header(page)->count == state->info.capacity) {
        write_bucket_page(state, slot, page);
        lsh_init_bucket_page(&state->info, page, uint16(table), bucket);
    }
}

// Keeps c among a calibration query's LSH_TRUTH_K nearest.
static void offer_truth(vs::CandidateHeap<true> &best, vs::Candidate c) {
    if (best.size() < std::size_t(LSH_TRUTH_K)) {
        best.push(c);
    } else if (c.distance < best.top().distance) {
        best.pop();
        best.push(c);
    }
}

static void add_to_truth(LshBuildState *state, vs::Ref ref) {
    const int dims = state->info.dims;
    for (std::size_t q = 0; q < state->queries; q++) {
        if (state->sample_refs[q] == ref) continue;
        offer_truth(state->truth[q],
                    {lsh_exact_distance(state->info.metric, state->query_vectors + q * dims, state->row, dims), ref});
    }
}

// A row as a parallel build's participant hands it to the leader: its heap TID, its bucket in
// each table and its sketch (LshShared::record_bytes).
struct LshRecord {
    vs::Ref tid;
    uint32 buckets[];  // then, 8-byte aligned, the sketch
};

// What the participants of a parallel build share besides the scaffolding's part
// (src/pg/index/parallel.h), followed by the calibration queries, each participant's ground
// truth and the records.
struct LshShared {
    LshMeta meta;  // the layout every participant hashes with
    uint32 queries;
    uint32 participants;   // slots for ground truths
    Size record_bytes;
    uint64 record_capacity;
    Size queries_offset;   // queries x dims floats, then queries refs
    Size truth_offset;     // participants x queries x LSH_TRUTH_K candidates
    Size records_offset;
    pg_atomic_uint32 next_participant;
    pg_atomic_uint64 next_record;
    pg_atomic_uint64 indexed;
};

static char *shared_at(LshShared *shared, Size offset) { return reinterpret_cast<char *>(shared) + offset; }
static LshRecord *shared_record(LshShared *shared, uint64 i) {
    return reinterpret_cast<LshRecord *>(shared_at(shared, shared->records_offset) + i * shared->record_bytes);
}
static uint64 *record_sketch(const LshShared *shared, LshRecord *record) {
    return reinterpret_cast<uint64 *>(reinterpret_cast<char *>(record) +
                                      TYPEALIGN(8, sizeof(vs::Ref) + sizeof(uint32) * shared->meta.layout.tables));
}

static void hash_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg) {
    auto *state = static_cast<LshBuildState *>(arg);
    CHECK_FOR_INTERRUPTS();
    VS_TEST_PAUSE("lsh_build_hash");  // leader and workers alike: they share the session's settings
    if (isnull[0]) return;
    MemoryContext old = MemoryContextSwitchTo(state->tuple_context);
    LshShared *shared = state->shared;
    if (!load_row(state, values[0])) {
        // not indexed
    } else if (!state->info.meta.shaped) {
        add_to_bucket(state, 0, 0, tid);
        state->indexed++;
    } else if (state->hasher.load(state->row, false)) {
        state->hasher.sketch_into(state->sketch);
        const int tables = state->info.meta.layout.tables;
        if (shared == nullptr) {
            for (int t = 0; t < tables; t++) add_to_bucket(state, t, state->hasher.bucket(t), tid);
        } else {
            uint64 i = pg_atomic_fetch_add_u64(&shared->next_record, 1);
            if (i < shared->record_capacity) {
                LshRecord *record = shared_record(shared, i);
                record->tid = lsh_tid_ref(tid);
                for (int t = 0; t < tables; t++) record->buckets[t] = state->hasher.bucket(t);
                memcpy(record_sketch(shared, record), state->sketch, sizeof(uint64) * state->info.sketch_words);
            }
        }
        add_to_truth(state, lsh_tid_ref(tid));
        state->indexed++;
    }
    uint64 indexed = shared ? pg_atomic_add_fetch_u64(&shared->indexed, 1) : uint64(state->indexed);
    if (!IsParallelWorker()) pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, int64(indexed));
    MemoryContextSwitchTo(old);
    MemoryContextReset(state->tuple_context);
}

// The layout for the rows the sample pass counted, fitted on its sample.
static void shape(LshBuildState *state) {
    LshMeta &meta = state->info.meta;
    const int dims = state->info.dims;
    const double design_rows = 1.25 * state->indexed;
    meta.shaped = 1;
    meta.layout = vs::lsh::default_layout(state->info.metric, uint32(dims), design_rows, LSH_SEED,
                                          state->options.tables, uint32(state->options.buckets),
                                          state->options.sketch_bits);
    vs::lsh::fit_layout(meta.layout, state->sample, state->sampled, design_rows, &state->allocator, vs_kernels.l2_squared);
    lsh_derive_info(&state->info);

    // Enough queries for the mean recall to be measured to about +-0.01, as few as that takes
    // where the ground truth is costly (it compares every row with every query: 2e9 multiply-adds
    // are about half a second).
    double affordable = 2e9 / (std::max(state->indexed, 1.0) * dims);
    state->queries = std::min<std::size_t>(state->sampled, std::size_t(std::clamp(affordable, 100.0, 500.0)));
    state->query_vectors = state->sample;  // the reservoir's first rows: a uniform sample too
    state->truth = static_cast<vs::CandidateHeap<true> *>(palloc(sizeof(vs::CandidateHeap<true>) * std::max<std::size_t>(state->queries, 1)));
    for (std::size_t q = 0; q < state->queries; q++) state->truth[q].init(&state->allocator, LSH_TRUTH_K + 1);
    state->hasher.init(&meta.layout, &state->allocator);
}

// The recall grid of the calibration queries over the written pages, and the cheapest
// settings for each target.
static void calibrate(LshBuildState *state) {
    LshMeta &meta = state->info.meta;
    const std::size_t n = state->queries;
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, LSH_PHASE_CALIBRATE);
    vs::Ref *truth = static_cast<vs::Ref *>(palloc(sizeof(vs::Ref) * LSH_TRUTH_K * std::max<std::size_t>(n, 1)));
    for (std::size_t q = 0; q < n; q++) {
        vs::Candidate found[LSH_TRUTH_K + 1];
        std::size_t count = state->truth[q].drain_sorted(found);
        for (int j = 0; j < LSH_TRUTH_K; j++) truth[q * LSH_TRUTH_K + j] = std::size_t(j) < count ? found[j].ref : vs::kNoRef;
    }
    // The queries as a scan takes them: the sample's rows before normalisation.
    LshPageStore store;
    store.init(state->index, &state->info, state->context);
    vs::lsh::Searcher searcher;
    searcher.init(&meta.layout, &state->allocator);
    vs::lsh::RecallGrid grid;
    vs::lsh::measure_recall_grid(store, searcher, state->sample, state->sample_refs, truth, n, LSH_TRUTH_K,
                                 LSH_CALIBRATION_PROBES, LSH_CALIBRATION_CANDIDATES, &state->allocator, grid);
    double cost[LSH_KNOTS];
    for (int i = 0; i < LSH_KNOTS; i++) {
        vs::lsh::Calibration c = vs::lsh::choose_settings(grid, LSH_CALIBRATION_TARGETS[i], LSH_TRUTH_K);
        meta.knots[i] = {LSH_CALIBRATION_TARGETS[i], float(c.recall), c.settings.probes, c.settings.candidates, 0};
        cost[i] = c.cost;
    }
    vs::lsh::release_recall_grid(grid, &state->allocator);
    // A target takes the planner where it costs less than the fixed pair on the same queries.
    if (meta.layout.family == vs::lsh::Family::Sliced) {
        vs::lsh::PlanLog log;
        vs::lsh::measure_plans(store, searcher, state->sample, state->sample_refs, truth, n, LSH_TRUTH_K,
                               lsh_plan_reference(meta.layout), LSH_CALIBRATION_PROBES, LSH_CALIBRATION_CANDIDATES,
                               &state->allocator, log);
        for (int i = 0; i < LSH_KNOTS; i++) {
            vs::lsh::PlanCalibration p = vs::lsh::choose_threshold(log, LSH_CALIBRATION_TARGETS[i], LSH_TRUTH_K);
            if (p.threshold <= 0 || p.cost >= cost[i]) continue;
            meta.knots[i].threshold = float(p.threshold);
            meta.knots[i].recall = float(p.recall);
            cost[i] = p.cost;
        }
        vs::lsh::release_plan_log(log, &state->allocator);
    }
    meta.calibration_queries = uint32(n);
    for (int i = 0; i < LSH_KNOTS; i++) {
        const LshKnot &knot = meta.knots[i];
        if (knot.threshold > 0)
            elog(DEBUG1, "lsh calibration on %zu rows: target %.3f plans per query to expected recall %.4f for recall %.3f (%.0f us)",
                 n, knot.target, knot.threshold, knot.recall, cost[i]);
        else
            elog(DEBUG1, "lsh calibration on %zu rows: target %.3f takes %d probes and %d candidates for recall %.3f (%.0f us)", n,
                 knot.target, knot.probes, knot.candidates, knot.recall, cost[i]);
    }
}

// Writes the buckets' open pages and the directory, and syncs the file.
static void finish_pages(LshBuildState *state) {
    LshMeta &meta = state->info.meta;
    const std::size_t slots = std::size_t(meta.layout.tables) * meta.layout.buckets;
    write_open_pages(state);
    meta.directory_start = state->next_block;
    meta.directory_pages = uint32((slots + state->info.slots_per_page - 1) / state->info.slots_per_page);
    Page page = static_cast<Page>(palloc(BLCKSZ));
    for (uint32 p = 0; p < meta.directory_pages; p++) {
        CHECK_FOR_INTERRUPTS();
        lsh_init_directory_page(page);
        BlockNumber *out = lsh_directory_slots(page);
        for (uint32 i = 0; i < state->info.slots_per_page; i++) {
            std::size_t slot = std::size_t(p) * state->info.slots_per_page + i;
            if (slot < slots) out[i] = state->last_page[slot];
        }
        state->writer.write(page);
        state->next_block++;
    }
    pfree(page);
    state->writer.finish();
}

// The contexts of a build or participant whose info is set, and what it hashes a row with.
static void start_memory(LshBuildState *state) {
    state->context = AllocSetContextCreate(CurrentMemoryContext, "lsh build", ALLOCSET_DEFAULT_SIZES);
    state->tuple_context = AllocSetContextCreate(state->context, "lsh build tuple", ALLOCSET_DEFAULT_SIZES);
    state->allocator = index_allocator(state->context);
    state->row = static_cast<float *>(MemoryContextAlloc(state->context, sizeof(float) * state->info.dims));
}

// A participant's share of the hash pass of a parallel build: its rows become records, its
// calibration queries' nearest rows among them its slot of the shared ground truth.
static void hash_participant(ParallelBuildShared *build, LshShared *shared, Relation heap, Relation index) {
    LshBuildState state;
    memset(&state, 0, sizeof(state));
    state.index = index;
    state.shared = shared;
    state.info.meta = shared->meta;
    lsh_derive_info(&state.info);
    start_memory(&state);
    MemoryContext old = MemoryContextSwitchTo(state.context);
    const int dims = state.info.dims;
    state.sketch = static_cast<uint64 *>(palloc0(sizeof(uint64) * Max(1, state.info.sketch_words)));
    state.hasher.init(&state.info.meta.layout, &state.allocator);
    state.queries = shared->queries;
    state.query_vectors = reinterpret_cast<float *>(shared_at(shared, shared->queries_offset));
    state.sample_refs = reinterpret_cast<vs::Ref *>(state.query_vectors + state.queries * dims);
    state.truth = static_cast<vs::CandidateHeap<true> *>(palloc(sizeof(vs::CandidateHeap<true>) * Max(state.queries, 1)));
    for (std::size_t q = 0; q < state.queries; q++) state.truth[q].init(&state.allocator, LSH_TRUTH_K + 1);
    parallel_build_scan(build, heap, index, !IsParallelWorker(), hash_callback, &state);

    uint32 slot = pg_atomic_fetch_add_u32(&shared->next_participant, 1);
    if (slot >= shared->participants) elog(ERROR, "lsh build: more participants than the leader planned");
    auto *truth = reinterpret_cast<vs::Candidate *>(shared_at(shared, shared->truth_offset)) +
                  std::size_t(slot) * state.queries * LSH_TRUTH_K;
    for (std::size_t q = 0; q < state.queries; q++) {
        vs::Candidate found[LSH_TRUTH_K + 1];
        std::size_t count = state.truth[q].drain_sorted(found);
        for (int j = 0; j < LSH_TRUTH_K; j++)
            truth[q * LSH_TRUTH_K + j] = std::size_t(j) < count ? found[j] : vs::Candidate{INFINITY, vs::kNoRef};
    }
    MemoryContextSwitchTo(old);
    MemoryContextDelete(state.context);
}

extern "C" PGDLLEXPORT void lsh_parallel_build_main(dsm_segment *seg, shm_toc *toc) {
    return vs::guard([&]() {
        ParallelBuildWorker worker;
        parallel_build_attach(toc, &worker);
        hash_participant(worker.shared, static_cast<LshShared *>(worker.am_shared), worker.heap, worker.index);
        parallel_build_detach(toc, &worker);
    });
}

// The hash pass with parallel workers (PostgreSQL plans them only for btree, so the build asks
// the planner itself): every participant hashes its share of the table into records in shared
// memory and finds its share of the ground truth; the leader then writes the records to pages
// in one process, so pages are written in block order as in a serial build. The records are
// sized from the rows the sample pass counted, with room for rows a concurrent build's later
// snapshot sees. Returns the heap rows the participants scanned; -1, having written nothing,
// when the records did not fit or no shared memory could be had: the caller hashes alone.
static double hash_in_parallel(LshBuildState *state, Relation heap, IndexInfo *index_info, int workers,
                               double counted_rows) {
    const vs::lsh::Layout &layout = state->info.meta.layout;
    const int dims = state->info.dims;
    const Size record_bytes =
        TYPEALIGN(8, sizeof(vs::Ref) + sizeof(uint32) * layout.tables) + sizeof(uint64) * state->info.sketch_words;
    const uint64 capacity = uint64(counted_rows * 1.25) + 1024;
    const uint32 participants = uint32(workers) + 1;
    const Size queries_offset = MAXALIGN(sizeof(LshShared));
    const Size truth_offset =
        MAXALIGN(queries_offset + state->queries * (sizeof(float) * dims + sizeof(vs::Ref)));
    const Size records_offset =
        BUFFERALIGN(truth_offset + sizeof(vs::Candidate) * LSH_TRUTH_K * state->queries * participants);
    const Size bytes = records_offset + record_bytes * capacity;
    // The records are what grows with the table; the queries and their truths are the build's
    // anyway (the sample).
    if (record_bytes * capacity > Size(maintenance_work_mem) * 1024) {
        ereport(NOTICE, (errmsg("lsh build no longer fits into maintenance_work_mem with parallel workers"),
                         errdetail("Their records of %.0f rows need %zu bytes.", counted_rows,
                                   Size(record_bytes * capacity)),
                         errhint("Increase maintenance_work_mem to build with parallel workers.")));
        return -1;
    }
    ParallelBuild build;
    if (!parallel_build_begin(&build, "lsh_parallel_build_main", heap, state->index, index_info, workers, bytes))
        return -1;
    // The open pages share maintenance_work_mem with the records they are written from.
    const std::size_t serial_open_limit = state->open_limit;
    state->open_limit = std::max<std::size_t>(1, (Size(maintenance_work_mem) * 1024 - record_bytes * capacity) / BLCKSZ);
    auto *shared = static_cast<LshShared *>(build.am_shared);
    shared->meta = state->info.meta;
    shared->queries = uint32(state->queries);
    shared->participants = participants;
    shared->record_bytes = record_bytes;
    shared->record_capacity = capacity;
    shared->queries_offset = queries_offset;
    shared->truth_offset = truth_offset;
    shared->records_offset = records_offset;
    pg_atomic_init_u32(&shared->next_participant, 0);
    pg_atomic_init_u64(&shared->next_record, 0);
    pg_atomic_init_u64(&shared->indexed, 0);
    float *queries = reinterpret_cast<float *>(shared_at(shared, queries_offset));
    memcpy(queries, state->query_vectors, sizeof(float) * dims * state->queries);
    memcpy(queries + state->queries * dims, state->sample_refs, sizeof(vs::Ref) * state->queries);

    int launched = parallel_build_launch(&build);
    ereport(DEBUG1, (errmsg("lsh build with %d parallel workers", launched)));
    hash_participant(build.shared, shared, heap, state->index);
    const double heap_tuples = parallel_build_wait(&build, index_info);

    const uint64 records = pg_atomic_read_u64(&shared->next_record);
    if (records > capacity) {
        parallel_build_end(&build);
        state->open_limit = serial_open_limit;
        ereport(NOTICE, (errmsg("lsh index build continues without parallel workers"),
                         errdetail("The table held more rows than its first pass counted.")));
        return -1;
    }
    for (uint64 i = 0; i < records; i++) {
        CHECK_FOR_INTERRUPTS();
        LshRecord *record = shared_record(shared, i);
        ItemPointerData tid = lsh_ref_tid(record->tid);
        memcpy(state->sketch, record_sketch(shared, record), sizeof(uint64) * state->info.sketch_words);
        for (int t = 0; t < layout.tables; t++) add_to_bucket(state, t, record->buckets[t], &tid);
        state->indexed++;
    }
    const auto *truth = reinterpret_cast<const vs::Candidate *>(shared_at(shared, truth_offset));
    const uint32 finished = std::min(pg_atomic_read_u32(&shared->next_participant), participants);
    for (uint32 p = 0; p < finished; p++)
        for (std::size_t q = 0; q < state->queries; q++)
            for (int j = 0; j < LSH_TRUTH_K; j++) {
                const vs::Candidate &c = truth[(p * state->queries + q) * LSH_TRUTH_K + j];
                if (c.ref == vs::kNoRef) break;
                offer_truth(state->truth[q], c);
            }
    parallel_build_end(&build);
    return heap_tuples;
}

IndexBuildResult *lsh_build(Relation heap, Relation index, IndexInfo *index_info) {
    return vs::guard([&]() {
        if (RelationGetNumberOfBlocks(index) != 0)
            elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
        LshBuildState state;
        memset(&state, 0, sizeof(state));
        state.index = index;
        state.options = lsh_options(index);
        init_unshaped(index, &state.info, state.options);
        start_memory(&state);
        MemoryContext old = MemoryContextSwitchTo(state.context);
        const int dims = state.info.dims;
        const std::size_t affordable = std::size_t(maintenance_work_mem) * 1024 / 4 / (sizeof(float) * dims);
        state.sample_capacity = std::clamp(affordable, LSH_MIN_SAMPLE_ROWS, LSH_SAMPLE_ROWS);
        state.sample = static_cast<float *>(
            palloc_extended(sizeof(float) * dims * state.sample_capacity, MCXT_ALLOC_HUGE));
        state.sample_refs = static_cast<vs::Ref *>(palloc(sizeof(vs::Ref) * state.sample_capacity));
        pg_prng_seed(&state.prng, LSH_SEED);

        const int params[] = {PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_CREATEIDX_TUPLES_TOTAL};
        const int64 values[] = {LSH_PHASE_SAMPLE, int64(std::max<float4>(heap->rd_rel->reltuples, 0))};
        pgstat_progress_update_multi_param(2, params, values);
        table_index_build_scan(heap, index, index_info, true, true, sample_callback, &state, nullptr);
        if (state.indexed >= state.options.shape_rows) shape(&state);

        const std::size_t slots = std::size_t(state.info.meta.layout.tables) * state.info.meta.layout.buckets;
        state.open_pages = static_cast<Page *>(palloc_extended(sizeof(Page) * slots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
        state.last_page = static_cast<BlockNumber *>(palloc_extended(sizeof(BlockNumber) * slots, MCXT_ALLOC_HUGE));
        for (std::size_t s = 0; s < slots; s++) state.last_page[s] = InvalidBlockNumber;
        state.chain_entries = static_cast<uint32 *>(palloc_extended(sizeof(uint32) * slots, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO));
        state.sketch = static_cast<uint64 *>(palloc0(sizeof(uint64) * Max(1, state.info.sketch_words)));
        state.open_limit = std::max<std::size_t>(1, std::size_t(maintenance_work_mem) * 1024 / BLCKSZ);

        state.writer.start(index);
        Page meta_page = static_cast<Page>(palloc(BLCKSZ));
        write_meta_page(meta_page, state.info.meta);  // completed once the directory is written
        state.writer.write(meta_page);
        state.next_block = 1;
        const double counted_rows = state.indexed;
        state.indexed = 0;
        pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, LSH_PHASE_HASH);
        int workers = state.info.meta.shaped ? plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index)) : 0;
        // The hash pass's rows are the build's (a concurrent build's second snapshot sees more).
        double heap_tuples = workers > 0 ? hash_in_parallel(&state, heap, index_info, workers, counted_rows) : -1;
        if (heap_tuples < 0)
            heap_tuples = table_index_build_scan(heap, index, index_info, true, true, hash_callback, &state, nullptr);
        finish_pages(&state);
        if (state.info.meta.shaped) calibrate(&state);

        LshMeta &meta = state.info.meta;
        meta.built_rows = state.indexed;
        meta.built_blocks = RelationGetNumberOfBlocks(index);
        index_change_meta<LshMeta>(index, [&](LshMeta *stored) {
            *stored = meta;
            return true;
        });
        MemoryContextSwitchTo(old);
        MemoryContextDelete(state.context);
        IndexBuildResult *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
        result->heap_tuples = heap_tuples;
        result->index_tuples = meta.built_rows;
        return result;
    });
}

// An empty unshaped index: the metapage and one directory page.
static void init_empty_page(Relation index, BlockNumber block, Page page) {
    if (block == VS_METAPAGE_BLKNO) {
        LshIndexInfo info;
        init_unshaped(index, &info, lsh_options(index));
        info.meta.directory_start = 1;
        info.meta.directory_pages = 1;
        write_meta_page(page, info.meta);
    } else {
        lsh_init_directory_page(page);
    }
}

// An unlogged index's init fork.
void lsh_buildempty(Relation index) {
    return vs::guard([&]() { index_build_empty(index, 2, init_empty_page); });
}
