// What every vectorsearch access method is, as PostgreSQL's IndexAmRoutine says it: an index on
// one vector column that serves ORDER BY column <op> constant through amgettuple (no bitmap
// scans, no uniqueness, no backward scans, no INCLUDE columns), with options, support functions
// 1 to 3, maintenance_work_mem for its build and a parallel VACUUM of its bulk deletes. Each
// access method's handler sets its own callbacks into it.
#pragma once

#include "pg/pg.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "access/amapi.h"
#pragma GCC diagnostic pop
}

IndexAmRoutine *index_am_routine();
