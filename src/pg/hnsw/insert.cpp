// Inserting one row into a built hnsw index: reserve a slot (and an upper tuple), reusing one
// VACUUM freed where it may, write the element, link it into the graph with the core's insert
// over the page store, and only then mark it valid, so no scan returns a half-written element.
// The metapage's lock is held only to read or change a few fields, never across I/O.
#include "pg/hnsw/hnsw.h"
#include "pg/test_hooks.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "common/pg_prng.h"
#include "miscadmin.h"
#include "storage/freespace.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#pragma GCC diagnostic pop
}

// Extends the index by one page of type; the caller holds the relation extension lock.
static Buffer new_page(Relation index, uint16 type, BlockNumber run_start) {
    return index_new_page(index, [&](Page page) { hnsw_init_page(page, type, run_start); });
}

// The index grows (a run, an upper page) under the relation extension lock, which only growing
// takes, and not under the metapage's buffer lock: every scan needs that lock, and a run is some
// 64 pages written and logged. A grower checks the metapage again once it holds the lock, extends
// the relation, and only then publishes the new pages on the metapage; so two inserters never
// both add a run, and the pages are logged before the metapage record that points to them. The
// extension lock, unlike a page lock, also excludes the other members of a parallel build's lock
// group, whose participants insert into the pages once the graph outgrew memory.
static void lock_growth(Relation index) { LockRelationForExtension(index, ExclusiveLock); }
static void unlock_growth(Relation index) { UnlockRelationForExtension(index, ExclusiveLock); }

// Appends an empty run; its pages are contiguous because the caller holds the growth lock, the
// extension lock.
static BlockNumber allocate_run(Relation index, const HnswIndexInfo *info) {
    BlockNumber start = RelationGetNumberOfBlocks(index);
    for (uint32 p = 0; p < info->link_pages_per_run + info->vector_pages_per_run; p++) {
        Buffer buf = new_page(index, p < info->link_pages_per_run ? HNSW_PAGE_LINKS : HNSW_PAGE_VECTORS, start);
        Assert(BufferGetBlockNumber(buf) == start + p);
        UnlockReleaseBuffer(buf);
    }
    return start;
}

// Takes the next slot of the last run, appending a run first when it is full. (An error or crash
// before the element's record is written leaves the slot reserved for good: one slot.)
static vs::Ref reserve_new_slot(Relation index, const HnswIndexInfo *info) {
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        vs::Ref ref = vs::kNoRef;
        BlockNumber full_run = InvalidBlockNumber;
        index_change_meta<HnswMeta>(index, [&](HnswMeta *meta) {
            full_run = meta->last_run;
            if (meta->last_run == InvalidBlockNumber || meta->last_run_used >= info->elements_per_run) return false;
            ref = hnsw_ref(meta->last_run, meta->last_run_used++);
            return true;
        });
        if (ref != vs::kNoRef) return ref;
        lock_growth(index);
        HnswMeta meta;
        hnsw_read_meta(index, &meta);
        if (meta.last_run == full_run) {
            BlockNumber start = allocate_run(index, info);
            index_change_meta<HnswMeta>(index, [&](HnswMeta *m) {
                m->last_run = start;
                m->last_run_used = 0;
                return true;
            });
        }
        unlock_growth(index);
    }
}

// Whether a tuple of size fits page, in a line pointer deleted before (see delete_sparse_key) or
// a new one.
static bool tuple_fits(Page page, Size size) {
    bool unused_pointer = false;
    for (OffsetNumber offset = FirstOffsetNumber; offset <= PageGetMaxOffsetNumber(page) && !unused_pointer; offset++)
        unused_pointer = !ItemIdIsUsed(PageGetItemId(page, offset));
    return PageGetExactFreeSpace(page) >= MAXALIGN(size) + (unused_pointer ? 0 : sizeof(ItemIdData));
}

// Adds a tuple to a slotted page of type: preferred, if it has room; for key pages, one the free
// space map offers; the page the metapage's hint names; or a new one it then names. The free
// space map, PostgreSQL's own fork and a hint only (neither WAL-logged nor trusted: a page it
// offers is checked, and passed over if it is not what it should be), learns of the room that
// deleted key pieces leave (delete_sparse_key) and of what each added piece takes.
static ItemPointerData add_tuple(Relation index, uint16 type, BlockNumber HnswMeta::*hint, const void *tuple, Size size,
                                 BlockNumber preferred) {
    bool keys = type == HNSW_PAGE_KEYS;
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        HnswMeta meta;
        hnsw_read_meta(index, &meta);
        BlockNumber hinted = meta.*hint;
        BlockNumber offered = keys ? GetPageWithFreeSpace(index, MAXALIGN(size) + sizeof(ItemIdData)) : InvalidBlockNumber;
        BlockNumber candidates[] = {preferred, offered, hinted};
        for (int c = 0; c < 3; c++) {
            BlockNumber block = candidates[c];
            // (tried once, however many name it)
            if (block == InvalidBlockNumber || (c > 0 && block == candidates[0]) || (c > 1 && block == candidates[1]))
                continue;
            bool from_map = block == offered && block != preferred && block != hinted;
            if (block == VS_METAPAGE_BLKNO || (from_map && block >= RelationGetNumberOfBlocks(index))) {
                if (from_map) continue;
                ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                                errmsg("hnsw index \"%s\" names the metapage as a page of tuples",
                                       RelationGetRelationName(index))));
            }
            Buffer buf = index_read_buffer(index, block);
            LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
            Page page = BufferGetPage(buf);
            const IndexPageOpaque *opaque = index_page_opaque(page);
            bool typed = opaque != nullptr && opaque->page_id == VS_HNSW_PAGE_ID && opaque->page_type == type;
            if (!typed && !from_map)
                ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                                errmsg("hnsw index \"%s\" names block %u as a page of type %u, which it is not",
                                       RelationGetRelationName(index), block, unsigned(type))));
            OffsetNumber offset = InvalidOffsetNumber;
            if (typed && tuple_fits(page, size)) {
                index_edit_page(index, buf, [&](Page page) {
                    offset = PageAddItem(page, static_cast<Item>(const_cast<void *>(tuple)), size, InvalidOffsetNumber,
                                         false, false);
                    if (offset == InvalidOffsetNumber) elog(ERROR, "hnsw: failed to add a tuple");
                });
            }
            Size left = typed ? PageGetExactFreeSpace(page) : 0;
            UnlockReleaseBuffer(buf);
            if (keys) RecordPageWithFreeSpace(index, block, left);
            if (offset != InvalidOffsetNumber) {
                ItemPointerData tid;
                ItemPointerSet(&tid, block, offset);
                return tid;
            }
        }
        if (keys && offered != InvalidBlockNumber) FreeSpaceMapVacuumRange(index, offered, offered + 1);
        preferred = InvalidBlockNumber;
        lock_growth(index);
        hnsw_read_meta(index, &meta);
        if (meta.*hint == hinted) {
            Buffer buf = new_page(index, type, InvalidBlockNumber);
            BlockNumber added = BufferGetBlockNumber(buf);
            UnlockReleaseBuffer(buf);
            index_change_meta<HnswMeta>(index, [&](HnswMeta *m) {
                m->*hint = added;
                return true;
            });
        }
        unlock_growth(index);
    }
}

// Adds an upper tuple with no links yet.
static ItemPointerData add_upper_tuple(Relation index, const HnswIndexInfo *info, int level) {
    Size size = hnsw_upper_tuple_size(level, info->m);
    // A drawn level fits (m = 100 draws at most level 7: 4,200 bytes); a forced one may not.
    if (MAXALIGN(size) + sizeof(ItemIdData) > INDEX_PAGE_SPACE)
        ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
                        errmsg("hnsw upper tuple of %zu bytes (level %d, m %d) does not fit a page", size, level,
                               info->m)));
    HnswLink *tuple = static_cast<HnswLink *>(palloc(size));
    for (int i = 0; i < level * info->m; i++) tuple[i] = HNSW_NO_LINK;
    ItemPointerData tid = add_tuple(index, HNSW_PAGE_UPPER, &HnswMeta::upper_page, tuple, size, InvalidBlockNumber);
    pfree(tuple);
    return tid;
}

// Where a reused slot's old key was, piece by piece from its first: a new key of the same size
// fits there again.
struct KeyPlaces {
    int count;
    ItemPointerData pieces[HNSW_MAX_KEY_PIECES];
};

// Writes a sparse key as pieces, first to last, each naming the one before and each where the
// old key's piece of the same place was, if it fits; returns the last's TID. Each is logged
// before the slot that leads to it is written. A cancel waits until all are: pieces no slot
// names would never be reclaimed.
static ItemPointerData write_sparse_key(Relation index, const unsigned char *key, const KeyPlaces &places) {
    HOLD_INTERRUPTS();
    Size length = vs::sparse_key::bytes(vs::sparse_key::nnz(key));
    auto *piece = static_cast<HnswKeyPiece *>(palloc(sizeof(HnswKeyPiece) + HNSW_KEY_PIECE_MAX_BYTES));
    ItemPointerSetInvalid(&piece->earlier);
    piece->unused = 0;
    for (Size offset = 0; offset < length;) {
        Size bytes = Min(length - offset, Size(HNSW_KEY_PIECE_MAX_BYTES));
        piece->offset = uint32(offset);
        memcpy(piece + 1, key + offset, bytes);
        int place = int(offset / HNSW_KEY_PIECE_MAX_BYTES);
        BlockNumber preferred = place < places.count ? ItemPointerGetBlockNumber(&places.pieces[place]) : InvalidBlockNumber;
        piece->earlier = add_tuple(index, HNSW_PAGE_KEYS, &HnswMeta::key_page, piece, sizeof(HnswKeyPiece) + bytes, preferred);
        offset += bytes;
    }
    ItemPointerData last = piece->earlier;
    pfree(piece);
    RESUME_INTERRUPTS();
    return last;
}

// Deletes the pieces of the key a reused slot held, and says where they were. No scan reads them
// any more: the slot is free (see claim_free_slot), and scans that reach a key being replaced take
// it for far (hnsw_visit_key_pieces). The whole chain is checked before any piece goes, so that a
// broken one (the checker would say why) is reported, not followed into other keys. (Nobody else
// changes the key meanwhile: the slot is this insert's.)
static KeyPlaces delete_sparse_key(Relation index, const HnswIndexInfo *info, vs::Ref ref) {
    ItemPointerData last = hnsw_sparse_key_tid(index, info, ref);
    KeyPlaces places;
    places.count = 0;
    bool aligned = true;
    Size length = hnsw_visit_key_pieces(index, last, info->key_bytes, [&](const unsigned char *, Size, Size offset,
                                                                          ItemPointer tid) {
        Size place = offset / HNSW_KEY_PIECE_MAX_BYTES;
        aligned = aligned && offset % HNSW_KEY_PIECE_MAX_BYTES == 0 && place < HNSW_MAX_KEY_PIECES;
        if (!aligned) return;
        places.pieces[place] = *tid;
        places.count = Max(places.count, int(place) + 1);
    });
    if (length == 0 || !aligned) hnsw_report_bad_key(index, &last, "ends a key that is not whole");
    for (int place = 0; place < places.count; place++) {
        BlockNumber block = ItemPointerGetBlockNumber(&places.pieces[place]);
        Buffer buf = index_read_buffer(index, block);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        index_edit_page(index, buf, [&](Page page) {
            OffsetNumber offset = ItemPointerGetOffsetNumber(&places.pieces[place]);
            bool last_pointer = offset == PageGetMaxOffsetNumber(page);
            PageIndexTupleDeleteNoCompact(page, offset);
            if (!last_pointer) PageSetHasFreeLinePointers(page);  // for PageAddItem to take it
        });
        Size left = PageGetExactFreeSpace(BufferGetPage(buf));
        UnlockReleaseBuffer(buf);
        RecordPageWithFreeSpace(index, block, left);
        FreeSpaceMapVacuumRange(index, block, block + 1);
    }
    return places;
}

// Clears the links of a reused element's upper tuple, as a new one would start.
static void reset_upper_tuple(Relation index, ItemPointer upper, int level, int m) {
    Buffer buf = hnsw_read_upper_buffer(index, upper);
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    index_edit_page(index, buf, [&](Page page) {
        HnswLink *links = hnsw_upper_links(index, page, upper, level, m);
        for (int i = 0; i < level * m; i++) links[i] = HNSW_NO_LINK;
    });
    UnlockReleaseBuffer(buf);
}

// The first unlinked slot on a link page, or -1; the caller holds a lock on the page.
static int first_unlinked(Page page, const HnswIndexInfo *info, uint32 first) {
    for (uint32 slot = 0; slot < info->records_per_link_page && first + slot < info->elements_per_run; slot++)
        if (hnsw_link_record(page, info, slot)->flags & HNSW_FLAG_UNLINKED) return int(slot);
    return -1;
}

// Takes a slot VACUUM unlinked, if one is free: only once every snapshot that existed when it was
// unlinked is gone can no scan still be reading the old element (vector pages are read under a
// pin alone). Walks the link pages from the metapage's hint, jumping over vector pages, without
// the metapage lock; a slot is claimed under its link page's exclusive lock, so two inserters
// never take the same one, and only after the stamp is checked again: VACUUM may have unlinked it,
// under a newer stamp, after the walk began. Then moves the hint to where the walk stopped, unless
// VACUUM moved it meanwhile. Returns the slot, reserved, with its old element's level and upper
// tuple.
static vs::Ref claim_free_slot(Relation index, Relation heap, const HnswIndexInfo *info, int *level,
                               ItemPointer upper) {
    HnswMeta meta;
    hnsw_read_meta(index, &meta);
    if (meta.free_block == InvalidBlockNumber || !GlobalVisCheckRemovableFullXid(heap, meta.free_after))
        return vs::kNoRef;
    BlockNumber nblocks = RelationGetNumberOfBlocks(index);
    vs::Ref ref = vs::kNoRef;
    bool too_soon = false;  // a later VACUUM's slots, whose stamp is not yet past
    BlockNumber block = meta.free_block;
    while (block < nblocks && ref == vs::kNoRef && !too_soon) {
        CHECK_FOR_INTERRUPTS();
        Buffer buf = index_read_buffer(index, block);
        LockBuffer(buf, BUFFER_LOCK_SHARE);
        Page page = BufferGetPage(buf);
        const IndexPageOpaque *opaque = index_page_opaque(page);
        BlockNumber next = block + 1;
        if (opaque && (opaque->page_type == HNSW_PAGE_LINKS || opaque->page_type == HNSW_PAGE_VECTORS)) {
            BlockNumber run = opaque->aux;
            if (run == VS_METAPAGE_BLKNO || run > block)
                ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                                errmsg("hnsw index \"%s\" block %u names block %u as its run's start",
                                       RelationGetRelationName(index), block, run),
                                errhint("REINDEX the index.")));
            if (block + 1 >= run + info->link_pages_per_run) next = run + info->link_pages_per_run + info->vector_pages_per_run;
            uint32 first = (block - run) * info->records_per_link_page;
            if (opaque->page_type == HNSW_PAGE_LINKS && first_unlinked(page, info, first) >= 0) {
                LockBuffer(buf, BUFFER_LOCK_UNLOCK);
                // Pinned before the link page is locked, so that no read of it happens under that lock.
                Buffer metabuf = index_read_buffer(index, VS_METAPAGE_BLKNO);
                LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
                int slot = first_unlinked(BufferGetPage(buf), info, first);  // another inserter may have taken it
                // VACUUM stamps the metapage before it marks slots unlinked: the stamp read now,
                // after the mark was seen, covers this slot (the one read before the walk may not).
                if (slot >= 0) {
                    LockBuffer(metabuf, BUFFER_LOCK_SHARE);
                    FullTransactionId stamp = hnsw_meta(BufferGetPage(metabuf))->free_after;
                    LockBuffer(metabuf, BUFFER_LOCK_UNLOCK);
                    too_soon = !GlobalVisCheckRemovableFullXid(heap, stamp);
                }
                ReleaseBuffer(metabuf);
                if (slot >= 0 && !too_soon) {
                    index_edit_page(index, buf, [&](Page page) {
                        HnswLinkRecordHeader *record = hnsw_link_record(page, info, slot);
                        // A slot keeps its level (and upper tuple) when reused: the core sizes its
                        // arrays by kMaxLevel.
                        if (record->level > vs::hnsw::kMaxLevel)
                            ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                                            errmsg("hnsw index \"%s\" block %u slot %d has level %u",
                                                   RelationGetRelationName(index), block, slot, record->level),
                                            errhint("REINDEX the index.")));
                        *level = record->level;
                        *upper = record->upper;
                        record->flags = 0;
                    });
                    ref = hnsw_ref(run, first + uint32(slot));
                    next = block;  // it may hold more
                }
            }
        }
        UnlockReleaseBuffer(buf);
        block = next;
    }
    if (too_soon) return vs::kNoRef;
    BlockNumber hint = ref == vs::kNoRef ? InvalidBlockNumber : block;
    index_change_meta<HnswMeta>(index, [&](HnswMeta *m) {
        if (m->free_block != meta.free_block || hint == meta.free_block) return false;
        m->free_block = hint;
        return true;
    });
    return ref;
}

// Writes ref's key: into its slot, or a sparse key's pieces first (where key_places were, if
// they fit) and their TID into the slot.
static void write_key(Relation index, const HnswIndexInfo *info, vs::Ref ref, const unsigned char *key,
                      const KeyPlaces &key_places) {
    unsigned char slot[8] = {0};
    const unsigned char *source = key;
    if (info->element == vs::Element::Sparse) {
        ItemPointerData tid = write_sparse_key(index, key, key_places);
        memcpy(slot, &tid, sizeof(tid));
        source = slot;
    }
    hnsw_vector_pieces(info, ref, [&](BlockNumber block, Size in_page, Size done, Size piece) {
        Buffer buf = index_read_buffer(index, block);
        LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
        index_edit_page(index, buf, [&](Page page) { memcpy(index_page_data(page) + in_page, source + done, piece); });
        UnlockReleaseBuffer(buf);
    });
}

// Adds flags to a link record (a DELETED mark VACUUM set meanwhile stays); for a new element
// (upper given) first sets its level, heap TID, upper tuple and empty layer-0 links.
static void write_record(Relation index, const HnswIndexInfo *info, vs::Ref ref, int level, uint8 flags,
                         ItemPointer heap_tid, ItemPointer upper) {
    Buffer buf = index_read_buffer(index, hnsw_link_block(info, ref));
    LockBuffer(buf, BUFFER_LOCK_EXCLUSIVE);
    index_edit_page(index, buf, [&](Page page) {
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
    });
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

// Makes ref the entry point if it is above the current one, or if VACUUM left the index
// without one; with only_if_none, only in the latter case. Returns whether it did.
static bool become_entry(Relation index, vs::Ref ref, int level, bool only_if_none) {
    HnswMeta meta;
    hnsw_read_meta(index, &meta);
    auto wanted = [&](const HnswMeta *m) { return m->entry == vs::kNoRef || (!only_if_none && level > m->entry_level); };
    if (!wanted(&meta)) return false;
    bool became = false;
    index_change_meta<HnswMeta>(index, [&](HnswMeta *m) {
        if (!wanted(m)) return false;
        m->entry = ref;
        m->entry_level = level;
        became = true;
        return true;
    });
    return became;
}

void hnsw_insert_element(Relation index, Relation heap, const HnswIndexInfo *info, const unsigned char *key,
                         ItemPointer heap_tid, MemoryContext context) {
    // Reserve a slot and its upper tuple, each change logged before any that depends on it. A
    // freed slot is reused with its level and upper tuple: the level was drawn at random,
    // independently of the vector, so it serves the new element as well as a fresh draw, and no
    // upper tuple is left behind.
    int level = 0;
    ItemPointerData upper;
    KeyPlaces key_places;
    key_places.count = 0;
    vs::Ref ref = claim_free_slot(index, heap, info, &level, &upper);
    if (ref != vs::kNoRef) {
        if (level > 0) reset_upper_tuple(index, &upper, level, info->m);
        if (info->element == vs::Element::Sparse) key_places = delete_sparse_key(index, info, ref);
    } else {
        ref = reserve_new_slot(index, info);
        level = VS_TEST_LEVEL(vs::hnsw::random_level(1.0 - pg_prng_double(&pg_global_prng_state), info->m));
        ItemPointerSetInvalid(&upper);
        if (level > 0) upper = add_upper_tuple(index, info, level);
    }
    VS_TEST_PAUSE("hnsw_insert_reserved");
    write_key(index, info, ref, key, key_places);
    write_record(index, info, ref, level, 0, heap_tid, &upper);

    vs::Allocator allocator = index_allocator(context);
    HnswPageStore store;
    store.init(index, info, context);
    store.set_query(key);
    vs::hnsw::Workspace ws;
    ws.init(&allocator, info->m, info->ef_construction);
    vs::hnsw::EntryPoint entry = hnsw_entry_point(index, info, false);
    VS_TEST_PAUSE("hnsw_insert_walk");
    // A cancel waits the few milliseconds until the element is linked and checked: stopped in
    // between, it could keep a link to an element VACUUM frees (drop_deleted_links).
    HOLD_INTERRUPTS();
    // Into an empty index the element goes as its entry point, with nothing to link to; a walk
    // that dead-ends on an element VACUUM unlinked meanwhile starts again from the entry point.
    for (;;) {
        if (entry.ref == vs::kNoRef ? become_entry(index, ref, level, true)
                                    : vs::hnsw::insert(store, ref, level, entry, info->m, info->ef_construction, ws) !=
                                          vs::hnsw::kDeadEnd)
            break;
        entry = hnsw_entry_point(index, info, true);
    }
    drop_deleted_links(store, ref, level);
    VS_TEST_PAUSE("hnsw_insert_linked");
    write_record(index, info, ref, level, HNSW_FLAG_VALID, nullptr, nullptr);
    RESUME_INTERRUPTS();
    become_entry(index, ref, level, false);
}

bool hnsw_insert(Relation index, Datum *values, bool *isnull, ItemPointer heap_tid, Relation heap,
                 IndexUniqueCheck check_unique, bool index_unchanged, IndexInfo *index_info) {
    return vs::guard([&]() {
        if (isnull[0]) return false;
        MemoryContext context = AllocSetContextCreate(CurrentMemoryContext, "hnsw insert", ALLOCSET_DEFAULT_SIZES);
        MemoryContext old = MemoryContextSwitchTo(context);
        HnswIndexInfo info = *hnsw_index_info(index);
        auto *key = static_cast<unsigned char *>(palloc(info.key_bytes));
        if (index_read_key(values[0], info.element, info.metric, info.dims, key))
            hnsw_insert_element(index, heap, &info, key, heap_tid, context);
        MemoryContextSwitchTo(old);
        MemoryContextDelete(context);
        return false;
    });
}
