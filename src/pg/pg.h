// The PostgreSQL headers the glue uses, with C linkage, and the one guard through which every
// fmgr entry point runs so that no C++ exception reaches PostgreSQL.
#pragma once

#include <cstring>
#include <exception>
#include <new>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#pragma GCC diagnostic ignored "-Wsign-compare"
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/shortest_dec.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#pragma GCC diagnostic pop
}

namespace vs {

// Runs body; a C++ exception escaping it is caught, its message copied to the stack, and
// reported with ereport only after the catch block has ended, so that longjmp never crosses
// a live C++ frame. Bodies may themselves ereport as long as they own nothing with a
// destructor when they do.
template <Datum (*Body)(FunctionCallInfo)>
Datum guarded(FunctionCallInfo fcinfo) {
    char message[256];
    bool out_of_memory = false;
    try {
        return Body(fcinfo);
    } catch (const std::bad_alloc &) {
        out_of_memory = true;
    } catch (const std::exception &e) {
        strlcpy(message, e.what(), sizeof(message));
    } catch (...) {
        strlcpy(message, "unknown C++ exception", sizeof(message));
    }
    if (out_of_memory) ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
    ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("vectorsearch: %s", message)));
    pg_unreachable();
}

}  // namespace vs

// Declares a V1 SQL-callable function whose body runs inside vs::guarded:
//   VS_FUNCTION(vector_dims) { ... return Int32GetDatum(...); }
#define VS_FUNCTION(name)                                                  \
    extern "C" {                                                           \
    PG_FUNCTION_INFO_V1(name);                                             \
    }                                                                      \
    static Datum name##_body(FunctionCallInfo fcinfo);                     \
    extern "C" Datum name(PG_FUNCTION_ARGS) {                              \
        return vs::guarded<name##_body>(fcinfo);                           \
    }                                                                      \
    static Datum name##_body(FunctionCallInfo fcinfo)
