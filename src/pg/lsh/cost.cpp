// The lsh access method's cost estimate, through the shared gate of src/pg/index/cost.h: what
// is lsh's own is how many rows a scan re-ranks (a heap fetch and a distance over the full
// vector each) to release the rows the query wants, after scoring the entries of `probes`
// buckets in each table by sketch. It prices every batch by the fixed pair, also where the
// first batch plans per query: the plan costs less on average (that is why a target takes it),
// but a LIMIT beyond 10 then releases rows at 5 per the plan's re-ranks, which this
// underestimates where the plan re-ranked more than the pair would.
#include "pg/lsh/lsh.h"
#include "pg/index/cost.h"

#include <cmath>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#pragma GCC diagnostic pop
}

void lsh_costestimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *startup_cost, Cost *total_cost,
                      Selectivity *selectivity, double *correlation, double *pages) {
    return vs::guard([&]() {
        vs::index::IndexCost cost = vs::index::disabled_cost();
        IndexOptInfo *index = path->indexinfo;
        Relation rel = index_open(index->indexoid, NoLock);
        const LshIndexInfo info = *lsh_index_info(rel);
        index_close(rel, NoLock);
        vs::lsh::SearchSettings settings = lsh_scan_settings(&info, lsh_iterative.max_scan_tuples).fixed;
        double tuples = index->tuples > 1 ? index->tuples : 1;
        double candidates = vs::index::wanted_candidates(root, path, settings.candidates);
        if (candidates > 0) {
            // An unshaped index re-ranks every row. A shaped one re-ranks the first batch for up
            // to 10 rows, and for more as many as its release rule takes (lsh.h).
            const double first = settings.candidates;
            double reranks = !info.meta.shaped ? tuples
                             : candidates <= LSH_FIRST_RELEASE ? first
                                                               : first * candidates / LSH_RELEASE_PER_CANDIDATES;
            reranks = std::fmin(reranks, tuples);
            // Without an iterative scan asked for, the LIMIT must be met: a scan expected to
            // stop at lsh.max_scan_tuples first is left to a sequential scan (as for hnsw).
            if (lsh_iterative.mode != INDEX_ITERATIVE_OFF || reranks <= lsh_iterative.max_scan_tuples) {
                reranks = std::fmin(reranks, lsh_iterative.max_scan_tuples);
                double entries = info.meta.shaped
                                     ? std::fmin(tuples, tuples / info.meta.layout.buckets * settings.probes) *
                                           info.meta.layout.tables
                                     : tuples;
                // The index's entries are scored at a fiftieth of a row's re-rank; visits_cost
                // prices the pages as genericcostestimate does.
                cost = vs::index::visits_cost(root, path, loop_count, reranks + entries / 50,
                                              cpu_operator_cost * 10 + random_page_cost / 4);
            }
        }
        *startup_cost = cost.startup;
        *total_cost = cost.total;
        *selectivity = cost.selectivity;
        *correlation = cost.correlation;
        *pages = cost.pages;
    });
}
