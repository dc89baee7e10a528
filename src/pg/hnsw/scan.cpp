// Scanning an hnsw index for ORDER BY embedding <op> $1 [LIMIT k]: one graph search with a beam
// of hnsw.ef_search on the first call, then the results nearest first, one per call, and as
// long as the executor asks for more rows than a batch holds (a LIMIT above ef_search, rows a
// filter rejected), the next batch of ef_search from where the search left off, until
// hnsw.max_scan_tuples elements were visited or its memory passes hnsw.scan_mem_multiplier x
// work_mem. The executor takes the index's order as the ORDER BY's, so rows come in
// non-decreasing distance unless hnsw.iterative_scan = relaxed_order asked for nearly so. The
// settings are read once, at rescan: one changed while the scan runs (set_config in the query,
// SET between two FETCHes of a cursor) takes effect at the next rescan.
#include "pg/hnsw/hnsw.h"
#include "pg/index/scan.h"
#include "pg/test_hooks.h"

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
// ef_search 160), kept by the backend from one scan to the next (vs::index::SpareScanMemory).
struct HnswSearchMemory {
    MemoryContext context;
    vs::Allocator allocator;
    vs::hnsw::Workspace ws;
    vs::CandidateHeap<false> discarded;  // seen, not returned: where the next batch starts
};

static vs::index::SpareScanMemory spare_memory;

// The most search memory a backend keeps between scans: a scan at the widest hnsw.ef_search
// needs less than this, so only a scan that went on far beyond gives its memory back, rather
// than leave it with the backend for good.
static constexpr Size HNSW_SPARE_MEMORY_LIMIT = 1024 * 1024;

static HnswSearchMemory *take_search_memory() {
    MemoryContext context;
    if (void *kept = spare_memory.take(&context)) return static_cast<HnswSearchMemory *>(kept);
    context = AllocSetContextCreate(CurrentMemoryContext, "hnsw search", ALLOCSET_DEFAULT_SIZES);
    auto *mem = static_cast<HnswSearchMemory *>(MemoryContextAllocZero(context, sizeof(HnswSearchMemory)));
    mem->context = context;
    mem->allocator = index_allocator(context);
    mem->ws.init(&mem->allocator, HNSW_DEFAULT_M, HNSW_DEFAULT_EF_SEARCH);  // both only size it to begin with
    mem->discarded.init(&mem->allocator, 64);
    return mem;
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
    unsigned char *query;   // nullptr for a NULL query, or a zero one under cosine
    bool searched;
    HnswSearchMemory *mem;
    HnswPageStore store;
    vs::index::ResultStream stream;
    vs::index::ScanStats stats;
};
// Both live in palloc'd memory across buffer reads that may ereport: a longjmp must leave
// nothing to destroy.
static_assert(std::is_trivially_destructible_v<HnswScanState>);
static_assert(std::is_trivially_destructible_v<HnswSearchMemory>);

// The page store as the core's search sees it, counting the distances it computes.
struct CountingPageStore {
    HnswPageStore *store;
    vs::index::ScanStats *stats;

    float distance_to_query(vs::Ref r) {
        stats->distances++;
        return store->distance_to_query(r);
    }
    void distances_to_query(const vs::Ref *refs, int n, float *out) {
        stats->distances += n;
        store->distances_to_query(refs, n, out);
    }
    int neighbors(vs::Ref r, int layer, vs::Ref *out) { return store->neighbors(r, layer, out); }
};

// The statistics of the pass that ends (a rescan, the end of the scan) become the last scan's.
static void publish_stats(IndexScanDesc scan, HnswScanState *so) {
    if (so->searched) vs::index::publish_scan_stats(RelationGetRelid(scan->indexRelation), so->stats);
}

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
        publish_stats(scan, so);
        MemoryContextReset(so->context);
        so->query = nullptr;
        so->searched = false;
        so->settings = {hnsw_ef_search, hnsw_iterative.mode, hnsw_iterative.max_scan_tuples,
                        double(work_mem) * 1024 * hnsw_iterative.scan_mem_multiplier};
        so->stream.reset(so->settings.iterative != INDEX_ITERATIVE_RELAXED);
        so->stats = {};
        if (scan->numberOfOrderBys == 0) return;  // gettuple reports it
        if (orderbys) memmove(scan->orderByData, orderbys, scan->numberOfOrderBys * sizeof(ScanKeyData));
        if (scan->orderByData[0].sk_flags & SK_ISNULL) return;

        MemoryContext old = MemoryContextSwitchTo(so->context);
        so->query = static_cast<unsigned char *>(palloc(so->info.key_bytes));
        // A zero query has no cosine distance to anything: like a NULL, every row sorts the same.
        if (!index_read_key(scan->orderByData[0].sk_argument, so->info.element, so->info.metric, so->info.dims,
                            so->query))
            so->query = nullptr;
        MemoryContextSwitchTo(old);
    });
}

// Rows must come in the order the SQL operator gives them, even where two distances differ only
// in the last bit: the results whose distances were not the operator's (summed piece by piece
// over a vector across a page boundary, or a sparse L2 or L1 from the scattered query) get their
// exact distance, and all are sorted again. On a hot standby every
// result's distance is read again under its record's lock (HnswPageStore::checked_distance),
// and results no longer valid go: the primary's wait before reusing a slot does not see the
// standby's snapshots, so an old scan there could otherwise mix two vectors of a reused slot.
static void take_batch(HnswScanState *so, int found) {
    so->stream.set_batch(so->mem->ws.sorted, found);
    so->stats.batches++;
    so->stats.visited = int64(so->mem->ws.visited.size());
    bool standby = RecoveryInProgress();
    so->stream.rerank([&](vs::Candidate *c) {
        if (standby) {
            uint8 flags;
            so->stats.distances++;
            c->distance = so->store.checked_distance(c->ref, &flags);
            return (flags & HNSW_FLAG_VALID) && !(flags & HNSW_FLAG_DELETED);
        }
        if (!so->store.distance_exact(c->ref)) {
            so->stats.distances++;
            c->distance = so->store.exact_distance(c->ref);
        }
        return true;
    });
}

static void search(IndexScanDesc scan, HnswScanState *so) {
    Relation index = scan->indexRelation;
    MemoryContext old = MemoryContextSwitchTo(so->context);
    so->store.init(index, &so->info, so->context);
    CountingPageStore store{&so->store, &so->stats};
    // The search memory comes from the backend's last scan, maybe of another index: nothing of
    // it may seed a continuation unless this scan's search fills it (an empty index has none).
    so->mem->discarded.clear();
    for (bool dead_end = false;; dead_end = true) {
        vs::hnsw::EntryPoint entry = hnsw_entry_point(index, &so->info, dead_end);
        if (entry.ref == vs::kNoRef) break;
        // Under a query that orders nothing every row is as good as any other, but the rows must
        // still come back as they would from a sequential scan: walk the graph around its entry.
        if (so->query == nullptr) {
            unsigned char *key = static_cast<unsigned char *>(palloc(so->info.key_bytes));
            // On a standby the entry's sparse key may be gone, its slot reused since the metapage
            // was read; the metapage read again names a live entry.
            if (!hnsw_read_key(index, &so->info, entry.ref, key)) {
                if (dead_end)
                    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                                    errmsg("hnsw index \"%s\" has an entry point whose key cannot be read",
                                           RelationGetRelationName(index)),
                                    errhint("REINDEX the index.")));
                pfree(key);
                continue;
            }
            so->query = key;
        }
        so->store.set_query(so->query);
        VS_TEST_PAUSE("hnsw_scan_walk");
        int found = vs::hnsw::search(store, entry, so->settings.ef_search, so->mem->ws, &so->mem->discarded);
        if (found != vs::hnsw::kDeadEnd) {
            take_batch(so, found);
            break;
        }
    }
    MemoryContextSwitchTo(old);
}

// The next batch; false when there is none, or the scan reached its limits.
static bool search_more(HnswScanState *so) {
    HnswSearchMemory *mem = so->mem;
    const HnswScanSettings &settings = so->settings;
    if (mem->discarded.empty()) return false;
    if (mem->ws.visited.size() >= std::size_t(settings.max_scan_tuples)) return false;
    Size used = MemoryContextMemAllocated(so->context, true) + MemoryContextMemAllocated(mem->context, true);
    // Only an iterative scan stops at its memory limit: without one the planner chose the index
    // to meet the LIMIT within hnsw.max_scan_tuples, which bounds the memory instead.
    if (settings.iterative != INDEX_ITERATIVE_OFF && double(used) > settings.memory_limit) return false;
    MemoryContext old = MemoryContextSwitchTo(so->context);
    CountingPageStore store{&so->store, &so->stats};
    take_batch(so, vs::hnsw::search_more(store, settings.ef_search, mem->ws, &mem->discarded));
    MemoryContextSwitchTo(old);
    return true;
}

bool hnsw_gettuple(IndexScanDesc scan, ScanDirection dir) {
    return vs::guard([&]() {
        auto *so = static_cast<HnswScanState *>(scan->opaque);
        if (scan->numberOfOrderBys == 0)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cannot scan hnsw index without order")));
        vs::index::PageCounter pages;
        pages.start();
        if (!so->searched) {
            // idx_scan of pg_stat_user_indexes, which tools read to find unused indexes (the tuples
            // returned, idx_tup_read, are counted by the executor).
            pgstat_count_index_scan(scan->indexRelation);
            so->searched = true;
            search(scan, so);
        }
        bool found = false;
        do {
            vs::Candidate c;
            while (so->stream.next(&c)) {
                ItemPointerData heap_tid;
                uint8 flags = hnsw_element_flags(scan->indexRelation, &so->info, c.ref, &heap_tid);
                if ((flags & HNSW_FLAG_VALID) == 0 || (flags & HNSW_FLAG_DELETED) != 0) continue;
                so->stream.returned(c, &so->stats);
                scan->xs_heaptid = heap_tid;
                scan->xs_recheck = false;
                scan->xs_recheckorderby = false;
                found = true;
                break;
            }
            if (found) break;
            CHECK_FOR_INTERRUPTS();
        } while (search_more(so));
        pages.stop(&so->stats);
        return found;
    });
}

void hnsw_endscan(IndexScanDesc scan) {
    return vs::guard([&]() {
        auto *so = static_cast<HnswScanState *>(scan->opaque);
        publish_stats(scan, so);
        MemoryContextDelete(so->context);
        spare_memory.keep(so->mem, so->mem->context, HNSW_SPARE_MEMORY_LIMIT);
        pfree(so);
        scan->opaque = nullptr;
    });
}
