// Every kernel variant the CPU supports against a double-precision reference: random inputs,
// odd lengths that exercise each tail path, exact integer sums, magnitudes whose float sums
// overflow or underflow, and identical vectors.
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "core/kernels/distance.h"
#include "kernel_reference.h"

namespace {

using vs::Isa;
using namespace vs::testing;

class KernelTest : public ::testing::TestWithParam<Isa> {
  protected:
    void SetUp() override {
        if (!cpu_has(GetParam())) GTEST_SKIP() << "CPU lacks " << vs::isa_name(GetParam());
        kernels = vs::select_kernels(GetParam());
        ASSERT_EQ(kernels.isa, GetParam());
    }
    void check(const std::vector<float> &a, const std::vector<float> &b) {
        Reference r = reference(a, b);
        std::size_t n = a.size();
        expect_close(kernels.l2_squared(a.data(), b.data(), n), r.l2_squared, r.l2_squared, n);
        expect_close(kernels.inner_product(a.data(), b.data(), n), r.inner_product, r.inner_product_magnitude, n);
        expect_close(kernels.negative_inner_product(a.data(), b.data(), n), -r.inner_product,
                     r.inner_product_magnitude, n);
        expect_close(kernels.l1(a.data(), b.data(), n), r.l1, r.l1, n);
        // The parts are doubles and never clamped.
        vs::CosineParts p = kernels.cosine_parts(a.data(), b.data(), n);
        EXPECT_NEAR(p.dot, r.inner_product, float_error_bound(r.inner_product_magnitude, n)) << "n=" << n;
        EXPECT_NEAR(p.norm_a, r.norm_a, float_error_bound(r.norm_a, n)) << "n=" << n;
        EXPECT_NEAR(p.norm_b, r.norm_b, float_error_bound(r.norm_b, n)) << "n=" << n;
        // The dot's error is within the bound of sqrt(norm_a * norm_b) (Cauchy-Schwarz), each
        // norm's within the bound of itself: together at most three bounds on the similarity.
        if (r.norm_a > 0 && r.norm_b > 0) {
            EXPECT_NEAR(vs::cosine_distance(p), reference_cosine_distance(r), 3 * float_error_bound(1, n)) << "n=" << n;
        }
    }
    vs::Kernels kernels{};
};

TEST_P(KernelTest, RandomInputsAtEveryTailLength) {
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1, 1);
    for (std::size_t n = 1; n <= 70; n++) {
        for (int rep = 0; rep < 5; rep++) {
            std::vector<float> a(n), b(n);
            for (auto &x : a) x = dist(rng);
            for (auto &x : b) x = dist(rng);
            check(a, b);
        }
    }
}

TEST_P(KernelTest, LongVectors) {
    std::mt19937 rng(7);
    std::normal_distribution<float> dist(0, 3);
    for (std::size_t n : {127, 128, 129, 784, 1536, 16000}) {
        std::vector<float> a(n), b(n);
        for (auto &x : a) x = dist(rng);
        for (auto &x : b) x = dist(rng);
        check(a, b);
    }
}

// Small integers make every product and partial sum an integer below 2^24, which float holds
// exactly, so any order of addition gives the exact result: a kernel that skips or repeats a
// single element of a 16,000-dimensional vector is off by a whole term.
TEST_P(KernelTest, ExactWhereFloatIsExact) {
    for (std::size_t n : {1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 1536, 16000}) {
        std::vector<float> a(n), b(n);
        for (std::size_t i = 0; i < n; i++) {
            a[i] = float(i % 7 + 1);
            b[i] = -float(i % 5 + 1);
        }
        Reference r = reference(a, b);
        ASSERT_LT(r.l2_squared, 1 << 24);
        EXPECT_EQ(kernels.l2_squared(a.data(), b.data(), n), r.l2_squared) << "n=" << n;
        EXPECT_EQ(kernels.inner_product(a.data(), b.data(), n), r.inner_product) << "n=" << n;
        EXPECT_EQ(kernels.negative_inner_product(a.data(), b.data(), n), -r.inner_product) << "n=" << n;
        EXPECT_EQ(kernels.l1(a.data(), b.data(), n), r.l1) << "n=" << n;
        vs::CosineParts p = kernels.cosine_parts(a.data(), b.data(), n);
        EXPECT_EQ(p.dot, r.inner_product) << "n=" << n;
        EXPECT_EQ(p.norm_a, r.norm_a) << "n=" << n;
        EXPECT_EQ(p.norm_b, r.norm_b) << "n=" << n;
    }
}

TEST_P(KernelTest, LargeAndTinyMagnitudes) {
    std::vector<float> a(37), b(37);
    for (std::size_t i = 0; i < a.size(); i++) {
        a[i] = (i % 2 ? 1e15f : -1e-15f) * float(i + 1);
        b[i] = (i % 3 ? -1e14f : 1e-20f) * float(i + 1);
    }
    check(a, b);
}

// Differences, squares and products past FLT_MAX overflow float lanes to infinity, and opposite
// infinities add to NaN; every result must stay finite, at every tail length.
TEST_P(KernelTest, HugeInputsGiveFiniteResults) {
    for (std::size_t n = 1; n <= 40; n++) {
        std::vector<float> a(n, 3e38f), b(n, -3e38f);
        check(a, b);
        EXPECT_EQ(kernels.l2_squared(a.data(), b.data(), n), FLT_MAX);
        EXPECT_EQ(kernels.negative_inner_product(a.data(), b.data(), n), FLT_MAX);
        EXPECT_EQ(vs::cosine_distance(kernels.cosine_parts(a.data(), b.data(), n)), 2.0);
        EXPECT_EQ(vs::cosine_distance(kernels.cosine_parts(a.data(), a.data(), n)), 0.0);
        // A caller that returns a double asks the double versions for the clamped values.
        Reference r = reference(a, b);
        EXPECT_TRUE(vs::at_float_limit(kernels.inner_product(a.data(), b.data(), n)));
        EXPECT_DOUBLE_EQ(vs::l2_squared_double(a.data(), b.data(), n), r.l2_squared);
        EXPECT_DOUBLE_EQ(vs::inner_product_double(a.data(), b.data(), n), r.inner_product);
        EXPECT_DOUBLE_EQ(vs::l1_double(a.data(), b.data(), n), r.l1);
        for (std::size_t i = 0; i < n; i += 2) a[i] = -a[i];
        check(a, b);
    }
}

TEST_P(KernelTest, OverflowingSumsAtFullDimension) {
    std::mt19937 rng(11);
    std::bernoulli_distribution negative(0.5);
    std::uniform_real_distribution<float> moderate(-1000, 1000);
    std::size_t n = 16000;
    std::vector<float> a(n), b(n);
    for (std::size_t i = 0; i < n; i++) {
        a[i] = negative(rng) ? -1e30f : 1e30f;
        b[i] = i % 3 ? moderate(rng) : (negative(rng) ? -1e30f : 1e30f);
    }
    check(a, b);

    // Products of +-2^200 cancel exactly in double in any order: the float lanes hold inf - inf.
    for (std::size_t m : {2, 6, 18, 34, 16000}) {
        std::vector<float> x(m), y(m, std::ldexp(1.0f, 100));
        for (std::size_t i = 0; i < m; i++) x[i] = i % 2 ? -y[i] : y[i];
        EXPECT_EQ(kernels.inner_product(x.data(), y.data(), m), 0.0f) << "m=" << m;
        EXPECT_EQ(kernels.negative_inner_product(x.data(), y.data(), m), 0.0f) << "m=" << m;
        EXPECT_EQ(vs::cosine_distance(kernels.cosine_parts(x.data(), y.data(), m)), 1.0) << "m=" << m;
        check(x, y);
    }
}

// Squares below the smallest float underflow to zero; a vector that is not zero still has a
// direction, so only a zero vector's cosine distance is NaN.
TEST_P(KernelTest, TinyVectorsHaveACosineDistance) {
    for (std::size_t n : {1, 3, 17, 100}) {
        std::vector<float> tiny(n), opposite(n), unit(n), zero(n, 0.0f);
        for (std::size_t i = 0; i < n; i++) {
            tiny[i] = 1e-30f * float(i + 1);
            opposite[i] = -2 * tiny[i];
            unit[i] = float(i + 1);
        }
        EXPECT_NEAR(vs::cosine_distance(kernels.cosine_parts(tiny.data(), unit.data(), n)), 0.0, 1e-6) << "n=" << n;
        EXPECT_NEAR(vs::cosine_distance(kernels.cosine_parts(tiny.data(), opposite.data(), n)), 2.0, 1e-6)
            << "n=" << n;
        EXPECT_TRUE(std::isnan(vs::cosine_distance(kernels.cosine_parts(tiny.data(), zero.data(), n))));
        EXPECT_TRUE(std::isnan(vs::cosine_distance(kernels.cosine_parts(zero.data(), zero.data(), n))));
    }
}

TEST_P(KernelTest, IdenticalVectorsHaveZeroDistance) {
    std::vector<float> a(101);
    for (std::size_t i = 0; i < a.size(); i++) a[i] = std::sin(float(i));
    EXPECT_EQ(kernels.l2_squared(a.data(), a.data(), a.size()), 0.0f);
    EXPECT_EQ(kernels.l1(a.data(), a.data(), a.size()), 0.0f);
    EXPECT_NEAR(vs::cosine_distance(kernels.cosine_parts(a.data(), a.data(), a.size())), 0.0, 1e-6);
}

TEST_P(KernelTest, KernelsNeverReadPastTheEnd) {
    // The vector ends at the last float of a buffer; a kernel reading beyond it would pick up
    // the large sentinels and fail the comparison with the reference. (Sentinels whose squares
    // overflowed would send the kernel to its double-precision path, which reads only n.)
    for (std::size_t n = 1; n <= 40; n++) {
        std::vector<float> a(n + 16, 1e15f), b(n + 16, -1e15f);
        for (std::size_t i = 0; i < n; i++) {
            a[i] = float(i);
            b[i] = float(2 * i) - 3;
        }
        std::vector<float> a_exact(a.begin(), a.begin() + n), b_exact(b.begin(), b.begin() + n);
        Reference r = reference(a_exact, b_exact);
        EXPECT_NEAR(kernels.l2_squared(a.data(), b.data(), n), r.l2_squared, 1e-3 * r.l2_squared + 1e-6);
        EXPECT_NEAR(kernels.l1(a.data(), b.data(), n), r.l1, 1e-4 * r.l1 + 1e-6);
    }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, KernelTest, ::testing::Values(Isa::Scalar, Isa::Avx2Fma, Isa::Avx512),
                         isa_test_name);

TEST(CosineDistance, ClampsAndHandlesZeroNorm) {
    EXPECT_DOUBLE_EQ(vs::cosine_distance({1.0f, 1.0f, 1.0f}), 0.0);
    EXPECT_DOUBLE_EQ(vs::cosine_distance({-1.0f, 1.0f, 1.0f}), 2.0);
    EXPECT_DOUBLE_EQ(vs::cosine_distance({1.0001f, 1.0f, 1.0f}), 0.0);  // rounding above 1
    EXPECT_TRUE(std::isnan(vs::cosine_distance({0.0f, 0.0f, 1.0f})));
}

TEST(DetectIsa, SelectsTheDetectedVariant) {
    EXPECT_EQ(vs::select_kernels(vs::detect_isa()).isa, vs::detect_isa());
}

}  // namespace
