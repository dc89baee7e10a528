// Multiprobe: every table's probe sequence starts at the query's bucket, never lowers its score
// and reaches every bucket once; the model's coverage sums to 1 over all buckets, never falls as
// buckets are added, and matches the measured chance that a neighbour's bucket was probed.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <vector>

#include "core/lsh/probe.h"
#include "core/lsh/hasher.h"
#include "test_arena.h"

namespace {

using namespace vs::lsh;

struct ProbeFixture {
    TestArena arena;
    vs::Allocator allocator = arena.allocator();
    vs::Kernels kernels = vs::select_kernels(vs::Isa::Scalar);
    std::mt19937_64 rng{21};
    Layout layout;
    Hasher hasher;
    std::vector<Alternative> lists;
    std::vector<const Alternative *> alternatives;
    std::vector<int> counts;
    ProbeSequence sequence;
    ProbeModel model;

    ProbeFixture(vs::Metric metric, std::uint32_t dims, std::uint32_t buckets) {
        layout = default_layout(metric, dims, 20000, 5, 3, buckets);
        std::vector<float> sample(1000 * dims);
        for (auto &v : sample) v = gaussian();
        fit_layout(layout, sample.data(), 1000, 20000, &allocator, kernels.l2_squared);
        hasher.init(&layout, &allocator);
        int widest = 0;
        for (int j = 0; j < layout.functions; j++) widest = std::max(widest, layout.values(j)), counts.push_back(layout.values(j));
        lists.resize(std::size_t(widest) * layout.functions);
        for (int j = 0; j < layout.functions; j++) alternatives.push_back(&lists[std::size_t(j) * widest]);
        sequence.init(&allocator, 16);
        model.init(&allocator, layout.tables, layout.functions, widest, 4);
    }
    float gaussian() { return std::normal_distribution<float>()(rng); }
    std::vector<float> row() {
        std::vector<float> x(layout.dims);
        for (auto &v : x) v = gaussian();
        return x;
    }
    // Loads x as the query and starts table's sequence.
    void start(const std::vector<float> &x, int table) {
        hasher.load(x.data(), true);
        for (int j = 0; j < layout.functions; j++) hasher.alternatives(table, j, const_cast<Alternative *>(alternatives[j]));
        sequence.start(alternatives.data(), counts.data(), layout.functions);
    }
    // The model's distance of a neighbour built at L2 distance r (cosine: a unit neighbour at angle r).
    std::vector<float> neighbour(const std::vector<float> &x, double r) {
        auto u = row();
        double along = 0, norm = 0, xx = 0;
        for (std::size_t i = 0; i < x.size(); i++) along += double(u[i]) * x[i], xx += double(x[i]) * x[i];
        std::vector<float> y(x.size());
        if (layout.metric == vs::Metric::L2) {
            for (auto &v : u) norm += double(v) * v;
            for (std::size_t i = 0; i < x.size(); i++) y[i] = x[i] + float(r * u[i] / std::sqrt(norm));
            return y;
        }
        for (std::size_t i = 0; i < x.size(); i++) u[i] -= float(along / xx * x[i]), norm += double(u[i]) * u[i];
        for (std::size_t i = 0; i < x.size(); i++)
            y[i] = float(std::cos(r) * x[i] / std::sqrt(xx) + std::sin(r) * u[i] / std::sqrt(norm));
        return y;
    }
};

void check_exhaustive_order(ProbeFixture &f) {
    for (int query = 0; query < 5; query++) {
        auto x = f.row();
        for (int t = 0; t < f.layout.tables; t++) {
            f.start(x, t);
            std::set<std::uint32_t> seen;
            std::uint16_t chosen[kMaxFunctions];
            float score, previous = -1;
            while (f.sequence.next(chosen, &score)) {
                std::uint32_t bucket = f.hasher.bucket_of(f.alternatives.data(), chosen);
                if (seen.empty()) {
                    EXPECT_EQ(bucket, f.hasher.bucket(t));
                }
                EXPECT_TRUE(seen.insert(bucket).second) << bucket;
                EXPECT_GE(score, previous);
                previous = score;
            }
            EXPECT_EQ(seen.size(), f.layout.buckets);
        }
    }
}

TEST(LshProbe, CrossPolytopeSequenceIsOrderedAndExhaustive) {
    ProbeFixture f(vs::Metric::Cosine, 64, 78);
    ASSERT_EQ(f.layout.functions, 1);
    check_exhaustive_order(f);
}

TEST(LshProbe, TwoCrossPolytopesSequenceIsOrderedAndExhaustive) {
    ProbeFixture f(vs::Metric::Cosine, 16, 200);
    ASSERT_EQ(f.layout.functions, 2);
    EXPECT_EQ(f.layout.buckets, 32u * 14u);
    check_exhaustive_order(f);
}

TEST(LshProbe, SlicedSequenceIsOrderedAndExhaustive) {
    ProbeFixture f(vs::Metric::L2, 64, 81);
    ASSERT_EQ(f.layout.functions, 4);
    EXPECT_EQ(f.layout.buckets, 81u);
    check_exhaustive_order(f);
}

// Fills the model's tables at distances for query x (loaded) in every table.
void fill_model(ProbeFixture &f, const std::vector<double> &distances) {
    f.model.reset(int(distances.size()));
    for (int t = 0; t < f.layout.tables; t++)
        for (int j = 0; j < f.layout.functions; j++) {
            std::vector<Alternative> own(f.layout.values(j));
            f.hasher.alternatives(t, j, own.data());
            for (std::size_t m = 0; m < distances.size(); m++)
                f.hasher.probabilities(t, j, own.data(), distances[m], 1.0, f.model.probabilities(t, j, int(m)));
        }
}

void check_full_coverage(ProbeFixture &f, const std::vector<double> &distances) {
    auto x = f.row();
    f.hasher.load(x.data(), true);
    fill_model(f, distances);
    double previous = 0;
    for (int t = 0; t < f.layout.tables; t++) {
        f.start(x, t);
        std::uint16_t chosen[kMaxFunctions];
        float score;
        while (f.sequence.next(chosen, &score)) {
            f.model.add(t, chosen);
            double recall = f.model.expected_recall(nullptr);
            EXPECT_GE(recall, previous - 1e-12);
            previous = recall;
        }
        for (std::size_t m = 0; m < distances.size(); m++) EXPECT_NEAR(f.model.coverage(t, int(m)), 1.0, 2e-3) << t << " " << m;
    }
    EXPECT_NEAR(f.model.expected_recall(nullptr), 1.0, 1e-6);
}

TEST(LshProbe, ModelCoversEverythingWhenEveryBucketIsProbed) {
    ProbeFixture cp(vs::Metric::Cosine, 64, 78);
    check_full_coverage(cp, {0.2, 0.6, 1.0, 1.4});
    ProbeFixture two(vs::Metric::Cosine, 16, 200);
    check_full_coverage(two, {0.2, 0.6, 1.0, 1.4});
    ProbeFixture sliced(vs::Metric::L2, 64, 81);
    check_full_coverage(sliced, {0.1, 0.5, 1.0, 3.0});
}

// The chance that a neighbour's bucket is among the first probes of a table, measured over pairs
// and predicted by the model, at one distance.
void check_coverage_prediction(ProbeFixture &f, double r, int probes, double allowance) {
    const int pairs = 2000;
    int hits = 0;
    double predicted = 0;
    for (int pair = 0; pair < pairs; pair++) {
        auto x = f.row(), y = f.neighbour(x, r);
        f.hasher.load(y.data(), false);
        const std::uint32_t target = f.hasher.bucket(0);
        f.start(x, 0);
        fill_model(f, {r});
        std::uint16_t chosen[kMaxFunctions];
        float score;
        bool hit = false;
        for (int p = 0; p < probes && f.sequence.next(chosen, &score); p++) {
            hit |= f.hasher.bucket_of(f.alternatives.data(), chosen) == target;
            f.model.add(0, chosen);
        }
        hits += hit;
        predicted += f.model.coverage(0, 0);
    }
    double measured = double(hits) / pairs;
    predicted /= pairs;
    std::printf("%s r %.2f, %d probes: neighbour's bucket probed %.4f, model %.4f\n",
                f.layout.family == Family::Sliced ? "sliced k=4" : "cross-polytope", r, probes, measured, predicted);
    EXPECT_NEAR(measured, predicted, 4 * std::sqrt(measured * (1 - measured) / pairs) + allowance);
}

TEST(LshProbe, ModelPredictsWhereNeighboursLand) {
    ProbeFixture sliced(vs::Metric::L2, 64, 81);
    for (double r : {2.0, 4.0, 8.0}) check_coverage_prediction(sliced, r, 4, 0.02);
    ProbeFixture cp(vs::Metric::Cosine, 64, 78);
    for (double theta : {0.3, 0.6, 0.9}) check_coverage_prediction(cp, theta, 8, 0.02);
}

}  // namespace
