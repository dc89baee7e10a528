// The pause points of test builds (see test_hooks.h), and what tests need to aim them; this file
// compiles to nothing otherwise.
#ifdef VS_TEST_HOOKS
#include "pg/test_hooks.h"

#include <climits>

#include "pg/hnsw/hnsw.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/genam.h"
#include "utils/guc.h"
#pragma GCC diagnostic pop
}

// The SQL-callable functions of this file (C linkage, fmgr version 1).
extern "C" {
PG_FUNCTION_INFO_V1(vectorsearch_test_hnsw_entry);
}

static char *test_pause_points;
static int test_pause_key;
static int test_level;

void vs_test_hooks_init() {
    DefineCustomStringVariable("vectorsearch.test_pause", "Test builds: pause points this session stops at.",
                               nullptr, &test_pause_points, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("vectorsearch.test_pause_key", "Test builds: the advisory lock a pause waits for.",
                            nullptr, &test_pause_key, 7, 0, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("vectorsearch.test_level", "Test builds: the level of new hnsw elements (-1: drawn).",
                            nullptr, &test_level, -1, -1, vs::hnsw::kMaxLevel, PGC_USERSET, 0, nullptr, nullptr,
                            nullptr);
}

int vs_test_level(int drawn) { return test_level >= 0 ? test_level : drawn; }

static bool names_point(const char *list, const char *point) {
    size_t length = strlen(point);
    for (const char *p = list; (p = strstr(p, point)) != nullptr; p += length) {
        bool starts = p == list || p[-1] == ',' || p[-1] == ' ';
        bool ends = p[length] == '\0' || p[length] == ',' || p[length] == ' ';
        if (starts && ends) return true;
    }
    return false;
}

void vs_test_pause(const char *point) {
    if (test_pause_points == nullptr || !names_point(test_pause_points, point)) return;
    elog(LOG, "vectorsearch test pause at %s", point);
    DirectFunctionCall1(pg_advisory_lock_int8, Int64GetDatum(test_pause_key));
    DirectFunctionCall1(pg_advisory_unlock_int8, Int64GetDatum(test_pause_key));
}

// vectorsearch_test_hnsw_entry(index regclass) returns tid: the heap row of an hnsw index's entry
// point, or NULL when it has none, so that a test can delete just that row. A test creates the
// SQL function itself: the extension's script does not know it.
Datum vectorsearch_test_hnsw_entry(PG_FUNCTION_ARGS) {
    return vs::guard([&]() -> Datum {
        Relation index = index_open(PG_GETARG_OID(0), AccessShareLock);
        const HnswIndexInfo *info = hnsw_index_info(index);
        vs::hnsw::EntryPoint entry = hnsw_entry_point(index, info, false);
        ItemPointer tid = static_cast<ItemPointer>(palloc(sizeof(ItemPointerData)));
        if (entry.ref != vs::kNoRef) hnsw_element_flags(index, info, entry.ref, tid);
        index_close(index, AccessShareLock);
        if (entry.ref == vs::kNoRef) PG_RETURN_NULL();
        PG_RETURN_POINTER(tid);
    });
}
#endif
