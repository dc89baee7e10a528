// The hnsw verifier behind vectorsearch_check_index (src/pg/index/check.h), in three passes:
//
//   1. every block in order: the metapage's fields; each page's id, type and place in the
//      layout (a run is its link pages then its vector pages, each naming the run's first
//      block; upper pages stand between runs); upper tuples' sizes; which link records were
//      ever written (any byte not zero), as a bitmap; and a fingerprint of each written
//      element's vector, hashed piece by piece as the vector pages go by;
//   2. the link pages of every complete run again: each record's flags, level, upper-tuple
//      pointer and heap TID, and its layer-0 list: links packed at the front, none to the
//      element itself, none twice, each to a written record of an allocated run; every heap TID
//      of an element not deleted is claimed for the heap checks;
//   3. the upper tuples, whose lists are checked the same way.
//
// A sparsevec index's keys are checked in pass 2, with the record that leads to them: each piece
// one pass 1 found on a key page (or on its page now, if added since) and of no other key, the
// pieces ending where the next begins, and the key whole: a count within the type's limit,
// indices ascending below the dimensions, values finite and not zero.
//
// Pass 1 learns where the runs are before pass 2 reads a link that may point anywhere, so that
// the links need no memory of their own. The check runs beside inserts and VACUUM: whatever
// pass 1 did not see (a run, a tuple or a record added since) is looked up on its page before it
// is reported, and what the metapage allows (the slots reserved) is read again before a record
// is called out of bounds. What cannot happen in a sound index is an error even when a crash
// explains it otherwise: a run is cut short (a crash while it was being added) only if none of
// its records was ever written.
#include "pg/hnsw/hnsw.h"
#include "pg/index/check.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/htup_details.h"
#include "access/transam.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

#include <algorithm>
#include <cmath>

namespace {

// Page kinds of pass 1, per block: an HNSW_PAGE_* type, or 0 for a page the relation was
// extended by but that was never initialised; RUN_COMPLETE marks the first block of a run whose
// every page is there.
constexpr uint8 KIND_NEW = 0;
constexpr uint8 RUN_COMPLETE = 0x80;
constexpr uint8 KNOWN_FLAGS = HNSW_FLAG_VALID | HNSW_FLAG_DELETED | HNSW_FLAG_UNLINKED;

struct UpperTuple {
    BlockNumber block;
    OffsetNumber offset;
    int level;
    vs::Ref owner;  // the element whose record points here, once pass 2 has seen it
};

struct KeyPiece {
    BlockNumber block;
    OffsetNumber offset;
    vs::Ref owner;  // the element whose key it is part of, once pass 2 has seen it
};

struct HnswCheck {
    VsIndexCheck *check;
    HnswIndexInfo info;
    HnswMeta meta;  // as read before the walk
    HnswMeta reserved;  // the latest read: which slots may be written
    uint8 *kinds;
    uint8 *written;  // a bit per link page block and slot
    uint64 *hashes;  // per link page block and slot: the vector's fingerprint, as far as hashed (heapallindexed only)
    vs::Metric metric;
    unsigned char *key;  // a heap row's key, as the index stores it
    const char *zero_record;
    UpperTuple *uppers;
    Size n_uppers;
    Size uppers_capacity;
    KeyPiece *pieces;
    Size n_pieces;
    Size pieces_capacity;
    PGAlignedBlock key_page;  // a sparse key's piece being read
    // The run pass 1 is in.
    bool in_run;
    BlockNumber run;
    uint32 run_pages_seen;
    bool run_in_use;
    PGAlignedBlock scratch;  // pages read out of walk order
};

static_assert(std::is_trivially_destructible_v<HnswCheck>);

const char *page_type_name(int type) {
    switch (type) {
        case INDEX_PAGE_META: return "metapage";
        case HNSW_PAGE_LINKS: return "link";
        case HNSW_PAGE_VECTORS: return "vector";
        case HNSW_PAGE_UPPER: return "upper";
        case HNSW_PAGE_KEYS: return "key";
        default: return "unknown";
    }
}

uint64 written_bit(const HnswCheck *s, BlockNumber block, uint32 slot) {
    return uint64(block) * s->info.records_per_link_page + slot;
}

bool was_written(const HnswCheck *s, BlockNumber block, uint32 slot) {
    uint64 bit = written_bit(s, block, slot);
    return (s->written[bit / 8] >> (bit % 8)) & 1;
}

bool record_written(const HnswCheck *s, const HnswLinkRecordHeader *record) {
    return memcmp(record, s->zero_record, s->info.link_record_size) != 0;
}

HnswMeta read_meta(HnswCheck *s) {
    HnswMeta meta;
    memcpy(&meta, hnsw_meta(vs_check_read_page(s->check, VS_METAPAGE_BLKNO, &s->scratch)), sizeof(meta));
    return meta;
}

// The metapage on its own: identity, options, a layout a reader can follow, and pointers that
// stay inside the index.
void check_meta(HnswCheck *s, Page page) {
    VsIndexCheck *check = s->check;
    vs_check_meta_header(check, page, VS_HNSW_PAGE_ID, HNSW_LAYOUT_VERSION, hnsw_refuse_old_layout);
    HnswMeta &meta = s->meta;
    memcpy(&meta, hnsw_meta(page), sizeof(meta));
    const IndexMetaHeader &header = meta.header;
    // m and ef_construction are not compared with the index's options: ALTER INDEX ... SET
    // changes those, and only a REINDEX applies them.

    // The layout a reader follows, as hnsw_index_info takes it from here: the build's choice
    // (hnsw_layout) may differ between releases, these relations may not.
    HnswIndexInfo &info = s->info;
    info.element = vs::Element(header.element_type);
    info.dims = header.dims;
    info.key_bytes = vs::element_vector_bytes(info.element, Size(header.dims));
    info.slot_bytes = hnsw_slot_bytes(info.element, header.dims);
    Size vector_bytes = info.slot_bytes;
    info.m = meta.m;
    info.ef_construction = meta.ef_construction;
    info.link_record_size = sizeof(HnswLinkRecordHeader) + sizeof(HnswLink) * 2 * Size(meta.m);
    info.elements_per_run = meta.elements_per_run;
    info.link_pages_per_run = meta.link_pages_per_run;
    info.vector_pages_per_run = meta.vector_pages_per_run;
    info.records_per_link_page = meta.records_per_link_page;
    if (meta.records_per_link_page != INDEX_PAGE_SPACE / info.link_record_size || meta.elements_per_run < 1 ||
        meta.elements_per_run > 65535 ||
        meta.link_pages_per_run != (meta.elements_per_run + meta.records_per_link_page - 1) / meta.records_per_link_page ||
        meta.vector_pages_per_run != (meta.elements_per_run * vector_bytes + INDEX_PAGE_SPACE - 1) / INDEX_PAGE_SPACE)
        vs_check_corrupt(check, 0,
                         "its layout (%u elements a run in %u link pages of %u records and %u vector pages) does not fit "
                         "%d dimensions and m %d",
                         meta.elements_per_run, meta.link_pages_per_run, meta.records_per_link_page,
                         meta.vector_pages_per_run, header.dims, meta.m);

    BlockNumber nblocks = check->nblocks;
    if (meta.entry == vs::kNoRef ? meta.entry_level != -1 : meta.entry_level < 0 || meta.entry_level > vs::hnsw::kMaxLevel)
        vs_check_corrupt(check, 0, "entry point level %d", meta.entry_level);
    if (meta.last_run == InvalidBlockNumber ? meta.last_run_used != 0
                                            : meta.last_run == 0 || meta.last_run >= nblocks ||
                                                  meta.last_run_used > meta.elements_per_run)
        vs_check_corrupt(check, 0, "last run %u with %u of %u elements used, in an index of %u blocks", meta.last_run,
                         meta.last_run_used, meta.elements_per_run, nblocks);
    if (meta.upper_page != InvalidBlockNumber && (meta.upper_page == 0 || meta.upper_page >= nblocks))
        vs_check_corrupt(check, 0, "upper page %u, in an index of %u blocks", meta.upper_page, nblocks);
    if (meta.key_page != InvalidBlockNumber && (meta.key_page == 0 || meta.key_page >= nblocks))
        vs_check_corrupt(check, 0, "key page %u, in an index of %u blocks", meta.key_page, nblocks);
    if (meta.key_page != InvalidBlockNumber && info.element != vs::Element::Sparse)
        vs_check_corrupt(check, 0, "a key page, %u, in an index of dense vectors", meta.key_page);
    if (meta.free_block != InvalidBlockNumber && (meta.free_block == 0 || meta.free_block >= nblocks))
        vs_check_corrupt(check, 0, "free block hint %u, in an index of %u blocks", meta.free_block, nblocks);
    // On a hot standby the next transaction ID lags the primary's, where the stamp was taken.
    if (FullTransactionIdIsValid(meta.free_after) && !RecoveryInProgress() &&
        !FullTransactionIdPrecedesOrEquals(meta.free_after, ReadNextFullTransactionId()))
        vs_check_corrupt(check, 0, "free slots' transaction stamp " UINT64_FORMAT " is in the future",
                         U64FromFullTransactionId(meta.free_after));
}

// Pass 1 leaves the run it was in at block, which is not that run's next page; only a run
// never used may be cut short (a crash while it was being added).
void end_run(HnswCheck *s, BlockNumber block, const char *what) {
    if (!s->in_run) return;
    s->in_run = false;
    uint32 total = s->info.link_pages_per_run + s->info.vector_pages_per_run;
    if (s->run_in_use || s->run == s->meta.last_run)
        vs_check_corrupt(s->check, block, "run %u, which holds elements, ends after %u of its %u pages at %s", s->run,
                         s->run_pages_seen, total, what);
}

void walk_link_records(HnswCheck *s, BlockNumber block, uint32 page_in_run, Page page) {
    const HnswIndexInfo &info = s->info;
    for (uint32 slot = 0; slot < info.records_per_link_page; slot++) {
        if (!record_written(s, hnsw_link_record(page, &info, slot))) continue;
        if (page_in_run * info.records_per_link_page + slot >= info.elements_per_run)
            vs_check_corrupt(s->check, block, "slot %u is written, but lies past the %u elements of run %u", slot,
                             info.elements_per_run, s->run);
        uint64 bit = written_bit(s, block, slot);
        s->written[bit / 8] |= uint8(1 << (bit % 8));
        s->run_in_use = true;
    }
}

// Feeds the pieces of the written elements' vectors on vector page page_in_run of the run to
// their fingerprints. The run's vectors are one byte stream across its vector pages, in order.
void hash_vectors(HnswCheck *s, uint32 page_in_run, Page page) {
    const HnswIndexInfo &info = s->info;
    Size length = info.slot_bytes;
    Size start = Size(page_in_run - info.link_pages_per_run) * INDEX_PAGE_SPACE;
    Size end = start + INDEX_PAGE_SPACE;
    const char *data = index_page_data(page);
    for (uint32 index = uint32(start / length); index < info.elements_per_run && Size(index) * length < end; index++) {
        BlockNumber block = s->run + index / info.records_per_link_page;
        uint32 slot = index % info.records_per_link_page;
        if (!was_written(s, block, slot)) continue;
        Size from = std::max(start, Size(index) * length);
        Size to = std::min(end, Size(index + 1) * length);
        uint64 &hash = s->hashes[written_bit(s, block, slot)];
        if (from == Size(index) * length) hash = VS_FINGERPRINT_START;
        hash = vs_fingerprint_add(hash, data + (from - start), to - from);
    }
}

void walk_run_page(HnswCheck *s, BlockNumber block, Page page, int type) {
    const HnswIndexInfo &info = s->info;
    BlockNumber run_start = index_page_opaque(page)->aux;
    bool starts_run = type == HNSW_PAGE_LINKS && run_start == block;
    if (s->in_run) {
        uint32 position = block - s->run;
        int expected = position < info.link_pages_per_run ? HNSW_PAGE_LINKS : HNSW_PAGE_VECTORS;
        if (starts_run)
            end_run(s, block, "the start of another run");
        else if (run_start != s->run || type != expected)
            vs_check_corrupt(s->check, block, "page %u of run %u is a %s page of run %u, not a %s page of that run",
                             position, s->run, page_type_name(type), run_start, page_type_name(expected));
    } else if (!starts_run) {
        vs_check_corrupt(s->check, block, "a %s page of run %u lies outside any run", page_type_name(type), run_start);
    }
    if (starts_run) {
        s->in_run = true;
        s->run = block;
        s->run_pages_seen = 0;
        s->run_in_use = false;
    }
    if (type == HNSW_PAGE_LINKS)
        walk_link_records(s, block, s->run_pages_seen, page);
    else if (s->hashes && info.element != vs::Element::Sparse)  // a sparse key is hashed in pass 2
        hash_vectors(s, s->run_pages_seen, page);
    if (++s->run_pages_seen == info.link_pages_per_run + info.vector_pages_per_run) {
        s->kinds[s->run] |= RUN_COMPLETE;
        s->in_run = false;
    }
}

void walk_upper_page(HnswCheck *s, BlockNumber block, Page page) {
    if (index_page_opaque(page)->aux != InvalidBlockNumber)
        vs_check_corrupt(s->check, block, "an upper page names run %u", index_page_opaque(page)->aux);
    Size layer_bytes = hnsw_upper_tuple_size(1, s->info.m);
    auto *header = reinterpret_cast<PageHeader>(page);
    for (OffsetNumber offset = FirstOffsetNumber; offset <= PageGetMaxOffsetNumber(page); offset++) {
        ItemId item = PageGetItemId(page, offset);
        // Upper tuples are never removed.
        if (!ItemIdIsNormal(item)) vs_check_corrupt(s->check, block, "offset %u: the line pointer is not in use", offset);
        Size length = ItemIdGetLength(item);
        if (length == 0 || length % layer_bytes != 0 || length / layer_bytes > Size(vs::hnsw::kMaxLevel))
            vs_check_corrupt(s->check, block, "offset %u: an upper tuple of %zu bytes is not 1 to %d layers of %zu bytes",
                             offset, length, vs::hnsw::kMaxLevel, layer_bytes);
        if (ItemIdGetOffset(item) < header->pd_upper || ItemIdGetOffset(item) + length > header->pd_special)
            vs_check_corrupt(s->check, block, "offset %u: the upper tuple at bytes %u to %zu lies outside the tuple space",
                             offset, ItemIdGetOffset(item), ItemIdGetOffset(item) + length);
        if (s->n_uppers == s->uppers_capacity) {
            s->uppers_capacity *= 2;
            s->uppers = static_cast<UpperTuple *>(repalloc_huge(s->uppers, sizeof(UpperTuple) * s->uppers_capacity));
        }
        s->uppers[s->n_uppers++] = {block, offset, int(length / layer_bytes), vs::kNoRef};
    }
}

// Key pages: each tuple a piece of sound length (hnsw_key_piece); unused line pointers are the
// pieces of keys deleted when their slots were reused.
void walk_key_page(HnswCheck *s, BlockNumber block, Page page) {
    if (s->info.element != vs::Element::Sparse) vs_check_corrupt(s->check, block, "a key page in an index of dense vectors");
    if (index_page_opaque(page)->aux != InvalidBlockNumber)
        vs_check_corrupt(s->check, block, "a key page names run %u", index_page_opaque(page)->aux);
    for (OffsetNumber offset = FirstOffsetNumber; offset <= PageGetMaxOffsetNumber(page); offset++) {
        ItemId item = PageGetItemId(page, offset);
        if (!ItemIdIsUsed(item)) continue;
        ItemPointerData tid;
        ItemPointerSet(&tid, block, offset);
        Size bytes;
        const char *problem = nullptr;
        if (hnsw_key_piece(page, &tid, &bytes, &problem) == nullptr)
            vs_check_corrupt(s->check, block, "offset %u: the key piece %s", offset, problem);
        if (s->n_pieces == s->pieces_capacity) {
            s->pieces_capacity *= 2;
            s->pieces = static_cast<KeyPiece *>(repalloc_huge(s->pieces, sizeof(KeyPiece) * s->pieces_capacity));
        }
        s->pieces[s->n_pieces++] = {block, offset, vs::kNoRef};
    }
}

void walk_page(HnswCheck *s, BlockNumber block, Page page) {
    if (PageIsNew(page)) {
        s->kinds[block] = KIND_NEW;
        end_run(s, block, "an uninitialised page");
        return;
    }
    vs_check_special(s->check, block, page, VS_HNSW_PAGE_ID);
    int type = index_page_opaque(page)->page_type;
    s->kinds[block] = uint8(type);
    switch (type) {
        case HNSW_PAGE_LINKS:
        case HNSW_PAGE_VECTORS: walk_run_page(s, block, page, type); break;
        case HNSW_PAGE_UPPER:
            end_run(s, block, "an upper page");
            walk_upper_page(s, block, page);
            break;
        case HNSW_PAGE_KEYS:
            end_run(s, block, "a key page");
            walk_key_page(s, block, page);
            break;
        default:
            vs_check_corrupt(s->check, block, "page type %u, not a link (%d), vector (%d), upper (%d) or key (%d) page",
                             unsigned(type), HNSW_PAGE_LINKS, HNSW_PAGE_VECTORS, HNSW_PAGE_UPPER, HNSW_PAGE_KEYS);
    }
}

// Why a link to target is wrong, or nullptr: it must be a written record of an allocated run.
// Pass 1's picture settles most; anything else is read from its page, since it may be newer.
const char *bad_target(HnswCheck *s, vs::Ref target, PGAlignedBlock *scratch) {
    const HnswIndexInfo &info = s->info;
    BlockNumber run = hnsw_ref_run(target);
    uint32 index = hnsw_ref_index(target);
    if (index >= info.elements_per_run) return "lies past the elements a run holds";
    BlockNumber block = run + index / info.records_per_link_page;
    if (run < s->check->nblocks && (s->kinds[run] & RUN_COMPLETE) &&
        was_written(s, block, index % info.records_per_link_page))
        return nullptr;
    if (run == VS_METAPAGE_BLKNO || block >= RelationGetNumberOfBlocks(s->check->index))
        return "lies past the end of the index";
    Page page = vs_check_read_page(s->check, block, scratch);
    const IndexPageOpaque *opaque = index_page_opaque(page);
    if (opaque == nullptr || opaque->page_type != HNSW_PAGE_LINKS || opaque->aux != run) return "is in no run";
    if (!record_written(s, hnsw_link_record(page, &info, index))) return "was never written";
    return nullptr;
}

// Checks one list of slots (a record's layer-0 links, or one layer of an upper tuple): valid
// links first, then only unused slots; no link to its owner or twice to one element; each to
// an element that exists. where names the list in messages.
void check_list(HnswCheck *s, vs::Ref owner, const HnswLink *links, int n, BlockNumber block, const char *where) {
    vs::Ref seen[2 * vs::hnsw::kMaxM];
    int count = 0;
    for (int i = 0; i < n; i++) {
        if (!hnsw_link_valid(links[i])) continue;
        vs::Ref target = hnsw_link_ref(links[i]);
        if (count < i) vs_check_corrupt(s->check, block, "%s: link %d follows an unused slot", where, i);
        if (target == owner) vs_check_corrupt(s->check, block, "%s: link %d leads to the element itself", where, i);
        const char *problem = bad_target(s, target, &s->scratch);
        if (problem)
            vs_check_corrupt(s->check, block, "%s: link %d, to element %u of run %u, %s", where, i, hnsw_ref_index(target),
                             hnsw_ref_run(target), problem);
        seen[count++] = target;
    }
    std::sort(seen, seen + count);
    const vs::Ref *twice = std::adjacent_find(seen, seen + count);
    if (twice != seen + count)
        vs_check_corrupt(s->check, block, "%s: element %u of run %u is linked twice", where, hnsw_ref_index(*twice),
                         hnsw_ref_run(*twice));
}

// A record may be written only in a slot the metapage has reserved: in a run before the last
// one, or among the last one's used slots. The metapage is read again before calling one out.
bool slot_reserved(const HnswMeta &meta, BlockNumber run, uint32 index) {
    return meta.last_run != InvalidBlockNumber && (run < meta.last_run || (run == meta.last_run && index < meta.last_run_used));
}

void check_upper_pointer(HnswCheck *s, vs::Ref ref, const HnswLinkRecordHeader *record, BlockNumber block, uint32 slot) {
    ItemPointerData upper = record->upper;
    BlockNumber upper_block = ItemPointerGetBlockNumberNoCheck(&upper);
    OffsetNumber upper_offset = ItemPointerGetOffsetNumberNoCheck(&upper);
    if (record->level == 0) {
        if (ItemPointerIsValid(&upper))
            vs_check_corrupt(s->check, block, "slot %u: level 0, with an upper tuple (%u,%u)", slot, upper_block, upper_offset);
        return;
    }
    UpperTuple key{upper_block, upper_offset, 0, vs::kNoRef};
    auto before = [](const UpperTuple &a, const UpperTuple &b) {
        return a.block < b.block || (a.block == b.block && a.offset < b.offset);
    };
    UpperTuple *end = s->uppers + s->n_uppers;
    UpperTuple *found = std::lower_bound(s->uppers, end, key, before);
    if (found != end && found->block == upper_block && found->offset == upper_offset) {
        if (found->level != record->level)
            vs_check_corrupt(s->check, block, "slot %u: level %d, but its upper tuple (%u,%u) holds %d layers", slot,
                             record->level, upper_block, upper_offset, found->level);
        if (found->owner != vs::kNoRef && found->owner != ref)
            vs_check_corrupt(s->check, block, "slot %u: its upper tuple (%u,%u) is also that of element %u of run %u", slot,
                             upper_block, upper_offset, hnsw_ref_index(found->owner), hnsw_ref_run(found->owner));
        found->owner = ref;
        return;
    }
    // Added since pass 1 read its page, or wrong.
    const char *problem = nullptr;
    if (!ItemPointerIsValid(&upper) || upper_block == VS_METAPAGE_BLKNO ||
        upper_block >= RelationGetNumberOfBlocks(s->check->index)) {
        problem = "is not a block of the index";
    } else {
        Page page = vs_check_read_page(s->check, upper_block, &s->scratch);
        const IndexPageOpaque *opaque = index_page_opaque(page);
        if (opaque == nullptr || opaque->page_type != HNSW_PAGE_UPPER)
            problem = "is not on an upper page";
        else if (upper_offset > PageGetMaxOffsetNumber(page) || !ItemIdIsNormal(PageGetItemId(page, upper_offset)))
            problem = "is not a tuple of its page";
        else if (ItemIdGetLength(PageGetItemId(page, upper_offset)) != hnsw_upper_tuple_size(record->level, s->info.m))
            problem = "has the wrong length for the element's level";
    }
    if (problem)
        vs_check_corrupt(s->check, block, "slot %u: the upper tuple pointer (%u,%u) of a level %d element %s", slot,
                         upper_block, upper_offset, record->level, problem);
}

// Whether owner's key, as its slot names it now, has the piece at (block, offset): an element
// that held the piece when pass 2 saw it may have given it up since, its slot reused.
bool holds_piece(HnswCheck *s, vs::Ref owner, BlockNumber block, OffsetNumber offset) {
    ItemPointerData tid = hnsw_sparse_key_tid(s->check->index, &s->info, owner);
    for (Size n = 0; n <= HNSW_MAX_KEY_PIECES; n++) {
        BlockNumber at = ItemPointerGetBlockNumberNoCheck(&tid);
        if (at == block && ItemPointerGetOffsetNumberNoCheck(&tid) == offset) return true;
        if (at == VS_METAPAGE_BLKNO || (at >= s->check->nblocks && at >= RelationGetNumberOfBlocks(s->check->index)))
            return false;
        Size bytes;
        const char *problem = nullptr;
        const HnswKeyPiece *piece = hnsw_key_piece(vs_check_read_page(s->check, at, &s->scratch), &tid, &bytes, &problem);
        if (piece == nullptr || piece->offset == 0) return false;
        tid = piece->earlier;
    }
    return false;
}

// Why the sparse key of element ref, whose last piece is at tid, is wrong, or nullptr; the key is
// left in s->key, *length long.
const char *bad_sparse_key(HnswCheck *s, vs::Ref ref, ItemPointerData tid, Size *length) {
    Size end = 0;
    for (bool last = true;; last = false) {
        CHECK_FOR_INTERRUPTS();
        BlockNumber block = ItemPointerGetBlockNumberNoCheck(&tid);
        OffsetNumber offset = ItemPointerGetOffsetNumberNoCheck(&tid);
        // (a piece past the blocks pass 1 saw may have been added since)
        if (block == VS_METAPAGE_BLKNO || (block >= s->check->nblocks && block >= RelationGetNumberOfBlocks(s->check->index)))
            return "has a piece outside the index";
        Page page = vs_check_read_page(s->check, block, &s->key_page);
        Size bytes;
        const char *problem = nullptr;
        const HnswKeyPiece *piece = hnsw_key_piece(page, &tid, &bytes, &problem);
        if (piece == nullptr) return problem;
        if (last) *length = end = piece->offset + bytes;
        if ((problem = hnsw_piece_out_of_place(piece, bytes, end, s->info.key_bytes))) return problem;
        memcpy(s->key + piece->offset, piece + 1, bytes);
        KeyPiece sought{block, offset, vs::kNoRef};
        auto before = [](const KeyPiece &a, const KeyPiece &b) {
            return a.block < b.block || (a.block == b.block && a.offset < b.offset);
        };
        KeyPiece *found = std::lower_bound(s->pieces, s->pieces + s->n_pieces, sought, before);
        if (found != s->pieces + s->n_pieces && found->block == block && found->offset == offset) {
            if (found->owner != vs::kNoRef && found->owner != ref && holds_piece(s, found->owner, block, offset))
                return "shares a piece with another element's";
            found->owner = ref;
        }
        if (piece->offset == 0) break;
        end = piece->offset;
        tid = piece->earlier;
    }
    if (!vs::sparse_key::complete(s->key, *length)) return "has a count that does not match its length";
    vs::SparseVector v = vs::sparse_key::view(s->key);
    for (std::size_t i = 0; i < v.nnz; i++) {
        if (v.indices[i] < 0 || v.indices[i] >= s->info.dims || (i > 0 && v.indices[i] <= v.indices[i - 1]))
            return "has indices out of order or range";
        if (!std::isfinite(v.values[i]) || v.values[i] == 0) return "has a zero or infinite value";
    }
    return nullptr;
}

// Checks the sparse key of a record that holds one (any but a slot an insert has just claimed,
// whose key it is replacing) and returns its fingerprint. A key that changed during the check
// (its slot reused meanwhile) is not called out.
uint64 check_sparse_key(HnswCheck *s, vs::Ref ref, BlockNumber block, uint32 slot, const HnswLinkRecordHeader *record) {
    ItemPointerData tid = hnsw_sparse_key_tid(s->check->index, &s->info, ref);
    Size length = 0;
    const char *problem = bad_sparse_key(s, ref, tid, &length);
    if (problem) {
        Page page = vs_check_read_page(s->check, block, &s->key_page);
        const HnswLinkRecordHeader *now = hnsw_link_record(page, &s->info, slot);
        ItemPointerData tid_now = hnsw_sparse_key_tid(s->check->index, &s->info, ref);
        if (memcmp(now, record, sizeof(HnswLinkRecordHeader)) == 0 && ItemPointerEquals(&tid, &tid_now))
            vs_check_corrupt(s->check, block, "slot %u: the sparse key ending at (%u,%u) %s", slot,
                             ItemPointerGetBlockNumberNoCheck(&tid), ItemPointerGetOffsetNumberNoCheck(&tid), problem);
        return 0;
    }
    return vs_fingerprint_add(VS_FINGERPRINT_START, s->key, length);
}

void check_record(HnswCheck *s, BlockNumber run, uint32 index, BlockNumber block, const HnswLinkRecordHeader *record) {
    VsIndexCheck *check = s->check;
    uint32 slot = index % s->info.records_per_link_page;
    vs::Ref ref = hnsw_ref(run, index);
    if (!slot_reserved(s->reserved, run, index)) {
        s->reserved = read_meta(s);
        if (!slot_reserved(s->reserved, run, index))
            vs_check_corrupt(check, block, "slot %u is written, but the metapage has reserved no slot %u of run %u", slot,
                             index, run);
    }
    uint8 flags = record->flags;
    if ((flags & ~KNOWN_FLAGS) != 0 || ((flags & HNSW_FLAG_UNLINKED) && !(flags & HNSW_FLAG_DELETED)))
        vs_check_corrupt(check, block, "slot %u: flags 0x%02x", slot, flags);
    if (record->level > vs::hnsw::kMaxLevel)
        vs_check_corrupt(check, block, "slot %u: level %d, above the highest, %d", slot, record->level, vs::hnsw::kMaxLevel);
    check_upper_pointer(s, ref, record, block, slot);

    ItemPointerData heap_tid = record->heap_tid;
    BlockNumber heap_block = ItemPointerGetBlockNumberNoCheck(&heap_tid);
    OffsetNumber heap_offset = ItemPointerGetOffsetNumberNoCheck(&heap_tid);
    // An element is given its heap TID after its key; a claimed slot loses its old one first.
    if (s->info.element == vs::Element::Sparse && (ItemPointerIsValid(&heap_tid) || (flags & HNSW_FLAG_UNLINKED))) {
        uint64 hash = check_sparse_key(s, ref, block, slot, record);
        if (s->hashes) s->hashes[written_bit(s, block, slot)] = hash;
    }
    if (flags & HNSW_FLAG_UNLINKED) {
        if (ItemPointerIsValid(&heap_tid))
            vs_check_corrupt(check, block, "slot %u: an unlinked element keeps heap TID (%u,%u)", slot, heap_block, heap_offset);
    } else if (ItemPointerIsValid(&heap_tid) || (flags & (HNSW_FLAG_VALID | HNSW_FLAG_DELETED))) {
        // A slot an insert has just claimed from VACUUM has no heap TID yet (flags 0); any other
        // element names its row.
        if (!index_heap_tid_possible(&heap_tid))
            vs_check_corrupt(check, block, "slot %u: heap TID (%u,%u) is not one a heap tuple can have", slot, heap_block,
                             heap_offset);
        if (!(flags & HNSW_FLAG_DELETED))
            vs_check_claim(check, &heap_tid, block, uint16(slot),
                           s->hashes ? vs_fingerprint_end(s->hashes[written_bit(s, block, slot)]) : 0,
                           flags & HNSW_FLAG_VALID);
    }

    char where[32];
    snprintf(where, sizeof(where), "slot %u, layer 0", slot);
    check_list(s, ref, hnsw_record_links(const_cast<HnswLinkRecordHeader *>(record)), 2 * s->info.m, block, where);
}

// Pass 2 over one complete run's link pages.
void check_run(HnswCheck *s, BlockNumber run) {
    VsIndexCheck *check = s->check;
    const HnswIndexInfo &info = s->info;
    for (uint32 p = 0; p < info.link_pages_per_run; p++) {
        CHECK_FOR_INTERRUPTS();
        BlockNumber block = run + p;
        Page page = vs_check_read_page(check, block, &check->page);
        const IndexPageOpaque *opaque = index_page_opaque(page);
        if (opaque == nullptr || opaque->page_type != HNSW_PAGE_LINKS || opaque->aux != run)
            vs_check_corrupt(check, block, "a link page of run %u changed its type during the check", run);
        for (uint32 slot = 0; slot < info.records_per_link_page; slot++) {
            uint32 index = p * info.records_per_link_page + slot;
            if (index >= info.elements_per_run) break;
            const HnswLinkRecordHeader *record = hnsw_link_record(page, &info, slot);
            if (record_written(s, record)) check_record(s, run, index, block, record);
        }
    }
}

// Pass 3: the lists of every upper tuple pass 1 found.
void check_upper_tuples(HnswCheck *s) {
    VsIndexCheck *check = s->check;
    int m = s->info.m;
    Page page = nullptr;
    BlockNumber current = InvalidBlockNumber;
    for (Size i = 0; i < s->n_uppers; i++) {
        const UpperTuple &tuple = s->uppers[i];
        if (tuple.block != current) {
            CHECK_FOR_INTERRUPTS();
            current = tuple.block;
            page = vs_check_read_page(check, current, &check->page);
        }
        // Upper pages only gain tuples: pass 1 checked this one's place and size.
        const auto *links = reinterpret_cast<const HnswLink *>(PageGetItem(page, PageGetItemId(page, tuple.offset)));
        for (int layer = 1; layer <= tuple.level; layer++) {
            char where[40];
            snprintf(where, sizeof(where), "offset %u, layer %d", tuple.offset, layer);
            check_list(s, tuple.owner, links + Size(layer - 1) * m, m, current, where);
        }
    }
}

// Why the entry point meta names is wrong, or nullptr.
const char *bad_entry(HnswCheck *s, const HnswMeta &meta) {
    if (const char *problem = bad_target(s, meta.entry, &s->scratch)) return problem;
    Page page = vs_check_read_page(s->check, hnsw_link_block(&s->info, meta.entry), &s->scratch);
    const HnswLinkRecordHeader *record = hnsw_link_record(page, &s->info, hnsw_ref_index(meta.entry));
    if (record->level != meta.entry_level) return "is not on that level";
    if (record->flags & HNSW_FLAG_UNLINKED) return "is unlinked";
    return nullptr;
}

// The entry point must be a written, not unlinked element on the level the metapage gives. It
// moves while inserts and VACUUM run: only one the metapage still names when read again is wrong.
void check_entry(HnswCheck *s) {
    for (;;) {
        CHECK_FOR_INTERRUPTS();
        HnswMeta meta = read_meta(s);
        if (meta.entry == vs::kNoRef) return;
        const char *problem = bad_entry(s, meta);
        if (problem == nullptr) return;
        HnswMeta again = read_meta(s);
        if (again.entry == meta.entry && again.entry_level == meta.entry_level)
            vs_check_corrupt(s->check, VS_METAPAGE_BLKNO, "the entry point, element %u of run %u on level %d, %s",
                             hnsw_ref_index(meta.entry), hnsw_ref_run(meta.entry), meta.entry_level, problem);
    }
}

void hnsw_verify(VsIndexCheck *check) {
    auto *s = static_cast<HnswCheck *>(palloc0(sizeof(HnswCheck)));
    check->am_state = s;
    s->check = check;
    Page metapage = vs_check_read_page(check, VS_METAPAGE_BLKNO, &check->page);
    // The index's length read after its metapage: every run and page the metapage names exists.
    check->nblocks = RelationGetNumberOfBlocks(check->index);
    check_meta(s, metapage);
    s->reserved = s->meta;
    BlockNumber nblocks = check->nblocks;
    auto zeroed = [](Size bytes) { return MemoryContextAllocExtended(CurrentMemoryContext, bytes, MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO); };
    uint64 slots = uint64(nblocks) * s->info.records_per_link_page;
    s->kinds = static_cast<uint8 *>(zeroed(nblocks));
    s->written = static_cast<uint8 *>(zeroed((slots + 7) / 8));
    if (check->heapallindexed) s->hashes = static_cast<uint64 *>(zeroed(sizeof(uint64) * slots));
    s->metric = hnsw_index_info(check->index)->metric;
    s->key = static_cast<unsigned char *>(palloc(s->info.key_bytes));  // also each sparse key of pass 2
    s->zero_record = static_cast<const char *>(palloc0(s->info.link_record_size));
    s->uppers_capacity = 64;
    s->uppers = static_cast<UpperTuple *>(palloc(sizeof(UpperTuple) * s->uppers_capacity));
    s->pieces_capacity = 64;
    s->pieces = static_cast<KeyPiece *>(palloc(sizeof(KeyPiece) * s->pieces_capacity));

    s->kinds[VS_METAPAGE_BLKNO] = INDEX_PAGE_META;
    vs_check_walk(check, VS_METAPAGE_BLKNO + 1, [&](BlockNumber block, Page page) { walk_page(s, block, page); });
    if (s->in_run) end_run(s, s->run + s->run_pages_seen - 1, "the end of the index");

    // What the metapage pointed to before the walk existed before it, in pass 1's picture.
    const HnswMeta &meta = s->meta;
    if (meta.last_run != InvalidBlockNumber && !(s->kinds[meta.last_run] & RUN_COMPLETE))
        vs_check_corrupt(check, VS_METAPAGE_BLKNO, "the last run, %u, is not the start of a complete run", meta.last_run);
    if (meta.upper_page != InvalidBlockNumber && s->kinds[meta.upper_page] != HNSW_PAGE_UPPER)
        vs_check_corrupt(check, VS_METAPAGE_BLKNO, "the upper page, %u, is a %s page", meta.upper_page,
                         page_type_name(s->kinds[meta.upper_page] & ~RUN_COMPLETE));
    if (meta.key_page != InvalidBlockNumber && s->kinds[meta.key_page] != HNSW_PAGE_KEYS)
        vs_check_corrupt(check, VS_METAPAGE_BLKNO, "the key page, %u, is a %s page", meta.key_page,
                         page_type_name(s->kinds[meta.key_page] & ~RUN_COMPLETE));
    if (meta.free_block != InvalidBlockNumber && (s->kinds[meta.free_block] & ~RUN_COMPLETE) != HNSW_PAGE_LINKS)
        vs_check_corrupt(check, VS_METAPAGE_BLKNO, "the free block hint, %u, is a %s page", meta.free_block,
                         page_type_name(s->kinds[meta.free_block] & ~RUN_COMPLETE));

    for (BlockNumber block = VS_METAPAGE_BLKNO + 1; block < nblocks; block++)
        if (s->kinds[block] & RUN_COMPLETE) check_run(s, block);
    check_upper_tuples(s);
    check_entry(s);
}

bool hnsw_still_claims(VsIndexCheck *check, const VsHeapClaim *claim) {
    auto *s = static_cast<HnswCheck *>(check->am_state);
    Page page = vs_check_read_page(check, claim->block, &s->scratch);
    const HnswLinkRecordHeader *record = hnsw_link_record(page, &s->info, claim->slot);
    return ItemPointerEquals(const_cast<ItemPointer>(&record->heap_tid), const_cast<ItemPointer>(&claim->heap_tid)) &&
           !(record->flags & HNSW_FLAG_DELETED);
}

// As hnsw_insert decides: the key of the value (index_read_key), where a zero vector under
// cosine has no direction and is not indexed.
bool hnsw_fingerprint(VsIndexCheck *check, Datum value, uint32 *fingerprint) {
    auto *s = static_cast<HnswCheck *>(check->am_state);
    if (!index_read_key(value, s->info.element, s->metric, s->info.dims, s->key)) return false;
    Size length = s->info.element == vs::Element::Sparse ? vs::sparse_key::bytes(vs::sparse_key::nnz(s->key)) : s->info.key_bytes;
    *fingerprint = vs_fingerprint_end(vs_fingerprint_add(VS_FINGERPRINT_START, s->key, length));
    return true;
}

}  // namespace

const VsIndexCheckMethods hnsw_check_methods = {hnswhandler, hnsw_verify, hnsw_still_claims, hnsw_fingerprint};
