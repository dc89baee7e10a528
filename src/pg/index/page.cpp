// The shared page format of src/pg/index/page.h: initialising and checking pages and the
// metapage header.
#include "pg/index/page.h"

#include "pg/index/key.h"

static IndexPageOpaque *opaque(Page page) { return reinterpret_cast<IndexPageOpaque *>(PageGetSpecialPointer(page)); }

void index_init_page(Page page, uint16 page_id, uint16 page_type, BlockNumber aux) {
    PageInit(page, BLCKSZ, sizeof(IndexPageOpaque));
    *opaque(page) = {aux, page_type, page_id};
}

const IndexPageOpaque *index_page_opaque(Page page) { return PageIsNew(page) ? nullptr : opaque(page); }

IndexMetaHeader *index_init_meta_page(Page page, uint16 page_id, uint16 layout_version, vs::Element element,
                                      vs::Metric metric, int dims, Size am_meta_size) {
    Assert(am_meta_size >= sizeof(IndexMetaHeader));
    index_init_page(page, page_id, INDEX_PAGE_META, InvalidBlockNumber);
    auto *meta = reinterpret_cast<IndexMetaHeader *>(index_page_data(page));
    memset(meta, 0, am_meta_size);
    *meta = {VS_META_MAGIC, page_id, layout_version, uint16(element), uint16(metric), int32(dims)};
    reinterpret_cast<PageHeader>(page)->pd_lower = MAXALIGN(SizeOfPageHeaderData) + am_meta_size;
    return meta;
}

void index_check_meta(Relation index, const IndexMetaHeader *meta, uint16 page_id, uint16 layout_version) {
    if (meta->magic != VS_META_MAGIC || meta->page_id != page_id)
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" has no valid metapage for its access method", RelationGetRelationName(index)),
                        errhint("REINDEX the index.")));
    if (meta->layout_version != layout_version)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("index \"%s\" has layout version %u, this vectorsearch reads version %u",
                               RelationGetRelationName(index), meta->layout_version, layout_version),
                        errhint("REINDEX the index.")));
    if (!vs::element_valid(meta->element_type) || !vs::metric_valid(meta->metric) || !vs::index_of(vs::Element(meta->element_type), vs::Metric(meta->metric)) ||
        meta->dims < 1 ||
        (meta->element_type != uint16(vs::Element::Sparse) &&
         vs::element_vector_bytes(vs::Element(meta->element_type), meta->dims) > INDEX_MAX_KEY_BYTES))
        ereport(ERROR, (errcode(ERRCODE_INDEX_CORRUPTED),
                        errmsg("index \"%s\" has a corrupt metapage (element type %u, metric %u, %d dimensions)",
                               RelationGetRelationName(index), meta->element_type, meta->metric, meta->dims),
                        errhint("REINDEX the index.")));
}
