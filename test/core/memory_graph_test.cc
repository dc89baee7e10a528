// MemoryGraph under the failures and races of a parallel build: an insert abandoned half way by
// an error (an ereport longjmps out of the allocator in PostgreSQL) must not stop the other
// participants, and inserts that raise the top level at the same moment must all stay reachable.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csetjmp>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "core/hnsw/memory_graph.h"
#include "test_arena.h"

namespace {

using vs::hnsw::MemoryGraph;

// Hands out memory from an arena until armed, then leaves every allocation through longjmp to
// escape, as a failed palloc leaves through ereport: no destructor runs and no lock the caller
// holds is released.
struct EscapingAllocator {
    TestArena arena;
    vs::Allocator backing = arena.allocator();
    std::jmp_buf *escape = nullptr;

    vs::Allocator allocator() {
        return {[](void *self, std::size_t bytes) noexcept -> void * {
                    auto *me = static_cast<EscapingAllocator *>(self);
                    if (me->escape) std::longjmp(*me->escape, 1);
                    return me->backing.allocate(me->backing.context, bytes);
                },
                [](void *self, void *block) noexcept {
                    auto *me = static_cast<EscapingAllocator *>(self);
                    me->backing.free(block);
                },
                this};
    }
};

// Links r with an allocator that escapes on its first allocation; true when link left that way.
bool link_escapes(MemoryGraph &graph, vs::Ref r, int ef_construction, EscapingAllocator &escaping) {
    vs::hnsw::Workspace ws;
    vs::Allocator allocator = escaping.allocator();
    ws.init(&allocator, 4, 4);
    std::jmp_buf escape;
    if (setjmp(escape) != 0) return true;
    escaping.escape = &escape;
    graph.link(r, ef_construction, ws);
    escaping.escape = nullptr;
    return false;
}

// A graph in an arena, shared with threads that may outlive the test when it fails by a hang:
// they keep it alive through their own reference.
struct SharedGraph {
    static constexpr int kDim = 4, kM = 4;
    TestArena arena;
    vs::Allocator allocator = arena.allocator();
    vs::Kernels kernels = vs::select_kernels(vs::detect_isa());
    void *region;
    MemoryGraph graph;

    explicit SharedGraph(std::size_t capacity) {
        region = allocator.allocate(allocator.context, MemoryGraph::region_bytes(kDim, kM, capacity));
        graph.create(region, kDim, kM, capacity, &allocator, kernels.l2_squared);
    }
    // Adds and links an element from a MemoryGraph and Workspace of the calling thread's own, as
    // a participant of a parallel build does.
    vs::Ref insert(const float *vector, int level, int ef_construction) {
        MemoryGraph mine;
        mine.attach(region, &allocator, kernels.l2_squared);
        vs::hnsw::Workspace ws;
        ws.init(&allocator, kM, ef_construction);
        vs::Ref r = mine.add(vector, level, 0);
        if (r != vs::kNoRef) mine.link(r, ef_construction, ws);
        return r;
    }
};

// Whether every element of level >= layer is reached from the entry point through the lists
// of that layer.
bool all_reachable_on(const MemoryGraph &graph, int layer) {
    std::vector<bool> reached(graph.size());
    std::vector<vs::Ref> frontier = {graph.entry().ref};
    reached[frontier[0]] = true;
    std::vector<vs::Ref> list(2 * vs::hnsw::kMaxM);
    while (!frontier.empty()) {
        vs::Ref r = frontier.back();
        frontier.pop_back();
        int n = graph.neighbors(r, layer, list.data());
        for (int i = 0; i < n; i++)
            if (!reached[list[i]]) {
                reached[list[i]] = true;
                frontier.push_back(list[i]);
            }
    }
    for (vs::Ref r = 0; r < graph.size(); r++)
        if (graph.level(r) >= layer && !reached[r]) return false;
    return true;
}

TEST(MemoryGraph, AnInsertAbandonedByAnErrorDoesNotStopTheOthers) {
    auto shared = std::make_shared<SharedGraph>(8);
    const float first[] = {0, 0, 0, 0}, abandoned[] = {1, 0, 0, 0}, next[] = {0, 1, 0, 0};
    ASSERT_EQ(shared->insert(first, 0, 8), 0u);
    // An element that raises the top level fails half way through its link; a beam wider than
    // the workspace was made for makes the link allocate.
    EscapingAllocator escaping;
    vs::Ref r = shared->graph.add(abandoned, 2, 0);
    ASSERT_TRUE(link_escapes(shared->graph, r, 300, escaping));

    // Another participant raises the top level too. On a thread of its own: a link that waits
    // for the abandoned one forever fails the test instead of hanging it.
    auto done = std::make_shared<std::atomic<bool>>(false);
    auto next_ref = std::make_shared<std::atomic<vs::Ref>>(vs::kNoRef);
    std::thread participant([shared, done, next_ref, next] {
        next_ref->store(shared->insert(next, 3, 8));
        done->store(true);
    });
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done->load() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    if (!done->load()) {
        participant.detach();
        FAIL() << "the next insert that raises the top level still waits after 10 s";
    }
    participant.join();
    vs::hnsw::EntryPoint entry = shared->graph.entry();
    EXPECT_EQ(entry.ref, next_ref->load());
    EXPECT_EQ(entry.level, 3);
    // It found the first element; the abandoned one is lost, as the failed build is.
    vs::Ref list[2 * SharedGraph::kM];
    int n = shared->graph.neighbors(entry.ref, 0, list);
    EXPECT_EQ(std::vector<vs::Ref>(list, list + n), std::vector<vs::Ref>{0});
}

TEST(MemoryGraph, InsertsRaisingTheTopAtOnceAllStayReachable) {
    // Into an empty graph, or one holding a single element of level 0, several threads at once
    // insert elements whose levels are all above the top. Each trial is a fresh graph.
    const int threads = 3, trials = 3000;
    std::mt19937 rng(7);
    std::uniform_int_distribution<int> level_of(0, 3);
    for (int trial = 0; trial < trials; trial++) {
        SharedGraph shared(threads + 1);
        std::vector<float> vectors(SharedGraph::kDim * (threads + 1));
        for (auto &x : vectors) x = float(rng() % 1000);
        bool seeded = trial % 2 == 1;
        if (seeded) shared.insert(&vectors[threads * SharedGraph::kDim], 0, 8);
        std::vector<int> levels(threads);
        for (auto &level : levels) level = level_of(rng) + (seeded ? 1 : 0);
        std::atomic<int> ready{0};
        std::vector<std::thread> workers;
        for (int t = 0; t < threads; t++)
            workers.emplace_back([&, t] {
                ready.fetch_add(1);
                while (ready.load() < threads) std::this_thread::yield();
                shared.insert(&vectors[t * SharedGraph::kDim], levels[t], 8);
            });
        for (auto &w : workers) w.join();

        int top = 0;
        for (vs::Ref r = 0; r < shared.graph.size(); r++) top = std::max(top, shared.graph.level(r));
        ASSERT_EQ(shared.graph.entry().level, top) << "trial " << trial;
        for (int layer = 0; layer <= top; layer++)
            ASSERT_TRUE(all_reachable_on(shared.graph, layer)) << "trial " << trial << ", layer " << layer;
    }
}

}  // namespace
