// The cost gate every ordered index scan shares. An index here only answers ORDER BY its
// distance, approximately, and continues its search as long as the executor fetches rows, so
// its cost is that of the elements it visits to produce the rows the query wants: the gate
// decides whether the index may serve the path at all and how many rows it must produce; the
// access method says how many elements that takes, and genericcostestimate prices the pages.
#pragma once

#include "pg/pg.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "nodes/pathnodes.h"
#pragma GCC diagnostic pop
}

namespace vs::index {

// An amcostestimate's results.
struct IndexCost {
    Cost startup;
    Cost total;
    Selectivity selectivity;
    double correlation;
    double pages;
};

// The candidates an ordered scan must produce for path: the LIMIT's rows, divided by the
// fraction of rows the query's filters keep (a rejected row makes the scan go on). When the
// LIMIT is not known at planning (a generic plan's LIMIT $1, a cursor), the planner assumes a
// tenth of the rows is wanted, which for a nearest-neighbour query is far from what clients
// fetch: the scan is then costed for rows_if_unknown (an AM's first batch), and continues on
// demand if more are fetched. Returns 0 when the index cannot serve the path: no ORDER BY on its
// distance, or a query that wants every row (which an approximate search cannot promise, and
// a sequential scan with a sort returns exactly for a similar cost).
double wanted_candidates(PlannerInfo *root, IndexPath *path, double rows_if_unknown);

// Costs that keep the planner from choosing the path: far above disable_cost, which the planner
// adds once for each node a setting disables (enable_seqscan = off, enable_sort = off), so that
// even a plan of several disabled nodes wins over a scan that cannot serve the query.
IndexCost disabled_cost();

// The cost of a scan that visits `visits` elements, each costing cpu_per_visit besides the
// access to its index page; all of it is startup cost, as the scan searches before its first row.
IndexCost visits_cost(PlannerInfo *root, IndexPath *path, double loop_count, double visits, Cost cpu_per_visit);

}  // namespace vs::index
