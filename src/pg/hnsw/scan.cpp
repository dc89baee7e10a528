// Scanning an hnsw index for ORDER BY embedding <op> $1 LIMIT k: one graph search with a beam
// of hnsw.ef_search on the first call, then the results nearest first, one per call. With
// hnsw.iterative_scan on, a scan whose rows a filter rejected goes on with the next batch of
// ef_search elements, from where the search left off, until hnsw.max_scan_tuples elements
// were visited or its memory passes hnsw.scan_mem_multiplier x work_mem. The settings are read
// once, at rescan: one changed while the scan runs (set_config in the query, SET between two
// FETCHes of a cursor) takes effect at the next rescan.
#include "pg/hnsw/hnsw.h"
#include "pg/test_hooks.h"

#include <algorithm>
#include <limits>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/relscan.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

// The graph search's memory: a visited set, heaps and lists that grow with ef (about 150 KB at
// ef_search 160). Allocated for each scan, it went back to malloc and the kernel at every scan's
// end (brk, page faults: a tenth of a query's server time on 128 dimensions), so a backend
// keeps the last one for its next scan.
struct HnswSearchMemory {
    MemoryContext context;
    vs::Allocator allocator;
    vs::hnsw::Workspace ws;
    vs::CandidateHeap<false> discarded;  // seen, not returned: where an iterative scan's next batch starts
};

static HnswSearchMemory *spare_memory;  // in use by no scan

// The most search memory a backend keeps between scans: a scan at the widest hnsw.ef_search
// needs less than this, so only an iterative scan that grew its visited set far beyond gives
// its memory back, rather than leave it with the backend for good.
static constexpr Size HNSW_SPARE_MEMORY_LIMIT = 1024 * 1024;

// The spare memory, or new; owned by the current memory context (the query's), so that an error
// frees it with the rest of the query.
static HnswSearchMemory *take_search_memory() {
    HnswSearchMemory *mem = spare_memory;
    if (mem != nullptr) {
        spare_memory = nullptr;
        MemoryContextSetParent(mem->context, CurrentMemoryContext);
        return mem;
    }
    MemoryContext context = AllocSetContextCreate(CurrentMemoryContext, "hnsw search", ALLOCSET_DEFAULT_SIZES);
    mem = static_cast<HnswSearchMemory *>(MemoryContextAllocZero(context, sizeof(HnswSearchMemory)));
    mem->context = context;
    mem->allocator = hnsw_allocator(context);
    mem->ws.init(&mem->allocator, HNSW_DEFAULT_M, HNSW_DEFAULT_EF_SEARCH);  // both only size it to begin with
    mem->discarded.init(&mem->allocator, 64);
    return mem;
}

static void keep_search_memory(HnswSearchMemory *mem) {
    if (spare_memory != nullptr || MemoryContextMemAllocated(mem->context, true) > HNSW_SPARE_MEMORY_LIMIT) {
        MemoryContextDelete(mem->context);
        return;
    }
    MemoryContextSetParent(mem->context, TopMemoryContext);
    spare_memory = mem;
}

// The settings that shape a scan's work, as they were at its rescan.
struct HnswScanSettings {
    int ef_search;
    int iterative;
    int max_scan_tuples;
    double memory_limit;  // bytes
};

struct HnswScanState {
    MemoryContext context;  // reset on every rescan
    HnswIndexInfo info;
    HnswScanSettings settings;
    float *query;           // nullptr for a NULL query, or a zero one under cosine
    bool searched;
    HnswSearchMemory *mem;
    HnswPageStore store;
    vs::Candidate *results;
    int n_results;
    int next;
    float last_distance;    // of the row returned last, for strict_order
};
// Both live in palloc'd memory across buffer reads that may ereport: a longjmp must leave
// nothing to destroy.
static_assert(std::is_trivially_destructible_v<HnswScanState>);
static_assert(std::is_trivially_destructible_v<HnswSearchMemory>);

IndexScanDesc hnsw_beginscan(Relation index, int nkeys, int norderbys) {
    return vs::guard([&]() {
        IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
        auto *so = static_cast<HnswScanState *>(palloc0(sizeof(HnswScanState)));
        so->context = AllocSetContextCreate(CurrentMemoryContext, "hnsw scan", ALLOCSET_DEFAULT_SIZES);
        so->mem = take_search_memory();
        so->info = *hnsw_index_info(index);
        scan->opaque = so;
        return scan;
    });
}

void hnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
    return vs::guard([&]() {
        auto *so = static_cast<HnswScanState *>(scan->opaque);
        MemoryContextReset(so->context);
        so->query = nullptr;
        so->searched = false;
        so->n_results = so->next = 0;
        so->last_distance = -std::numeric_limits<float>::infinity();
        so->settings = {hnsw_ef_search, hnsw_iterative_scan, hnsw_max_scan_tuples,
                        double(work_mem) * 1024 * hnsw_scan_mem_multiplier};
        if (scan->numberOfOrderBys == 0) return;  // gettuple reports it
        if (orderbys) memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
        if (scan->orderByData[0].sk_flags & SK_ISNULL) return;

        MemoryContext old = MemoryContextSwitchTo(so->context);
        VectorView v;
        view_vector(scan->orderByData[0].sk_argument, &v);
        check_expected_dims(so->info.dims, v.dim);
        so->query = static_cast<float *>(palloc(sizeof(float) * v.dim));
        memcpy(so->query, v.x, sizeof(float) * v.dim);
        // A zero query has no cosine distance to anything: like a NULL, every row sorts the same.
        if (!hnsw_prepare_query(so->info.metric, so->query, v.dim)) so->query = nullptr;
        MemoryContextSwitchTo(old);
    });
}

// Rows must come in the order the SQL operator gives them, even where two distances differ only
// in the last bit: the results whose vectors cross a page boundary, whose distances were summed
// piece by piece, get their exact distance, and all are sorted again. On a hot standby every
// result's distance is read again under its record's lock (HnswPageStore::checked_distance),
// and results no longer valid go: the primary's wait before reusing a slot does not see the
// standby's snapshots, so an old scan there could otherwise mix two vectors of a reused slot.
static void rerank(HnswScanState *so) {
    bool standby = RecoveryInProgress();
    bool changed = false;
    int kept = 0;
    for (int i = 0; i < so->n_results; i++) {
        vs::Candidate c = so->results[i];
        if (standby) {
            uint8 flags;
            c.distance = so->store.checked_distance(c.ref, &flags);
            if (!(flags & HNSW_FLAG_VALID) || (flags & HNSW_FLAG_DELETED)) continue;
        } else if (hnsw_vector_crosses_pages(&so->info, c.ref)) {
            c.distance = so->store.exact_distance(c.ref);
        }
        changed |= c.distance != so->results[i].distance || kept != i;
        so->results[kept++] = c;
    }
    so->n_results = kept;
    if (changed)
        std::stable_sort(so->results, so->results + kept,
                         [](const vs::Candidate &a, const vs::Candidate &b) { return a.distance < b.distance; });
}

static void search(IndexScanDesc scan, HnswScanState *so) {
    Relation index = scan->indexRelation;
    MemoryContext old = MemoryContextSwitchTo(so->context);
    so->store.init(index, &so->info, so->context);
    vs::hnsw::Workspace &ws = so->mem->ws;
    vs::CandidateHeap<false> *discarded = so->settings.iterative != HNSW_ITERATIVE_OFF ? &so->mem->discarded : nullptr;
    for (bool dead_end = false;; dead_end = true) {
        vs::hnsw::EntryPoint entry = hnsw_entry_point(index, &so->info, dead_end);
        if (entry.ref == vs::kNoRef) break;
        // Under a query that orders nothing every row is as good as any other, but the rows must
        // still come back as they would from a sequential scan: walk the graph around its entry.
        if (so->query == nullptr) {
            so->query = static_cast<float *>(palloc(sizeof(float) * so->info.dims));
            hnsw_read_vector(index, &so->info, entry.ref, so->query);
        }
        so->store.set_query(so->query);
        VS_TEST_PAUSE("hnsw_scan_walk");
        int found = vs::hnsw::search(so->store, entry, so->settings.ef_search, ws, discarded);
        if (found != vs::hnsw::kDeadEnd) {
            so->n_results = found;
            so->results = ws.sorted;
            rerank(so);
            break;
        }
    }
    MemoryContextSwitchTo(old);
}

// The next batch of an iterative scan; false when there is none, or the scan reached its limits.
static bool search_more(HnswScanState *so) {
    HnswSearchMemory *mem = so->mem;
    const HnswScanSettings &settings = so->settings;
    if (settings.iterative == HNSW_ITERATIVE_OFF || mem->discarded.empty()) return false;
    if (mem->ws.visited.size() >= std::size_t(settings.max_scan_tuples)) return false;
    Size used = MemoryContextMemAllocated(so->context, true) + MemoryContextMemAllocated(mem->context, true);
    if (double(used) > settings.memory_limit) return false;
    MemoryContext old = MemoryContextSwitchTo(so->context);
    so->n_results = vs::hnsw::search_more(so->store, settings.ef_search, mem->ws, &mem->discarded);
    so->results = mem->ws.sorted;
    so->next = 0;
    rerank(so);
    MemoryContextSwitchTo(old);
    return true;
}

bool hnsw_gettuple(IndexScanDesc scan, ScanDirection dir) {
    return vs::guard([&]() {
        auto *so = static_cast<HnswScanState *>(scan->opaque);
        if (scan->numberOfOrderBys == 0)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cannot scan hnsw index without order")));
        if (!so->searched) {
            // idx_scan of pg_stat_user_indexes, which tools read to find unused indexes (the tuples
            // returned, idx_tup_read, are counted by the executor).
            pgstat_count_index_scan(scan->indexRelation);
            search(scan, so);
            so->searched = true;
        }
        do {
            while (so->next < so->n_results) {
                vs::Candidate c = so->results[so->next++];
                // strict_order keeps the order of distances by leaving out a later batch's nearer rows.
                if (so->settings.iterative == HNSW_ITERATIVE_STRICT && c.distance < so->last_distance) continue;
                ItemPointerData heap_tid;
                uint8 flags = hnsw_element_flags(scan->indexRelation, &so->info, c.ref, &heap_tid);
                if ((flags & HNSW_FLAG_VALID) == 0 || (flags & HNSW_FLAG_DELETED) != 0) continue;
                so->last_distance = c.distance;
                scan->xs_heaptid = heap_tid;
                scan->xs_recheck = false;
                scan->xs_recheckorderby = false;
                return true;
            }
            CHECK_FOR_INTERRUPTS();
        } while (search_more(so));
        return false;
    });
}

void hnsw_endscan(IndexScanDesc scan) {
    return vs::guard([&]() {
        auto *so = static_cast<HnswScanState *>(scan->opaque);
        MemoryContextDelete(so->context);
        keep_search_memory(so->mem);
        pfree(so);
        scan->opaque = nullptr;
    });
}
