// The in-memory lsh index end to end, for each metric, on a Gaussian mixture of 20,000 rows in
// 64 dimensions with 500 fresh queries from the same mixture: recall@10 against brute force rises
// with the probes and passes 0.9; probing and re-ranking everything equals brute force;
// calibration on 200 of the rows themselves picks settings that meet targets on the fresh
// queries; and the small cases (one row, duplicates, zero vectors, odd dimensions).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "core/lsh/calibrate.h"
#include "core/lsh/memory_lsh.h"
#include "test_arena.h"

namespace {

using namespace vs::lsh;
using vs::Candidate;
using vs::Metric;
using vs::Ref;

constexpr int kK = 10;

std::vector<float> mixture(std::size_t n, int dims, int clusters, std::uint64_t seed) {
    std::mt19937_64 centres_rng(12345), rng(seed);
    std::normal_distribution<float> gauss;
    std::vector<float> centres(std::size_t(clusters) * dims), rows(n * dims);
    for (auto &c : centres) c = gauss(centres_rng);
    std::uniform_int_distribution<int> cluster(0, clusters - 1);
    for (std::size_t r = 0; r < n; r++) {
        int c = cluster(rng);
        for (int i = 0; i < dims; i++) rows[r * dims + i] = centres[std::size_t(c) * dims + i] + 0.5f * gauss(rng);
    }
    return rows;
}

struct IndexFixture {
    TestArena arena;
    vs::Allocator allocator = arena.allocator();
    vs::Kernels kernels = vs::select_kernels(vs::detect_isa());
    Metric metric;
    int dims;
    std::vector<float> rows, queries;
    Layout layout;
    MemoryLsh index;
    Searcher searcher;
    std::vector<Ref> truth;  // kK per query, exact

    IndexFixture(Metric m, std::size_t n = 20000, int d = 64, std::size_t fresh = 500)
        : IndexFixture(m, mixture(n, d, 40, 1), mixture(fresh, d, 40, 2), d) {}

    IndexFixture(Metric m, std::vector<float> base, std::vector<float> fresh, int d)
        : metric(m), dims(d), rows(std::move(base)), queries(std::move(fresh)) {
        build_memory_lsh(index, layout, metric, rows.data(), rows.size() / d, std::uint32_t(d), 77, &allocator, kernels);
        searcher.init(&layout, &allocator);
        truth = exact(queries, nullptr);
    }

    // The exact kK nearest rows of each query (excluding self[q] when given), in the index's order.
    std::vector<Ref> exact(const std::vector<float> &qs, const std::vector<Ref> *self) {
        std::size_t n = qs.size() / dims;
        std::vector<Ref> result(n * kK);
        std::vector<Candidate> all(index.size());
        std::vector<float> distances(index.size());
        std::vector<Ref> refs(index.size());
        for (std::size_t r = 0; r < refs.size(); r++) refs[r] = r;
        for (std::size_t q = 0; q < n; q++) {
            index.distances(&qs[q * dims], refs.data(), int(refs.size()), distances.data());
            for (std::size_t r = 0; r < refs.size(); r++)
                all[r] = {self && (*self)[q] == r ? INFINITY : distances[r], r};
            std::partial_sort(all.begin(), all.begin() + kK, all.end(),
                              [](const Candidate &a, const Candidate &b) { return a.distance < b.distance; });
            for (int j = 0; j < kK; j++) result[q * kK + j] = all[j].ref;
        }
        return result;
    }

    struct Measured {
        double recall, expected;
        double entries, reranked;
    };
    // The model's expected recall, slow for the cross-polytope, is averaged over every 10th query.
    Measured measure(SearchSettings settings) {
        std::size_t n = queries.size() / dims;
        Measured m{0, 0, 0, 0};
        const std::size_t model_every = n >= 100 ? 10 : 1;
        Candidate out[kK];
        for (std::size_t q = 0; q < n; q++) {
            int found = searcher.search(index, &queries[q * dims], kK, settings, out);
            for (int i = 0; i < found; i++)
                m.recall += std::count(&truth[q * kK], &truth[q * kK] + kK, out[i].ref) ? 1.0 / kK : 0;
            if (q % model_every == 0) m.expected += searcher.expected_recall();
            m.entries += double(searcher.stats().entries);
            m.reranked += double(searcher.stats().reranked);
        }
        return {m.recall / n, m.expected / ((n + model_every - 1) / model_every), m.entries / n, m.reranked / n};
    }

    const char *name() const {
        return metric == Metric::L2 ? "l2" : metric == Metric::Cosine ? "cosine" : "inner product";
    }
};

void check_recall_rises(Metric metric) {
    IndexFixture f(metric);
    std::printf("%s: %d tables, %u buckets, %d functions, %d sketch bits\n", f.name(), f.layout.tables,
                f.layout.buckets, f.layout.functions, f.layout.sketch_bits);
    double previous = 0, best = 0;
    for (int probes : {1, 2, 4, 8, 16, 32}) {
        auto m = f.measure({probes, 400});
        std::printf("%s probes %2d C 400: recall@10 %.4f (model %.4f), entries %.0f, re-ranked %.0f\n", f.name(), probes,
                    m.recall, m.expected, m.entries, m.reranked);
        EXPECT_GE(m.recall, previous - 0.01) << probes;
        previous = m.recall;
        best = std::max(best, m.recall);
    }
    EXPECT_GE(best, 0.9);
    EXPECT_GT(previous, f.measure({1, 400}).recall + 0.05);
}

TEST(LshIndex, RecallRisesWithProbesL2) { check_recall_rises(Metric::L2); }
TEST(LshIndex, RecallRisesWithProbesCosine) { check_recall_rises(Metric::Cosine); }
TEST(LshIndex, RecallRisesWithProbesInnerProduct) { check_recall_rises(Metric::InnerProduct); }

void check_calibration(Metric metric) {
    IndexFixture f(metric);
    // 200 rows of the table itself, evenly spread, are the calibration queries.
    const std::size_t n = 200;
    std::vector<float> sample(n * f.dims);
    std::vector<Ref> self(n);
    for (std::size_t q = 0; q < n; q++) {
        self[q] = q * (f.rows.size() / f.dims) / n;
        std::copy(&f.rows[self[q] * f.dims], &f.rows[self[q] * f.dims] + f.dims, &sample[q * f.dims]);
    }
    auto sample_truth = f.exact(sample, &self);
    RecallGrid grid;
    measure_recall_grid(f.index, f.searcher, sample.data(), self.data(), sample_truth.data(), n, kK, 64, 5000, &f.allocator,
                        grid);
    for (double target : {0.8, 0.9, 0.95, 0.99}) {
        Calibration chosen = choose_settings(grid, target, kK);
        auto m = f.measure(chosen.settings);
        std::printf("%s target %.2f: probes %d C %d, calibration recall %.4f, held-out recall %.4f (model %.4f), "
                    "entries %.0f, cost %.0f us\n",
                    f.name(), target, chosen.settings.probes, chosen.settings.candidates, chosen.recall, m.recall,
                    m.expected, m.entries, chosen.cost);
        if (target < 0.99) {
            EXPECT_NEAR(m.recall, target, 0.05) << target;
        }
    }
    release_recall_grid(grid, &f.allocator);
}

TEST(LshIndex, CalibrationMeetsTargetsL2) { check_calibration(Metric::L2); }

// seed's shape (bench/datasets.py) at a tenth of its size: uniform rows whose first coordinate
// also grows with the row number, queried where the table begins. Those queries are easier than
// the rows: fixed settings calibrated on the rows overshoot the targets, the planner's
// thresholds calibrated on the same rows meet them. Its expected recall never falls along a
// run, which the calibration's replay (a threshold stops at its first crossing) relies on.
TEST(LshIndex, PlannerMeetsTargetsOnQueriesUnlikeTheRows) {
    constexpr int kDims = 128;
    constexpr std::size_t kRows = 30000, kQueries = 300, kCalibration = 200;
    std::mt19937_64 rng(99);
    std::uniform_real_distribution<float> uniform;
    std::vector<float> rows(kRows * kDims), queries(kQueries * kDims);
    for (std::size_t r = 0; r < kRows; r++)
        for (int i = 0; i < kDims; i++) rows[r * kDims + i] = uniform(rng) + (i == 0 ? float(r) / 1000 : 0.0f);
    for (auto &x : queries) x = uniform(rng);
    IndexFixture f(Metric::L2, std::move(rows), std::move(queries), kDims);

    std::vector<float> sample(kCalibration * kDims);
    std::vector<Ref> self(kCalibration);
    for (std::size_t q = 0; q < kCalibration; q++) {
        self[q] = q * kRows / kCalibration + 7;
        std::copy(&f.rows[self[q] * kDims], &f.rows[self[q] * kDims] + kDims, &sample[q * kDims]);
    }
    auto sample_truth = f.exact(sample, &self);
    RecallGrid grid;
    measure_recall_grid(f.index, f.searcher, sample.data(), self.data(), sample_truth.data(), kCalibration, kK, 128,
                        8192, &f.allocator, grid);
    const double reference = 1.25 * f.layout.sketch_width / 4;
    std::size_t steps = 0;
    for (std::size_t q = 0; q < kCalibration; q++) {
        double previous = 0;
        f.searcher.plan(f.index, &sample[q * kDims], {kPlanLogEnd, reference, 128, 8192}, self[q],
                        [&](double expected, int, std::size_t) {
                            ASSERT_GE(expected, previous - 1e-12) << "query " << q << " step " << steps;
                            previous = expected;
                            steps++;
                        });
    }
    EXPECT_GT(steps, 10 * kCalibration);
    PlanLog log;
    measure_plans(f.index, f.searcher, sample.data(), self.data(), sample_truth.data(), kCalibration, kK, reference, 128,
                  8192, &f.allocator, log);

    for (double target : {0.8, 0.9, 0.95}) {
        Calibration fixed = choose_settings(grid, target, kK);
        PlanCalibration planned = choose_threshold(log, target, kK);
        ASSERT_GT(planned.threshold, 0) << target;
        double fixed_recall = f.measure(fixed.settings).recall, planned_recall = 0;
        for (std::size_t q = 0; q < kQueries; q++) {
            const float *query = &f.queries[q * kDims];
            const std::size_t kept =
                f.searcher.plan(f.index, query, {planned.threshold, reference, 128, 8192}, vs::kNoRef,
                                [](double, int, std::size_t) {});
            std::vector<Candidate> ranked(kept);
            std::vector<float> distances(kept);
            f.index.distances(query, f.searcher.candidate_refs(), int(kept), distances.data());
            for (std::size_t i = 0; i < kept; i++) ranked[i] = {distances[i], f.searcher.candidate_refs()[i]};
            std::sort(ranked.begin(), ranked.end(), [](const Candidate &a, const Candidate &b) { return a.distance < b.distance; });
            for (std::size_t i = 0; i < std::min<std::size_t>(kept, kK); i++)
                planned_recall += std::count(&f.truth[q * kK], &f.truth[q * kK] + kK, ranked[i].ref) ? 1.0 / kK : 0;
        }
        planned_recall /= kQueries;
        std::printf("target %.2f: fixed probes %d C %d recall %.3f (cost %.0f us); planner threshold %.4f recall %.3f "
                    "(calibration cost %.0f us)\n",
                    target, fixed.settings.probes, fixed.settings.candidates, fixed_recall, fixed.cost,
                    planned.threshold, planned_recall, planned.cost);
        EXPECT_NEAR(planned_recall, target, 0.03) << target;
        EXPECT_GT(fixed_recall, planned_recall) << target;
    }
    release_plan_log(log, &f.allocator);
    release_recall_grid(grid, &f.allocator);
}
TEST(LshIndex, CalibrationMeetsTargetsCosine) { check_calibration(Metric::Cosine); }
TEST(LshIndex, CalibrationMeetsTargetsInnerProduct) { check_calibration(Metric::InnerProduct); }

TEST(LshIndex, ProbingAndRerankingEverythingIsExact) {
    for (Metric metric : {Metric::L2, Metric::Cosine, Metric::InnerProduct}) {
        IndexFixture f(metric, 3000, 24, 50);
        auto m = f.measure({int(f.layout.buckets), 3000});
        EXPECT_NEAR(m.recall, 1.0, 1e-9) << f.name();
        EXPECT_NEAR(m.expected, 1.0, 1e-3) << f.name();
    }
}

}  // namespace

namespace {

struct SmallIndex {
    TestArena arena;
    vs::Allocator allocator = arena.allocator();
    vs::Kernels kernels = vs::select_kernels(vs::detect_isa());
    Layout layout;
    MemoryLsh index;
    Searcher searcher;

    SmallIndex(Metric metric, const std::vector<float> &rows, std::uint32_t dims) {
        build_memory_lsh(index, layout, metric, rows.data(), rows.size() / dims, dims, 3, &allocator, kernels);
        searcher.init(&layout, &allocator);
    }
    int search_all(const float *query, Candidate *out) {
        return searcher.search(index, query, kK, {int(layout.buckets), int(index.size()) + 1}, out);
    }
};

TEST(LshIndex, OneRowAndEqualRows) {
    for (Metric metric : {Metric::L2, Metric::Cosine, Metric::InnerProduct}) {
        std::vector<float> one = {1, 2, 3};
        SmallIndex single(metric, one, 3);
        Candidate out[kK];
        ASSERT_EQ(single.searcher.search(single.index, one.data(), kK, {1, 10}, out), 1) << int(metric);
        EXPECT_EQ(out[0].ref, 0u);

        std::vector<float> equal;
        for (int r = 0; r < 500; r++) equal.insert(equal.end(), {0.5f, -1, 2, 4});
        SmallIndex same(metric, equal, 4);
        ASSERT_EQ(same.searcher.search(same.index, equal.data(), kK, {1, 10}, out), kK);
        for (int i = 1; i < kK; i++) EXPECT_EQ(out[i].distance, out[0].distance);
    }
}

TEST(LshIndex, ZeroVectors) {
    std::vector<float> rows = {0, 0, 1, 0, 0, 1, 1, 1, 2, 0};
    SmallIndex cosine(Metric::Cosine, rows, 2);
    EXPECT_EQ(cosine.index.size(), 4u);  // the zero row has no direction and is not indexed
    std::vector<float> zero = {0, 0};
    Candidate out[kK];
    EXPECT_EQ(cosine.search_all(zero.data(), out), 0);
    SmallIndex inner(Metric::InnerProduct, rows, 2);
    EXPECT_EQ(inner.index.size(), 5u);
    EXPECT_EQ(inner.search_all(zero.data(), out), 0);
    SmallIndex l2(Metric::L2, rows, 2);
    ASSERT_EQ(l2.search_all(zero.data(), out), 5);
    EXPECT_EQ(out[0].distance, 0.0f);
}

// Rows inserted after the layout was fitted, with norms beyond its lift, still lift onto the
// sphere (as if their norm were M) and are still found exactly.
TEST(LshIndex, InnerProductRowsBeyondTheLift) {
    std::vector<float> rows = mixture(1000, 8, 5, 4);
    SmallIndex f(Metric::InnerProduct, rows, 8);
    EXPECT_EQ(f.index.clamped_rows(), 0u);
    std::vector<float> big(8, 40.0f);
    Ref ref = f.index.insert(big.data());
    EXPECT_EQ(f.index.clamped_rows(), 1u);
    Candidate out[kK];
    std::vector<float> query(8, 1.0f);
    ASSERT_EQ(f.search_all(query.data(), out), kK);
    EXPECT_EQ(out[0].ref, ref);
    EXPECT_EQ(out[0].distance, -320.0f);
}

// Dimensions that pad to a power of two, and beyond the cross-polytope's 1,024 coordinates: the
// exhaustive settings return exactly brute force's order, and a narrow scan still answers.
TEST(LshIndex, OddAndLargeDimensions) {
    for (std::uint32_t dims : {1u, 3u, 1000u, 2000u})
        for (Metric metric : {Metric::L2, Metric::Cosine, Metric::InnerProduct}) {
            std::vector<float> rows = mixture(400, int(dims), 4, dims);
            SmallIndex f(metric, rows, dims);
            EXPECT_EQ(f.layout.reduced(), f.layout.input_padded > 1024) << dims;
            const float *query = &rows[7 * dims];
            Candidate out[kK];
            ASSERT_EQ(f.search_all(query, out), kK) << dims;
            std::vector<Ref> refs(f.index.size());
            std::vector<float> distances(refs.size());
            for (std::size_t r = 0; r < refs.size(); r++) refs[r] = r;
            f.index.distances(query, refs.data(), int(refs.size()), distances.data());
            std::sort(distances.begin(), distances.end());
            for (int i = 0; i < kK; i++) EXPECT_EQ(out[i].distance, distances[i]) << dims << " " << i;
            EXPECT_GT(f.searcher.search(f.index, query, kK, {1, 20}, out), 0) << dims;
        }
}

}  // namespace

// Rows of 2,000 dimensions are hashed in 1,024 after the reduction, and still found.
TEST(LshIndex, RecallOnWideRows) {
    for (Metric metric : {Metric::L2, Metric::Cosine, Metric::InnerProduct}) {
        IndexFixture f(metric, 3000, 2000, 50);
        ASSERT_TRUE(f.layout.reduced());
        auto m = f.measure({4, 200});
        std::printf("%s, 3,000 rows of 2,000 dimensions, probes 4 C 200: recall@10 %.4f (model %.4f), entries %.0f\n",
                    f.name(), m.recall, m.expected, m.entries);
        EXPECT_GE(m.recall, 0.9) << f.name();
    }
}
