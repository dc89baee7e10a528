// The hnsw access method's handler: its capabilities, options, GUCs and operator class checks.
// The phases live in build/insert/scan/vacuum/cost.cpp.
#include "pg/hnsw/hnsw.h"
#include "pg/index/handler.h"

#include <cmath>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/guc.h"
#include "utils/selfuncs.h"
#pragma GCC diagnostic pop
}

// The SQL-callable functions of this file (C linkage, fmgr version 1).
extern "C" {
PG_FUNCTION_INFO_V1(hnswhandler);
}

int hnsw_ef_search = HNSW_DEFAULT_EF_SEARCH;

enum { HNSW_OPTION_M, HNSW_OPTION_EF_CONSTRUCTION };
static const IndexIntOption hnsw_int_options[] = {
    {"m", "Maximum number of links per element and layer (twice that on layer 0)", HNSW_DEFAULT_M, vs::hnsw::kMinM,
     vs::hnsw::kMaxM, offsetof(HnswOptions, m)},
    {"ef_construction", "Size of the candidate list while building the graph", HNSW_DEFAULT_EF_CONSTRUCTION, 4, 1000,
     offsetof(HnswOptions, ef_construction)},
};
static IndexOptionTable hnsw_option_table = {hnsw_int_options, lengthof(hnsw_int_options), sizeof(HnswOptions), RELOPT_KIND_LOCAL};

IterativeScanSettings hnsw_iterative = {INDEX_ITERATIVE_OFF, 20000, 1};

void hnsw_init_gucs() {
    index_define_options(&hnsw_option_table);
    DefineCustomIntVariable("hnsw.ef_search", "Sets the size of the candidate list of an hnsw index scan.",
                            "Valid range is 1..1000; larger finds more true neighbours, more slowly.",
                            &hnsw_ef_search, HNSW_DEFAULT_EF_SEARCH, 1, 1000, PGC_USERSET, GUC_EXPLAIN, nullptr, nullptr,
                            nullptr);
    index_define_iterative_gucs("hnsw", &hnsw_iterative);
    MarkGUCPrefixReserved("hnsw");
}

static bytea *hnsw_options(Datum reloptions, bool validate) {
    return vs::guard([&]() { return index_parse_options(&hnsw_option_table, reloptions, validate); });
}

int hnsw_option_m(Relation index) { return index_int_option(index, &hnsw_option_table, HNSW_OPTION_M); }

int hnsw_option_ef_construction(Relation index) {
    return index_int_option(index, &hnsw_option_table, HNSW_OPTION_EF_CONSTRUCTION);
}

static bool hnsw_validate(Oid opclass_oid) {
    static const int16 required[] = {HNSW_DISTANCE_PROC, INDEX_METRIC_PROC};
    return vs::guard([&]() { return index_validate_opclass(opclass_oid, required, lengthof(required)); });
}

Datum hnswhandler(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        IndexAmRoutine *am = index_am_routine();
        am->ambuild = hnsw_build;
        am->ambuildempty = hnsw_buildempty;
        am->aminsert = hnsw_insert;
        am->ambulkdelete = hnsw_bulkdelete;
        am->amvacuumcleanup = hnsw_vacuumcleanup;
        am->amcostestimate = hnsw_costestimate;
        am->amoptions = hnsw_options;
        am->ambuildphasename = hnsw_buildphasename;
        am->amvalidate = hnsw_validate;
        am->ambeginscan = hnsw_beginscan;
        am->amrescan = hnsw_rescan;
        am->amgettuple = hnsw_gettuple;
        am->amendscan = hnsw_endscan;
        PG_RETURN_POINTER(am);
    });
}
