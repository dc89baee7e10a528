// The page format every vectorsearch index shares, whatever its access method.
//
//   every page      [PageHeaderData][AM's data ...][special space: IndexPageOpaque]
//   IndexPageOpaque aux (BlockNumber, the AM's) | page type (uint16, the AM's) | page id (uint16)
//   block 0         the metapage: its data starts with IndexMetaHeader, then the AM's own fields
//   IndexMetaHeader magic | page id | layout version | element type | metric | dimensions
//
// The page id in the last two bytes of the special space names the access method, as bloom's
// 0xFF83 and pgvector's ids do, so a page dump (pageinspect, pg_filedump) tells which index a page
// belongs to and, with the page type, what it holds. One header check (index_check_meta) refuses an
// index of another access method or of a layout this build does not read, with a REINDEX hint.
#pragma once

#include "pg/pg.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/htup_details.h"
#include "storage/bufpage.h"
#include "utils/rel.h"
#pragma GCC diagnostic pop
}

#include "core/index/vector_type.h"

// Whether a heap tuple can have tid: an index's damaged TID would otherwise reach the heap (a
// read of InvalidBlockNumber is one of P_NEW, an extension).
inline bool index_heap_tid_possible(const ItemPointerData *tid) {
    const OffsetNumber offset = ItemPointerGetOffsetNumberNoCheck(tid);
    return ItemPointerGetBlockNumberNoCheck(tid) != InvalidBlockNumber && offset >= FirstOffsetNumber &&
           offset <= MaxHeapTuplesPerPage;
}

// Page ids, one per access method: distinct from PostgreSQL's (bloom 0xFF83, SP-GiST 0xFF82,
// GIN/GiST ...) and from pgvector's (0xFF84, 0xFF90 ...), so a dump never mistakes one for another.
#define VS_HNSW_PAGE_ID 0xFFA1
#define VS_LSH_PAGE_ID 0xFFA2

#define VS_META_MAGIC 0x58495356  // "VSIX"
#define VS_METAPAGE_BLKNO 0
// The page type of block 0 in every access method; each numbers its other page types from 2.
#define INDEX_PAGE_META 1


struct IndexPageOpaque {
    BlockNumber aux;  // the access method's: hnsw keeps the start of the run a page belongs to
    uint16 page_type;
    uint16 page_id;
};

struct IndexMetaHeader {
    uint32 magic;
    uint16 page_id;
    uint16 layout_version;
    uint16 element_type;  // a vs::Element
    uint16 metric;  // a vs::Metric
    int32 dims;
};

// Usable bytes of a page between its header and the special space.
constexpr Size INDEX_PAGE_SPACE = BLCKSZ - MAXALIGN(SizeOfPageHeaderData) - MAXALIGN(sizeof(IndexPageOpaque));

void index_init_page(Page page, uint16 page_id, uint16 page_type, BlockNumber aux);
inline char *index_page_data(Page page) { return reinterpret_cast<char *>(page) + MAXALIGN(SizeOfPageHeaderData); }
// A page's special space, or nullptr for a page the relation was extended by but that was never
// initialised (a crash before its WAL record reached the disk leaves such pages; they are skipped).
const IndexPageOpaque *index_page_opaque(Page page);
// Metapage header of a new index: the layout version is the access method's, the element and
// metric come from the operator class (index_element, index_metric).
IndexMetaHeader *index_init_meta_page(Page page, uint16 page_id, uint16 layout_version, vs::Element element,
                                      vs::Metric metric, int dims,
                                      Size am_meta_size);
// Refuses, with a clear error, a metapage that is not of this access method (XX002) or of
// another layout version (0A000, with a REINDEX hint).
void index_check_meta(Relation index, const IndexMetaHeader *meta, uint16 page_id, uint16 layout_version);
