// The pause points of test builds (see test_hooks.h); this file compiles to nothing otherwise.
#ifdef VS_TEST_HOOKS
#include "test_hooks.h"

#include <climits>

#include "pg.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "utils/guc.h"
#pragma GCC diagnostic pop
}

static char *test_pause_points;
static int test_pause_key;

void vs_test_hooks_init() {
    DefineCustomStringVariable("vectorsearch.test_pause", "Test builds: pause points this session stops at.",
                               nullptr, &test_pause_points, "", PGC_USERSET, 0, nullptr, nullptr, nullptr);
    DefineCustomIntVariable("vectorsearch.test_pause_key", "Test builds: the advisory lock a pause waits for.",
                            nullptr, &test_pause_key, 7, 0, INT_MAX, PGC_USERSET, 0, nullptr, nullptr, nullptr);
}

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
#endif
