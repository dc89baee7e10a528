// The shared scan plumbing of scan.h, and vectorsearch_last_scan(), the SQL function that shows
// what the backend's last index scan cost.
#include "pg/index/scan.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/htup_details.h"
#include "funcapi.h"
#pragma GCC diagnostic pop
}

// The SQL-callable functions of this file (C linkage, fmgr version 1).
extern "C" {
PG_FUNCTION_INFO_V1(vectorsearch_last_scan);
}

namespace vs::index {

void *SpareScanMemory::take(MemoryContext *context) {
    void *root = root_;
    if (root == nullptr) return nullptr;
    *context = context_;
    root_ = nullptr;
    context_ = nullptr;
    MemoryContextSetParent(*context, CurrentMemoryContext);
    return root;
}

void SpareScanMemory::keep(void *root, MemoryContext context, Size limit) {
    if (root_ != nullptr || MemoryContextMemAllocated(context, true) > limit) {
        MemoryContextDelete(context);
        return;
    }
    MemoryContextSetParent(context, TopMemoryContext);
    root_ = root;
    context_ = context;
}

void PageCounter::stop(ScanStats *stats) const {
    const BufferUsage &now = pgBufferUsage;
    int64 read = (now.shared_blks_read - before_.shared_blks_read) + (now.local_blks_read - before_.local_blks_read);
    int64 hit = (now.shared_blks_hit - before_.shared_blks_hit) + (now.local_blks_hit - before_.local_blks_hit);
    stats->pages += hit + read;
    stats->pages_read += read;
}

static struct {
    Oid index;  // InvalidOid before the backend's first scan
    ScanStats stats;
} last_scan;

void publish_scan_stats(Oid index, const ScanStats &stats) {
    last_scan.index = index;
    last_scan.stats = stats;
}

}  // namespace vs::index

// A function rather than an EXPLAIN line: PostgreSQL 15 gives an index access method no way to
// add to its plan node's EXPLAIN output (ExplainOneQuery_hook would have to replace EXPLAIN as a
// whole, and collides with other extensions using it), and a DEBUG message reaches only the
// client that asked for it, in a form tests and tools cannot query.
Datum vectorsearch_last_scan(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        if (vs::index::last_scan.index == InvalidOid) PG_RETURN_NULL();
        TupleDesc desc;
        if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("function returning record called in "
                                                                           "context that cannot accept type record")));
        const vs::index::ScanStats &s = vs::index::last_scan.stats;
        Datum values[] = {ObjectIdGetDatum(vs::index::last_scan.index),
                          Int64GetDatum(s.batches),
                          Int64GetDatum(s.visited),
                          Int64GetDatum(s.distances),
                          Int64GetDatum(s.pages),
                          Int64GetDatum(s.pages_read),
                          Int64GetDatum(s.rows)};
        bool nulls[lengthof(values)] = {};
        if (desc->natts != int(lengthof(values)))
            ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH),
                            errmsg("vectorsearch_last_scan() must return %d columns", int(lengthof(values)))));
        desc = BlessTupleDesc(desc);
        return HeapTupleGetDatum(heap_form_tuple(desc, values, nulls));
    });
}
