// Repairing neighbour lists once elements are deleted (VACUUM): a list that links to a deleted
// element is chosen again, without it, over the same Store as search and insert (hnsw.h), so the
// repair is tested on an in-memory graph and runs on PostgreSQL pages unchanged.
//
// Candidates are the list's live links and the links of its deleted ones: a path that ran
// through a deleted element to its neighbours still runs, one step shorter, and the heuristic of
// select_neighbors keeps the new list's links pointing in diverse directions. (pgvector instead
// searches the graph afresh for each element it repairs: a beam search per list.) After a 10-30%
// delete, recall at ef 40 stays within two points of a graph built afresh (repair_test.cc).
#pragma once

#include <algorithm>

#include "core/hnsw/hnsw.h"

namespace vs::hnsw {

// Scratch memory of repair_list for lists of up to 2m links, reused from call to call.
struct RepairWorkspace {
    Candidate *pool;  // the live links and the deleted links' links: 2m lists of 2m at most, plus the own
    Ref *second;      // one deleted link's list
    VisitedSet seen;  // candidates already in the pool

    void init(const Allocator *a, int m) noexcept {
        std::size_t widest = std::size_t(max_degree(m, 0));
        pool = a->array<Candidate>(widest * (widest + 1));
        second = a->array<Ref>(widest);
        seen.init(a, widest * (widest + 1));
    }
};

// base's list on layer once the elements deleted(r) says are deleted are gone from it: reads the
// deleted links' lists through store.neighbors (one that is kGone offers nothing) and keeps up to
// capacity of the candidates for which eligible(r) holds, by the heuristic. Writes the new list
// to out (capacity entries) and its length to *n_out, and returns true; returns false, writing
// nothing, when no link of the list (current, n entries) is deleted.
//
// No deleted link stays, even where no candidate replaces it: a deleted element's slot is to be
// reused. A deleted element is never a candidate; eligible may refuse others, such as elements a
// store knows to be leaving without this repair's deleted set holding them.
template <class Store, class Deleted, class Eligible>
bool repair_list(Store &store, Ref base, int layer, const Ref *current, int n, int capacity, Deleted deleted,
                 Eligible eligible, RepairWorkspace &ws, Ref *out, int *n_out) noexcept {
    bool damaged = false;
    for (int i = 0; i < n && !damaged; i++) damaged = deleted(current[i]);
    if (!damaged) return false;
    ws.seen.clear();
    ws.seen.insert(base);
    int n_pool = 0;
    auto consider = [&](Ref candidate) {
        if (deleted(candidate) || !ws.seen.insert(candidate) || !eligible(candidate)) return;
        ws.pool[n_pool++] = {store.distance(base, candidate), candidate};
    };
    for (int i = 0; i < n; i++) {
        if (!deleted(current[i])) {
            consider(current[i]);
            continue;
        }
        int n_second = store.neighbors(current[i], layer, ws.second);
        for (int j = 0; j < n_second; j++) consider(ws.second[j]);
    }
    std::sort(ws.pool, ws.pool + n_pool, [](const Candidate &a, const Candidate &b) { return a.distance < b.distance; });
    *n_out = select_neighbors(store, ws.pool, n_pool, capacity, out);
    return true;
}

}  // namespace vs::hnsw
