// The HNSW algorithms on an in-memory graph: recall against brute force on clustered data for
// each metric, built by one thread and by several at once, and the edge cases a table can hold
// (one row, duplicates, all rows equal, a full graph).
#include "graph_testing.h"

namespace {

using vs::Candidate;
using vs::hnsw::MemoryGraph;

using Fixture = GraphFixture<vs::FloatVector>;

TEST(Hnsw, RecallOnClusteredDataL2) {
    Fixture f;
    const int dim = 24;
    auto data = clustered(4100, dim, 20, f.rng);
    auto queries = split_queries(data, 100, dim);
    f.build(data, dim, 12, 64, f.kernels.l2_squared);
    EXPECT_GE(recall_at_k(f, data, queries, dim, 10, 80, f.kernels.l2_squared), 0.97);
    // A wider beam never finds fewer true neighbours on the same graph.
    double narrow = recall_at_k(f, data, queries, dim, 10, 10, f.kernels.l2_squared);
    double wide = recall_at_k(f, data, queries, dim, 10, 200, f.kernels.l2_squared);
    EXPECT_GE(wide, narrow);
    EXPECT_GE(wide, 0.99);
}

TEST(Hnsw, RecallWithNegativeInnerProductOnUnitVectors) {
    Fixture f;
    const int dim = 16;
    auto data = clustered(3050, dim, 10, f.rng);
    auto queries = split_queries(data, 50, dim);
    for (auto *v : {&data, &queries})
        for (std::size_t i = 0; i < v->size() / dim; i++) {
            float norm = 0;
            for (int j = 0; j < dim; j++) norm += (*v)[i * dim + j] * (*v)[i * dim + j];
            for (int j = 0; j < dim; j++) (*v)[i * dim + j] /= std::sqrt(norm);
        }
    f.build(data, dim, 16, 64, f.kernels.negative_inner_product);
    EXPECT_GE(recall_at_k(f, data, queries, dim, 10, 100, f.kernels.negative_inner_product), 0.95);
}

TEST(Hnsw, EmptyAndSingleElement) {
    Fixture f;
    std::vector<float> one = {1, 2, 3};
    f.create(3, 4, 1, f.kernels.l2_squared);
    f.ws.init(&f.allocator, 4, 10);
    Candidate out[5];
    EXPECT_EQ(vs::hnsw::search(f.graph, one.data(), 5, 10, f.ws, out), 0);
    f.graph.link(f.graph.add(one.data(), 0, 7), 10, f.ws);
    ASSERT_EQ(vs::hnsw::search(f.graph, one.data(), 5, 10, f.ws, out), 1);
    EXPECT_EQ(out[0].ref, 0u);
    EXPECT_EQ(f.graph.label(out[0].ref), 7u);
    EXPECT_EQ(out[0].distance, 0.0f);
    // A full graph takes no more elements and is unchanged.
    EXPECT_EQ(f.graph.add(one.data(), 0, 8), vs::kNoRef);
    EXPECT_EQ(f.graph.size(), 1u);
}

std::size_t unreachable_on_layer0(const MemoryGraph &graph) {
    std::vector<bool> reached(graph.size());
    std::vector<vs::Ref> list(2 * vs::hnsw::kMaxM);
    for (vs::Ref r = 0; r < graph.size(); r++) {
        int n = graph.neighbors(r, 0, list.data());
        for (int i = 0; i < n; i++) reached[list[i]] = true;
    }
    return std::size_t(std::count(reached.begin(), reached.end(), false));
}

TEST(Hnsw, ConcurrentInsertsMatchOneThread) {
    const int dim = 24, threads = 4;
    Fixture serial, parallel;
    auto data = clustered(4100, dim, 20, serial.rng);
    auto queries = split_queries(data, 100, dim);
    serial.build(data, dim, 12, 64, serial.kernels.l2_squared);
    parallel.build_concurrently(data, dim, 12, 64, parallel.kernels.l2_squared, threads);
    ASSERT_EQ(parallel.graph.size(), data.size() / dim);
    // The heuristic may leave an element without in-links on layer 0 with one thread too, but
    // an insert lost to a race would show as many more of them.
    std::size_t n = data.size() / dim;
    EXPECT_LE(unreachable_on_layer0(parallel.graph), n / 100);
    EXPECT_LE(unreachable_on_layer0(serial.graph), n / 100);
    double one = recall_at_k(serial, data, queries, dim, 10, 80, serial.kernels.l2_squared);
    double many = recall_at_k(parallel, data, queries, dim, 10, 80, parallel.kernels.l2_squared);
    EXPECT_GE(many, 0.97);
    EXPECT_NEAR(many, one, 0.02);
}

TEST(Hnsw, IterativeSearchReturnsEveryElementOnce) {
    // Batch after batch, an iterative search returns each element at most once, reaches nearly
    // all of them, and its first batch is the ordinary search's answer.
    Fixture f;
    const int dim = 16, ef = 20;
    auto data = clustered(3000, dim, 10, f.rng);
    f.build(data, dim, 8, 40, f.kernels.l2_squared);
    const float *query = &data[123 * dim];
    std::vector<Candidate> ordinary(ef);
    int n_ordinary = vs::hnsw::search(f.graph, query, ef, ef, f.ws, ordinary.data());

    f.graph.set_query(query);
    vs::CandidateHeap<false> discarded;
    discarded.init(&f.allocator, 64);
    int n = vs::hnsw::search(f.graph, f.graph.entry(), ef, f.ws, &discarded);
    ASSERT_EQ(n, n_ordinary);
    for (int i = 0; i < n; i++) EXPECT_EQ(f.ws.sorted[i].ref, ordinary[i].ref);
    std::set<vs::Ref> returned;
    std::size_t batches = 1;
    for (; n > 0; batches++) {
        for (int i = 0; i < n; i++) {
            EXPECT_TRUE(returned.insert(f.ws.sorted[i].ref).second) << "returned twice: " << f.ws.sorted[i].ref;
            if (i > 0) {
                EXPECT_LE(f.ws.sorted[i - 1].distance, f.ws.sorted[i].distance);
            }
        }
        n = vs::hnsw::search_more(f.graph, ef, f.ws, &discarded);
    }
    EXPECT_GE(returned.size(), f.graph.size() * 99 / 100);
    EXPECT_GT(batches, f.graph.size() / ef / 2);
}

TEST(Hnsw, IterativeBatchesWiderThanTheFirst) {
    // A scan whose beam setting grows between batches (a cursor with SET between FETCHes): each
    // batch holds up to the wider beam, and the results buffer grows to take it. Under
    // AddressSanitizer (test/core/unittests-asan) a batch written past the end of the buffer
    // the first search sized fails here.
    Fixture f;
    const int dim = 4;
    auto data = clustered(20000, dim, 8, f.rng);
    f.build(data, dim, 16, 64, f.kernels.l2_squared);
    f.graph.set_query(&data[0]);
    vs::CandidateHeap<false> discarded;
    discarded.init(&f.allocator, 64);
    int n = vs::hnsw::search(f.graph, f.graph.entry(), 1, f.ws, &discarded);
    ASSERT_EQ(n, 1);
    std::set<vs::Ref> returned = {f.ws.sorted[0].ref};
    for (int batch = 0; batch < 5; batch++) {
        n = vs::hnsw::search_more(f.graph, 1000, f.ws, &discarded);
        ASSERT_EQ(n, 1000) << "batch " << batch;
        for (int i = 0; i < n; i++) EXPECT_TRUE(returned.insert(f.ws.sorted[i].ref).second);
    }
    EXPECT_EQ(returned.size(), 5001u);
}

// A graph some of whose elements were unlinked while walks were under way, as the page store
// reports them: their lists are gone.
struct GoneStore {
    MemoryGraph &graph;
    std::set<vs::Ref> gone;
    int lists_written = 0;

    float distance_to_query(vs::Ref r) const noexcept { return graph.distance_to_query(r); }
    void distances_to_query(const vs::Ref *refs, int n, float *out) const noexcept {
        graph.distances_to_query(refs, n, out);
    }
    float distance(vs::Ref a, vs::Ref b) const noexcept { return graph.distance(a, b); }
    bool linkable(vs::Ref r) const noexcept { return gone.count(r) == 0; }
    int neighbors(vs::Ref r, int layer, vs::Ref *out) const noexcept {
        return gone.count(r) ? vs::hnsw::kGone : graph.neighbors(r, layer, out);
    }
    void set_neighbors(vs::Ref r, int layer, const vs::Ref *list, int n) noexcept {
        lists_written++;
        graph.set_neighbors(r, layer, list, n);
    }
    void add_neighbor(vs::Ref r, int layer, vs::Ref new_ref, float d) noexcept {
        lists_written++;
        graph.add_neighbor(r, layer, new_ref, d);
    }
};

TEST(Hnsw, AWalkFromAGoneEntryIsADeadEnd) {
    // The entry point was unlinked after a walk read it: the walk reports a dead end, and an
    // insert writes no list, instead of linking its element to nothing.
    Fixture f;
    const int dim = 8;
    auto data = clustered(2000, dim, 10, f.rng);
    f.build(data, dim, 8, 40, f.kernels.l2_squared);
    GoneStore store{f.graph, {f.graph.entry().ref}};
    f.graph.set_query(&data[5 * dim]);
    EXPECT_EQ(vs::hnsw::search(store, f.graph.entry(), 40, f.ws), vs::hnsw::kDeadEnd);
    for (int level = 0; level <= f.graph.entry().level + 1; level++) {
        EXPECT_EQ(vs::hnsw::insert(store, 5, level, f.graph.entry(), 8, 40, f.ws), vs::hnsw::kDeadEnd)
            << "level " << level;
    }
    EXPECT_EQ(store.lists_written, 0);
}

TEST(Hnsw, GoneElementsAlongTheWayAreWalkedAround) {
    // Elements unlinked in the middle of the graph cost a walk their lists, not its answer.
    Fixture f;
    const int dim = 8;
    auto data = clustered(3000, dim, 10, f.rng);
    auto queries = split_queries(data, 50, dim);
    f.build(data, dim, 8, 40, f.kernels.l2_squared);
    GoneStore store{f.graph, {}};
    std::uniform_int_distribution<vs::Ref> pick(0, f.graph.size() - 1);
    while (store.gone.size() < f.graph.size() / 20) {
        vs::Ref r = pick(f.rng);
        if (r != f.graph.entry().ref) store.gone.insert(r);
    }
    std::size_t live_found = 0;
    for (std::size_t q = 0; q < queries.size() / dim; q++) {
        f.graph.set_query(&queries[q * dim]);
        int n = vs::hnsw::search(store, f.graph.entry(), 40, f.ws);
        ASSERT_GE(n, 40);
        for (int i = 0; i < n; i++) live_found += store.gone.count(f.ws.sorted[i].ref) == 0;
    }
    EXPECT_GE(live_found, queries.size() / dim * 40 * 9 / 10);
}

TEST(Hnsw, AllEqualVectors) {
    Fixture f;
    const int dim = 8, n = 300;
    std::vector<float> data(n * dim, 0.5f);
    f.build(data, dim, 4, 16, f.kernels.l2_squared);
    EXPECT_EQ(recall_at_k(f, data, std::vector<float>(data.begin(), data.begin() + dim), dim, 10, 40,
                          f.kernels.l2_squared),
              1.0);
}

TEST(Hnsw, DuplicatesAmongDistinctVectors) {
    Fixture f;
    const int dim = 4;
    std::vector<float> data;
    for (int i = 0; i < 500; i++)
        for (int copy = 0; copy < (i % 5 == 0 ? 3 : 1); copy++)
            for (int j = 0; j < dim; j++) data.push_back(float((i * (j + 1)) % 97));
    f.build(data, dim, 8, 40, f.kernels.l2_squared);
    EXPECT_GE(recall_at_k(f, data, std::vector<float>(data.begin(), data.begin() + 40 * dim), dim, 3, 60,
                          f.kernels.l2_squared),
              0.95);
}

TEST(Hnsw, LevelsFollowTheExponentialDistribution) {
    int above_zero = 0, n = 100000;
    std::mt19937 rng(5);
    std::uniform_real_distribution<double> uniform(0, 1);
    for (int i = 0; i < n; i++) above_zero += vs::hnsw::random_level(1.0 - uniform(rng), 16) > 0;
    EXPECT_NEAR(double(above_zero) / n, 1.0 / 16, 0.005);
    EXPECT_EQ(vs::hnsw::random_level(1e-300, 2), vs::hnsw::kMaxLevel);
}

}  // namespace
