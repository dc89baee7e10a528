// vectorsearch_check_index: opens and vets the relations, dispatches to the index's access
// method for the page walk, then checks the heap rows the elements claim against the table
// (see check.h).
//
// The claims are kept exactly, as a sorted array of 20 bytes per element, not in a Bloom filter
// as amcheck does: the checker needs each claim's heap TID and index position anyway to check that
// the heap tuple exists and to name the element in a message, the array is a few percent of the
// index's own size (an element takes over 200 bytes of link record and vector), and an exact
// set misses no absent row. The stored key is compared by a 32-bit fingerprint: a changed key
// goes unnoticed with a chance of one in 4 billion.
#include "pg/index/check.h"
#include "pg/hnsw/hnsw.h"
#include "pg/lsh/lsh.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/heapam.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xlog.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "storage/bufpage.h"
#include "utils/acl.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#pragma GCC diagnostic pop
}

#include <algorithm>

extern "C" {
PG_FUNCTION_INFO_V1(vectorsearch_check_index);
}

// One line per access method of the extension.
static const VsIndexCheckMethods *const index_check_methods[] = {&hnsw_check_methods, &lsh_check_methods};

Page vs_check_read_page(VsIndexCheck *check, BlockNumber block, PGAlignedBlock *dest) {
    Buffer buf = ReadBufferExtended(check->index, MAIN_FORKNUM, block, RBM_NORMAL, check->strategy);
    LockBuffer(buf, BUFFER_LOCK_SHARE);
    memcpy(dest->data, BufferGetPage(buf), BLCKSZ);
    UnlockReleaseBuffer(buf);
    return static_cast<Page>(dest->data);
}

void vs_check_special(VsIndexCheck *check, BlockNumber block, Page page, uint16 page_id) {
    if (PageGetSpecialSize(page) != MAXALIGN(sizeof(IndexPageOpaque)))
        vs_check_corrupt(check, block, "its special space has %u bytes, not %zu", unsigned(PageGetSpecialSize(page)),
                         Size(MAXALIGN(sizeof(IndexPageOpaque))));
    uint16 found = index_page_opaque(page)->page_id;
    if (found != page_id)
        vs_check_corrupt(check, block, "page id 0x%04X, not %s's 0x%04X", found,
                         get_am_name(check->index->rd_rel->relam), page_id);
}

void vs_check_meta_header(VsIndexCheck *check, Page page, uint16 page_id, uint16 layout_version,
                          void (*refuse_old)(Relation index, const void *meta_data)) {
    Relation index = check->index;
    if (PageIsNew(page)) vs_check_corrupt(check, 0, "the metapage was never initialised");
    if (refuse_old != nullptr) refuse_old(index, index_page_data(page));
    vs_check_special(check, 0, page, page_id);
    if (index_page_opaque(page)->page_type != INDEX_PAGE_META)
        vs_check_corrupt(check, 0, "page type %u, not the metapage's %d", index_page_opaque(page)->page_type,
                         INDEX_PAGE_META);
    IndexMetaHeader header;
    memcpy(&header, index_page_data(page), sizeof(header));
    if (header.magic != VS_META_MAGIC || header.page_id != page_id)
        vs_check_corrupt(check, 0, "magic number 0x%08X and page id 0x%04X, not 0x%08X and %s's 0x%04X", header.magic,
                         header.page_id, VS_META_MAGIC, get_am_name(index->rd_rel->relam), page_id);
    index_check_meta(index, &header, page_id, layout_version);
    index_check_element(index, &header);
    int32 typmod = TupleDescAttr(RelationGetDescr(index), 0)->atttypmod;
    if (typmod > 0 && header.dims != typmod)
        vs_check_corrupt(check, 0, "dims %d, for a column of %d dimensions", header.dims, typmod);
    check->element = vs::Element(header.element_type);
    check->dims = header.dims;
    int opclass_metric = int(index_metric(index));
    if (header.metric != opclass_metric)
        vs_check_corrupt(check, 0, "metric %u, where the operator class's is %d", header.metric, opclass_metric);
}

void vs_check_claim(VsIndexCheck *check, ItemPointer heap_tid, BlockNumber block, uint16 slot, uint32 fingerprint,
                    bool returned) {
    if (check->n_claims == check->claims_capacity) {
        check->claims_capacity *= 2;
        check->claims = static_cast<VsHeapClaim *>(
            repalloc_huge(check->claims, sizeof(VsHeapClaim) * check->claims_capacity));
    }
    check->claims[check->n_claims++] = {*heap_tid, slot, block, fingerprint, returned};
}

void vs_check_corrupt(VsIndexCheck *check, BlockNumber block, const char *format, ...) {
    StringInfoData detail;
    initStringInfo(&detail);
    for (;;) {
        va_list args;
        va_start(args, format);
        int needed = appendStringInfoVA(&detail, format, args);
        va_end(args);
        if (needed == 0) break;
        enlargeStringInfo(&detail, needed);
    }
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("index \"%s\" is corrupt at block %u: %s", RelationGetRelationName(check->index), block,
                           detail.data),
                    errhint("REINDEX the index.")));
    pg_unreachable();
}

// Why the heap has no tuple at claim's TID, or nullptr if it has one; page is the heap page, or
// nullptr for a block past the heap's end.
static const char *missing_heap_tuple(Page page, const VsHeapClaim &claim) {
    if (page == nullptr) return "a block past the end of the table";
    OffsetNumber offset = ItemPointerGetOffsetNumber(&claim.heap_tid);
    if (offset > PageGetMaxOffsetNumber(page)) return "an offset past the last line pointer of its page";
    if (!ItemIdIsUsed(PageGetItemId(page, offset))) return "an unused line pointer";
    return nullptr;
}

// Every claimed heap TID must point at a heap tuple, live or dead: an element's row is removed
// from the heap (its line pointer freed) only after VACUUM deleted the element. The heap is read
// in block order, once per block; a claim the heap refutes is asked again of the index, with no
// heap buffer held, since a VACUUM may have done both after the walk read the element.
static void check_claimed_tuples_exist(VsIndexCheck *check) {
    // Other table access methods lay out their blocks as they choose.
    if (check->heap->rd_rel->relam != HEAP_TABLE_AM_OID) return;
    BlockNumber heap_blocks = RelationGetNumberOfBlocks(check->heap);
    BufferAccessStrategy strategy = GetAccessStrategy(BAS_BULKREAD);
    for (Size i = 0; i < check->n_claims;) {
        CHECK_FOR_INTERRUPTS();
        BlockNumber block = ItemPointerGetBlockNumber(&check->claims[i].heap_tid);
        Buffer buf = InvalidBuffer;
        Page page = nullptr;
        if (block < heap_blocks) {
            buf = ReadBufferExtended(check->heap, MAIN_FORKNUM, block, RBM_NORMAL, strategy);
            LockBuffer(buf, BUFFER_LOCK_SHARE);
            page = BufferGetPage(buf);
        }
        const char *missing = nullptr;
        for (; i < check->n_claims && ItemPointerGetBlockNumber(&check->claims[i].heap_tid) == block; i++)
            if ((missing = missing_heap_tuple(page, check->claims[i])) != nullptr) break;
        if (BufferIsValid(buf)) UnlockReleaseBuffer(buf);
        if (missing == nullptr) continue;
        const VsHeapClaim &claim = check->claims[i];
        if (check->methods->still_claims(check, &claim))
            vs_check_corrupt(check, claim.block, "slot %u: heap TID (%u,%u) points to %s (table \"%s\" has %u blocks)",
                             claim.slot, block, ItemPointerGetOffsetNumber(&claim.heap_tid), missing,
                             RelationGetRelationName(check->heap), heap_blocks);
        i++;  // the rest of the block is read again
    }
    FreeAccessStrategy(strategy);
}

struct HeapRowsState {
    VsIndexCheck *check;
    uint64 rows;
    MemoryContext row_context;  // what a row's check allocates (its detoasted key), reset after it
};

// table_index_build_scan's callback: a row the index would hold (tid is the root of its HOT
// chain, as the index stores it) must be claimed by an element that scans return, storing the
// row's key.
static void check_heap_row(Relation index, ItemPointer tid, Datum *values, bool *isnull, bool alive, void *arg) {
    auto *state = static_cast<HeapRowsState *>(arg);
    VsIndexCheck *check = state->check;
    CHECK_FOR_INTERRUPTS();
    uint32 fingerprint;
    MemoryContext old = MemoryContextSwitchTo(state->row_context);
    bool indexable = !isnull[0];
    if (indexable) {
        // Detoasted once here, for the dimensions and for the access method's fingerprint, and
        // unpacked, which the types' readers would otherwise each do again.
        struct varlena *raw = PG_DETOAST_DATUM(values[0]);
        if (index_key_dims(PointerGetDatum(raw), check->element) != check->dims)
            fingerprint = vs_fingerprint_end(vs_fingerprint_add(VS_FINGERPRINT_START, VARDATA_ANY(raw), VARSIZE_ANY_EXHDR(raw)));
        else
            indexable = check->methods->fingerprint(check, PointerGetDatum(raw), &fingerprint);
    }
    MemoryContextSwitchTo(old);
    MemoryContextReset(state->row_context);
    if (!indexable) return;
    state->rows++;
    VsHeapClaim key{};
    key.heap_tid = *tid;
    VsHeapClaim *end = check->claims + check->n_claims;
    const VsHeapClaim *differing = nullptr;
    for (VsHeapClaim *c = std::lower_bound(check->claims, end, key, vs_claim_tid_less);
         c < end && ItemPointerEquals(&c->heap_tid, tid); c++) {
        if (!c->returned) continue;
        if (c->fingerprint == fingerprint) return;
        differing = c;
    }
    if (differing)
        vs_check_corrupt(check, differing->block, "slot %u: the element of heap row (%u,%u) stores another key than the row",
                         differing->slot, ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid));
    ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                    errmsg("index \"%s\" lacks heap row (%u,%u) of table \"%s\"", RelationGetRelationName(index),
                           ItemPointerGetBlockNumber(tid), ItemPointerGetOffsetNumber(tid),
                           RelationGetRelationName(check->heap)),
                    errhint("REINDEX the index.")));
}

// Scans the table with snapshot as the first scan of CREATE INDEX CONCURRENTLY does (the rows
// the snapshot sees, each HOT chain by its root TID), as amcheck's heapallindexed does.
static void check_heap_rows_indexed(VsIndexCheck *check, Snapshot snapshot) {
    IndexInfo *index_info = BuildIndexInfo(check->index);
    index_info->ii_Concurrent = true;
    TableScanDesc scan = table_beginscan_strat(check->heap, snapshot, 0, nullptr, true, true);
    HeapRowsState state{check, 0,
                        AllocSetContextCreate(CurrentMemoryContext, "vectorsearch check row", ALLOCSET_SMALL_SIZES)};
    table_index_build_scan(check->heap, check->index, index_info, true, false, check_heap_row, &state, scan);
    elog(DEBUG1, "vectorsearch_check_index: " UINT64_FORMAT " rows of \"%s\" are in \"%s\"", state.rows,
         RelationGetRelationName(check->heap), RelationGetRelationName(check->index));
}

static const VsIndexCheckMethods *methods_of(Relation index) {
    FmgrInfo handler;
    fmgr_info(index->rd_amhandler, &handler);
    for (const VsIndexCheckMethods *methods : index_check_methods)
        if (handler.fn_addr == methods->handler) return methods;
    ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
                    errmsg("index \"%s\" is not a vectorsearch index", RelationGetRelationName(index)),
                    errdetail("Its access method is %s.", get_am_name(index->rd_rel->relam))));
    pg_unreachable();
}

// The caller must be able to read the table: the checker tells nothing about it that SELECT
// (ctid included) does not.
static void check_privilege(Oid heap_id) {
    if (!pg_class_ownercheck(heap_id, GetUserId()) && pg_class_aclcheck(heap_id, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
        aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE, get_rel_name(heap_id));
}

static void check_index(Oid index_id, bool heapallindexed) {
    char relkind = get_rel_relkind(index_id);
    if (relkind == '\0')
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", index_id)));
    if (relkind == RELKIND_PARTITIONED_INDEX)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot check partitioned index \"%s\"", get_rel_name(index_id)),
                        errhint("Check the index of each partition.")));
    if (relkind != RELKIND_INDEX)
        ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE), errmsg("\"%s\" is not an index", get_rel_name(index_id))));
    Oid heap_id = IndexGetRelation(index_id, true);
    if (!OidIsValid(heap_id))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation with OID %u does not exist", index_id)));
    check_privilege(heap_id);

    // The table is locked before the index, as everywhere else; the index functions that
    // heapallindexed evaluates run as the table's owner, restricted, as in amcheck and VACUUM.
    Relation heap = table_open(heap_id, AccessShareLock);
    Oid save_userid;
    int save_sec_context;
    GetUserIdAndSecContext(&save_userid, &save_sec_context);
    SetUserIdAndSecContext(heap->rd_rel->relowner, save_sec_context | SECURITY_RESTRICTED_OPERATION);
    int save_nestlevel = NewGUCNestLevel();
    Relation index = index_open(index_id, AccessShareLock);
    if (IndexGetRelation(index_id, false) != heap_id)
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("could not open the table of index \"%s\"", RelationGetRelationName(index))));
    const VsIndexCheckMethods *methods = methods_of(index);
    if (RELATION_IS_OTHER_TEMP(index))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot check index \"%s\" of another session's temporary table",
                               RelationGetRelationName(index))));
    if (!index->rd_index->indisvalid)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("cannot check index \"%s\": it is not valid", RelationGetRelationName(index)),
                        errhint("REINDEX the index.")));

    // A standby has no main fork of an unlogged index, only its init fork.
    if (index->rd_rel->relpersistence == RELPERSISTENCE_UNLOGGED && RecoveryInProgress()) {
        ereport(NOTICE, (errmsg("unlogged index \"%s\" is not checked during recovery", RelationGetRelationName(index))));
    } else {
        // The snapshot is taken before the walk: every row it sees was inserted, and its element
        // made valid, before the walk began.
        Snapshot snapshot = InvalidSnapshot;
        if (heapallindexed) {
            snapshot = RegisterSnapshot(GetTransactionSnapshot());
            if (IsolationUsesXactSnapshot() && index->rd_index->indcheckxmin &&
                !TransactionIdPrecedes(HeapTupleHeaderGetXmin(index->rd_indextuple->t_data), snapshot->xmin))
                ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
                                errmsg("index \"%s\" cannot be checked with this transaction's snapshot",
                                       RelationGetRelationName(index)),
                                errhint("Run it in a READ COMMITTED transaction.")));
        }
        MemoryContext context = AllocSetContextCreate(CurrentMemoryContext, "vectorsearch check", ALLOCSET_DEFAULT_SIZES);
        MemoryContext old = MemoryContextSwitchTo(context);
        auto *check = static_cast<VsIndexCheck *>(palloc0(sizeof(VsIndexCheck)));
        check->index = index;
        check->heap = heap;
        check->methods = methods;
        check->heapallindexed = heapallindexed;
        check->strategy = GetAccessStrategy(BAS_BULKREAD);
        check->nblocks = RelationGetNumberOfBlocks(index);
        check->context = context;
        check->claims_capacity = 1024;
        check->claims = static_cast<VsHeapClaim *>(palloc(sizeof(VsHeapClaim) * check->claims_capacity));

        methods->verify(check);
        std::sort(check->claims, check->claims + check->n_claims, vs_claim_tid_less);
        check_claimed_tuples_exist(check);
        if (heapallindexed) check_heap_rows_indexed(check, snapshot);

        FreeAccessStrategy(check->strategy);
        MemoryContextSwitchTo(old);
        MemoryContextDelete(context);
        if (snapshot != InvalidSnapshot) UnregisterSnapshot(snapshot);
    }

    AtEOXact_GUC(false, save_nestlevel);
    SetUserIdAndSecContext(save_userid, save_sec_context);
    // Nothing here sends invalidations: the locks may go before the transaction ends, as amcheck's do.
    index_close(index, AccessShareLock);
    table_close(heap, AccessShareLock);
}

Datum vectorsearch_check_index(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
            ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
                            errmsg("vectorsearch_check_index needs an index and a heapallindexed that are not null")));
        check_index(PG_GETARG_OID(0), PG_GETARG_BOOL(1));
        PG_RETURN_VOID();
    });
}
