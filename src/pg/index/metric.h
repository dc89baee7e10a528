// The distance an index orders by, as its operator class declares it, and the check of an
// operator class's support functions: every vectorsearch
// operator class has a metric support function (INDEX_METRIC_PROC) returning a vs::Metric, so
// no access method infers the metric from a function's name.
#pragma once

#include "pg/pg.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "utils/rel.h"
#pragma GCC diagnostic pop
}

#include "core/kernels/distance.h"

#define INDEX_METRIC_PROC 3

// amvalidate: whether the operator class has every support function in required (the metric
// function among them).
bool index_validate_opclass(Oid opclass, const int16 *required, int n_required);

// The metric of the index's first column; an error if its operator class has no metric function
// (an index of a 0.1.0 catalog before ALTER EXTENSION UPDATE).
vs::Metric index_metric(Relation index);
