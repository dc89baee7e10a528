// The metric support functions of the operator classes, index_metric which calls them, and
// the check of an operator class's support functions.
#include "pg/index/metric.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/genam.h"
#include "access/htup_details.h"
#include "catalog/pg_amproc.h"
#include "catalog/pg_opclass.h"
#include "utils/catcache.h"
#include "utils/syscache.h"
#pragma GCC diagnostic pop
}

// The SQL-callable functions of this file (C linkage, fmgr version 1). Each takes an unused
// internal argument, so SQL cannot call it, and returns its metric's number.
extern "C" {
PG_FUNCTION_INFO_V1(vectorsearch_l2_metric);
PG_FUNCTION_INFO_V1(vectorsearch_ip_metric);
PG_FUNCTION_INFO_V1(vectorsearch_cosine_metric);
PG_FUNCTION_INFO_V1(vectorsearch_l1_metric);
PG_FUNCTION_INFO_V1(vectorsearch_hamming_metric);
PG_FUNCTION_INFO_V1(vectorsearch_jaccard_metric);
}

Datum vectorsearch_l2_metric(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(int32(vs::Metric::L2)); });
}
Datum vectorsearch_ip_metric(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(int32(vs::Metric::InnerProduct)); });
}
Datum vectorsearch_cosine_metric(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(int32(vs::Metric::Cosine)); });
}
Datum vectorsearch_l1_metric(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(int32(vs::Metric::L1)); });
}
Datum vectorsearch_hamming_metric(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(int32(vs::Metric::Hamming)); });
}
Datum vectorsearch_jaccard_metric(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum { PG_RETURN_INT32(int32(vs::Metric::Jaccard)); });
}

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

bool index_validate_opclass(Oid opclass, const int16 *required, int n_required) {
    HeapTuple tuple = SearchSysCache1(CLAOID, ObjectIdGetDatum(opclass));
    if (!HeapTupleIsValid(tuple)) elog(ERROR, "cache lookup failed for operator class %u", opclass);
    Oid family = reinterpret_cast<Form_pg_opclass>(GETSTRUCT(tuple))->opcfamily;
    ReleaseSysCache(tuple);
    CatCList *procs = SearchSysCacheList1(AMPROCNUM, ObjectIdGetDatum(family));
    int found = 0;
    for (int r = 0; r < n_required; r++) {
        for (int i = 0; i < procs->n_members; i++) {
            if (reinterpret_cast<Form_pg_amproc>(GETSTRUCT(&procs->members[i]->tuple))->amprocnum == required[r]) {
                found++;
                break;
            }
        }
    }
    ReleaseCatCacheList(procs);
    return found == n_required;
}
