// Inserting a row into an lsh index: its sketch and bucket per table are computed with no lock
// held, then the entry is appended to each table's bucket (pages.cpp). An insert changes one
// page per table, two when it starts a page; it never waits for another bucket's inserts.
#include "pg/lsh/lsh.h"
#include "pg/test_hooks.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "nodes/execnodes.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

// What the inserts of one statement share (IndexInfo's ii_AmCache): hashing needs scratch
// space that a multi-row INSERT or COPY would otherwise allocate for every row.
struct LshInsertState {
    LshIndexInfo info;
    vs::Allocator allocator;
    vs::lsh::Hasher hasher;
    uint64 *sketch;
    float *row;
    bool growth_checked;  // whether notice_outgrown has read the index's size in this statement
};
static_assert(std::is_trivially_destructible_v<LshInsertState>);

static LshInsertState *insert_state(Relation index, IndexInfo *index_info) {
    if (index_info->ii_AmCache != nullptr) return static_cast<LshInsertState *>(index_info->ii_AmCache);
    MemoryContext old = MemoryContextSwitchTo(index_info->ii_Context);
    auto *state = static_cast<LshInsertState *>(palloc0(sizeof(LshInsertState)));
    state->info = *lsh_index_info(index);
    state->allocator = index_allocator(index_info->ii_Context);
    if (state->info.meta.shaped) state->hasher.init(&state->info.meta.layout, &state->allocator);
    state->sketch = static_cast<uint64 *>(palloc0(sizeof(uint64) * Max(1, state->info.sketch_words)));
    state->row = static_cast<float *>(palloc(sizeof(float) * state->info.dims));
    MemoryContextSwitchTo(old);
    index_info->ii_AmCache = state;
    return state;
}

// Says once per backend and index when the index has outgrown its layout: an unshaped index
// past shape_rows rows (chain_entries, its one chain's; searched exhaustively), a shaped one
// past four times its build's size.
static void notice_outgrown(Relation index, const LshIndexInfo *info, uint64 chain_entries) {
    static Oid noticed[16];
    static int n_noticed = 0;
    const LshMeta &meta = info->meta;
    Oid relid = RelationGetRelid(index);
    if (n_noticed == int(lengthof(noticed))) return;  // the session has heard enough
    for (int i = 0; i < n_noticed; i++)
        if (noticed[i] == relid) return;
    bool outgrown = meta.shaped ? RelationGetNumberOfBlocks(index) > 4 * meta.built_blocks
                                : chain_entries > meta.shape_rows;
    if (!outgrown) return;
    noticed[n_noticed++] = relid;
    if (meta.shaped)
        ereport(NOTICE, (errmsg("lsh index \"%s\" was laid out for %.0f rows and now holds about four times as many",
                                RelationGetRelationName(index), meta.built_rows),
                         errdetail("Its buckets are fuller than designed, so scans read more entries."),
                         errhint("REINDEX the index to lay it out for its rows.")));
    else
        ereport(NOTICE, (errmsg("lsh index \"%s\" holds more than %u rows and is searched exhaustively",
                                RelationGetRelationName(index), meta.shape_rows),
                         errdetail("It was built on fewer rows than its shape_rows, too few to lay out its hash tables."),
                         errhint("REINDEX the index to lay it out for its rows.")));
}

bool lsh_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap,
                IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *index_info) {
    return vs::guard([&]() {
        if (isnull[0]) return false;
        LshInsertState *state = insert_state(index, index_info);
        const LshIndexInfo *info = &state->info;
        // A detoasted copy goes to the executor's per-tuple context, reset after the row.
        index_read_floats(values[0], vs::Element(info->meta.header.element_type), info->dims, state->row);
        if (!lsh_indexes_vector(info->metric, state->row, info->dims)) return false;
        if (!info->meta.shaped) {
            notice_outgrown(index, info, lsh_append(index, info, 0, 0, heap_tid, state->sketch));
        } else {
            if (!state->hasher.load(state->row, false)) return false;
            state->hasher.sketch_into(state->sketch);
            for (int t = 0; t < info->meta.layout.tables; t++) {
                lsh_append(index, info, t, state->hasher.bucket(t), heap_tid, state->sketch);
                VS_TEST_PAUSE("lsh_insert_table");
            }
            // A shaped index's size is read once a statement (an lseek), not once a row.
            if (!state->growth_checked) notice_outgrown(index, info, 0);
            state->growth_checked = true;
        }
        return false;
    });
}
