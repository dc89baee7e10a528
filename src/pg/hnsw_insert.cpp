// Inserting one row into a built hnsw index: reserve a slot (and an upper tuple) under the
// metapage lock, reusing one VACUUM freed where it may, write the element, link it into the
// graph with the core's insert over the page store, and only then mark it valid, so no scan
// returns a half-written element.
#include "hnsw.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#pragma GCC diagnostic pop
}

// Extends the index by one page, initialised as type and WAL-logged as a full image.
static Buffer new_page(Relation index, uint16 type, BlockNumber run_start, GenericXLogState *state, Page *page) {
    Buffer buf = ReadBufferExtended(index, MAIN_FORKNUM, P_NEW, RBM_NORMAL, nullptr);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    *page = GenericXLogRegisterBuffer(state, buf, GENERIC_XLOG_FULL_IMAGE);
    hnsw_init_page(*page, type, run_start);
    return buf;
}

// Appends an empty run; its pages are contiguous because every extension of an hnsw index
// happens under the relation extension lock, taken here, and the metapage lock, held by the caller.
static BlockNumber allocate_run(Relation index, const HnswIndexInfo *info) {
    LockRelationForExtension(index, ExclusiveLock);
    BlockNumber start = RelationGetNumberOfBlocks(index);
    for (uint32 p = 0; p < info->link_pages_per_run + info->vector_pages_per_run; p++) {
        GenericXLogState *state = GenericXLogStart(index);
        Page page;
        Buffer buf = new_page(index, p < info->link_pages_per_run ? HNSW_PAGE_LINKS : HNSW_PAGE_VECTORS, start,
                              state, &page);
        Assert(BufferGetBlockNumber(buf) == start + p);
        GenericXLogFinish(state);
        UnlockReleaseBuffer(buf);
    }
    UnlockRelationForExtension(index, ExclusiveLock);
    return start;
}

// Adds an upper tuple with no links yet to the metapage's current upper page, or to a new one.
// The buffers join the caller's WAL record with the metapage.
static ItemPointerData add_upper_tuple(Relation index, HnswMeta *meta, int level, int m, GenericXLogState *state,
                                       Buffer *buf) {
    Size size = hnsw_upper_tuple_size(level, m);
    HnswLink *tuple = static_cast<HnswLink *>(palloc(size));
    for (int i = 0; i < level * m; i++) tuple[i] = HNSW_NO_LINK;
    Page page = nullptr;
    *buf = InvalidBuffer;
    if (meta->upper_page != InvalidBlockNumber) {
        *buf = hnsw_read_buffer(index, meta->upper_page);
        LockBuffer(*buf, BUFFER_LOCK_EXCLUSIVE);
        if (PageGetFreeSpace(BufferGetPage(*buf)) >= MAXALIGN(size)) {
            page = GenericXLogRegisterBuffer(state, *buf, 0);
        } else {
            UnlockReleaseBuffer(*buf);
        }
    }
    if (page == nullptr) {
        LockRelationForExtension(index, ExclusiveLock);
        *buf = new_page(index, HNSW_PAGE_UPPER, InvalidBlockNumber, state, &page);
        UnlockRelationForExtension(index, ExclusiveLock);
        meta->upper_page = BufferGetBlockNumber(*buf);
    }
    OffsetNumber offset = PageAddItem(page, reinterpret_cast<Item>(tuple), size, InvalidOffsetNumber, false, false);
    if (offset == InvalidOffsetNumber) elog(ERROR, "hnsw: failed to add upper tuple");
    ItemPointerData tid;
    ItemPointerSet(&tid, BufferGetBlockNumber(*buf), offset);
    pfree(tuple);
    return tid;
}

// Clears the links of a reused element's upper tuple, as a new one would start. The buffer joins the caller's WAL record with the metapage.
static void reset_upper_tuple(Relation index, ItemPointer upper, int level, int m, GenericXLogState *state,
                              Buffer *buf) {
    *buf = hnsw_read_buffer(index, ItemPointerGetBlockNumber(upper));
    LockBuffer(*buf, BUFFER_LOCK_EXCLUSIVE);
    Page page = GenericXLogRegisterBuffer(state, *buf, 0);
    auto *links = reinterpret_cast<HnswLink *>(PageGetItem(page, PageGetItemId(page, ItemPointerGetOffsetNumber(upper))));
    for (int i = 0; i < level * m; i++) links[i] = HNSW_NO_LINK;
}

// The first unlinked slot on a link page, or -1; the caller holds a lock on the page.
static int first_unlinked(Page page, const HnswIndexInfo *info, uint32 first) {
    for (uint32 slot = 0; slot < info->records_per_link_page && first + slot < info->elements_per_run; slot++)
        if (hnsw_link_record(page, info, slot)->flags & HNSW_FLAG_UNLINKED) return int(slot);
    return -1;
}

// Takes a slot VACUUM unlinked, if one is free: only once every snapshot that existed when it was
// unlinked is gone can no scan still be reading the old element (vector pages are read under a
// pin alone). Called with the metapage locked, so no other insert claims at the same time; walks
// the link pages from the metapage's hint, jumping over vector pages, and moves the hint past
// those with no unlinked slot left. Returns the slot, reserved, with its old element's level
// and upper tuple. (An error or crash before the element's record is written leaves the slot
// reserved for good: one slot.)
static vs::Ref claim_free_slot(Relation index, Relation heap, const HnswIndexInfo *info, HnswMeta *meta,
                               int *level, ItemPointer upper) {
    if (meta->free_block == InvalidBlockNumber || !GlobalVisCheckRemovableFullXid(heap, meta->free_after))
        return vs::kNoRef;
    BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    for (BlockNumber block = meta->free_block; block < nblocks;) {
        Buffer buf = hnsw_read_buffer(index, block);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        auto *opaque = reinterpret_cast<HnswPageOpaque *>(PageGetSpecialPointer(page));
        BlockNumber next = block + 1;
        if (!PageIsNew(page) && (opaque->page_type == HNSW_PAGE_LINKS || opaque->page_type == HNSW_PAGE_VECTORS)) {
            BlockNumber run = opaque->run_start;
            if (block + 1 >= run + info->link_pages_per_run) next = run + info->link_pages_per_run + info->vector_pages_per_run;
            uint32 first = (block - run) * info->records_per_link_page;
            if (opaque->page_type == HNSW_PAGE_LINKS && first_unlinked(page, info, first) >= 0) {
                LockBuffer(buf, BUFFER_LOCK_UNLOCK);
                LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
                int slot = first_unlinked(BufferGetPage(buf), info, first);  // only a claim, under the metapage lock, clears one
                GenericXLogState *state = GenericXLogStart(index);
                HnswLinkRecordHeader *record = hnsw_link_record(GenericXLogRegisterBuffer(state, buf, 0), info, slot);
                *level = record->level;
                *upper = record->upper;
                record->flags = 0;
                GenericXLogFinish(state);
                UnlockReleaseBuffer(buf);
                meta->free_block = block;
                return hnsw_ref(run, first + uint32(slot));
            }
        }
        UnlockReleaseBuffer(buf);
        block = next;
    }
    meta->free_block = InvalidBlockNumber;
    return vs::kNoRef;
}

static void write_vector(Relation index, const HnswIndexInfo *info, vs::Ref ref, const float *x) {
    const char *source = reinterpret_cast<const char *>(x);
    hnsw_vector_pieces(info, ref, [&](BlockNumber block, Size in_page, Size done, Size piece) {
        Buffer buf = hnsw_read_buffer(index, block);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        GenericXLogState *state = GenericXLogStart(index);
        Page page = GenericXLogRegisterBuffer(state, buf, 0);
        memcpy(hnsw_page_data(page) + in_page, source + done, piece);
        GenericXLogFinish(state);
        UnlockReleaseBuffer(buf);
    });
}

// Adds flags to a link record (a DELETED mark VACUUM set meanwhile stays); for a new element
// (upper given) first sets its level, heap TID, upper tuple and empty layer-0 links.
static void write_record(Relation index, const HnswIndexInfo *info, vs::Ref ref, int level, uint8 flags,
                         ItemPointer heap_tid, ItemPointer upper) {
    Buffer buf = hnsw_read_buffer(index, hnsw_link_block(info, ref));
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    GenericXLogState *state = GenericXLogStart(index);
    Page page = GenericXLogRegisterBuffer(state, buf, 0);
    HnswLinkRecordHeader *record = hnsw_link_record(page, info, hnsw_ref_index(ref));
    if (upper != nullptr) {
        record->level = uint8(level);
        record->heap_tid = *heap_tid;
        record->upper = *upper;
        HnswLink *links = hnsw_record_links(record);
        for (int i = 0; i < 2 * info->m; i++) links[i] = HNSW_NO_LINK;
        record->flags = 0;
    }
    record->flags |= flags;
    GenericXLogFinish(state);
    UnlockReleaseBuffer(buf);
}

// VACUUM unlinks a deleted element once it has repaired every list that links to it, and this
// insert may have chosen it as a neighbour just before it was deleted: such links go again
// before the element is valid. (A list VACUUM repairs after this point it repairs itself.)
static void drop_deleted_links(HnswPageStore &store, vs::Ref ref, int level) {
    HnswLink slots[2 * vs::hnsw::kMaxM];
    vs::Ref kept[2 * vs::hnsw::kMaxM];
    for (int layer = 0; layer <= level; layer++) {
        for (;;) {
            int n_slots = store.read_links(ref, layer, slots);
            int n = 0;
            bool dropped = false;
            for (int i = 0; i < n_slots && hnsw_link_valid(slots[i]); i++) {
                vs::Ref link = hnsw_link_ref(slots[i]);
                if (store.linkable(link))
                    kept[n++] = link;
                else
                    dropped = true;
            }
            if (!dropped || store.replace_links(ref, layer, kept, n, slots)) break;
        }
    }
}

// Makes ref the entry point if it is above the current one, or if VACUUM left the index without one.
static void become_entry(Relation index, vs::Ref ref, int level) {
    Buffer metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
    LockBuffer(metabuf, BUFFER_LOCK_SHARE);
    HnswMeta *meta = hnsw_meta(BufferGetPage(metabuf));
    bool above = meta->entry == vs::kNoRef || level > meta->entry_level;
    LockBuffer(metabuf, BUFFER_LOCK_UNLOCK);
    if (above) {
        LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
        GenericXLogState *state = GenericXLogStart(index);
        meta = hnsw_meta(GenericXLogRegisterBuffer(state, metabuf, 0));
        if (meta->entry == vs::kNoRef || level > meta->entry_level) {
            meta->entry = ref;
            meta->entry_level = level;
            GenericXLogFinish(state);
        } else {
            GenericXLogAbort(state);
        }
        LockBuffer(metabuf, BUFFER_LOCK_UNLOCK);
    }
    ReleaseBuffer(metabuf);
}

void hnsw_insert_element(Relation index, Relation heap, const HnswIndexInfo *info, const float *vector,
                         ItemPointer heap_tid, MemoryContext context) {
    // Reserve a slot (and an upper tuple) under the metapage lock. A freed slot is reused with
    // its level and upper tuple: the level was drawn at random, independently of the vector, so
    // it serves the new element as well as a fresh draw, and no upper tuple is left behind.
    Buffer metabuf = ReadBuffer(index, HNSW_METAPAGE_BLKNO);
    LockBuffer(metabuf, BUFFER_LOCK_EXCLUSIVE);
    GenericXLogState *state = GenericXLogStart(index);
    HnswMeta *meta = hnsw_meta(GenericXLogRegisterBuffer(state, metabuf, 0));
    int level;
    ItemPointerData upper;
    Buffer upperbuf = InvalidBuffer;
    vs::Ref ref = claim_free_slot(index, heap, info, meta, &level, &upper);
    if (ref != vs::kNoRef) {
        if (level > 0) reset_upper_tuple(index, &upper, level, info->m, state, &upperbuf);
    } else {
        if (meta->last_run == InvalidBlockNumber || meta->last_run_used == meta->elements_per_run) {
            meta->last_run = allocate_run(index, info);
            meta->last_run_used = 0;
        }
        ref = hnsw_ref(meta->last_run, meta->last_run_used++);
        level = vs::hnsw::random_level(1.0 - pg_prng_double(&pg_global_prng_state), info->m);
        ItemPointerSetInvalid(&upper);
        if (level > 0) upper = add_upper_tuple(index, meta, level, info->m, state, &upperbuf);
    }
    vs::hnsw::EntryPoint entry{meta->entry, meta->entry_level};

    if (entry.ref == vs::kNoRef) {
        // The first element becomes the entry point. Its vector and record are logged before
        // the metapage record that points to it, and the metapage stays locked meanwhile, so
        // neither a concurrent search nor recovery after a crash finds an entry not yet written.
        write_vector(index, info, ref, vector);
        write_record(index, info, ref, level, HNSW_FLAG_VALID, heap_tid, &upper);
        meta->entry = ref;
        meta->entry_level = level;
        GenericXLogFinish(state);
        if (BufferIsValid(upperbuf)) UnlockReleaseBuffer(upperbuf);
        UnlockReleaseBuffer(metabuf);
        return;
    }
    GenericXLogFinish(state);
    if (BufferIsValid(upperbuf)) UnlockReleaseBuffer(upperbuf);
    UnlockReleaseBuffer(metabuf);

    write_vector(index, info, ref, vector);
    write_record(index, info, ref, level, 0, heap_tid, &upper);
    vs::Allocator allocator = hnsw_allocator(context);
    HnswPageStore store;
    store.init(index, info, context);
    store.set_query(vector);
    vs::hnsw::Workspace ws;
    ws.init(&allocator, info->m, info->ef_construction);
    // A cancel waits the few milliseconds until the element is linked and checked: stopped in
    // between, it could keep a link to an element VACUUM frees (drop_deleted_links).
    HOLD_INTERRUPTS();
    vs::hnsw::insert(store, ref, level, entry, info->m, info->ef_construction, ws);
    drop_deleted_links(store, ref, level);
    write_record(index, info, ref, level, HNSW_FLAG_VALID, nullptr, nullptr);
    RESUME_INTERRUPTS();
    become_entry(index, ref, level);
}


bool hnsw_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap,
                 IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *index_info) {
    if (isnull[0]) return false;
    MemoryContext context = AllocSetContextCreate(CurrentMemoryContext, "hnsw insert", ALLOCSET_DEFAULT_SIZES);
    MemoryContext old = MemoryContextSwitchTo(context);
    HnswIndexInfo info = *hnsw_index_info(index);
    VectorView v;
    view_vector(values[0], &v);
    check_expected_dims(info.dims, v.dim);
    float *x = static_cast<float *>(palloc(sizeof(float) * v.dim));
    memcpy(x, v.x, sizeof(float) * v.dim);
    if (hnsw_prepare_query(info.metric, x, v.dim)) hnsw_insert_element(index, heap, &info, x, heap_tid, context);
    MemoryContextSwitchTo(old);
    MemoryContextDelete(context);
    return false;
}
