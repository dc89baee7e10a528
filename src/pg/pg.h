// The PostgreSQL headers the glue uses, with C linkage, and the one guard through which every
// entry point from PostgreSQL runs so that no C++ exception reaches it.
#pragma once

#include <cstring>
#include <exception>
#include <new>
#include <type_traits>

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

// Runs body() and returns what it returns. A C++ exception escaping it is caught, its message
// copied to the stack, and reported with ereport only after the catch block has ended, so that
// longjmp never crosses a live C++ frame. Bodies may themselves ereport as long as every frame
// they own is trivially destructible when they do (the lambdas passed here capture by
// reference). Every SQL-callable function, access-method callback and background worker entry
// point runs its body through this guard:
//   Datum vector_dims(PG_FUNCTION_ARGS) { return vs::guard([&]() -> Datum { ... }); }
template <typename Body>
auto guard(Body &&body) -> decltype(body()) {
    char message[256];
    bool out_of_memory = false;
    try {
        return body();
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
