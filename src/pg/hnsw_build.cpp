// Building an hnsw index: the graph is built in memory (within maintenance_work_mem), then
// written to pages in one pass and WAL-logged in bulk. Rows that arrive after memory is full
// are inserted into the written graph one at a time, like INSERTs.
#include "hnsw.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/tableam.h"
#include "access/xloginsert.h"
#include "catalog/index.h"
#include "commands/progress.h"
#include "pgstat.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/smgr.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

struct HnswBuildState {
    Relation index;
    HnswIndexInfo info;
    MemoryContext context;        // the graph and everything else of the build
    MemoryContext tuple_context;  // reset after every row
    vs::Allocator allocator;
    vs::hnsw::MemoryGraph graph;
    vs::hnsw::Workspace ws;
    ItemPointerData *heap_tids;   // of each in-memory element
    std::size_t memory_limit;     // elements that fit in maintenance_work_mem
    bool on_disk;
    float *vector;
    double indexed;
};

static void write_page(Relation index, Page source) {
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    memcpy(BufferGetPage(buf), source, BLCKSZ);
    MarkBufferDirty(buf);
    UnlockReleaseBuffer(buf);
}


// Writes the in-memory graph as: metapage, upper pages, then the runs in element order.
// Upper pages come first so that every run's start block is known before any link is written.
static void write_graph(HnswBuildState *state) {
    const HnswIndexInfo &info = state->info;
    vs::hnsw::MemoryGraph &graph = state->graph;
    std::size_t n = graph.size();
    int m = info.m;
    Page page = static_cast<Page>(palloc(BLCKSZ));

    // Where each upper tuple goes: fill pages in element order.
    ItemPointerData *upper = static_cast<ItemPointerData *>(palloc(sizeof(ItemPointerData) * (n ? n : 1)));
    BlockNumber upper_pages = 0;
    hnsw_init_page(page, HNSW_PAGE_UPPER, InvalidBlockNumber);
    Size upper_free = PageGetFreeSpace(page);
    for (std::size_t i = 0; i < n; i++) {
        ItemPointerSetInvalid(&upper[i]);
        if (graph.level(i) == 0) continue;
        Size size = MAXALIGN(hnsw_upper_tuple_size(graph.level(i), m));
        if (upper_pages == 0 || upper_free < size + sizeof(ItemIdData)) {
            upper_pages++;
            upper_free = PageGetFreeSpace(page);
        }
        ItemPointerSet(&upper[i], upper_pages, FirstOffsetNumber);  // the real offset is set while writing
        upper_free -= size + sizeof(ItemIdData);
    }
    uint32 run_pages = info.link_pages_per_run + info.vector_pages_per_run;
    BlockNumber first_run = 1 + upper_pages;
    auto ref_of = [&](vs::Ref i) {
        return hnsw_ref(first_run + BlockNumber(i / info.elements_per_run) * run_pages, uint32(i % info.elements_per_run));
    };

    // Metapage.
    uint32 runs = uint32((n + info.elements_per_run - 1) / info.elements_per_run);
    HnswMeta *meta = hnsw_init_meta_page(page, &info);
    vs::hnsw::EntryPoint entry = graph.entry();
    meta->entry = entry.ref == vs::kNoRef ? vs::kNoRef : ref_of(entry.ref);
    meta->entry_level = entry.level;
    meta->last_run = runs ? first_run + (runs - 1) * run_pages : InvalidBlockNumber;
    meta->last_run_used = uint32(n - std::size_t(runs ? runs - 1 : 0) * info.elements_per_run);
    meta->upper_page = upper_pages ? upper_pages : InvalidBlockNumber;
    write_page(state->index, page);

    // Upper pages.
    vs::Ref links[2 * vs::hnsw::kMaxM];
    HnswLink *tuple = static_cast<HnswLink *>(palloc(hnsw_upper_tuple_size(vs::hnsw::kMaxLevel, m)));
    BlockNumber current = 0;
    for (std::size_t i = 0; i < n; i++) {
        if (!ItemPointerIsValid(&upper[i])) continue;
        if (ItemPointerGetBlockNumber(&upper[i]) != current) {
            if (current != 0) write_page(state->index, page);
            hnsw_init_page(page, HNSW_PAGE_UPPER, InvalidBlockNumber);
            current = ItemPointerGetBlockNumber(&upper[i]);
        }
        int level = graph.level(i);
        for (int layer = 1; layer <= level; layer++) {
            int count = graph.neighbors(i, layer, links);
            for (int k = 0; k < m; k++) tuple[(layer - 1) * m + k] = k < count ? hnsw_make_link(ref_of(links[k])) : HNSW_NO_LINK;
        }
        OffsetNumber offset = PageAddItem(page, reinterpret_cast<Item>(tuple), hnsw_upper_tuple_size(level, m),
                                          InvalidOffsetNumber, false, false);
        if (offset == InvalidOffsetNumber) elog(ERROR, "hnsw: upper tuple does not fit where planned");
        ItemPointerSetOffsetNumber(&upper[i], offset);
    }
    if (current != 0) write_page(state->index, page);

    // Runs: link pages, then the vectors end to end.
    for (uint32 run = 0; run < runs; run++) {
        CHECK_FOR_INTERRUPTS();
        BlockNumber start = first_run + run * run_pages;
        std::size_t first = std::size_t(run) * info.elements_per_run;
        std::size_t last = std::min(n, first + info.elements_per_run);
        for (uint32 p = 0; p < info.link_pages_per_run; p++) {
            hnsw_init_page(page, HNSW_PAGE_LINKS, start);
            for (uint32 slot = 0; slot < info.records_per_link_page; slot++) {
                std::size_t i = first + std::size_t(p) * info.records_per_link_page + slot;
                if (i >= last) break;
                HnswLinkRecordHeader *record = hnsw_link_record(page, &info, slot);
                record->level = uint8(graph.level(i));
                record->flags = HNSW_FLAG_VALID;
                record->heap_tid = state->heap_tids[i];
                record->upper = upper[i];
                int count = graph.neighbors(i, 0, links);
                HnswLink *out = hnsw_record_links(record);
                for (int k = 0; k < 2 * m; k++) out[k] = k < count ? hnsw_make_link(ref_of(links[k])) : HNSW_NO_LINK;
            }
            write_page(state->index, page);
        }
        Size vector_bytes = sizeof(float) * info.dims;
        const char *stream = reinterpret_cast<const char *>(graph.vector(first));
        Size stream_length = (last - first) * vector_bytes;
        Size space = HNSW_PAGE_SPACE;
        for (uint32 p = 0; p < info.vector_pages_per_run; p++) {
            hnsw_init_page(page, HNSW_PAGE_VECTORS, start);
            Size offset = Size(p) * space;
            if (offset < stream_length) memcpy(hnsw_page_data(page), stream + offset, std::min(space, stream_length - offset));
            write_page(state->index, page);
        }
    }
    pfree(tuple);
    pfree(upper);
    pfree(page);
}

char *hnsw_buildphasename(int64 phase) {
    switch (phase) {
        case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE: return const_cast<char *>("initializing");
        case HNSW_PHASE_LOAD: return const_cast<char *>("loading tuples");
        case HNSW_PHASE_WRITE: return const_cast<char *>("writing pages");
    }
    return nullptr;
}

// Writes what is in memory and logs every page so far in bulk; later rows go to the pages.
static void flush_to_disk(HnswBuildState *state) {
    pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_WRITE);
    write_graph(state);
    if (RelationNeedsWAL(state->index))
        log_newpage_range(state->index, MAIN_FORKNUM, 0, RelationGetNumberOfBlocks(state->index), true);
    state->on_disk = true;
}

static void build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg) {
    auto *state = static_cast<HnswBuildState *>(arg);
    CHECK_FOR_INTERRUPTS();
    if (isnull[0]) return;
    MemoryContext old = MemoryContextSwitchTo(state->tuple_context);
    VectorView v;
    view_vector(values[0], &v);
    check_expected_dims(state->info.dims, v.dim);
    memcpy(state->vector, v.x, sizeof(float) * v.dim);
    if (hnsw_prepare_query(state->info.metric, state->vector, v.dim)) {
        vs::hnsw::MemoryGraph &graph = state->graph;
        if (!state->on_disk && graph.size() == graph.capacity()) {
            if (graph.grow(state->memory_limit)) {
                state->heap_tids = static_cast<ItemPointerData *>(
                    repalloc_huge(state->heap_tids, sizeof(ItemPointerData) * graph.capacity()));
            } else {
                ereport(NOTICE, (errmsg("hnsw graph no longer fits into maintenance_work_mem after %.0f tuples",
                                        state->indexed),
                                 errdetail("Building will take significantly more time."),
                                 errhint("Increase maintenance_work_mem to speed up builds.")));
                flush_to_disk(state);
                pgstat_progress_update_param(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
            }
        }
        if (state->on_disk) {
            hnsw_insert_element(index, &state->info, state->vector, tid, state->tuple_context);
        } else {
            int level = vs::hnsw::random_level(1.0 - pg_prng_double(&pg_global_prng_state), state->info.m);
            vs::Ref r = graph.add(state->vector, level);
            state->heap_tids[r] = *tid;
            graph.link(r, state->info.ef_construction, state->ws);
        }
        state->indexed++;
        pgstat_progress_update_param(PROGRESS_CREATEIDX_TUPLES_DONE, int64(state->indexed));
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(state->tuple_context);
}

// Dimensions come from the column's type modifier: a graph needs one dimension for all rows.
static int indexed_dims(Relation index) {
    int dims = TupleDescAttr(index->rd_att, 0)->atttypmod;
    if (dims < 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("column does not have dimensions"),
                        errhint("Declare the column as vector(n).")));
    return dims;
}

static void check_options(int m, int ef_construction) {
    if (ef_construction < 2 * m)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("ef_construction must be greater than or equal to 2 * m")));
}

IndexBuildResult *hnsw_build(Relation heap, Relation index, IndexInfo *index_info) {
    if (RelationGetNumberOfBlocks(index) != 0)
        elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
    HnswBuildState state;
    state.index = index;
    int m = hnsw_option_m(index);
    state.info.ef_construction = hnsw_option_ef_construction(index);
    check_options(m, state.info.ef_construction);
    hnsw_layout(indexed_dims(index), m, &state.info);
    state.info.metric = hnsw_metric(index);
    state.info.distance = state.info.metric == HnswMetric::L2   ? vs_kernels.l2_squared
                          : state.info.metric == HnswMetric::L1 ? vs_kernels.l1
                                                                : vs_kernels.negative_inner_product;
    state.context = AllocSetContextCreate(CurrentMemoryContext, "hnsw build", ALLOCSET_DEFAULT_SIZES);
    state.tuple_context = AllocSetContextCreate(state.context, "hnsw build tuple", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(state.context);

    state.allocator = hnsw_allocator(state.context);
    std::size_t per_element =
        vs::hnsw::MemoryGraph::bytes_per_element(state.info.dims, m) + sizeof(ItemPointerData) +
        hnsw_upper_tuple_size(1, m) / m;  // upper layers add about m links for every m-th element
    state.memory_limit = std::max<std::size_t>(1, std::size_t(maintenance_work_mem) * 1024 / per_element);
    std::size_t initial = std::min<std::size_t>(state.memory_limit, 1024);
    state.graph.init(&state.allocator, state.info.dims, initial, m, state.info.distance);
    state.ws.init(&state.allocator, m, state.info.ef_construction);
    state.heap_tids = static_cast<ItemPointerData *>(palloc_extended(sizeof(ItemPointerData) * initial, MCXT_ALLOC_HUGE));
    state.vector = static_cast<float *>(palloc(sizeof(float) * state.info.dims));
    state.on_disk = false;
    state.indexed = 0;

    const int params[] = {PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_CREATEIDX_TUPLES_TOTAL};
    const int64 values[] = {HNSW_PHASE_LOAD, int64(std::max<float4>(heap->rd_rel->reltuples, 0))};
    pgstat_progress_update_multi_param(2, params, values);
    double heap_tuples = table_index_build_scan(heap, index, index_info, true, true, build_callback, &state, nullptr);
    if (!state.on_disk) flush_to_disk(&state);

    MemoryContextSwitchTo(old);
    MemoryContextDelete(state.context);
    IndexBuildResult *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
    result->heap_tuples = heap_tuples;
    result->index_tuples = state.indexed;
    return result;
}

// An unlogged index's init fork: an empty index, the metapage alone.
void hnsw_buildempty(Relation index) {
    int m = hnsw_option_m(index);
    HnswIndexInfo info;
    hnsw_layout(indexed_dims(index), m, &info);
    info.ef_construction = hnsw_option_ef_construction(index);
    Page page = static_cast<Page>(palloc0(BLCKSZ));
    hnsw_init_meta_page(page, &info);
    PageSetChecksumInplace(page, HNSW_METAPAGE_BLKNO);
    smgrwrite(RelationGetSmgr(index), INIT_FORKNUM, HNSW_METAPAGE_BLKNO, reinterpret_cast<char *>(page), true);
    log_newpage(&(RelationGetSmgr(index))->smgr_rnode.node, INIT_FORKNUM, HNSW_METAPAGE_BLKNO, page, true);
    smgrimmedsync(RelationGetSmgr(index), INIT_FORKNUM);
    pfree(page);
}
