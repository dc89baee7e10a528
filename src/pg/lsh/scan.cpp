// Scanning an lsh index for ORDER BY embedding <op> $1 [LIMIT k]. A batch probes lsh.probes
// buckets per table in the query's likelihood order (multiprobe), ranks the entries read by
// sketch Hamming distance, and re-ranks the best lsh.candidates exactly; both settings come from
// lsh.target_recall through the build's calibration unless set. Where the calibration found it
// cheaper (L2 only), the first batch instead plans per query how far to probe and cut
// (Searcher::plan), to the calibrated expected recall. The calibration sized the first
// batch's C candidates for the nearest 10 rows, so it releases those 10 to the executor, and of
// all the rows re-ranked by later batches only the nearest 5/C (release() says why 5). The
// others wait in a pool, nearest first, and each further batch
// (doubled candidates, half as many more probes) merges its new rows into it. So a LIMIT above
// 10, or a filter that rejects rows, gets rows as accurate as a search sized for them, and few
// rows a later batch finds are nearer than those released (which strict order leaves out). The
// scan ends when the index was probed and re-ranked entirely or lsh.max_scan_tuples rows were
// re-ranked; then the pool is released whole. Settings are read at rescan.
//
// The re-rank reads the rows from the heap, under the scan's snapshot, and computes the SQL
// operator's distance on the indexed value. The index's order is then exact, so the executor's
// order-by recheck is not needed: the index holds no distance that could serve as a lower bound
// (IndexNextWithReorder requires one), and with a constant bound every row would wait in the
// executor's reorder queue until the scan ended. An expression index's value is not in the heap:
// it is computed from the row (FormIndexDatum), as insert computed it. Invisible rows are left
// out here, and the executor fetches the rows it is handed a second time.
#include "pg/lsh/lsh.h"
#include "pg/index/scan.h"
#include "pg/test_hooks.h"

#include <algorithm>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/relscan.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

struct LshScanState {
    MemoryContext context;        // the scan's, for its whole life
    MemoryContext query_context;  // reset on every rescan
    MemoryContext row_context;    // reset after every row re-ranked
    LshIndexInfo info;
    vs::Allocator allocator;
    vs::lsh::Searcher searcher;  // of a shaped index
    LshPageStore store;
    vs::VisitedSet reranked;     // entries a batch of this pass has re-ranked already

    // as at rescan
    vs::lsh::SearchSettings settings;  // of the next fixed batch
    bool planned;                      // the next batch (the first, if the knot says so) plans per query
    vs::lsh::PlanSettings plan;
    int iterative;
    int max_scan_tuples;
    double memory_limit;  // bytes
    float *query;  // nullptr for a NULL query, or one that orders nothing (zero, under <=> and <#>)
    vs::Half *query_halves;  // a halfvec index's query as given, which rows are re-ranked against
    vs::VectorKernel<vs::Half> half_distance;  // by halfvec's own kernel of the index's metric

    bool searched;
    bool exhausted;  // the last batch probed and re-ranked everything
    uint32 next_bucket;  // of table 0, for a query that orders nothing
    bool finished;   // the pool was released whole: no batch follows
    vs::Candidate *pool;   // re-ranked rows not handed to the executor, nearest first
    std::size_t pool_count;
    std::size_t pool_capacity;
    std::size_t released;        // the pool's first rows, handed to the stream
    std::size_t total_released;  // rows handed to the stream by all batches
    int first_candidates;        // of the first batch, sized for the nearest 10
    std::size_t total_reranked;
    vs::index::ResultStream stream;
    vs::index::ScanStats stats;
    std::int64_t pages_at_rescan;

    // reading rows from the heap
    IndexFetchTableData *fetch;
    TupleTableSlot *slot;
    IndexInfo *index_info;
    EState *estate;  // for an expression index
};
static_assert(std::is_trivially_destructible_v<LshScanState>);

LshScanSettings lsh_scan_settings(const LshIndexInfo *info, int max_scan_tuples) {
    const LshMeta &meta = info->meta;
    int k = 0;
    const double aim = lsh_target_recall + std::min(LSH_TARGET_MARGIN, (1 - lsh_target_recall) / 4);
    while (k + 1 < LSH_KNOTS && meta.knots[k].target + 1e-6 < aim) k++;
    const LshKnot &knot = meta.knots[k];
    LshScanSettings settings = {{knot.probes, knot.candidates}, false, {}};
    if (lsh_probes > 0) settings.fixed.probes = lsh_probes;
    if (lsh_candidates > 0) settings.fixed.candidates = lsh_candidates;
    settings.fixed.probes = int(std::min<uint32>(uint32(std::max(settings.fixed.probes, 1)), meta.layout.buckets));
    settings.fixed.candidates = std::max(settings.fixed.candidates, 1);
    settings.planned = lsh_probes == 0 && lsh_candidates == 0 && lsh_knot_plans(meta, knot);
    if (settings.planned)
        settings.plan = {knot.threshold, lsh_plan_reference(meta.layout), LSH_CALIBRATION_PROBES,
                         std::size_t(std::min(LSH_CALIBRATION_CANDIDATES, max_scan_tuples))};
    return settings;
}

static void publish_stats(IndexScanDesc scan, LshScanState *so) {
    if (so->searched) vs::index::publish_scan_stats(RelationGetRelid(scan->indexRelation), so->stats);
}

IndexScanDesc lsh_beginscan(Relation index, int nkeys, int norderbys) {
    return vs::guard([&]() {
        IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
        MemoryContext context = AllocSetContextCreate(CurrentMemoryContext, "lsh scan", ALLOCSET_DEFAULT_SIZES);
        auto *so = static_cast<LshScanState *>(MemoryContextAllocZero(context, sizeof(LshScanState)));
        so->context = context;
        so->query_context = AllocSetContextCreate(context, "lsh scan query", ALLOCSET_DEFAULT_SIZES);
        so->row_context = AllocSetContextCreate(context, "lsh scan row", ALLOCSET_SMALL_SIZES);
        so->info = *lsh_index_info(index);
        so->allocator = index_allocator(context);
        MemoryContext old = MemoryContextSwitchTo(context);
        if (so->info.meta.shaped) so->searcher.init(&so->info.meta.layout, &so->allocator);
        so->store.init(index, &so->info, context);
        so->reranked.init(&so->allocator, 1024);
        so->pool_capacity = 1024;
        so->pool = static_cast<vs::Candidate *>(palloc(sizeof(vs::Candidate) * so->pool_capacity));
        MemoryContextSwitchTo(old);
        scan->opaque = so;
        return scan;
    });
}

void lsh_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
    return vs::guard([&]() {
        auto *so = static_cast<LshScanState *>(scan->opaque);
        publish_stats(scan, so);
        MemoryContextReset(so->query_context);
        so->query = nullptr;
        so->query_halves = nullptr;
        so->searched = false;
        so->exhausted = false;
        so->finished = false;
        so->next_bucket = 0;
        so->pool_count = so->released = so->total_released = 0;
        so->total_reranked = 0;
        so->iterative = lsh_iterative.mode;
        so->max_scan_tuples = lsh_iterative.max_scan_tuples;
        const LshScanSettings settings = lsh_scan_settings(&so->info, so->max_scan_tuples);
        so->settings = settings.fixed;
        so->planned = settings.planned;
        so->plan = settings.plan;
        // As the first batch re-ranks them (search_batch stops it at max_scan_tuples, and a
        // planned first batch sets it to what it kept).
        so->first_candidates = std::min(so->settings.candidates, so->max_scan_tuples);
        so->memory_limit = double(work_mem) * 1024 * lsh_iterative.scan_mem_multiplier;
        so->stream.reset(so->iterative != INDEX_ITERATIVE_RELAXED);
        so->stream.set_batch(so->pool, 0);
        so->stats = {};
        so->pages_at_rescan = so->store.pages();
        so->reranked.clear();
        if (scan->numberOfOrderBys == 0) return;  // gettuple reports it
        if (orderbys) memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
        if (scan->orderByData[0].sk_flags & SK_ISNULL) return;

        MemoryContext old = MemoryContextSwitchTo(so->query_context);
        Datum query = scan->orderByData[0].sk_argument;
        const int dims = so->info.dims;
        so->query = static_cast<float *>(palloc(sizeof(float) * dims));
        if (so->info.meta.header.element_type == uint16(vs::Element::Half)) {
            // The halves as given (a zero one has no key under cosine, but its halves are read)
            // and the floats they widen to, from one read of the query.
            so->query_halves = static_cast<vs::Half *>(palloc(sizeof(vs::Half) * dims));
            index_read_key(query, vs::Element::Half, so->info.metric, dims, reinterpret_cast<unsigned char *>(so->query_halves));
            for (int i = 0; i < dims; i++) so->query[i] = vs::half_to_float(so->query_halves[i]);
            so->half_distance = vs::HalfVector::kernel(vs_half_kernels, so->info.metric);
        } else {
            index_read_floats(query, vs::Element::Float4, dims, so->query);
        }
        // A zero query has no cosine distance, and no inner product but 0, with any row: like a
        // NULL, it orders nothing.
        bool zero = true;
        for (int i = 0; i < dims && zero; i++) zero = so->query[i] == 0;
        if (zero && so->info.metric != vs::Metric::L2) so->query = nullptr;
        MemoryContextSwitchTo(old);
    });
}

static void reserve_pool(LshScanState *so, std::size_t n) {
    if (n <= so->pool_capacity) return;
    std::size_t capacity = std::max(n, 2 * so->pool_capacity);
    so->pool = static_cast<vs::Candidate *>(repalloc_huge(so->pool, sizeof(vs::Candidate) * capacity));
    so->pool_capacity = capacity;
}

// The indexed value of the row in so->slot, or false if it has none.
static bool indexed_value(IndexScanDesc scan, LshScanState *so, Datum *value) {
    bool isnull;
    if (so->index_info->ii_IndexAttrNumbers[0] != 0) {
        *value = slot_getattr(so->slot, so->index_info->ii_IndexAttrNumbers[0], &isnull);
        return !isnull;
    }
    ExprContext *econtext = GetPerTupleExprContext(so->estate);
    econtext->ecxt_scantuple = so->slot;
    FormIndexDatum(so->index_info, so->slot, so->estate, value, &isnull);
    return !isnull;
}

static void start_heap_reads(IndexScanDesc scan, LshScanState *so) {
    if (so->fetch != nullptr) return;
    if (scan->heapRelation == nullptr)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("an lsh index scan needs its table")));
    MemoryContext old = MemoryContextSwitchTo(so->context);
    so->fetch = table_index_fetch_begin(scan->heapRelation);
    so->slot = table_slot_create(scan->heapRelation, nullptr);
    so->index_info = BuildIndexInfo(scan->indexRelation);
    if (so->index_info->ii_IndexAttrNumbers[0] == 0) so->estate = CreateExecutorState();
    MemoryContextSwitchTo(old);
}

// The distance of a row's value from the query in the order of the SQL operator, over the row's
// own elements: a halfvec row through the half kernels, as halfvec's operators compute it, so
// that rows come in their order and not merely in that of the floats the halves widen to.
static float row_distance(const LshScanState *so, Datum value) {
    const int dims = so->info.dims;
    if (so->info.meta.header.element_type == uint16(vs::Element::Half)) {
        DenseView<HalfvecType> v;
        view_vector(value, &v);
        check_expected_dims(dims, v.dim);
        return so->half_distance(so->query_halves, v.x, std::size_t(dims));
    }
    VectorView v;
    view_vector(value, &v);
    check_expected_dims(dims, v.dim);
    return lsh_exact_distance(so->info.metric, so->query, v.x, dims);
}

// Adds to the pool each of the n refs not re-ranked before whose row the scan's snapshot sees,
// with its exact distance in the index's order.
static void rerank(IndexScanDesc scan, LshScanState *so, const vs::Ref *refs, std::size_t n) {
    start_heap_reads(scan, so);
    reserve_pool(so, so->pool_count + n);
    vs::Candidate *fresh_rows = so->pool + so->pool_count;
    std::size_t fresh = 0;
    for (std::size_t i = 0; i < n; i++)
        if (so->reranked.insert(refs[i])) fresh_rows[fresh++] = {0, refs[i]};
    // In TID order, so that rows of one heap page are read together.
    std::sort(fresh_rows, fresh_rows + fresh, [](const vs::Candidate &a, const vs::Candidate &b) { return a.ref < b.ref; });
    std::size_t kept = 0;
    for (std::size_t i = 0; i < fresh; i++) {
        CHECK_FOR_INTERRUPTS();
        ItemPointerData tid = lsh_ref_tid(fresh_rows[i].ref);
        bool call_again = false, all_dead = false;
        if (!table_index_fetch_tuple(so->fetch, &tid, scan->xs_snapshot, so->slot, &call_again, &all_dead)) continue;
        MemoryContext old = MemoryContextSwitchTo(so->row_context);
        Datum value;
        bool found = indexed_value(scan, so, &value);
        float distance = found ? row_distance(so, value) : 0;
        MemoryContextSwitchTo(old);
        MemoryContextReset(so->row_context);
        if (so->estate) ResetPerTupleExprContext(so->estate);
        ExecClearTuple(so->slot);
        if (found) fresh_rows[kept++] = {distance, fresh_rows[i].ref};
    }
    so->pool_count += kept;
    so->total_reranked += fresh;
    so->stats.distances += int64(fresh);
}

// Hands the stream the pool's nearest rows: the first batch's 10, then 5 per first batch's
// candidates of all rows re-ranked (the sketch ranks farther rows less surely: at 10, a scan of
// the whole of a 5,000-row table in strict order left out 40% of the rows, at 5 12%), or the
// whole pool after the last batch.
static void release(LshScanState *so, bool whole) {
    std::sort(so->pool, so->pool + so->pool_count, [](const vs::Candidate &a, const vs::Candidate &b) {
        return a.distance < b.distance || (a.distance == b.distance && a.ref < b.ref);
    });
    const std::size_t trusted = std::max<std::size_t>(
        LSH_FIRST_RELEASE, so->total_reranked * LSH_RELEASE_PER_CANDIDATES / std::size_t(so->first_candidates));
    const std::size_t allowed = trusted > so->total_released ? trusted - so->total_released : 0;
    so->released = whole ? so->pool_count : std::min(so->pool_count, allowed);
    so->total_released += so->released;
    so->stream.set_batch(so->pool, int(so->released));
    so->stats.batches++;
}

// The next bucket of table 0, in storage order, for a query that orders nothing: one bucket a
// batch, so that its memory is a bucket's however large the index.
static void next_bucket_entries(LshScanState *so) {
    so->store.read_bucket(
        0, so->next_bucket, [&](int most) { reserve_pool(so, so->pool_count + std::size_t(most)); },
        [&](const vs::Ref *refs, const uint64 *, int count) {
            for (int i = 0; i < count; i++) so->pool[so->pool_count++] = {0, refs[i]};
            so->stats.visited += count;
        });
    so->exhausted = ++so->next_bucket >= so->info.meta.layout.buckets;
}

// Re-ranks the next batch's candidates into the pool.
static void search_batch(IndexScanDesc scan, LshScanState *so) {
    VS_TEST_PAUSE("lsh_scan_probe");
    if (so->query == nullptr) {
        next_bucket_entries(so);
        return;
    }
    if (!so->info.meta.shaped) {
        // Unshaped: one bucket, re-ranked entirely.
        std::size_t n = 0, capacity = 1024;
        vs::Ref *refs = static_cast<vs::Ref *>(MemoryContextAllocHuge(so->query_context, sizeof(vs::Ref) * capacity));
        so->store.read_bucket(
            0, 0,
            [&](int most) {
                if (n + std::size_t(most) <= capacity) return;
                capacity = 2 * (n + std::size_t(most));
                refs = static_cast<vs::Ref *>(repalloc_huge(refs, sizeof(vs::Ref) * capacity));
            },
            [&](const vs::Ref *page_refs, const uint64 *, int count) {
                memcpy(refs + n, page_refs, sizeof(vs::Ref) * count);
                n += std::size_t(count);
            });
        so->stats.visited += int64(n);
        rerank(scan, so, refs, n);
        so->exhausted = true;
        return;
    }
    std::size_t kept;
    const vs::lsh::ScanStats &found = so->searcher.stats();
    if (so->planned) {
        kept = so->searcher.plan(so->store, so->query, so->plan, vs::kNoRef, [](double, int, std::size_t) {});
        so->planned = false;
        // The first release is then 10 rows however many the plan re-ranked, and the fixed
        // batches after it start from at least what the plan did.
        so->first_candidates = int(std::clamp<std::size_t>(kept, std::size_t(so->first_candidates),
                                                           std::size_t(so->max_scan_tuples)));
        so->settings.probes = std::max(so->settings.probes, found.rounds);
        so->settings.candidates = std::max(so->settings.candidates, so->first_candidates);
    } else {
        vs::lsh::SearchSettings settings = so->settings;
        settings.candidates = std::min(settings.candidates, so->max_scan_tuples);
        kept = so->searcher.select(so->store, so->query, settings);
    }
    so->stats.visited += int64(found.entries);
    // Everything was probed and every distinct entry re-ranked: no later batch finds more.
    so->exhausted = uint32(found.rounds) >= so->info.meta.layout.buckets && kept == found.distinct;
    rerank(scan, so, so->searcher.candidate_refs(), kept);
    const uint32 buckets = so->info.meta.layout.buckets;
    so->settings.probes = int(std::min<uint64>(uint64(so->settings.probes) + (so->settings.probes + 1) / 2, buckets));
    so->settings.candidates = int(std::min<int64>(2 * int64(so->settings.candidates), PG_INT32_MAX));
}

// The next batch into the stream; false when the pool was released whole before.
static bool search(IndexScanDesc scan, LshScanState *so) {
    // The rows released last went to the executor (or were left out in strict order).
    so->pool_count -= so->released;
    memmove(so->pool, so->pool + so->released, sizeof(vs::Candidate) * so->pool_count);
    so->released = 0;
    if (so->finished) return false;
    // An iterative scan also stops when its memory passes lsh.scan_mem_multiplier x work_mem
    // (without one the planner chose the index to meet the LIMIT within max_scan_tuples).
    auto at_end = [&] {
        return so->exhausted || so->total_reranked >= std::size_t(so->max_scan_tuples) ||
               (so->iterative != INDEX_ITERATIVE_OFF &&
                double(MemoryContextMemAllocated(so->context, true)) > so->memory_limit);
    };
    if (!at_end()) search_batch(scan, so);
    // A query that orders nothing releases each bucket whole; the scan ends after the last.
    release(so, at_end() || so->query == nullptr);
    so->finished = at_end();
    return true;
}

bool lsh_gettuple(IndexScanDesc scan, ScanDirection dir) {
    return vs::guard([&]() {
        auto *so = static_cast<LshScanState *>(scan->opaque);
        if (scan->numberOfOrderBys == 0)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cannot scan lsh index without order")));
        if (!so->searched) {
            pgstat_count_index_scan(scan->indexRelation);
            so->searched = true;
        }
        bool found = false;
        for (;;) {
            vs::Candidate c;
            if (so->stream.next(&c)) {
                so->stream.returned(c, &so->stats);
                scan->xs_heaptid = lsh_ref_tid(c.ref);
                scan->xs_recheck = false;
                scan->xs_recheckorderby = false;
                found = true;
                break;
            }
            CHECK_FOR_INTERRUPTS();
            if (!search(scan, so)) break;
        }
        // The index pages of the pass; buffer usage would count the heap rows re-ranked too.
        so->stats.pages = so->store.pages() - so->pages_at_rescan;
        return found;
    });
}

void lsh_endscan(IndexScanDesc scan) {
    return vs::guard([&]() {
        auto *so = static_cast<LshScanState *>(scan->opaque);
        publish_stats(scan, so);
        if (so->fetch != nullptr) {
            table_index_fetch_end(so->fetch);
            ExecDropSingleTupleTableSlot(so->slot);
        }
        if (so->estate != nullptr) FreeExecutorState(so->estate);
        MemoryContextDelete(so->context);
        scan->opaque = nullptr;
    });
}
