// The fast Hadamard rotations of the lsh index: the transform against the Hadamard matrix written
// out, and the rotation orthogonal (norms and inner products kept) and fixed by its seed.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "core/lsh/rotation.h"

namespace {

using vs::lsh::padded_dims;
using vs::lsh::rotate;

TEST(LshRotation, WalshHadamardMatchesTheMatrix) {
    std::mt19937_64 rng(1);
    std::normal_distribution<float> gauss;
    for (std::size_t n = 2; n <= 1024; n *= 2) {
        std::vector<float> x(n), fast(n);
        for (auto &v : x) v = gauss(rng);
        fast = x;
        vs::lsh::walsh_hadamard(fast.data(), n);
        for (std::size_t i = 0; i < n; i++) {
            double naive = 0;
            for (std::size_t j = 0; j < n; j++) naive += (__builtin_popcountll(i & j) & 1 ? -1.0 : 1.0) * x[j];
            ASSERT_NEAR(fast[i], naive, 1e-4 * std::sqrt(double(n)) * 4) << "n " << n << " row " << i;
        }
    }
}

TEST(LshRotation, KeepsNormsAndInnerProducts) {
    std::mt19937_64 rng(2);
    std::normal_distribution<float> gauss;
    for (std::size_t dims : {1, 3, 64, 100, 784, 1000}) {
        std::size_t padded = padded_dims(dims);
        std::vector<float> x(dims), y(dims), rx(padded), ry(padded);
        for (auto &v : x) v = gauss(rng);
        for (auto &v : y) v = gauss(rng);
        rotate(42, x.data(), dims, padded, rx.data());
        rotate(42, y.data(), dims, padded, ry.data());
        double xx = 0, xy = 0, rxx = 0, rxy = 0;
        for (std::size_t i = 0; i < dims; i++) xx += double(x[i]) * x[i], xy += double(x[i]) * y[i];
        for (std::size_t i = 0; i < padded; i++) rxx += double(rx[i]) * rx[i], rxy += double(rx[i]) * ry[i];
        EXPECT_NEAR(rxx, xx, 1e-5 * xx) << dims;
        EXPECT_NEAR(rxy, xy, 1e-5 * xx) << dims;
    }
}

// The reduction of wide rows keeps norms and angles to within the Johnson-Lindenstrauss error
// of 1,024 coordinates (a few percent), and a basis vector, the worst case, as well as any.
TEST(LshRotation, SubsampledHadamardKeepsNormsApproximately) {
    std::mt19937_64 rng(9);
    std::normal_distribution<float> gauss;
    const std::size_t padded = 4096, kept = 1024;
    for (int trial = 0; trial < 20; trial++) {
        std::vector<float> x(padded), y(padded);
        for (auto &v : x) v = gauss(rng);
        for (std::size_t i = 0; i < padded; i++) y[i] = x[i] + gauss(rng);
        if (trial == 0) {
            std::fill(x.begin(), x.end(), 0.0f);
            x[5] = 1;
            y = x;
        }
        double xx = 0, yy = 0, xy = 0, rxx = 0, ryy = 0, rxy = 0;
        for (std::size_t i = 0; i < padded; i++) xx += double(x[i]) * x[i], yy += double(y[i]) * y[i], xy += double(x[i]) * y[i];
        vs::lsh::subsampled_hadamard(uint64_t(trial), x.data(), padded, kept);
        vs::lsh::subsampled_hadamard(uint64_t(trial), y.data(), padded, kept);
        for (std::size_t i = 0; i < kept; i++) rxx += double(x[i]) * x[i], ryy += double(y[i]) * y[i], rxy += double(x[i]) * y[i];
        EXPECT_NEAR(std::sqrt(rxx / xx), 1.0, 0.15) << trial;
        EXPECT_NEAR(rxy / std::sqrt(rxx * ryy), xy / std::sqrt(xx * yy), 0.05) << trial;
    }
}

TEST(LshRotation, FixedBySeed) {
    const std::size_t dims = 50, padded = 64;
    std::vector<float> x(dims, 0.0f), a(padded), b(padded), c(padded);
    x[3] = 1;
    rotate(7, x.data(), dims, padded, a.data());
    rotate(7, x.data(), dims, padded, b.data());
    rotate(8, x.data(), dims, padded, c.data());
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    // A basis vector is spread over the coordinates, as by a random rotation (each about N(0, 1/64)).
    int spread = 0;
    for (float v : a) spread += std::fabs(v) > 0.01f && std::fabs(v) < 0.6f;
    EXPECT_GE(spread, 48);
    EXPECT_NE(vs::lsh::derive_seed(1, vs::lsh::SeedPurpose::BucketRotation, 0),
              vs::lsh::derive_seed(1, vs::lsh::SeedPurpose::SketchRotation, 0));
}

}  // namespace
