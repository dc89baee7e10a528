// Scanning an hnsw index for ORDER BY embedding <op> $1 LIMIT k: one graph search with a beam
// of hnsw.ef_search on the first call, then the results nearest first, one per call. With
// hnsw.iterative_scan on, a scan whose rows a filter rejected goes on with the next batch of
// ef_search elements, from where the search left off, until hnsw.max_scan_tuples elements
// were visited or its memory passes hnsw.scan_mem_multiplier x work_mem.
#include "hnsw.h"

#include <algorithm>
#include <limits>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/relscan.h"
#include "access/xlog.h"
#include "miscadmin.h"
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
    if (spare_memory != nullptr) {
        MemoryContextDelete(mem->context);
        return;
    }
    MemoryContextSetParent(mem->context, TopMemoryContext);
    spare_memory = mem;
}

struct HnswScanState {
    MemoryContext context;  // reset on every rescan
    HnswIndexInfo info;
    float *query;           // nullptr for a NULL query, or a zero one under cosine
    bool searched;
    HnswSearchMemory *mem;
    HnswPageStore store;
    vs::Candidate *results;
    int n_results;
    int next;
    float last_distance;    // of the row returned last, for strict_order
};

IndexScanDesc hnsw_beginscan(Relation index, int nkeys, int norderbys) {
    IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
    auto *so = static_cast<HnswScanState *>(palloc0(sizeof(HnswScanState)));
    so->context = AllocSetContextCreate(CurrentMemoryContext, "hnsw scan", ALLOCSET_DEFAULT_SIZES);
    so->mem = take_search_memory();
    so->info = *hnsw_index_info(index);
    scan->opaque = so;
    return scan;
}

void hnsw_rescan(IndexScanDesc scan, ScanKey keys, int nkeys, ScanKey orderbys, int norderbys) {
    auto *so = static_cast<HnswScanState *>(scan->opaque);
    MemoryContextReset(so->context);
    so->query = nullptr;
    so->searched = false;
    so->n_results = so->next = 0;
    so->last_distance = -std::numeric_limits<float>::infinity();
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
    HnswMeta meta;
    hnsw_read_meta(scan->indexRelation, &meta);
    if (meta.entry == vs::kNoRef) return;
    MemoryContext old = MemoryContextSwitchTo(so->context);
    so->store.init(scan->indexRelation, &so->info, so->context);
    // Under a query that orders nothing every row is as good as any other, but the rows must still
    // come back as they would from a sequential scan: walk the graph around its entry point.
    if (so->query == nullptr) {
        so->query = static_cast<float *>(palloc(sizeof(float) * so->info.dims));
        hnsw_read_vector(scan->indexRelation, &so->info, meta.entry, so->query);
    }
    so->store.set_query(so->query);
    vs::hnsw::Workspace &ws = so->mem->ws;
    ws.reserve(hnsw_ef_search);
    so->mem->discarded.clear();
    vs::CandidateHeap<false> *discarded = hnsw_iterative_scan != HNSW_ITERATIVE_OFF ? &so->mem->discarded : nullptr;
    vs::Candidate current{so->store.distance_to_query(meta.entry), meta.entry};
    for (int layer = meta.entry_level; layer > 0; layer--) current = vs::hnsw::greedy_search(so->store, current, layer, ws);
    so->n_results =
        vs::hnsw::search_layer(so->store, &current, 1, hnsw_ef_search, 0, ws, vs::hnsw::AdmitAll(), discarded);
    so->results = ws.sorted;
    rerank(so);
    MemoryContextSwitchTo(old);
}

// The next batch of an iterative scan; false when there is none, or the scan reached its limits.
static bool search_more(HnswScanState *so) {
    HnswSearchMemory *mem = so->mem;
    if (hnsw_iterative_scan == HNSW_ITERATIVE_OFF || mem->discarded.empty()) return false;
    if (mem->ws.visited.size() >= std::size_t(hnsw_max_scan_tuples)) return false;
    Size used = MemoryContextMemAllocated(so->context, true) + MemoryContextMemAllocated(mem->context, true);
    if (double(used) > double(work_mem) * 1024 * hnsw_scan_mem_multiplier) return false;
    MemoryContext old = MemoryContextSwitchTo(so->context);
    auto *scratch = static_cast<vs::Candidate *>(palloc_extended(sizeof(vs::Candidate) * mem->discarded.size(),
                                                                 MCXT_ALLOC_HUGE));
    so->n_results = vs::hnsw::search_more(so->store, hnsw_ef_search, mem->ws, &mem->discarded, scratch);
    pfree(scratch);
    so->results = mem->ws.sorted;
    so->next = 0;
    rerank(so);
    MemoryContextSwitchTo(old);
    return true;
}

bool hnsw_gettuple(IndexScanDesc scan, ScanDirection dir) {
    auto *so = static_cast<HnswScanState *>(scan->opaque);
    if (scan->numberOfOrderBys == 0)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cannot scan hnsw index without order")));
    if (!so->searched) {
        search(scan, so);
        so->searched = true;
    }
    do {
        while (so->next < so->n_results) {
            vs::Candidate c = so->results[so->next++];
            // strict_order keeps the order of distances by leaving out a later batch's nearer rows.
            if (hnsw_iterative_scan == HNSW_ITERATIVE_STRICT && c.distance < so->last_distance) continue;
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
}

void hnsw_endscan(IndexScanDesc scan) {
    auto *so = static_cast<HnswScanState *>(scan->opaque);
    MemoryContextDelete(so->context);
    keep_search_memory(so->mem);
    pfree(so);
    scan->opaque = nullptr;
}
