// The metric support functions of the operator classes, and index_metric which calls them.
#include "pg/index/metric.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/genam.h"
#pragma GCC diagnostic pop
}

// The SQL-callable functions of this file (C linkage, fmgr version 1). Each takes an unused
// internal argument, so SQL cannot call it, and returns its metric's number.
extern "C" {
PG_FUNCTION_INFO_V1(vectorsearch_l2_metric);
PG_FUNCTION_INFO_V1(vectorsearch_ip_metric);
PG_FUNCTION_INFO_V1(vectorsearch_cosine_metric);
PG_FUNCTION_INFO_V1(vectorsearch_l1_metric);
}

Datum vectorsearch_l2_metric(PG_FUNCTION_ARGS) { PG_RETURN_INT32(int32(vs::Metric::L2)); }
Datum vectorsearch_ip_metric(PG_FUNCTION_ARGS) { PG_RETURN_INT32(int32(vs::Metric::InnerProduct)); }
Datum vectorsearch_cosine_metric(PG_FUNCTION_ARGS) { PG_RETURN_INT32(int32(vs::Metric::Cosine)); }
Datum vectorsearch_l1_metric(PG_FUNCTION_ARGS) { PG_RETURN_INT32(int32(vs::Metric::L1)); }

vs::Metric index_metric(Relation index) {
    if (!OidIsValid(index_getprocid(index, 1, INDEX_METRIC_PROC)))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("operator class of index \"%s\" declares no metric", RelationGetRelationName(index)),
                        errhint("Run ALTER EXTENSION vectorsearch UPDATE, then connect again.")));
    FmgrInfo *proc = index_getprocinfo(index, 1, INDEX_METRIC_PROC);
    int32 value = DatumGetInt32(FunctionCall1Coll(proc, InvalidOid, PointerGetDatum(index)));
    if (!vs::metric_valid(value)) elog(ERROR, "metric support function returned %d", value);
    return vs::Metric(value);
}
