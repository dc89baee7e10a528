// The HNSW algorithms on an in-memory graph: recall against brute force on clustered data for
// each metric, and the edge cases a table can hold (one row, duplicates, all rows equal).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <vector>

#include "hnsw_memory_graph.h"

namespace {

using vs::Candidate;
using vs::hnsw::MemoryGraph;

vs::Allocator malloc_allocator() {
    return {[](void *, std::size_t bytes) noexcept -> void * {
                void *p = std::malloc(bytes);
                if (!p) std::abort();
                return p;
            },
            [](void *, void *block) noexcept { std::free(block); }, nullptr};
}

struct Fixture {
    vs::Allocator allocator = malloc_allocator();
    vs::Kernels kernels = vs::select_kernels(vs::detect_isa());
    MemoryGraph graph;
    vs::hnsw::Workspace ws;
    std::mt19937 rng{99};

    void build(const std::vector<float> &data, int dim, int m, int ef_construction, vs::DistanceFn distance) {
        std::size_t n = data.size() / dim;
        // Start small so that building also exercises growing the arrays.
        graph.init(&allocator, dim, 16, m, distance);
        ws.init(&allocator, m, ef_construction);
        std::uniform_real_distribution<double> uniform(0, 1);
        for (std::size_t i = 0; i < n; i++) {
            if (graph.size() == graph.capacity()) ASSERT_TRUE(graph.grow(n));
            vs::Ref r = graph.add(&data[i * dim], vs::hnsw::random_level(1.0 - uniform(rng), m));
            graph.link(r, ef_construction, ws);
        }
    }
};

// n points around `clusters` Gaussian centres; the last nq of them serve as queries, so that
// queries come from the same distribution as the data.
std::vector<float> clustered(std::size_t n, int dim, int clusters, std::mt19937 &rng) {
    std::normal_distribution<float> noise(0, 1);
    std::vector<float> centres(clusters * dim);
    for (auto &c : centres) c = 4 * noise(rng);
    std::vector<float> data(n * dim);
    for (std::size_t i = 0; i < n; i++) {
        int c = int(rng() % clusters);
        for (int j = 0; j < dim; j++) data[i * dim + j] = centres[c * dim + j] + noise(rng);
    }
    return data;
}

// Moves the last nq points of data into the returned query set.
std::vector<float> split_queries(std::vector<float> &data, std::size_t nq, int dim) {
    std::vector<float> queries(data.end() - nq * dim, data.end());
    data.resize(data.size() - nq * dim);
    return queries;
}

const float *graph_vector(Fixture &f, vs::Ref r) { return f.graph.vector(r); }

double recall_at_k(Fixture &f, const std::vector<float> &data, const std::vector<float> &queries, int dim, int k,
                   int ef, vs::DistanceFn distance) {
    std::size_t n = data.size() / dim, nq = queries.size() / dim;
    std::vector<Candidate> out(k);
    std::size_t hits = 0;
    for (std::size_t q = 0; q < nq; q++) {
        std::vector<std::pair<float, std::size_t>> exact(n);
        for (std::size_t i = 0; i < n; i++) exact[i] = {distance(&queries[q * dim], &data[i * dim], dim), i};
        std::partial_sort(exact.begin(), exact.begin() + k, exact.end());
        int found = vs::hnsw::search(f.graph, &queries[q * dim], k, ef, f.ws, out.data());
        EXPECT_EQ(found, k);
        // A result counts when it is as near as the k-th true neighbour: ties are all correct.
        std::set<vs::Ref> distinct;
        for (int i = 0; i < found; i++) {
            hits += out[i].distance <= exact[k - 1].first;
            distinct.insert(out[i].ref);
            EXPECT_FLOAT_EQ(out[i].distance, distance(&queries[q * dim], graph_vector(f, out[i].ref), dim));
            if (i > 0) EXPECT_LE(out[i - 1].distance, out[i].distance);
        }
        EXPECT_EQ(int(distinct.size()), found);
    }
    return double(hits) / double(nq * k);
}

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
    f.graph.init(&f.allocator, 3, 1, 4, f.kernels.l2_squared);
    f.ws.init(&f.allocator, 4, 10);
    Candidate out[5];
    EXPECT_EQ(vs::hnsw::search(f.graph, one.data(), 5, 10, f.ws, out), 0);
    f.graph.link(f.graph.add(one.data(), 0), 10, f.ws);
    ASSERT_EQ(vs::hnsw::search(f.graph, one.data(), 5, 10, f.ws, out), 1);
    EXPECT_EQ(out[0].ref, 0u);
    EXPECT_EQ(out[0].distance, 0.0f);
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
