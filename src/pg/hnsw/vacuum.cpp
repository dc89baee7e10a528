// VACUUM of an hnsw index: mark the elements whose heap rows are gone as deleted, repair every
// list that links to one (the core's repair_list, core/hnsw/repair.h), so the graph stays
// navigable and recall holds as rows go, then mark them unlinked, free for inserts to reuse.
//
// What it reads: its sweeps go over the link pages (and the few upper pages between runs) and
// jump over each run's vector pages, some 95% of an index of 784 dimensions; they read through
// VACUUM's ring buffer (info->strategy), so that a sweep does not evict what other sessions keep
// in shared buffers. Vectors are read only to repair a list that links to a deleted element:
// the element's own and its candidates', at random and many times over, through shared buffers
// as a scan reads them (a ring would drop each one before its next use).
//
// A deleted element is never returned, but a scan that was already under way may still be
// standing on it or about to read its vector, which it does under a pin alone. So VACUUM stamps
// the metapage with the next transaction ID once no list links to the unlinked elements any
// more, and inserts reuse their slots only when no snapshot from before that stamp remains
// (GlobalVisCheckRemovableFullXid): every scan that could have reached them has ended by then.
// An insert that chose one as a neighbour just before it was deleted drops that link before it
// finishes (see insert.cpp), and its transaction holds the stamp back until then. (Should
// the insert fail with an error in between, its element keeps the link until the next VACUUM
// deletes the element, its row being dead.)
#include "pg/hnsw/hnsw.h"

#include <algorithm>

#include "core/hnsw/repair.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/transam.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "postmaster/autovacuum.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

struct HnswVacuumState {
    Relation index;
    BufferAccessStrategy strategy;  // the ring of VACUUM's sweeps
    HnswIndexInfo info;
    MemoryContext context;
    vs::Allocator allocator;
    // The deleted elements not unlinked yet (by an earlier VACUUM that stopped short, or found
    // now), which this VACUUM unlinks: no list may link to one. Unlinked ones are left out: an
    // insert may be reusing their slots meanwhile.
    vs::VisitedSet deleted;
    vs::Ref *unlinking;
    std::size_t n_unlinking;
    // How many deleted elements one round holds within maintenance_work_mem, and whether this
    // round left some for the next.
    std::size_t round_limit;
    bool more_rounds;
    // The first link page with a slot unlinked before: the metapage's hint may have moved past it
    // (an interrupted VACUUM sets the hint last, and an insert may look before the slot is marked).
    BlockNumber first_unlinked;
    std::size_t unlinking_capacity;
    vs::hnsw::EntryPoint best_live;  // the live element on the highest layer: the next entry point
    // The highest element still being inserted: the next entry point when no live one is left,
    // so that an insert finishing meanwhile is not left out of a graph with no entry.
    vs::hnsw::EntryPoint best_pending;
    double live;
    vs::hnsw::RepairWorkspace repair;
    vs::Ref *repaired;  // a list as repair_list chose it
};

static_assert(std::is_trivially_destructible_v<HnswVacuumState>);  // lives across buffer reads

struct HnswSlot {
    vs::Ref ref;
    int level;
};

// Visits every link page: pick(buf, page, run, first, out), under the lock given, fills out with
// the slots to work on and returns their count; handle(slot) then runs for each of them once
// the page is released, free to take other locks and to allocate.
//
// From a run's last link page the sweep jumps to where the run ends, over its vector pages. A
// run whose extension failed part way (an error or a crash in allocate_run) is shorter than the
// layout says, and the jump then lands inside the run after it, whose page names where that run
// starts: the sweep goes back there. (The short run itself was never published: no element
// lives in it.) Any other page (upper pages, pages never initialised) is read and passed over.
template <typename Pick, typename Handle>
static void for_each_link_page(HnswVacuumState *state, int lock, Pick pick, Handle handle) {
    const HnswIndexInfo &info = state->info;
    HnswSlot slots[BLCKSZ / sizeof(HnswLinkRecordHeader)];
    BlockNumber nblocks = RelationGetNumberOfBlocks(state->index);
    BlockNumber current_run = InvalidBlockNumber;  // the run whose link pages the sweep is on
    for (BlockNumber block = 1; block < nblocks;) {
        vacuum_delay_point();
        Buffer buf = ReadBufferExtended(state->index, MAIN_FORKNUM, block, RBM_NORMAL, state->strategy);
        LockBuffer(buf, lock);
        Page page = BufferGetPage(buf);
        const IndexPageOpaque *opaque = index_page_opaque(page);
        BlockNumber next = block + 1;
        int n = 0;
        if (opaque && (opaque->page_type == HNSW_PAGE_LINKS || opaque->page_type == HNSW_PAGE_VECTORS)) {
            BlockNumber run = opaque->aux;
            // A run is entered once, at its start or by going back to it: its pages then follow.
            bool unswept = run <= block && (current_run == InvalidBlockNumber || run > current_run);
            if (unswept) current_run = run;
            if (unswept && run < block) {
                next = run;  // landed inside a run not swept yet
            } else if (run == current_run) {
                if (block + 1 >= run + info.link_pages_per_run)
                    next = Max(block + 1, run + info.link_pages_per_run + info.vector_pages_per_run);
                if (opaque->page_type == HNSW_PAGE_LINKS)
                    n = pick(buf, page, run, (block - run) * info.records_per_link_page, slots);
            }
        }
        UnlockReleaseBuffer(buf);
        for (int i = 0; i < n; i++) handle(slots[i]);
        block = next;
    }
}

// Pass 1: flag the elements whose heap rows the callback reports dead, and gather the deleted
// elements not unlinked yet.
static void mark_deleted(HnswVacuumState *state, IndexBulkDeleteCallback callback, void *callback_state,
                         IndexBulkDeleteResult *stats) {
    const HnswIndexInfo &info = state->info;
    auto pick = [&](Buffer buf, Page page, BlockNumber run, uint32 first, HnswSlot *out) {
        uint16 dead[BLCKSZ / sizeof(HnswLinkRecordHeader)];
        int n_dead = 0;
        int n = 0;
        for (uint32 slot = 0; slot < info.records_per_link_page && first + slot < info.elements_per_run; slot++) {
            HnswLinkRecordHeader *record = hnsw_link_record(page, &info, slot);
            vs::Ref ref = hnsw_ref(run, first + slot);
            if (record->flags & HNSW_FLAG_UNLINKED) {
                state->first_unlinked = Min(state->first_unlinked, hnsw_link_block(&info, ref));
                continue;
            }
            if (record->flags & HNSW_FLAG_DELETED) {
                out[n++] = {ref, record->level};
                continue;
            }
            // A record never written has no heap TID. One written but never made valid is an
            // insert still running, or one that failed after linking its element: the heap
            // decides, as for any other (an aborted insert's row is dead).
            if (!ItemPointerIsValid(&record->heap_tid)) continue;
            if (callback(&record->heap_tid, callback_state)) {
                dead[n_dead++] = uint16(slot);
                out[n++] = {ref, record->level};
                stats->tuples_removed++;
            } else if (record->flags & HNSW_FLAG_VALID) {
                state->live++;
                if (record->level > state->best_live.level) state->best_live = {ref, record->level};
            } else if (record->level > state->best_pending.level) {
                state->best_pending = {ref, record->level};
            }
        }
        if (n_dead > 0)
            index_edit_page(state->index, buf, [&](Page writable) {
                for (int i = 0; i < n_dead; i++) hnsw_link_record(writable, &info, dead[i])->flags |= HNSW_FLAG_DELETED;
            });
        return n;
    };
    for_each_link_page(state, BUFFER_LOCK_EXCLUSIVE, pick, [&](const HnswSlot &slot) {
        // Its DELETED mark is on its page: the next round gathers it.
        if (state->n_unlinking == state->round_limit) {
            state->more_rounds = true;
            return;
        }
        state->deleted.insert(slot.ref);
        if (state->n_unlinking == state->unlinking_capacity) {
            state->unlinking_capacity *= 2;
            state->unlinking = static_cast<vs::Ref *>(
                repalloc_huge(state->unlinking, sizeof(vs::Ref) * state->unlinking_capacity));
        }
        state->unlinking[state->n_unlinking++] = slot.ref;
    });
}

// Re-selects ref's list on layer without deleted elements, if it links to one (repair_list of
// the core). An insert may change the list meanwhile: the repair is written only over the list
// it started from, and otherwise done again.
static void repair_list(HnswVacuumState *state, HnswPageStore &store, vs::Ref ref, int layer) {
    int capacity = vs::hnsw::max_degree(state->info.m, layer);
    HnswLink slots[2 * vs::hnsw::kMaxM];
    vs::Ref links[2 * vs::hnsw::kMaxM];
    auto deleted = [state](vs::Ref r) { return state->deleted.contains(r); };
    // An element deleted but left for a later round of this VACUUM is still a candidate: it
    // carries walks until that round repairs the lists that link to it. One unlinked before
    // (a deferred element's list may still name it) is none: its slot may be reused.
    auto eligible = [state](vs::Ref r) {
        return !(hnsw_element_flags(state->index, &state->info, r, nullptr) & HNSW_FLAG_UNLINKED);
    };
    for (;;) {
        int n_slots = store.read_links(ref, layer, slots);
        int n = 0;
        for (int i = 0; i < n_slots && hnsw_link_valid(slots[i]); i++) links[n++] = hnsw_link_ref(slots[i]);
        int kept;
        if (!vs::hnsw::repair_list(store, ref, layer, links, n, capacity, deleted, eligible, state->repair,
                                   state->repaired, &kept))
            return;
        if (store.replace_links(ref, layer, state->repaired, kept, slots)) return;
    }
}

// Pass 2: repair the lists that link to deleted elements, on every layer, of every element not
// deleted: the valid ones and those an insert is still linking.
static void repair(HnswVacuumState *state) {
    const HnswIndexInfo &info = state->info;
    HnswPageStore store;
    store.init(state->index, &info, state->context);
    auto pick = [&](Buffer, Page page, BlockNumber run, uint32 first, HnswSlot *out) {
        int n = 0;
        for (uint32 slot = 0; slot < info.records_per_link_page && first + slot < info.elements_per_run; slot++) {
            HnswLinkRecordHeader *record = hnsw_link_record(page, &info, slot);
            // Deleted elements left for a later round are repaired too: walks still go through
            // them until then, and must not meet this round's unlinked elements there.
            vs::Ref ref = hnsw_ref(run, first + slot);
            if (!state->deleted.contains(ref) && ItemPointerIsValid(&record->heap_tid))
                out[n++] = {ref, record->level};
        }
        return n;
    };
    for_each_link_page(state, BUFFER_LOCK_SHARE, pick, [&](const HnswSlot &slot) {
        for (int layer = 0; layer <= slot.level; layer++) repair_list(state, store, slot.ref, layer);
    });
}

// Points the metapage's hint at block, if the hint is past it.
static void lower_free_hint(Relation index, BlockNumber block) {
    index_change_meta<HnswMeta>(index, [&](HnswMeta *meta) {
        if (meta->free_block != InvalidBlockNumber && block >= meta->free_block) return false;
        meta->free_block = block;
        return true;
    });
}

// Pass 3: with every list repaired, move the entry point off a deleted element (to the highest
// live one, or to none when none is left), stamp the metapage, and only then mark the deleted
// elements unlinked, so that no insert takes their slots under an older stamp.
static void unlink(HnswVacuumState *state) {
    const HnswIndexInfo &info = state->info;
    index_change_meta<HnswMeta>(state->index, [&](HnswMeta *meta) {
        if (meta->entry != vs::kNoRef && state->deleted.contains(meta->entry)) {
            const vs::hnsw::EntryPoint &next = state->best_live.ref != vs::kNoRef ? state->best_live : state->best_pending;
            meta->entry = next.ref;
            meta->entry_level = next.level;
        }
        meta->free_after = ReadNextFullTransactionId();
        return true;
    });

    std::sort(state->unlinking, state->unlinking + state->n_unlinking);
    for (std::size_t i = 0; i < state->n_unlinking;) {
        vacuum_delay_point();
        BlockNumber block = hnsw_link_block(&info, state->unlinking[i]);
        Buffer buf = ReadBufferExtended(state->index, MAIN_FORKNUM, block, RBM_NORMAL, state->strategy);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        index_edit_page(state->index, buf, [&](Page page) {
            for (; i < state->n_unlinking && hnsw_link_block(&info, state->unlinking[i]) == block; i++) {
                HnswLinkRecordHeader *record = hnsw_link_record(page, &info, hnsw_ref_index(state->unlinking[i]));
                record->flags |= HNSW_FLAG_UNLINKED;
                ItemPointerSetInvalid(&record->heap_tid);
            }
        });
        UnlockReleaseBuffer(buf);
    }
    state->first_unlinked = Min(state->first_unlinked, hnsw_link_block(&info, state->unlinking[0]));
}

// Bytes a deleted element costs a round: its place in the deleted set (open addressing at up to
// four slots per element, and the record of which slots it filled) and in the unlinking list.
constexpr std::size_t HNSW_VACUUM_BYTES_PER_DELETED = 64;

// Removes the elements whose rows are gone in rounds of as many as maintenance_work_mem (or
// autovacuum_work_mem) holds, as btree's VACUUM makes as many index passes as its dead tuples
// need: each round marks what it finds dead, then repairs and unlinks the deleted elements it
// gathered.
IndexBulkDeleteResult *hnsw_bulkdelete(IndexVacuumInfo *info, IndexBulkDeleteResult *stats,
                                       IndexBulkDeleteCallback callback, void *callback_state) {
    return vs::guard([&]() {
        if (stats == nullptr) stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
        HnswVacuumState state;
        state.index = info->index;
        state.strategy = info->strategy;
        state.info = *hnsw_index_info(info->index);
        state.context = AllocSetContextCreate(CurrentMemoryContext, "hnsw vacuum", ALLOCSET_DEFAULT_SIZES);
        MemoryContext old = MemoryContextSwitchTo(state.context);
        state.allocator = index_allocator(state.context);
        int work_mem_kb = IsAutoVacuumWorkerProcess() && autovacuum_work_mem != -1 ? autovacuum_work_mem : maintenance_work_mem;
        state.round_limit = Max(std::size_t(1024), std::size_t(work_mem_kb) * 1024 / HNSW_VACUUM_BYTES_PER_DELETED);
        state.deleted.init(&state.allocator, 1024);
        state.unlinking_capacity = 1024;
        state.unlinking = static_cast<vs::Ref *>(palloc(sizeof(vs::Ref) * state.unlinking_capacity));
        state.repair.init(&state.allocator, state.info.m);
        state.repaired = state.allocator.array<vs::Ref>(vs::hnsw::max_degree(state.info.m, 0));
        int rounds = 0;
        do {
            rounds++;
            state.deleted.clear();
            state.n_unlinking = 0;
            state.more_rounds = false;
            state.first_unlinked = InvalidBlockNumber;
            state.best_live = state.best_pending = {vs::kNoRef, -1};
            state.live = 0;
            mark_deleted(&state, callback, callback_state, stats);
            if (state.n_unlinking > 0) {
                repair(&state);
                unlink(&state);
            }
            if (state.first_unlinked != InvalidBlockNumber) lower_free_hint(state.index, state.first_unlinked);
        } while (state.more_rounds);
        ereport(DEBUG1, (errmsg("hnsw vacuum of \"%s\" took %d rounds of at most %zu deleted elements",
                                RelationGetRelationName(info->index), rounds, state.round_limit)));
        stats->num_index_tuples = state.live;
        stats->num_pages = RelationGetNumberOfBlocks(info->index);

        MemoryContextSwitchTo(old);
        MemoryContextDelete(state.context);
        return stats;
    });
}

IndexBulkDeleteResult *hnsw_vacuumcleanup(IndexVacuumInfo *info, IndexBulkDeleteResult *stats) {
    return vs::guard([&]() {
        if (info->analyze_only) return stats;
        if (stats == nullptr) {
            stats = static_cast<IndexBulkDeleteResult *>(palloc0(sizeof(IndexBulkDeleteResult)));
            stats->num_index_tuples = info->num_heap_tuples;
        }
        stats->num_pages = RelationGetNumberOfBlocks(info->index);
        return stats;
    });
}
