// The lsh access method's handler: its capabilities, options, GUCs and operator class checks.
// The phases live in build/insert/scan/vacuum/cost.cpp.
#include "pg/lsh/lsh.h"
#include "pg/index/handler.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "utils/guc.h"
#pragma GCC diagnostic pop
}

// The SQL-callable functions of this file (C linkage, fmgr version 1).
extern "C" {
PG_FUNCTION_INFO_V1(lshhandler);
}

double lsh_target_recall = LSH_DEFAULT_TARGET_RECALL;
int lsh_probes = 0;
int lsh_candidates = 0;
IterativeScanSettings lsh_iterative = {INDEX_ITERATIVE_OFF, 20000, 1};

enum { LSH_OPTION_TABLES, LSH_OPTION_BUCKETS, LSH_OPTION_SKETCH_BITS, LSH_OPTION_SHAPE_ROWS };
static const IndexIntOption lsh_int_options[] = {
    {"tables", "Number of hash tables (0: chosen from the dimensions)", 0, 0, vs::lsh::kMaxTables,
     offsetof(LshOptions, tables)},
    {"buckets", "Buckets per table (0: chosen from the rows at build)", 0, 0, 1 << 20, offsetof(LshOptions, buckets)},
    {"sketch_bits", "Bits of the sketch that ranks a bucket's entries (0: chosen from the metric and dimensions)", 0,
     0, vs::lsh::kMaxSketchBits, offsetof(LshOptions, sketch_bits)},
    {"shape_rows", "Rows below which a build leaves the index unshaped, searched exhaustively",
     LSH_DEFAULT_SHAPE_ROWS, 100, 1000000, offsetof(LshOptions, shape_rows)},
};
static IndexOptionTable lsh_option_table = {lsh_int_options, lengthof(lsh_int_options), sizeof(LshOptions),
                                            RELOPT_KIND_LOCAL};

void lsh_init_gucs() {
    index_define_options(&lsh_option_table);
    DefineCustomRealVariable("lsh.target_recall", "Sets the recall@10 an lsh index scan aims at.",
                             "Valid range is 0.5..0.999; the index chooses its probes and candidates for it, as "
                             "calibrated at build on rows of the table.",
                             &lsh_target_recall, LSH_DEFAULT_TARGET_RECALL, 0.5, 0.999, PGC_USERSET, GUC_EXPLAIN,
                             nullptr, nullptr, nullptr);
    DefineCustomIntVariable("lsh.probes", "Sets the buckets an lsh index scan probes in each table.",
                            "0 chooses them from lsh.target_recall; a positive value overrides it.", &lsh_probes, 0, 0,
                            1 << 20, PGC_USERSET, GUC_EXPLAIN, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("lsh.candidates", "Sets the entries an lsh index scan re-ranks exactly.",
                            "0 chooses them from lsh.target_recall; a positive value overrides it.", &lsh_candidates,
                            0, 0, 1 << 24, PGC_USERSET, GUC_EXPLAIN, nullptr, nullptr, nullptr);
    index_define_iterative_gucs("lsh", &lsh_iterative);
    MarkGUCPrefixReserved("lsh");
}

static bytea *lsh_parse_options(Datum reloptions, bool validate) {
    return vs::guard([&]() { return index_parse_options(&lsh_option_table, reloptions, validate); });
}

LshOptions lsh_options(Relation index) {
    return {0, index_int_option(index, &lsh_option_table, LSH_OPTION_TABLES),
            index_int_option(index, &lsh_option_table, LSH_OPTION_BUCKETS),
            index_int_option(index, &lsh_option_table, LSH_OPTION_SKETCH_BITS),
            index_int_option(index, &lsh_option_table, LSH_OPTION_SHAPE_ROWS)};
}

static bool lsh_validate(Oid opclass_oid) {
    static const int16 required[] = {LSH_DISTANCE_PROC, INDEX_METRIC_PROC};
    return vs::guard([&]() { return index_validate_opclass(opclass_oid, required, lengthof(required)); });
}

Datum lshhandler(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        IndexAmRoutine *am = index_am_routine();
        am->ambuild = lsh_build;
        am->ambuildempty = lsh_buildempty;
        am->aminsert = lsh_insert;
        am->ambulkdelete = lsh_bulkdelete;
        am->amvacuumcleanup = lsh_vacuumcleanup;
        am->amcostestimate = lsh_costestimate;
        am->amoptions = lsh_parse_options;
        am->ambuildphasename = lsh_buildphasename;
        am->amvalidate = lsh_validate;
        am->ambeginscan = lsh_beginscan;
        am->amrescan = lsh_rescan;
        am->amgettuple = lsh_gettuple;
        am->amendscan = lsh_endscan;
        PG_RETURN_POINTER(am);
    });
}
