// Building an hnsw index: the graph is built in memory (within maintenance_work_mem), then
// written to pages in one pass and WAL-logged in bulk. Rows that arrive after memory is full
// are inserted into the written graph one at a time, like INSERTs.
//
// With parallel workers (PostgreSQL plans them only for btree, so the build asks the planner
// itself), the graph lives in dynamic shared memory and the leader and every worker scan their
// share of the table and insert into it at once; the core's MemoryGraph keeps one lock per
// neighbour list for that. The leader writes the pages once all are done, unless the graph
// filled first: then the participant that found it full wrote them. When no shared memory can
// be had for the graph, the build says so in a NOTICE and goes on alone.
#include "pg/hnsw/hnsw.h"
#include "pg/index/parallel.h"
#include "pg/test_hooks.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/parallel.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "commands/progress.h"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "optimizer/optimizer.h"
#include "optimizer/plancat.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "storage/dsm.h"
#include "storage/lwlock.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#pragma GCC diagnostic pop
}

// What the participants of a parallel build share besides the scaffolding's part
// (src/pg/index/parallel.h).
struct HnswShared {
    int lock_tranche;
    dsm_handle graph_segment;  // the graph's own segment (see create_graph_segment)
    // Held shared by every in-memory insert and exclusively to write the graph to pages, after
    // which (flushed) every participant inserts into the pages instead.
    LWLock flush_lock;
    bool flushed;
    pg_atomic_uint64 indexed;
    // A sparsevec index's keys: an arena after the graph in its segment, taken from the front.
    Size key_arena_offset;
    Size key_arena_bytes;
    pg_atomic_uint64 key_arena_used;
    bool graph_sized_to_memory;  // for fewer elements than the table was estimated to hold
};

struct HnswBuildState {
    Relation index;
    HnswIndexInfo info;
    MemoryContext context;        // the graph and everything else of the build
    MemoryContext tuple_context;  // reset after every row
    vs::Allocator allocator;
    vs::hnsw::AnyMemoryGraph graph;
    vs::AnyKernel graph_kernel;   // the graph's: a sparse key by its address (sparse_key_at)
    void *region;                 // the graph's memory in a serial build
    vs::hnsw::Workspace ws;
    std::size_t memory_limit;     // elements that fit in maintenance_work_mem
    HnswShared *shared;           // of a parallel build, or null
    bool on_disk;
    unsigned char *key;  // the row being added, as the index stores it
    // A serial build's sparse keys, which the graph holds by address (vs::AnyKernel::
    // sparse_addresses), packed into blocks of the build's context.
    unsigned char *key_block;
    Size key_block_free;
    Size key_memory;  // allocated for keys so far
    Size key_bytes;   // of the keys stored
    double indexed;
};

// An element's label in the in-memory graph is its row's heap TID.
static uint64 tid_label(ItemPointer tid) {
    return (uint64(ItemPointerGetBlockNumberNoCheck(tid)) << 16) | ItemPointerGetOffsetNumberNoCheck(tid);
}

static ItemPointerData label_tid(uint64 label) {
    ItemPointerData tid;
    ItemPointerSet(&tid, BlockNumber(label >> 16), OffsetNumber(label & 0xffff));
    return tid;
}

static_assert(std::is_trivially_destructible_v<HnswBuildState>);  // lives across buffer reads

// The kernel of the in-memory graph, which holds a sparse key by its address: in this process's
// memory, or an offset into the shared arena mapped at arena.
static vs::AnyKernel memory_kernel(const HnswIndexInfo &info, const void *arena) {
    vs::AnyKernel kernel = info.distance;
    kernel.sparse_addresses = info.element == vs::Element::Sparse;
    kernel.sparse_base = reinterpret_cast<std::uintptr_t>(arena);
    return kernel;
}

// Lays the graph's sparse keys out on key pages from block first, each key as the fewest pieces
// (hnsw.h) in element order, and sets tids[i] to where element i's last piece goes; writes the
// pages to writer if one is given. Returns how many pages they take.
static BlockNumber lay_out_keys(const vs::hnsw::AnyMemoryGraph &graph, const vs::AnyKernel &kernel, BlockNumber first,
                                Page page, IndexBulkWriter *writer, ItemPointerData *tids) {
    auto *piece = static_cast<HnswKeyPiece *>(palloc(sizeof(HnswKeyPiece) + HNSW_KEY_PIECE_MAX_BYTES));
    piece->unused = 0;
    BlockNumber pages = 0;
    for (std::size_t i = 0; i < graph.size(); i++) {
        if (i % 1024 == 0) CHECK_FOR_INTERRUPTS();
        const unsigned char *key = kernel.sparse_key_at(graph.vector(i));
        Size length = vs::sparse_key::bytes(vs::sparse_key::nnz(key));
        ItemPointerSetInvalid(&piece->earlier);
        for (Size offset = 0; offset < length;) {
            Size bytes = Min(length - offset, Size(HNSW_KEY_PIECE_MAX_BYTES));
            Size size = sizeof(HnswKeyPiece) + bytes;
            if (pages == 0 || PageGetFreeSpace(page) < MAXALIGN(size)) {
                if (pages > 0 && writer) writer->write(page);
                hnsw_init_page(page, HNSW_PAGE_KEYS, InvalidBlockNumber);
                pages++;
            }
            piece->offset = uint32(offset);
            memcpy(piece + 1, key + offset, bytes);
            OffsetNumber at = PageAddItem(page, reinterpret_cast<Item>(piece), size, InvalidOffsetNumber, false, false);
            if (at == InvalidOffsetNumber) elog(ERROR, "hnsw: a key piece does not fit an empty page");
            ItemPointerSet(&piece->earlier, first + pages - 1, at);
            offset += bytes;
        }
        tids[i] = piece->earlier;
    }
    if (pages > 0 && writer) writer->write(page);
    pfree(piece);
    return pages;
}

// Writes the in-memory graph as: metapage, upper pages, key pages, then the runs in element
// order. Upper and key pages come first so that every run's start block is known before any link
// is written.
static void write_graph(HnswBuildState *state) {
    IndexBulkWriter writer;
    writer.start(state->index);
    const HnswIndexInfo &info = state->info;
    vs::hnsw::AnyMemoryGraph &graph = state->graph;
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
    bool sparse = info.element == vs::Element::Sparse;
    ItemPointerData *key_tids = sparse ? static_cast<ItemPointerData *>(palloc_extended(
                                             sizeof(ItemPointerData) * (n ? n : 1), MCXT_ALLOC_HUGE))
                                       : nullptr;
    BlockNumber key_pages = sparse ? lay_out_keys(graph, state->graph_kernel, 1 + upper_pages, page, nullptr, key_tids) : 0;
    uint32 run_pages = info.link_pages_per_run + info.vector_pages_per_run;
    BlockNumber first_run = 1 + upper_pages + key_pages;
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
    meta->key_page = key_pages ? upper_pages + key_pages : InvalidBlockNumber;
    writer.write(page);

    // Upper pages.
    vs::Ref links[2 * vs::hnsw::kMaxM];
    HnswLink *tuple = static_cast<HnswLink *>(palloc(hnsw_upper_tuple_size(vs::hnsw::kMaxLevel, m)));
    BlockNumber current = 0;
    for (std::size_t i = 0; i < n; i++) {
        if (!ItemPointerIsValid(&upper[i])) continue;
        if (ItemPointerGetBlockNumber(&upper[i]) != current) {
            if (current != 0) writer.write(page);
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
    if (current != 0) writer.write(page);

    if (sparse) lay_out_keys(graph, state->graph_kernel, 1 + upper_pages, page, &writer, key_tids);

    // Runs: link pages, then the vectors end to end.
    char *sparse_slots = sparse ? static_cast<char *>(palloc(info.slot_bytes * info.elements_per_run)) : nullptr;
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
                record->heap_tid = label_tid(graph.label(i));
                record->upper = upper[i];
                int count = graph.neighbors(i, 0, links);
                HnswLink *out = hnsw_record_links(record);
                for (int k = 0; k < 2 * m; k++) out[k] = k < count ? hnsw_make_link(ref_of(links[k])) : HNSW_NO_LINK;
            }
            writer.write(page);
        }
        Size vector_bytes = info.slot_bytes;
        const char *stream = reinterpret_cast<const char *>(graph.vector(first));
        if (sparse) {
            memset(sparse_slots, 0, info.slot_bytes * info.elements_per_run);
            for (std::size_t i = first; i < last; i++)
                memcpy(sparse_slots + (i - first) * info.slot_bytes, &key_tids[i], sizeof(ItemPointerData));
            stream = sparse_slots;
        }
        Size stream_length = (last - first) * vector_bytes;
        Size space = INDEX_PAGE_SPACE;
        for (uint32 p = 0; p < info.vector_pages_per_run; p++) {
            hnsw_init_page(page, HNSW_PAGE_VECTORS, start);
            Size offset = Size(p) * space;
            if (offset < stream_length) memcpy(index_page_data(page), stream + offset, std::min(space, stream_length - offset));
            writer.write(page);
        }
    }
    writer.finish();
    if (sparse) {
        pfree(sparse_slots);
        pfree(key_tids);
    }
    pfree(tuple);
    pfree(upper);
    pfree(page);
}

char *hnsw_buildphasename(int64 phase) {
    return vs::guard([&]() -> char * {
        switch (phase) {
            case PROGRESS_CREATEIDX_SUBPHASE_INITIALIZE: return const_cast<char *>("initializing");
            case HNSW_PHASE_LOAD: return const_cast<char *>("loading tuples");
            case HNSW_PHASE_WRITE: return const_cast<char *>("writing pages");
        }
        return nullptr;
    });
}

// Progress is the leader's to report: a worker has no row in pg_stat_progress_create_index.
static void report_progress(int param, int64 value) {
    if (!IsParallelWorker()) pgstat_progress_update_param(param, value);
}

// Writes what is in memory to pages; later rows go to the pages.
static void flush_to_disk(HnswBuildState *state) {
    report_progress(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_WRITE);
    write_graph(state);
    state->on_disk = true;
    report_progress(PROGRESS_CREATEIDX_SUBPHASE, HNSW_PHASE_LOAD);
}

// The elements maintenance_work_mem holds: each brings its graph entry and, in a sparsevec
// index, a key of the average size so far.
static std::size_t element_limit(const HnswBuildState *state) {
    double budget = double(maintenance_work_mem) * 1024;
    std::size_t n = state->graph.size();
    double average_key = n ? double(state->key_bytes) / double(n) : 0;
    double per_element = double(vs::hnsw::AnyMemoryGraph::bytes_per_element(int(state->info.slot_bytes), state->info.m));
    double room = budget - double(state->key_memory) + average_key * double(n);
    return room <= 0 ? 0 : Min(state->memory_limit, std::size_t(room / (per_element + average_key)));
}

// memory_full: maintenance_work_mem ran out (the sparse keys took it, or the graph was sized to
// it), not the graph's room for the rows the table was estimated to hold.
static void notice_graph_full(HnswBuildState *state, double indexed, bool memory_full) {
    if (!memory_full && state->graph.capacity() < element_limit(state))
        ereport(NOTICE, (errmsg("hnsw graph is full after %.0f tuples, more than the table was estimated to hold",
                                indexed),
                         errdetail("The remaining tuples are inserted into the written graph, which takes longer."),
                         errhint("ANALYZE the table before building the index.")));
    else
        ereport(NOTICE, (errmsg("hnsw graph no longer fits into maintenance_work_mem after %.0f tuples", indexed),
                         errdetail("Building will take significantly more time."),
                         errhint("Increase maintenance_work_mem to speed up builds.")));
}

// Copies a sparse key into the build's key blocks; false, storing nothing, when the keys and the
// graph as it is would no longer fit into maintenance_work_mem.
static bool store_sparse_key(HnswBuildState *state, unsigned char *address) {
    Size length = vs::sparse_key::bytes(vs::sparse_key::nnz(state->key));
    Size aligned = MAXALIGN(length);
    if (aligned > state->key_block_free) {
        Size block_bytes = Max(Min(Size(1) << 20, Size(maintenance_work_mem) * 1024 / 16), aligned);
        Size graph_bytes = vs::hnsw::AnyMemoryGraph::region_bytes(int(state->info.slot_bytes), state->info.m,
                                                                  state->graph.capacity());
        if (state->key_memory + block_bytes + graph_bytes > std::size_t(maintenance_work_mem) * 1024) return false;
        state->key_block = static_cast<unsigned char *>(MemoryContextAlloc(state->context, block_bytes));
        state->key_block_free = block_bytes;
        state->key_memory += block_bytes;
    }
    memcpy(state->key_block, state->key, length);
    uint64 at = uint64(reinterpret_cast<uintptr_t>(state->key_block));
    memcpy(address, &at, sizeof(at));
    state->key_block += aligned;
    state->key_block_free -= aligned;
    state->key_bytes += aligned;
    return true;
}

// Doubles a serial build's graph, within maintenance_work_mem; false when already at the limit.
static bool grow_graph(HnswBuildState *state) {
    vs::hnsw::AnyMemoryGraph &graph = state->graph;
    std::size_t capacity = Min(element_limit(state), graph.capacity() * 2);
    if (capacity <= graph.capacity()) return false;
    void *bigger = MemoryContextAllocExtended(
        state->context, vs::hnsw::AnyMemoryGraph::region_bytes(state->info.slot_bytes, state->info.m, capacity), MCXT_ALLOC_HUGE);
    graph.move_to(bigger, capacity);
    pfree(state->region);
    state->region = bigger;
    return true;
}

// Adds state->key to the in-memory graph; false once the graph has gone to pages, where the
// row is to be inserted instead.
static bool insert_in_memory(HnswBuildState *state, ItemPointer tid) {
    vs::hnsw::AnyMemoryGraph &graph = state->graph;
    int level = vs::hnsw::random_level(1.0 - pg_prng_double(&pg_global_prng_state), state->info.m);
    HnswShared *shared = state->shared;
    if (shared == nullptr) {
        if (state->on_disk) return false;
        unsigned char address[8];
        const unsigned char *vector = state->key;
        if (state->info.element == vs::Element::Sparse) {
            if (!store_sparse_key(state, address)) {
                notice_graph_full(state, state->indexed, true);
                flush_to_disk(state);
                return false;
            }
            vector = address;
        }
        while (!state->on_disk) {
            vs::Ref r = graph.add(vector, level, tid_label(tid));
            if (r != vs::kNoRef) {
                graph.link(r, state->info.ef_construction, state->ws);
                return true;
            }
            if (!grow_graph(state)) {
                notice_graph_full(state, state->indexed, false);
                flush_to_disk(state);
            }
        }
        return false;
    }
    for (;;) {
        LWLockAcquire(&shared->flush_lock, LW_SHARED);
        vs::Ref r = vs::kNoRef;
        bool flushed = shared->flushed;
        bool stored = true;
        if (!flushed) {
            unsigned char address[8];
            const unsigned char *vector = state->key;
            if (state->info.element == vs::Element::Sparse) {
                Size length = vs::sparse_key::bytes(vs::sparse_key::nnz(state->key));
                uint64 at = pg_atomic_fetch_add_u64(&shared->key_arena_used, MAXALIGN(length));
                stored = at + MAXALIGN(length) <= shared->key_arena_bytes;  // else the arena is full
                if (stored) {
                    memcpy(reinterpret_cast<unsigned char *>(state->graph_kernel.sparse_base) + at, state->key, length);
                    memcpy(address, &at, sizeof(at));
                    vector = address;
                }
            }
            if (stored) r = graph.add(vector, level, tid_label(tid));
            if (r != vs::kNoRef) graph.link(r, state->info.ef_construction, state->ws);
        }
        LWLockRelease(&shared->flush_lock);
        if (flushed) return false;
        if (r != vs::kNoRef) return true;
        // Full: the first participant to get here writes the pages, once the others' in-memory
        // inserts have finished.
        LWLockAcquire(&shared->flush_lock, LW_EXCLUSIVE);
        if (!shared->flushed) {
            notice_graph_full(state, double(pg_atomic_read_u64(&shared->indexed)), !stored || shared->graph_sized_to_memory);
            flush_to_disk(state);
            shared->flushed = true;
        }
        LWLockRelease(&shared->flush_lock);
    }
}

static void build_callback(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg) {
    auto *state = static_cast<HnswBuildState *>(arg);
    CHECK_FOR_INTERRUPTS();
    VS_TEST_PAUSE("hnsw_build_tuple");  // leader and workers alike: they share the session's settings
    if (isnull[0]) return;
    MemoryContext old = MemoryContextSwitchTo(state->tuple_context);
    if (index_read_key(values[0], state->info.element, state->info.metric, state->info.dims, state->key)) {
        if (!insert_in_memory(state, tid))
            hnsw_insert_element(index, nullptr, &state->info, state->key, tid, state->tuple_context);
        state->indexed++;
        uint64 indexed = state->shared ? pg_atomic_add_fetch_u64(&state->shared->indexed, 1) : uint64(state->indexed);
        report_progress(PROGRESS_CREATEIDX_TUPLES_DONE, int64(indexed));
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(state->tuple_context);
}

static void check_options(int m, int ef_construction) {
    if (ef_construction < 2 * m)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("ef_construction must be greater than or equal to 2 * m")));
}

static void init_info(Relation index, HnswIndexInfo *info) {
    int m = hnsw_option_m(index);
    info->ef_construction = hnsw_option_ef_construction(index);
    check_options(m, info->ef_construction);
    vs::Element element = index_element(index);
    hnsw_layout(element, index_column_dims(index, element), m, info);
    info->metric = index_metric(index);
    info->distance = index_kernel(element, info->metric);
    info->summable = vs::element_summable(element, info->metric);
}

// Sets up what every participant needs for itself, in a context of its own.
static void init_state(HnswBuildState *state, Relation index) {
    state->index = index;
    init_info(index, &state->info);
    state->context = AllocSetContextCreate(CurrentMemoryContext, "hnsw build", ALLOCSET_DEFAULT_SIZES);
    state->tuple_context = AllocSetContextCreate(state->context, "hnsw build tuple", ALLOCSET_DEFAULT_SIZES);
    state->allocator = index_allocator(state->context);
    MemoryContext old = MemoryContextSwitchTo(state->context);
    state->ws.init(&state->allocator, state->info.m, state->info.ef_construction);
    state->key = static_cast<unsigned char *>(palloc(state->info.key_bytes));
    MemoryContextSwitchTo(old);
    std::size_t per_element = vs::hnsw::AnyMemoryGraph::bytes_per_element(state->info.slot_bytes, state->info.m);
    state->memory_limit = Max(std::size_t(1), std::size_t(maintenance_work_mem) * 1024 / per_element);
    state->region = nullptr;
    state->shared = nullptr;
    state->on_disk = false;
    state->key_block = nullptr;
    state->key_block_free = 0;
    state->key_memory = 0;
    state->key_bytes = 0;
    state->indexed = 0;
}

// The shared segment of a parallel build: the graph, laid out for capacity elements, and for a
// sparsevec index an arena of key_arena_bytes after it. Shared memory is committed in full when it
// is created, so the graph is sized to the table's estimated rows with a margin, within
// maintenance_work_mem. A sparse index shares that memory between the graph and its keys, taking
// a row's bytes in the table (and its TOAST table) as the average key's, and gives the arena no
// more than twice the table (a key takes 8 bytes an element, a dense row cast to sparsevec 4).
struct SharedLayout {
    std::size_t capacity;
    Size graph_bytes;
    Size key_arena_bytes;
    bool sized_to_memory;
};

static SharedLayout shared_layout(Relation heap, const HnswIndexInfo &info, std::size_t memory_limit) {
    BlockNumber pages;
    double tuples, all_visible;
    estimate_rel_size(heap, nullptr, &pages, &tuples, &all_visible);
    std::size_t rows = std::size_t(Max(tuples, 0.0) * 1.2) + 1024;
    SharedLayout layout{Min(memory_limit, rows), 0, 0, false};
    Size budget = Size(maintenance_work_mem) * 1024;
    Size table = 0;
    if (info.element == vs::Element::Sparse) {
        table = Size(RelationGetNumberOfBlocks(heap)) * BLCKSZ;
        if (OidIsValid(heap->rd_rel->reltoastrelid)) {
            Relation toast = table_open(heap->rd_rel->reltoastrelid, AccessShareLock);
            table += Size(RelationGetNumberOfBlocks(toast)) * BLCKSZ;
            table_close(toast, AccessShareLock);
        }
        double key = Min(double(vs::sparse_key::kMaxBytes), Max(64.0, double(table) / Max(tuples, 1.0)));
        double per_element = double(vs::hnsw::AnyMemoryGraph::bytes_per_element(int(info.slot_bytes), info.m));
        layout.capacity = Max(std::size_t(1), Min(layout.capacity, std::size_t(double(budget) / (per_element + key))));
    }
    layout.sized_to_memory = layout.capacity < rows;
    layout.graph_bytes = vs::hnsw::AnyMemoryGraph::region_bytes(int(info.slot_bytes), info.m, layout.capacity);
    if (info.element == vs::Element::Sparse && layout.graph_bytes < budget)
        layout.key_arena_bytes = MAXALIGN_DOWN(Min(budget - layout.graph_bytes, 2 * table + (Size(1) << 20)));
    return layout;
}

// Scans this participant's share of the table into the shared graph (or, once that is
// written, the pages).
static void build_participant(ParallelBuildShared *build, HnswShared *shared, void *region, Relation heap,
                              Relation index) {
    HnswBuildState state;
    init_state(&state, index);
    state.shared = shared;
    MemoryContext old = MemoryContextSwitchTo(state.context);
    state.graph_kernel = memory_kernel(state.info, static_cast<char *>(region) + shared->key_arena_offset);
    state.graph.attach(region, &state.allocator, state.graph_kernel);
    parallel_build_scan(build, heap, index, !IsParallelWorker(), build_callback, &state);
    MemoryContextSwitchTo(old);
    MemoryContextDelete(state.context);
}

extern "C" PGDLLEXPORT void hnsw_parallel_build_main(dsm_segment *seg, shm_toc *toc) {
    return vs::guard([&]() {
        ParallelBuildWorker worker;
        parallel_build_attach(toc, &worker);
        auto *shared = static_cast<HnswShared *>(worker.am_shared);
        // The leader keeps the graph's segment until every worker has finished.
        dsm_segment *graph_segment = dsm_attach(shared->graph_segment);
        if (graph_segment == nullptr)
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("could not map the dynamic shared memory segment of the hnsw graph")));
        LWLockRegisterTranche(shared->lock_tranche, "hnsw build");
        build_participant(worker.shared, shared, dsm_segment_address(graph_segment), worker.heap, worker.index);
        parallel_build_detach(toc, &worker);
        dsm_detach(graph_segment);
    });
}

static void notice_building_alone(const char *detail, const char *hint) {
    ereport(NOTICE, (errmsg("hnsw index build continues without parallel workers"), errdetail("%s", detail),
                     hint ? errhint("%s", hint) : 0));
}

// Creates the dynamic shared memory segment of the graph, by far the largest thing a parallel
// build shares, or says in a NOTICE why there is none and returns null. It is a segment of its
// own, not a part of the parallel context's, because dsm_create raises an ERROR when the memory
// cannot be had (posix_fallocate says ENOSPC when /dev/shm is full) and InitializeParallelDSM
// would let that abort the build: only running out of segments makes it fall back. Catching an
// error takes a subtransaction, as in PL/pgSQL's exception blocks, and a subtransaction cannot
// begin in parallel mode, nor may a parallel context outlive one; a segment may, once its
// mapping is handed from the subtransaction's resource owner (whose end would detach it) to the
// caller's. Creating the graph's segment once, where its failure can be caught, also spares
// the alternative of probing with a segment of the same size first, which would commit all that
// memory twice and could still fail the second time.
static dsm_segment *create_graph_segment(Size bytes) {
    MemoryContext caller_context = CurrentMemoryContext;
    ResourceOwner caller_owner = CurrentResourceOwner;
    dsm_segment *volatile segment = nullptr;
    ErrorData *volatile error = nullptr;
    BeginInternalSubTransaction(nullptr);
    MemoryContextSwitchTo(caller_context);
    PG_TRY();
    {
        segment = dsm_create(bytes, DSM_CREATE_NULL_IF_MAXSEGMENTS);
        if (segment != nullptr) {
            dsm_pin_mapping(segment);
            ResourceOwner subtransaction_owner = CurrentResourceOwner;
            CurrentResourceOwner = caller_owner;
            dsm_unpin_mapping(segment);
            CurrentResourceOwner = subtransaction_owner;
        }
        ReleaseCurrentSubTransaction();
    }
    PG_CATCH();
    {
        MemoryContextSwitchTo(caller_context);
        error = CopyErrorData();
        FlushErrorState();
        RollbackAndReleaseCurrentSubTransaction();
        // Created but not handed over: neither resource owner would detach it.
        if (segment != nullptr) dsm_detach(segment);
        segment = nullptr;
    }
    PG_END_TRY();
    MemoryContextSwitchTo(caller_context);
    CurrentResourceOwner = caller_owner;
    // Only a lack of memory means building alone; anything else (a cancel that interrupted the
    // allocation above all) is the build's error.
    if (error != nullptr && error->sqlerrcode != ERRCODE_OUT_OF_MEMORY && error->sqlerrcode != ERRCODE_DISK_FULL &&
        error->sqlerrcode != ERRCODE_INSUFFICIENT_RESOURCES)
        ReThrowError(error);
    if (error != nullptr) {
        char *detail = psprintf("Its graph needs %zu bytes of dynamic shared memory: %s.", bytes, error->message);
        FreeErrorData(error);
        notice_building_alone(detail, "Make more room for dynamic shared memory (with dynamic_shared_memory_type = "
                                      "posix, in /dev/shm).");
        pfree(detail);
    } else if (segment == nullptr) {
        notice_building_alone("Too many dynamic shared memory segments exist.", nullptr);
    }
    return segment;
}

// The leader's part of a parallel build: sets up the shared graph and scan, launches the
// workers, scans its own share, waits for the rest and writes the pages. Returns -1, having
// changed nothing, when there is no shared memory for it.
static double build_parallel(HnswBuildState *state, Relation heap, IndexInfo *index_info, int workers) {
    Relation index = state->index;
    SharedLayout layout = shared_layout(heap, state->info, state->memory_limit);
    std::size_t capacity = layout.capacity;
    Size graph_bytes = layout.graph_bytes;
    dsm_segment *graph_segment = create_graph_segment(graph_bytes + layout.key_arena_bytes);
    if (graph_segment == nullptr) return -1;
    ParallelBuild build;
    if (!parallel_build_begin(&build, "hnsw_parallel_build_main", heap, index, index_info, workers,
                              sizeof(HnswShared))) {
        notice_building_alone("Too many dynamic shared memory segments exist.", nullptr);
        dsm_detach(graph_segment);
        return -1;
    }
    auto *shared = static_cast<HnswShared *>(build.am_shared);
    static int lock_tranche = 0;  // one per backend, however many builds it runs
    if (lock_tranche == 0) lock_tranche = LWLockNewTrancheId();
    shared->lock_tranche = lock_tranche;
    shared->graph_segment = dsm_segment_handle(graph_segment);
    LWLockRegisterTranche(shared->lock_tranche, "hnsw build");
    LWLockInitialize(&shared->flush_lock, shared->lock_tranche);
    shared->flushed = false;
    pg_atomic_init_u64(&shared->indexed, 0);
    shared->key_arena_offset = graph_bytes;
    shared->key_arena_bytes = layout.key_arena_bytes;
    shared->graph_sized_to_memory = layout.sized_to_memory;
    pg_atomic_init_u64(&shared->key_arena_used, 0);
    void *region = dsm_segment_address(graph_segment);
    MemoryContext old = MemoryContextSwitchTo(state->context);
    state->graph_kernel = memory_kernel(state->info, static_cast<char *>(region) + graph_bytes);
    state->graph.create(region, state->info.slot_bytes, state->info.m, capacity, &state->allocator, state->graph_kernel);
    MemoryContextSwitchTo(old);

    int launched = parallel_build_launch(&build);
    ereport(DEBUG1, (errmsg("hnsw build with %d parallel workers", launched)));
    build_participant(build.shared, shared, region, heap, index);
    double heap_tuples = parallel_build_wait(&build, index_info);

    state->shared = shared;
    if (!shared->flushed) flush_to_disk(state);
    state->indexed = double(pg_atomic_read_u64(&shared->indexed));
    state->shared = nullptr;
    parallel_build_end(&build);
    dsm_detach(graph_segment);
    return heap_tuples;
}

IndexBuildResult *hnsw_build(Relation heap, Relation index, IndexInfo *index_info) {
    return vs::guard([&]() {
        if (RelationGetNumberOfBlocks(index) != 0)
            elog(ERROR, "index \"%s\" already contains data", RelationGetRelationName(index));
        HnswBuildState state;
        init_state(&state, index);
        const int params[] = {PROGRESS_CREATEIDX_SUBPHASE, PROGRESS_CREATEIDX_TUPLES_TOTAL};
        const int64 values[] = {HNSW_PHASE_LOAD, int64(std::max<float4>(heap->rd_rel->reltuples, 0))};
        pgstat_progress_update_multi_param(2, params, values);

        int workers = plan_create_index_workers(RelationGetRelid(heap), RelationGetRelid(index));
        double heap_tuples = workers > 0 ? build_parallel(&state, heap, index_info, workers) : -1;
        if (heap_tuples < 0) {
            MemoryContext old = MemoryContextSwitchTo(state.context);
            std::size_t initial = Min(state.memory_limit, std::size_t(1024));
            state.region = palloc_extended(
                vs::hnsw::AnyMemoryGraph::region_bytes(state.info.slot_bytes, state.info.m, initial), MCXT_ALLOC_HUGE);
            state.graph_kernel = memory_kernel(state.info, nullptr);
            state.graph.create(state.region, state.info.slot_bytes, state.info.m, initial, &state.allocator,
                               state.graph_kernel);
            heap_tuples = table_index_build_scan(heap, index, index_info, true, true, build_callback, &state, nullptr);
            if (!state.on_disk) flush_to_disk(&state);
            MemoryContextSwitchTo(old);
        }
        MemoryContextDelete(state.context);
        IndexBuildResult *result = static_cast<IndexBuildResult *>(palloc(sizeof(IndexBuildResult)));
        result->heap_tuples = heap_tuples;
        result->index_tuples = state.indexed;
        return result;
    });
}

static void init_empty_meta(Relation index, BlockNumber, Page page) {
    HnswIndexInfo info;
    init_info(index, &info);
    hnsw_init_meta_page(page, &info);
}

// An unlogged index's init fork: an empty index, the metapage alone.
void hnsw_buildempty(Relation index) {
    return vs::guard([&]() { index_build_empty(index, 1, init_empty_meta); });
}
