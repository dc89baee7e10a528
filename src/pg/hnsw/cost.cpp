// The hnsw access method's cost estimate, through the shared gate of src/pg/index/cost.h: what is
// hnsw's own is how many elements its scan visits to produce the rows a query wants.
#include "pg/hnsw/hnsw.h"
#include "pg/index/cost.h"

#include <cmath>

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "optimizer/optimizer.h"
#pragma GCC diagnostic pop
}

// A scan reaches a number of elements on layer 0 proportional to the rows it produces, whatever
// the table's size: it runs batches of ef_search until it has produced the rows asked for
// (scan.cpp), up to every element or hnsw.max_scan_tuples of them. vectorsearch_last_scan()
// showed 5-8 elements visited per row produced at m = 16 (Fashion-MNIST, 784 dimensions, and
// uniform 8-dimensional data, ef_search 40 to 200, LIMIT 10 and 100). The estimate takes 2m per
// row, the most a row's list holds: on the safe side where it decides whether a scan is expected
// to stop at hnsw.max_scan_tuples, and costly enough that a sequential scan still wins on small
// tables (m per row made a 2,000-row table of 3 dimensions an index scan). Each visited element
// costs a distance over the full vector besides the access to its page.
void hnsw_costestimate(PlannerInfo *root, IndexPath *path, double loop_count, Cost *startup_cost, Cost *total_cost,
                       Selectivity *selectivity, double *correlation, double *pages) {
    return vs::guard([&]() {
        vs::index::IndexCost cost = vs::index::disabled_cost();
        double candidates = vs::index::wanted_candidates(root, path, hnsw_ef_search);
        if (candidates > 0) {
            IndexOptInfo *index = path->indexinfo;
            // The m the graph was built with (ALTER INDEX ... SET (m) takes effect at a REINDEX).
            Relation rel = index_open(index->indexoid, NoLock);
            int m = hnsw_index_info(rel)->m;
            index_close(rel, NoLock);
            double tuples = index->tuples > 1 ? index->tuples : 1;
            double visits = std::fmin(tuples, std::fmax(candidates, hnsw_ef_search) * 2 * m);
            // Without an iterative scan asked for, rows come in exact order and the LIMIT must be met:
            // a scan expected to stop at hnsw.max_scan_tuples first is left to a sequential scan,
            // which returns every row asked for. An iterative scan was asked to stop there.
            if (hnsw_iterative.mode != INDEX_ITERATIVE_OFF || visits <= hnsw_iterative.max_scan_tuples)
                cost = vs::index::visits_cost(root, path, loop_count, std::fmin(visits, hnsw_iterative.max_scan_tuples),
                                              cpu_operator_cost * 10);
        }
        *startup_cost = cost.startup;
        *total_cost = cost.total;
        *selectivity = cost.selectivity;
        *correlation = cost.correlation;
        *pages = cost.pages;
    });
}
