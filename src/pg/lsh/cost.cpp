// The lsh access method's cost estimate, through the shared gate of src/pg/index/cost.h: what
// is lsh's own is how much one batch costs at the current settings. A batch re-ranks
// `candidates` rows, each a heap fetch and a distance over the full vector, after scoring the
// entries of `probes` buckets in each table by sketch (a few nanoseconds each: about the cost of
// reading them). A LIMIT beyond a batch takes further batches of doubled settings.
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
        vs::lsh::SearchSettings settings = lsh_scan_settings(&info);
        double tuples = index->tuples > 1 ? index->tuples : 1;
        double candidates = vs::index::wanted_candidates(root, path, settings.candidates);
        if (candidates > 0) {
            // An unshaped index re-ranks every row; a shaped one at least a batch, more for a
            // larger LIMIT (and a scan stops at lsh.max_scan_tuples).
            double reranks = info.meta.shaped ? std::fmax(settings.candidates, candidates) : tuples;
            reranks = std::fmin(std::fmin(reranks, tuples), lsh_iterative.max_scan_tuples);
            double entries = info.meta.shaped
                                 ? std::fmin(tuples, tuples / info.meta.layout.buckets * settings.probes) *
                                       info.meta.layout.tables
                                 : tuples;
            // The index's entries are scored at a fiftieth of a row's re-rank; visits_cost prices
            // the pages of the re-ranked rows' index entries as genericcostestimate does.
            cost = vs::index::visits_cost(root, path, loop_count, reranks + entries / 50,
                                          cpu_operator_cost * 10 + random_page_cost / 4);
        }
        *startup_cost = cost.startup;
        *total_cost = cost.total;
        *selectivity = cost.selectivity;
        *correlation = cost.correlation;
        *pages = cost.pages;
    });
}
