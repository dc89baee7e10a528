// Scanning an hnsw index for ORDER BY embedding <op> $1 LIMIT k: one graph search with a beam
// of hnsw.ef_search on the first call, then the results nearest first, one per call.
#include "hnsw.h"

#include <algorithm>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/relscan.h"
#include "access/xlog.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

struct HnswScanState {
    MemoryContext context;  // reset on every rescan
    HnswIndexInfo info;
    float *query;           // nullptr for a NULL query, or a zero one under cosine
    bool searched;
    vs::Candidate *results;
    int n_results;
    int next;
};

IndexScanDesc hnsw_beginscan(Relation index, int nkeys, int norderbys) {
    IndexScanDesc scan = RelationGetIndexScan(index, nkeys, norderbys);
    auto *so = static_cast<HnswScanState *>(palloc0(sizeof(HnswScanState)));
    so->context = AllocSetContextCreate(CurrentMemoryContext, "hnsw scan", ALLOCSET_DEFAULT_SIZES);
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

static void search(IndexScanDesc scan, HnswScanState *so) {
    HnswMeta meta;
    hnsw_read_meta(scan->indexRelation, &meta);
    if (meta.entry == vs::kNoRef) return;
    MemoryContext old = MemoryContextSwitchTo(so->context);
    vs::Allocator allocator = hnsw_allocator(so->context);
    HnswPageStore store;
    store.init(scan->indexRelation, &so->info, so->context);
    // Under a query that orders nothing every row is as good as any other, but the rows must still
    // come back as they would from a sequential scan: walk the graph around its entry point.
    if (so->query == nullptr) {
        so->query = static_cast<float *>(palloc(sizeof(float) * so->info.dims));
        hnsw_read_vector(scan->indexRelation, &so->info, meta.entry, so->query);
    }
    store.set_query(so->query);
    vs::hnsw::Workspace ws;
    ws.init(&allocator, so->info.m, hnsw_ef_search);
    vs::Candidate current{store.distance_to_query(meta.entry), meta.entry};
    for (int layer = meta.entry_level; layer > 0; layer--) current = vs::hnsw::greedy_search(store, current, layer, ws);
    so->n_results = vs::hnsw::search_layer(store, &current, 1, hnsw_ef_search, 0, ws);
    so->results = ws.sorted;
    if (RecoveryInProgress()) {
        int kept = 0;
        for (int i = 0; i < so->n_results; i++) {
            uint8 flags;
            float d = store.checked_distance(so->results[i].ref, &flags);
            if ((flags & HNSW_FLAG_VALID) && !(flags & HNSW_FLAG_DELETED)) so->results[kept++] = {d, so->results[i].ref};
        }
        so->n_results = kept;
        std::sort(so->results, so->results + kept,
                  [](const vs::Candidate &a, const vs::Candidate &b) { return a.distance < b.distance; });
    }
    MemoryContextSwitchTo(old);
}

bool hnsw_gettuple(IndexScanDesc scan, ScanDirection dir) {
    auto *so = static_cast<HnswScanState *>(scan->opaque);
    if (scan->numberOfOrderBys == 0)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("cannot scan hnsw index without order")));
    if (!so->searched) {
        search(scan, so);
        so->searched = true;
    }
    while (so->next < so->n_results) {
        ItemPointerData heap_tid;
        uint8 flags = hnsw_element_flags(scan->indexRelation, &so->info, so->results[so->next++].ref, &heap_tid);
        if ((flags & HNSW_FLAG_VALID) == 0 || (flags & HNSW_FLAG_DELETED) != 0) continue;
        scan->xs_heaptid = heap_tid;
        scan->xs_recheck = false;
        scan->xs_recheckorderby = false;
        return true;
    }
    return false;
}

void hnsw_endscan(IndexScanDesc scan) {
    auto *so = static_cast<HnswScanState *>(scan->opaque);
    MemoryContextDelete(so->context);
    pfree(so);
    scan->opaque = nullptr;
}
