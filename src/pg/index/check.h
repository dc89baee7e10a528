// The structure checker every vectorsearch index shares, vectorsearch_check_index(index,
// heapallindexed), in the manner of amcheck's bt_index_check: it opens the table and the index
// under AccessShareLock (so it runs beside inserts, scans and VACUUM, and on a hot standby),
// hands the index's access method a page walk through a bulk-read ring buffer, and then checks
// the heap rows its elements name. It reports the first problem as ERRCODE_INDEX_CORRUPTED
// (XX002) naming the block and slot, and returns normally when it finds none.
//
// An access method plugs in with a VsIndexCheckMethods (one line in check.cpp's table): its
// verify() reads pages with vs_check_walk and vs_check_read_page (copies: it may read other pages
// or report an error while looking at one, holding no buffer) and records the heap TID of each
// element that names one with vs_check_claim. The shared part then checks that every claimed
// heap TID points at a heap tuple that exists, live or dead (in range, line pointer used), and,
// with heapallindexed, that every row a new snapshot sees and the index would hold is claimed by
// an element that scans return and that stores the row's key (compared by fingerprint).
#pragma once

#include "pg/pg.h"
#include "pg/index/key.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/rel.h"
#pragma GCC diagnostic pop
}

// An element's claim on a heap row: where the element's record is (for the message, and to
// ask again), the fingerprint of the key it stores, and whether scans return it (valid and not
// deleted).
struct VsHeapClaim {
    ItemPointerData heap_tid;
    uint16 slot;
    BlockNumber block;
    uint32 fingerprint;
    bool returned;
};

// Fingerprints of stored keys: FNV-1a over 4-byte words, fed piece by piece (a key may cross
// pages), so a verifier can hash a key where it lies and the heap check hash the row's.
constexpr uint64 VS_FINGERPRINT_START = 0xcbf29ce484222325ULL;
inline uint64 vs_fingerprint_add(uint64 hash, const void *bytes, Size length) {
    const auto *p = static_cast<const unsigned char *>(bytes);
    for (Size i = 0; i + 4 <= length; i += 4) {
        uint32 word;
        memcpy(&word, p + i, 4);
        hash = (hash ^ word) * 0x100000001b3ULL;
    }
    return hash;
}
inline uint32 vs_fingerprint_end(uint64 hash) { return uint32(hash ^ (hash >> 32)); }

// Claims in heap TID order, as the heap checks sort and search them.
inline bool vs_claim_tid_less(const VsHeapClaim &a, const VsHeapClaim &b) {
    return ItemPointerCompare(const_cast<ItemPointer>(&a.heap_tid), const_cast<ItemPointer>(&b.heap_tid)) < 0;
}

struct VsIndexCheck;

// What an access method adds to the shared checker.
struct VsIndexCheckMethods {
    PGFunction handler;  // its index_am_handler: how the checker recognises its indexes
    // Checks every page, reporting the first problem with vs_check_corrupt, and claims the heap
    // row of each element that names one, deleted ones excepted.
    void (*verify)(VsIndexCheck *check);
    // Whether the element at claim's block and slot still names claim's heap TID and is not
    // deleted. Asked only after the heap showed no tuple there: a VACUUM running beside the check
    // may have deleted the element and then freed the heap line pointer.
    bool (*still_claims)(VsIndexCheck *check, const VsHeapClaim *claim);
    // Whether the index holds an element for a heap row whose (non-null) key is value, as its
    // build and insert decide; if it does, the fingerprint of the key as the element stores it.
    // Only a value of the index's dimensions is passed: one of others, which no insert would have
    // taken, is fingerprinted by its bytes and so reported as missing.
    bool (*fingerprint)(VsIndexCheck *check, Datum value, uint32 *fingerprint);
};

struct VsIndexCheck {
    Relation index;
    Relation heap;
    const VsIndexCheckMethods *methods;
    bool heapallindexed;  // the rows' keys will be compared: verify() fingerprints the stored ones
    BufferAccessStrategy strategy;
    BlockNumber nblocks;  // of the index, when the walk began
    MemoryContext context;  // of the whole check, deleted at its end
    void *am_state;  // the access method's own, allocated in context
    vs::Element element;  // of the keys, and their dimensions: the metapage's, once checked
    int dims;
    VsHeapClaim *claims;
    Size n_claims;
    Size claims_capacity;
    PGAlignedBlock page;  // the copy vs_check_walk hands out
};

// The check's state lives across buffer reads and ereports.
static_assert(std::is_trivially_destructible_v<VsIndexCheck>);

// Copies block of the index, read through the check's ring buffer under a share lock, into
// dest; returns dest. Blocks past the end of the relation are an error of the buffer manager.
Page vs_check_read_page(VsIndexCheck *check, BlockNumber block, PGAlignedBlock *dest);

// Calls visit(block, page) for every block from first to the end of the index as it was when
// the check began, each page a copy valid until visit returns.
template <typename Visit>
void vs_check_walk(VsIndexCheck *check, BlockNumber first, Visit visit) {
    for (BlockNumber block = first; block < check->nblocks; block++) {
        CHECK_FOR_INTERRUPTS();
        visit(block, vs_check_read_page(check, block, &check->page));
    }
}

// Records that the element at (block, slot) names heap_tid and stores a key of fingerprint;
// returned if scans return it.
void vs_check_claim(VsIndexCheck *check, ItemPointer heap_tid, BlockNumber block, uint16 slot, uint32 fingerprint,
                    bool returned);

// Checks a page's special space: its size, and that it carries page_id (the access method's).
void vs_check_special(VsIndexCheck *check, BlockNumber block, Page page, uint16 page_id);

// Checks the metapage's common part, as every access method writes it: initialised, its special
// space, its page type, magic and page id, the layout version (another is refused as every
// reader refuses it, not reported as corruption), dimensions against the column's vector(n) and
// the metric against the operator class's. refuse_old, if given, sees the metapage's data first
// (an access method's layouts from before the common header).
void vs_check_meta_header(VsIndexCheck *check, Page page, uint16 page_id, uint16 layout_version,
                          void (*refuse_old)(Relation index, const void *meta_data));

// Reports the index corrupt at block: ERRCODE_INDEX_CORRUPTED, the message formatted after
// "index "name" is corrupt at block N: ", with a REINDEX hint.
void vs_check_corrupt(VsIndexCheck *check, BlockNumber block, const char *format, ...) pg_attribute_printf(3, 4)
    pg_attribute_noreturn();
