// Repairing neighbour lists after deletions (core/hnsw/repair.h), as VACUUM does, on an in-memory
// graph: recall after deleting 10-30% and repairing against a graph built afresh on the rows
// left, no list left linking to a deleted element, and the degenerate cases (every neighbour
// deleted, one element left, candidates refused).
#include <set>

#include "core/hnsw/repair.h"
#include "graph_testing.h"

namespace {

using vs::Ref;
using vs::hnsw::MemoryGraph;
using Fixture = GraphFixture<vs::FloatVector>;

constexpr int kDim = 16, kM = 8, kEfConstruction = 64;

struct Deletion {
    std::vector<bool> deleted;  // by element (the fixtures label element i with row i)
    vs::hnsw::EntryPoint entry{vs::kNoRef, -1};
    std::size_t lists_rewritten = 0;

    bool operator()(Ref r) const { return deleted[r]; }
};

// Repairs every live element's lists on every layer, as VACUUM's second pass does, and moves the
// entry point to the live element on the highest layer, as its third does.
template <class Eligible>
void repair_graph(MemoryGraph &graph, Deletion &deletion, Eligible eligible, vs::Allocator &allocator) {
    vs::hnsw::RepairWorkspace ws;
    ws.init(&allocator, kM);
    std::vector<Ref> current(2 * kM), repaired(2 * kM);
    for (Ref r = 0; r < graph.size(); r++) {
        if (deletion(r)) continue;
        if (graph.level(r) > deletion.entry.level) deletion.entry = {r, graph.level(r)};
        for (int layer = 0; layer <= graph.level(r); layer++) {
            int n = graph.neighbors(r, layer, current.data()), kept;
            if (vs::hnsw::repair_list(graph, r, layer, current.data(), n, vs::hnsw::max_degree(kM, layer),
                                      std::cref(deletion), eligible, ws, repaired.data(), &kept)) {
                graph.set_neighbors(r, layer, repaired.data(), kept);
                deletion.lists_rewritten++;
            }
        }
    }
}

void repair_graph(MemoryGraph &graph, Deletion &deletion, vs::Allocator &allocator) {
    repair_graph(graph, deletion, [](Ref) { return true; }, allocator);
}

Deletion delete_share(const MemoryGraph &graph, double share, std::mt19937 &rng) {
    Deletion deletion;
    deletion.deleted.assign(graph.size(), false);
    std::vector<Ref> order(graph.size());
    for (Ref r = 0; r < order.size(); r++) order[r] = r;
    std::shuffle(order.begin(), order.end(), rng);
    for (std::size_t i = 0; i < std::size_t(share * double(order.size())); i++) deletion.deleted[order[i]] = true;
    return deletion;
}

std::size_t links_to_deleted(const MemoryGraph &graph, const Deletion &deletion) {
    std::size_t found = 0;
    std::vector<Ref> list(2 * kM);
    for (Ref r = 0; r < graph.size(); r++) {
        if (deletion(r)) continue;
        for (int layer = 0; layer <= graph.level(r); layer++) {
            int n = graph.neighbors(r, layer, list.data());
            for (int i = 0; i < n; i++) found += deletion(list[i]);
        }
    }
    return found;
}

// recall@k of a search of the repaired graph from its new entry point, over the rows left.
double recall_after(Fixture &f, const Deletion &deletion, const std::vector<float> &data,
                    const std::vector<float> &queries, int k, int ef) {
    auto search = [&](const float *query, vs::Candidate *out) {
        f.graph.set_query(query);
        int found = vs::hnsw::search(f.graph, deletion.entry, ef, f.ws);
        int n = std::min(found, k);
        std::copy(f.ws.sorted, f.ws.sorted + n, out);
        return n;
    };
    return recall_at_k(f.graph, data, queries, kDim, k, f.kernels.l2_squared, search,
                       [&](std::size_t row) { return !deletion(row); });
}

class RepairAfterDeleting : public ::testing::TestWithParam<double> {};

TEST_P(RepairAfterDeleting, KeepsRecallCloseToAFreshGraph) {
    Fixture f;
    auto data = clustered(4100, kDim, 20, f.rng);
    auto queries = split_queries(data, 100, kDim);
    f.build(data, kDim, kM, kEfConstruction, f.kernels.l2_squared);
    Deletion deletion = delete_share(f.graph, GetParam(), f.rng);
    ASSERT_GT(links_to_deleted(f.graph, deletion), 0u);
    repair_graph(f.graph, deletion, f.allocator);
    EXPECT_EQ(links_to_deleted(f.graph, deletion), 0u);
    EXPECT_GT(deletion.lists_rewritten, 0u);

    std::vector<float> left;
    for (std::size_t row = 0; row < deletion.deleted.size(); row++)
        if (!deletion.deleted[row]) left.insert(left.end(), &data[row * kDim], &data[(row + 1) * kDim]);
    Fixture fresh;
    fresh.build(left, kDim, kM, kEfConstruction, fresh.kernels.l2_squared);
    // At ef 40 the repaired graph is within two points of the fresh one. A narrow beam loses
    // more (measured 0.93 / 0.91 / 0.88 against 0.91 / 0.95 / 0.96 at 10 / 20 / 30% deleted):
    // the heuristic leaves repaired lists shorter than full, and filling them with the nearest
    // pruned candidates would close the gap (0.97 in the same runs) at the cost of longer lists.
    const double slack[] = {0.10, 0.02};
    int i = 0;
    for (int ef : {10, 40}) {
        double repaired = recall_after(f, deletion, data, queries, 10, ef);
        double rebuilt = recall_at_k(fresh, left, queries, kDim, 10, ef, fresh.kernels.l2_squared);
        EXPECT_GE(repaired, rebuilt - slack[i++]) << "ef " << ef << ": repaired " << repaired << ", fresh " << rebuilt;
    }
}

INSTANTIATE_TEST_SUITE_P(Share, RepairAfterDeleting, ::testing::Values(0.1, 0.2, 0.3));

TEST(Repair, AnElementWhoseNeighboursAreAllDeletedLinksToTheirs) {
    Fixture f;
    auto data = clustered(2000, kDim, 10, f.rng);
    f.build(data, kDim, kM, kEfConstruction, f.kernels.l2_squared);
    const Ref lonely = 17;
    Deletion deletion;
    deletion.deleted.assign(f.graph.size(), false);
    std::vector<Ref> list(2 * kM), second(2 * kM);
    std::set<Ref> second_hop;
    int n = f.graph.neighbors(lonely, 0, list.data());
    ASSERT_GT(n, 0);
    for (int i = 0; i < n; i++) deletion.deleted[list[i]] = true;
    for (int i = 0; i < n; i++) {
        int n_second = f.graph.neighbors(list[i], 0, second.data());
        for (int j = 0; j < n_second; j++)
            if (second[j] != lonely && !deletion(second[j])) second_hop.insert(second[j]);
    }
    ASSERT_FALSE(second_hop.empty());
    repair_graph(f.graph, deletion, f.allocator);
    n = f.graph.neighbors(lonely, 0, list.data());
    EXPECT_GT(n, 0);
    for (int i = 0; i < n; i++) EXPECT_EQ(second_hop.count(list[i]), 1u) << list[i];
    // And it is still found, by its own vector.
    auto search = [&](const float *query, vs::Candidate *out) {
        f.graph.set_query(query);
        int found = vs::hnsw::search(f.graph, deletion.entry, 40, f.ws);
        std::copy(f.ws.sorted, f.ws.sorted + 1, out);
        return std::min(found, 1);
    };
    std::vector<float> own(&data[lonely * kDim], &data[(lonely + 1) * kDim]);
    EXPECT_EQ(recall_at_k(f.graph, data, own, kDim, 1, f.kernels.l2_squared, search,
                          [&](std::size_t row) { return !deletion(row); }),
              1.0);
}

TEST(Repair, OneElementLeftHasEmptyListsAndIsFound) {
    Fixture f;
    auto data = clustered(500, kDim, 5, f.rng);
    f.build(data, kDim, kM, kEfConstruction, f.kernels.l2_squared);
    const Ref survivor = 250;
    Deletion deletion;
    deletion.deleted.assign(f.graph.size(), true);
    deletion.deleted[survivor] = false;
    repair_graph(f.graph, deletion, f.allocator);
    std::vector<Ref> list(2 * kM);
    for (int layer = 0; layer <= f.graph.level(survivor); layer++) EXPECT_EQ(f.graph.neighbors(survivor, layer, list.data()), 0);
    ASSERT_EQ(deletion.entry.ref, survivor);
    f.graph.set_query(&data[0]);
    ASSERT_EQ(vs::hnsw::search(f.graph, deletion.entry, 10, f.ws), 1);
    EXPECT_EQ(f.ws.sorted[0].ref, survivor);
}

TEST(Repair, RefusedCandidatesAndIntactListsAreLeftAlone) {
    Fixture f;
    auto data = clustered(2000, kDim, 10, f.rng);
    f.build(data, kDim, kM, kEfConstruction, f.kernels.l2_squared);
    std::vector<std::vector<Ref>> before(f.graph.size(), std::vector<Ref>(2 * kM));
    std::vector<int> before_n(f.graph.size());
    for (Ref r = 0; r < f.graph.size(); r++) before_n[r] = f.graph.neighbors(r, 0, before[r].data());
    Deletion deletion = delete_share(f.graph, 0.1, f.rng);
    // Every third element is refused as a new link (a store knows it is leaving too).
    auto eligible = [](Ref r) { return r % 3 != 0; };
    repair_graph(f.graph, deletion, eligible, f.allocator);
    std::vector<Ref> list(2 * kM);
    for (Ref r = 0; r < f.graph.size(); r++) {
        if (deletion(r)) continue;
        int n = f.graph.neighbors(r, 0, list.data());
        bool damaged = false;
        for (int i = 0; i < before_n[r]; i++) damaged |= deletion(before[r][i]);
        if (!damaged) {
            EXPECT_EQ(std::vector<Ref>(list.begin(), list.begin() + n),
                      std::vector<Ref>(before[r].begin(), before[r].begin() + before_n[r]))
                << "element " << r;
            continue;
        }
        // A refused element is dropped even where it was a live link already.
        for (int i = 0; i < n; i++) {
            EXPECT_FALSE(deletion(list[i]));
            EXPECT_TRUE(eligible(list[i])) << "element " << r << " links to refused " << list[i];
        }
    }
}

}  // namespace
