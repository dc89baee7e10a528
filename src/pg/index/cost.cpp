// The shared cost gate of cost.h.
#include "pg/index/cost.h"

#include <cmath>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "utils/selfuncs.h"
#pragma GCC diagnostic pop
}

namespace vs::index {

double wanted_candidates(PlannerInfo *root, IndexPath *path, double rows_if_unknown) {
    if (path->indexorderbys == NIL) return 0;
    double rows;
    if (root->limit_tuples >= 0)
        rows = root->limit_tuples;
    else if (root->tuple_fraction > 0)
        rows = rows_if_unknown;  // a LIMIT or fetch count not known at planning
    else
        return 0;
    RelOptInfo *rel = path->indexinfo->rel;
    Selectivity kept = clauselist_selectivity(root, rel->baserestrictinfo, rel->relid, JOIN_INNER, nullptr);
    return std::fmax(1, rows / std::fmax(kept, 1e-9));
}

IndexCost disabled_cost() {
    constexpr double unservable = 1e6;  // disabled nodes a plan would need to cost more
    return {disable_cost * unservable, disable_cost * unservable, 0, 0, 0};
}

IndexCost visits_cost(PlannerInfo *root, IndexPath *path, double loop_count, double visits, Cost cpu_per_visit) {
    GenericCosts costs;
    MemSet(&costs, 0, sizeof(costs));
    costs.numIndexTuples = visits;
    genericcostestimate(root, path, loop_count, &costs);
    Cost cost = costs.indexTotalCost + visits * cpu_per_visit;
    return {cost, cost, costs.indexSelectivity, 0, costs.numIndexPages};
}

}  // namespace vs::index
