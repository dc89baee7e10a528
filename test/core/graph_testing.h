// What the graph tests share: an in-memory graph of any vector type built one element at a time
// or by several threads at once, clustered test data, and recall@k against brute force.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "core/hnsw/memory_graph.h"
#include "test_arena.h"

template <class VectorType>
struct GraphFixture {
    using Graph = vs::hnsw::BasicMemoryGraph<VectorType>;
    using Component = typename VectorType::Component;
    using Kernel = typename Graph::Kernel;

    TestArena arena;
    vs::Allocator allocator = arena.allocator();
    vs::Kernels kernels = vs::select_kernels(vs::detect_isa());
    Graph graph;
    void *region = nullptr;
    vs::hnsw::Workspace ws;
    std::mt19937 rng{99};

    ~GraphFixture() { std::free(region); }

    void create(int dim, int m, std::size_t capacity, Kernel distance) {
        region = std::malloc(Graph::region_bytes(dim, m, capacity));
        graph.create(region, dim, m, capacity, &allocator, distance);
    }

    void build(const std::vector<Component> &data, int dim, int m, int ef_construction, Kernel distance) {
        std::size_t stride = VectorType::components(dim), n = data.size() / stride;
        // Start small so that building also exercises moving to a larger block.
        create(dim, m, 16, distance);
        ws.init(&allocator, m, ef_construction);
        std::uniform_real_distribution<double> uniform(0, 1);
        for (std::size_t i = 0; i < n; i++) {
            int level = vs::hnsw::random_level(1.0 - uniform(rng), m);
            vs::Ref r;
            while ((r = graph.add(&data[i * stride], level, i)) == vs::kNoRef) {
                std::size_t capacity = graph.capacity() * 2;
                void *bigger = std::malloc(Graph::region_bytes(dim, m, capacity));
                graph.move_to(bigger, capacity);
                std::free(region);
                region = bigger;
            }
            graph.link(r, ef_construction, ws);
        }
    }

    // Several threads, each attached to the graph on its own, insert every threads-th row.
    void build_concurrently(const std::vector<Component> &data, int dim, int m, int ef_construction, Kernel distance,
                            int threads) {
        std::size_t stride = VectorType::components(dim), n = data.size() / stride;
        create(dim, m, n, distance);
        ws.init(&allocator, m, ef_construction);
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; t++)
            workers.emplace_back([&, t] {
                Graph mine;
                mine.attach(region, &allocator, distance);
                vs::hnsw::Workspace mine_ws;
                mine_ws.init(&allocator, m, ef_construction);
                std::mt19937 mine_rng(t);
                std::uniform_real_distribution<double> uniform(0, 1);
                for (std::size_t i = t; i < n; i += threads) {
                    vs::Ref r = mine.add(&data[i * stride], vs::hnsw::random_level(1.0 - uniform(mine_rng), m), i);
                    ASSERT_NE(r, vs::kNoRef);
                    mine.link(r, ef_construction, mine_ws);
                }
            });
        for (auto &w : workers) w.join();
    }
};

// n points around `clusters` Gaussian centres; the last nq of them serve as queries, so that
// queries come from the same distribution as the data.
inline std::vector<float> clustered(std::size_t n, int dim, int clusters, std::mt19937 &rng) {
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
template <class Component>
std::vector<Component> split_queries(std::vector<Component> &data, std::size_t nq, int dim) {
    std::vector<Component> queries(data.end() - nq * dim, data.end());
    data.resize(data.size() - nq * dim);
    return queries;
}

// recall@k of search(query, out), which writes up to k results nearest first and returns their
// count, against brute force over the rows i of data (row i is the graph's element labelled i)
// for which live(i) holds. A result counts when it is as near as the k-th true neighbour: ties are
// all correct. Also checks that results are distinct, live, ordered and at the distance the
// kernel gives.
template <class VectorType, class Search, class Live>
double recall_at_k(const vs::hnsw::BasicMemoryGraph<VectorType> &graph,
                   const std::vector<typename VectorType::Component> &data,
                   const std::vector<typename VectorType::Component> &queries, int dim, int k,
                   typename vs::hnsw::BasicMemoryGraph<VectorType>::Kernel distance, Search search, Live live) {
    std::size_t stride = VectorType::components(dim), n = data.size() / stride, nq = queries.size() / stride;
    std::vector<vs::Candidate> out(k);
    std::size_t hits = 0;
    for (std::size_t q = 0; q < nq; q++) {
        const auto *query = &queries[q * stride];
        std::vector<std::pair<float, std::size_t>> exact;
        for (std::size_t i = 0; i < n; i++)
            if (live(i)) exact.push_back({distance(query, &data[i * stride], stride), i});
        std::partial_sort(exact.begin(), exact.begin() + k, exact.end());
        int found = search(query, out.data());
        EXPECT_EQ(found, k);
        std::set<std::uint64_t> distinct;
        for (int i = 0; i < found; i++) {
            std::uint64_t label = graph.label(out[i].ref);
            hits += out[i].distance <= exact[k - 1].first;
            distinct.insert(label);
            EXPECT_TRUE(live(label)) << "returned " << label;
            EXPECT_FLOAT_EQ(out[i].distance, distance(query, &data[label * stride], stride));
            if (i > 0) {
                EXPECT_LE(out[i - 1].distance, out[i].distance);
            }
        }
        EXPECT_EQ(int(distinct.size()), found);
    }
    return double(hits) / double(nq * k);
}

// recall@k of vs::hnsw::search with a beam of ef over the whole graph.
template <class VectorType>
double recall_at_k(GraphFixture<VectorType> &f, const std::vector<typename VectorType::Component> &data,
                   const std::vector<typename VectorType::Component> &queries, int dim, int k, int ef,
                   typename vs::hnsw::BasicMemoryGraph<VectorType>::Kernel distance) {
    auto search = [&](const typename VectorType::Component *query, vs::Candidate *out) {
        return vs::hnsw::search(f.graph, query, k, ef, f.ws, out);
    };
    return recall_at_k(f.graph, data, queries, dim, k, distance, search, [](std::size_t) { return true; });
}
