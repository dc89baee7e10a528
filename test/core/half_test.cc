// Half precision: the portable conversions against the CPU's F16C instructions and against the
// definition of rounding to nearest, and every half kernel variant the CPU supports against the
// double-precision reference of the float kernels' tests, on the floats the halves stand for.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/kernels/half.h"
#include "kernel_reference.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace {

using vs::Half;
using vs::Isa;
using namespace vs::testing;

float from_bits(std::uint32_t bits) {
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
}

bool is_nan(Half h) { return (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0; }

TEST(HalfConversion, EveryHalfWidensExactlyAndNarrowsBack) {
    for (std::uint32_t bits = 0; bits <= 0xffff; bits++) {
        Half h = Half(bits);
        float f = vs::half_to_float(h);
        if (is_nan(h)) {
            EXPECT_TRUE(std::isnan(f));
            EXPECT_EQ(vs::float_to_half(f), h | 0x200) << bits;  // made quiet, payload kept
            continue;
        }
        EXPECT_EQ(vs::float_to_half(f), h) << bits;
        EXPECT_EQ(std::signbit(f), (h & 0x8000) != 0) << bits;
    }
    EXPECT_EQ(vs::half_to_float(0x7bff), vs::kHalfMax);
    EXPECT_EQ(vs::half_to_float(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(vs::half_to_float(0x3c00), 1.0f);
}

// The nearest half by definition: of the two finite halves around f (or the largest half and
// the infinity past it), the closer; on a tie the one with an even mantissa.
Half nearest_half(float f) {
    double x = std::fabs(double(f));
    Half sign = std::signbit(f) ? 0x8000 : 0;
    if (x >= 65520.0) return sign | 0x7c00;
    Half below = 0;
    for (Half step = 0x4000; step; step >>= 1)  // the largest half not above x
        if (below + step <= 0x7bff && vs::half_to_float(Half(below + step)) <= x) below = Half(below + step);
    double low = vs::half_to_float(below);
    double high = below == 0x7bff ? 65536.0 : vs::half_to_float(Half(below + 1));
    if (x - low < high - x || (x - low == high - x && (below & 1) == 0)) return sign | below;
    return sign | Half(below + 1);
}

TEST(HalfConversion, NarrowingRoundsToNearestEven) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<std::uint32_t> any_bits;
    for (int i = 0; i < 200000; i++) {
        float f = from_bits(any_bits(rng));
        if (std::isnan(f)) continue;
        ASSERT_EQ(vs::float_to_half(f), nearest_half(f)) << f;
    }
    // Ties and edges: halfway between halves, the top of the range, the subnormals.
    EXPECT_EQ(vs::float_to_half(65519.0f), 0x7bff);
    EXPECT_EQ(vs::float_to_half(65520.0f), 0x7c00);
    EXPECT_EQ(vs::float_to_half(-65520.0f), 0xfc00);
    EXPECT_EQ(vs::float_to_half(1.0f + std::ldexp(1.0f, -11)), 0x3c00);          // tie, to even
    EXPECT_EQ(vs::float_to_half(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);      // tie, to even
    EXPECT_EQ(vs::float_to_half(std::ldexp(1.0f, -25)), 0x0000);                  // tie with zero
    EXPECT_EQ(vs::float_to_half(std::nextafter(std::ldexp(1.0f, -25), 1.0f)), 0x0001);
    EXPECT_EQ(vs::float_to_half(-1e-8f), 0x8000);
    EXPECT_EQ(vs::float_to_half(std::ldexp(1.0f, -14) - std::ldexp(1.0f, -26)), 0x0400);  // up to a normal
}

#if defined(__x86_64__)
__attribute__((target("f16c"))) Half hardware_half(float f) { return Half(_cvtss_sh(f, 0)); }

TEST(HalfConversion, NarrowingAgreesWithF16c) {
    if (!__builtin_cpu_supports("f16c")) GTEST_SKIP() << "CPU lacks F16C";
    // Every 97th float bit pattern: all exponents, and mantissas of every rounding case.
    for (std::uint64_t bits = 0; bits <= 0xffffffffu; bits += 97) {
        float f = from_bits(std::uint32_t(bits));
        if (std::isnan(f)) continue;
        ASSERT_EQ(vs::float_to_half(f), hardware_half(f)) << std::hex << bits;
    }
}
#endif

// Each tier's bulk narrowing rounds every float as float_to_half does: random floats of every
// magnitude (below the subnormals, through the range, past 65504), ties, and every tail length.
TEST(HalfConversion, BulkNarrowingOfEveryTierIsFloatToHalf) {
    std::mt19937 rng(9);
    std::uniform_int_distribution<std::uint32_t> any_bits;
    std::vector<float> in;
    for (int i = 0; i < 100000; i++) {
        float f = from_bits(any_bits(rng));
        if (!std::isnan(f)) in.push_back(f);
    }
    for (float f : {65504.0f, 65519.0f, 65520.0f, -65520.0f, 1.0f + std::ldexp(1.0f, -11), std::ldexp(1.0f, -25), 0.0f, -0.0f})
        in.push_back(f);
    for (Isa isa : {Isa::Scalar, Isa::Avx2Fma, Isa::Avx512}) {
        if (!cpu_has(isa)) continue;
        vs::HalfKernels k = vs::select_half_kernels(isa);
        for (std::size_t n : {in.size(), std::size_t(1), std::size_t(7), std::size_t(15), std::size_t(17), std::size_t(31)}) {
            std::vector<Half> out(n);
            k.narrow(in.data(), out.data(), n);
            for (std::size_t i = 0; i < n; i++) ASSERT_EQ(out[i], vs::float_to_half(in[i])) << vs::isa_name(isa) << " " << in[i];
        }
    }
}

class HalfKernelTest : public ::testing::TestWithParam<Isa> {
  protected:
    void SetUp() override {
        if (!cpu_has(GetParam())) GTEST_SKIP() << "CPU lacks " << vs::isa_name(GetParam());
        kernels = vs::select_half_kernels(GetParam());
        ASSERT_EQ(kernels.isa, GetParam());
    }
    static std::vector<float> widened(const std::vector<Half> &v) {
        std::vector<float> out;
        for (Half h : v) out.push_back(vs::half_to_float(h));
        return out;
    }
    void check(const std::vector<Half> &a, const std::vector<Half> &b) {
        Reference r = reference(widened(a), widened(b));
        std::size_t n = a.size();
        expect_close(kernels.l2_squared(a.data(), b.data(), n), r.l2_squared, r.l2_squared, n);
        expect_close(kernels.inner_product(a.data(), b.data(), n), r.inner_product, r.inner_product_magnitude, n);
        expect_close(kernels.negative_inner_product(a.data(), b.data(), n), -r.inner_product,
                     r.inner_product_magnitude, n);
        expect_close(kernels.l1(a.data(), b.data(), n), r.l1, r.l1, n);
        vs::CosineParts p = kernels.cosine_parts(a.data(), b.data(), n);
        EXPECT_NEAR(p.dot, r.inner_product, float_error_bound(r.inner_product_magnitude, n)) << "n=" << n;
        EXPECT_NEAR(p.norm_a, r.norm_a, float_error_bound(r.norm_a, n)) << "n=" << n;
        EXPECT_NEAR(p.norm_b, r.norm_b, float_error_bound(r.norm_b, n)) << "n=" << n;
        // the index's cosine distance is the operator's, from the same parts (NaN for a zero vector)
        float operator_cosine = float(vs::cosine_distance(p)), index_cosine = kernels.cosine_distance(a.data(), b.data(), n);
        if (std::isnan(operator_cosine)) {
            EXPECT_TRUE(std::isnan(index_cosine)) << "n=" << n;
        } else {
            EXPECT_EQ(index_cosine, operator_cosine) << "n=" << n;
        }
    }
    static std::vector<Half> random_halves(std::mt19937 &rng, std::size_t n, float scale) {
        std::uniform_real_distribution<float> dist(-scale, scale);
        std::vector<Half> v(n);
        for (auto &h : v) h = vs::float_to_half(dist(rng));
        return v;
    }
    vs::HalfKernels kernels{};
};

TEST_P(HalfKernelTest, RandomInputsAtEveryTailLength) {
    std::mt19937 rng(42);
    for (std::size_t n = 0; n <= 70; n++)
        for (int rep = 0; rep < 5; rep++) check(random_halves(rng, n, 1), random_halves(rng, n, 1));
}

TEST_P(HalfKernelTest, LongVectors) {
    std::mt19937 rng(43);
    for (std::size_t n : {784u, 4000u, 16000u}) check(random_halves(rng, n, 2), random_halves(rng, n, 2));
}

// The extremes of the half range, where a float sum would overflow if it could: the largest
// halves at the largest dimension, and the smallest subnormals, whose squares a float holds.
TEST_P(HalfKernelTest, ExtremeHalvesStayFiniteAndExact) {
    std::size_t n = 16000;
    std::vector<Half> high(n, 0x7bff), low(n, 0xfbff), tiny(n, 0x0001), zero(n, 0x0000);
    check(high, low);
    check(high, high);
    check(tiny, zero);
    vs::CosineParts p = kernels.cosine_parts(tiny.data(), tiny.data(), n);
    EXPECT_GT(p.norm_a, 0);
    EXPECT_NEAR(vs::cosine_distance(p), 0, 1e-6);
    EXPECT_EQ(kernels.inner_product(high.data(), high.data(), 1), 65504.0f * 65504.0f);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, HalfKernelTest, ::testing::Values(Isa::Scalar, Isa::Avx2Fma, Isa::Avx512),
                         isa_test_name);

}  // namespace
