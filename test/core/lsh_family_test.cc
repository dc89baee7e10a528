// The lsh hash families and sketches against their collision probabilities: the cross-polytope
// on Hadamard rotations against the same hash on dense Gaussian projections, and falling with the
// angle; sliced projections against the Gaussian slot mass and Datar's formula; sign bits against
// 1 - theta/pi and periodic bits against their series. Each rate is measured over 20,000 draws,
// each with its own seed, and compared within 4 standard errors (plus a small allowance where the
// reference is itself an approximation).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <vector>

#include "core/lsh/hasher.h"
#include "test_arena.h"

namespace {

using namespace vs::lsh;

constexpr int kDraws = 20000;

std::vector<float> unit_vector(int dims, std::mt19937_64 &rng) {
    std::normal_distribution<float> gauss;
    std::vector<float> v(dims);
    double norm = 0;
    for (auto &x : v) x = gauss(rng), norm += double(x) * x;
    for (auto &x : v) x = float(x / std::sqrt(norm));
    return v;
}

// A unit vector at angle theta from the unit vector x.
std::vector<float> at_angle(const std::vector<float> &x, double theta, std::mt19937_64 &rng) {
    auto w = unit_vector(int(x.size()), rng);
    double along = 0, norm = 0;
    for (std::size_t i = 0; i < x.size(); i++) along += double(w[i]) * x[i];
    for (std::size_t i = 0; i < x.size(); i++) w[i] -= float(along * x[i]), norm += double(w[i]) * w[i];
    std::vector<float> y(x.size());
    for (std::size_t i = 0; i < x.size(); i++) y[i] = float(std::cos(theta) * x[i] + std::sin(theta) * w[i] / std::sqrt(norm));
    return y;
}

double standard_error(double p, int n) { return std::sqrt(std::max(p * (1 - p), 1e-4) / n); }

// The model, slower to evaluate, is averaged over every tenth draw; its own sampling error is
// the smaller part of the allowance.
TEST(LshFamily, CrossPolytopeCollisionsMatchDenseGaussianModelAndFallWithAngle) {
    const int kModelEvery = 10;
    const int dims = 64, vertices = 64;
    std::mt19937_64 rng(3);
    std::normal_distribution<float> gauss;
    std::vector<float> gaussian(vertices / 2 * dims), rx(dims), ry(dims), gx(vertices / 2), gy(vertices / 2);
    double previous = 1.0;
    for (double theta : {0.2, 0.5, 0.8, 1.1, 1.4}) {
        int hadamard = 0, dense = 0, in_first_five = 0;
        double model = 0, model_first_five = 0;
        Alternative alternatives[vertices];
        float probabilities[vertices];
        for (int draw = 0; draw < kDraws; draw++) {
            if (draw % 50 == 0)
                for (auto &g : gaussian) g = gauss(rng);
            auto x = unit_vector(dims, rng), y = at_angle(x, theta, rng);
            rotate(std::uint64_t(draw) * 7919 + 11, x.data(), dims, dims, rx.data());
            rotate(std::uint64_t(draw) * 7919 + 11, y.data(), dims, dims, ry.data());
            hadamard += cross_polytope_vertex(rx.data(), vertices) == cross_polytope_vertex(ry.data(), vertices);
            for (int i = 0; i < vertices / 2; i++) {
                gx[i] = gy[i] = 0;
                for (int k = 0; k < dims; k++) gx[i] += gaussian[i * dims + k] * x[k], gy[i] += gaussian[i * dims + k] * y[k];
            }
            dense += cross_polytope_vertex(gx.data(), vertices) == cross_polytope_vertex(gy.data(), vertices);
            cross_polytope_alternatives(rx.data(), vertices, alternatives);
            const int landed = cross_polytope_vertex(ry.data(), vertices);
            for (int a = 0; a < 5; a++) in_first_five += alternatives[a].value == landed;
            if (draw % kModelEvery) continue;
            cross_polytope_probabilities(rx.data(), vertices, alternatives, theta, dims, 1.0, probabilities);
            model += probabilities[0];
            for (int a = 0; a < 5; a++) model_first_five += probabilities[a];
        }
        double p_hadamard = double(hadamard) / kDraws, p_dense = double(dense) / kDraws;
        double p_five = double(in_first_five) / kDraws;
        model /= kDraws / kModelEvery;
        model_first_five /= kDraws / kModelEvery;
        std::printf("cross-polytope theta %.1f: hadamard %.4f dense gaussian %.4f model %.4f; first 5 probes %.4f model %.4f\n",
                    theta, p_hadamard, p_dense, model, p_five, model_first_five);
        EXPECT_NEAR(model_first_five, p_five, 4 * standard_error(p_five, kDraws) + 0.02) << theta;
        EXPECT_NEAR(p_hadamard, p_dense, 4 * std::sqrt(2.0) * standard_error(p_dense, kDraws) + 0.01) << theta;
        EXPECT_NEAR(model, p_hadamard, 4 * standard_error(p_hadamard, kDraws) + 0.02) << theta;
        EXPECT_LT(p_hadamard, previous) << theta;
        previous = p_hadamard;
    }
}

TEST(LshFamily, CrossPolytopeAlternativesStartAtTheHashAndAreNormalised) {
    std::mt19937_64 rng(4);
    auto y = unit_vector(32, rng);
    Alternative alternatives[40];
    float probabilities[40];
    cross_polytope_alternatives(y.data(), 40, alternatives);
    EXPECT_EQ(alternatives[0].value, cross_polytope_vertex(y.data(), 40));
    EXPECT_EQ(alternatives[0].score, 0.0f);
    for (int a = 1; a < 40; a++) EXPECT_GE(alternatives[a].score, alternatives[a - 1].score);
    // Past pi/2 a neighbour is anticorrelated and prefers the opposite vertices: only the sum holds.
    for (double theta : {0.0, 0.3, 1.0, 1.5, 2.0}) {
        cross_polytope_probabilities(y.data(), 40, alternatives, theta, 32, 1.0, probabilities);
        double total = 0;
        for (int a = 0; a < 40; a++) total += probabilities[a];
        EXPECT_NEAR(total, 1.0, 1e-5);
        for (int a = 1; a < 40 && theta < M_PI / 2; a++) EXPECT_LE(probabilities[a], probabilities[a - 1] + 1e-6);
    }
}

struct SlicedFixture {
    TestArena arena;
    vs::Allocator allocator = arena.allocator();
    vs::Kernels kernels = vs::select_kernels(vs::Isa::Scalar);
    Layout layout;
    Hasher hasher;
    std::mt19937_64 rng{5};

    explicit SlicedFixture(int dims) {
        layout = default_layout(vs::Metric::L2, dims, 20000, 99, 4, 4 * 4 * 4 * 4);
        std::normal_distribution<float> gauss;
        std::vector<float> sample(2000 * dims);
        for (auto &v : sample) v = gauss(rng);
        fit_layout(layout, sample.data(), 2000, 20000, &allocator, kernels.l2_squared);
        hasher.init(&layout, &allocator);
    }
    std::vector<float> gaussian_row() {
        std::normal_distribution<float> gauss;
        std::vector<float> x(layout.dims);
        for (auto &v : x) v = gauss(rng);
        return x;
    }
    std::vector<float> at_distance(const std::vector<float> &x, double r) {
        auto u = unit_vector(int(x.size()), rng);
        std::vector<float> y(x.size());
        for (std::size_t i = 0; i < x.size(); i++) y[i] = x[i] + float(r * u[i]);
        return y;
    }
};

TEST(LshFamily, SlicedSlotsMatchGaussianMassAndFallWithDistance) {
    SlicedFixture f(64);
    ASSERT_EQ(f.layout.slots, 4);
    // The quantile cuts give each slot a quarter of the rows.
    int in_slot[4] = {};
    for (int draw = 0; draw < 4000; draw++) {
        auto x = f.gaussian_row();
        f.hasher.load(x.data(), false);
        in_slot[sliced_slot(f.hasher.projection(1, 2), f.layout.cuts[1][2], 4)]++;
    }
    for (int s : in_slot) EXPECT_NEAR(s / 4000.0, 0.25, 4 * standard_error(0.25, 4000));

    double previous = 1.0;
    for (double r : {0.1, 0.3, 0.6, 1.0, 2.0}) {
        int same = 0;
        double model = 0;
        Alternative alternatives[kMaxSlots];
        float probabilities[kMaxSlots];
        for (int draw = 0; draw < kDraws; draw++) {
            auto x = f.gaussian_row(), y = f.at_distance(x, r);
            int table = draw % 4, function = (draw / 4) % 4;
            f.hasher.load(x.data(), true);
            f.hasher.alternatives(table, function, alternatives);
            f.hasher.probabilities(table, function, alternatives, r, 1.0, probabilities);
            model += probabilities[0];
            int slot_x = sliced_slot(f.hasher.projection(table, function), f.layout.cuts[table][function], 4);
            f.hasher.load(y.data(), false);
            same += slot_x == sliced_slot(f.hasher.projection(table, function), f.layout.cuts[table][function], 4);
        }
        double p = double(same) / kDraws;
        model /= kDraws;
        std::printf("sliced r %.1f: same slot %.4f gaussian mass %.4f\n", r, p, model);
        EXPECT_NEAR(p, model, 4 * standard_error(p, kDraws) + 0.005) << r;
        EXPECT_LT(p, previous);
        previous = p;
    }
}

// Datar et al.'s uniform-width family on the same projections, floor((z + b) / w) with b uniform
// in [0, w): the projections are Gaussian if its collision rate follows their formula.
TEST(LshFamily, ProjectionsFollowDatarsFormula) {
    SlicedFixture f(64);
    const double width = 1.0;
    std::uniform_real_distribution<double> offset(0, width);
    for (double r : {0.25, 0.5, 1.0, 2.0, 4.0}) {
        int same = 0;
        for (int draw = 0; draw < kDraws; draw++) {
            auto x = f.gaussian_row(), y = f.at_distance(x, r);
            double b = offset(f.rng);
            f.hasher.load(x.data(), false);
            double hx = std::floor((f.hasher.projection(0, draw % 4) + b) / width);
            f.hasher.load(y.data(), false);
            same += hx == std::floor((f.hasher.projection(0, draw % 4) + b) / width);
        }
        double c = width / r;
        double formula = 1 - 2 * normal_cdf(-c) - 2 / (std::sqrt(2 * M_PI) * c) * (1 - std::exp(-c * c / 2));
        double p = double(same) / kDraws;
        std::printf("datar r %.2f: measured %.4f formula %.4f\n", r, p, formula);
        EXPECT_NEAR(p, formula, 4 * standard_error(formula, kDraws) + 0.005) << r;
    }
}

TEST(LshSketch, SignBitsEstimateTheAngle) {
    TestArena arena;
    vs::Allocator allocator = arena.allocator();
    std::mt19937_64 rng(6);
    const int pairs = 2000;
    for (double theta : {0.1, 0.4, 0.8, 1.5, 2.5}) {
        double total = 0;
        for (int pair = 0; pair < pairs; pair++) {
            Layout layout = default_layout(vs::Metric::Cosine, 64, 20000, std::uint64_t(pair) + 1000);
            Hasher hasher;
            hasher.init(&layout, &allocator);
            auto x = unit_vector(64, rng), y = at_angle(x, theta, rng);
            std::uint64_t sx[4], sy[4];
            hasher.load(x.data(), false);
            hasher.sketch_into(sx);
            hasher.load(y.data(), true);
            hasher.sketch_into(sy);
            hasher.release(&allocator);
            total += hamming(sx, sy, 4) / 256.0;
        }
        double p = angular_bit_flip(theta), measured = total / pairs;
        std::printf("sign bits theta %.1f: hamming/B %.4f theta/pi %.4f\n", theta, measured, p);
        EXPECT_NEAR(measured, p, 4 * std::sqrt(p * (1 - p) / (256.0 * pairs)) + 0.003) << theta;
    }
}

TEST(LshSketch, PeriodicBitsFollowTheirSeries) {
    SlicedFixture f(64);
    f.layout.sketch_width = 1.0f;
    const int pairs = 2000, bits = f.layout.sketch_bits, words = f.layout.sketch_words();
    ASSERT_EQ(bits, 768);  // the default for L2 on 64 dimensions
    double previous = 0;
    for (double r : {0.1, 0.3, 0.6, 1.0, 2.0}) {
        double total = 0;
        std::vector<std::uint64_t> sx(words), sy(words);
        for (int pair = 0; pair < pairs; pair++) {
            f.layout.seed = std::uint64_t(pair) + 5000;
            auto x = f.gaussian_row(), y = f.at_distance(x, r);
            f.hasher.load(x.data(), false);
            f.hasher.sketch_into(sx.data());
            f.hasher.load(y.data(), false);
            f.hasher.sketch_into(sy.data());
            total += double(hamming(sx.data(), sy.data(), words)) / bits;
        }
        double p = periodic_bit_flip(r, 1.0), measured = total / pairs;
        std::printf("periodic bits r %.1f: hamming/B %.4f series %.4f\n", r, measured, p);
        EXPECT_NEAR(measured, p, 4 * std::sqrt(p * (1 - p) / (double(bits) * pairs)) + 0.005) << r;
        EXPECT_GT(measured, previous);
        previous = measured;
    }
}

TEST(LshSketch, BinomialSurvival) {
    double total = 0;
    for (int h = 0; h <= 256; h++) total += binomial_pmf(256, 0.3, h);
    EXPECT_NEAR(total, 1.0, 1e-9);
    EXPECT_NEAR(survival(256, 0.3, 257, 0), 1.0, 1e-9);
    EXPECT_EQ(survival(256, 0.3, 0, 0), 0.0);
    EXPECT_NEAR(survival(256, 0.3, 77, 0.5), survival(256, 0.3, 77, 0) + 0.5 * binomial_pmf(256, 0.3, 77), 1e-12);
    EXPECT_GT(survival(256, 0.1, 60, 0), survival(256, 0.3, 60, 0));
}

}  // namespace
