// The bit kernels of every tier the CPU supports against counting bit by bit: every length up to
// 80 bytes (each tail of a word), random strings, and the all-zero and all-one extremes.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "core/kernels/bits.h"
#include "kernel_reference.h"

namespace {

using vs::Isa;
using namespace vs::testing;

struct Counts {
    std::uint64_t differ = 0, both = 0, either = 0;
};

Counts bit_by_bit(const std::vector<std::uint8_t> &a, const std::vector<std::uint8_t> &b) {
    Counts c;
    for (std::size_t i = 0; i < a.size(); i++)
        for (int bit = 0; bit < 8; bit++) {
            bool x = (a[i] >> bit) & 1, y = (b[i] >> bit) & 1;
            c.differ += x != y;
            c.both += x && y;
            c.either += x || y;
        }
    return c;
}

class BitKernelTest : public ::testing::TestWithParam<Isa> {
  protected:
    void SetUp() override {
        if (!cpu_has(GetParam())) GTEST_SKIP() << "CPU lacks " << vs::isa_name(GetParam());
        kernels = vs::select_bit_kernels(GetParam());
        ASSERT_EQ(kernels.isa, GetParam());
    }
    void check(const std::vector<std::uint8_t> &a, const std::vector<std::uint8_t> &b) {
        Counts want = bit_by_bit(a, b);
        EXPECT_EQ(kernels.hamming(a.data(), b.data(), a.size()), want.differ) << a.size();
        vs::JaccardCounts got = kernels.jaccard_counts(a.data(), b.data(), a.size());
        EXPECT_EQ(got.both, want.both) << a.size();
        EXPECT_EQ(got.either, want.either) << a.size();
    }
    vs::BitKernels kernels{};
};

TEST_P(BitKernelTest, EveryLengthAgreesWithCountingBits) {
    std::mt19937 rng(5);
    std::uniform_int_distribution<int> byte(0, 255);
    for (std::size_t n = 0; n <= 80; n++)
        for (int rep = 0; rep < 4; rep++) {
            std::vector<std::uint8_t> a(n), b(n);
            for (auto &x : a) x = std::uint8_t(byte(rng));
            for (auto &x : b) x = std::uint8_t(byte(rng));
            check(a, b);
        }
}

TEST_P(BitKernelTest, ExtremesAndJaccardOfEmptySets) {
    std::size_t n = 2000;  // 16,000 bits
    std::vector<std::uint8_t> zeros(n, 0), ones(n, 0xff);
    check(zeros, ones);
    check(ones, ones);
    check(zeros, zeros);
    EXPECT_EQ(kernels.hamming(zeros.data(), ones.data(), n), 16000u);
    EXPECT_EQ(vs::jaccard_distance(kernels.jaccard_counts(zeros.data(), zeros.data(), n)), 1.0);
    EXPECT_EQ(vs::jaccard_distance(kernels.jaccard_counts(ones.data(), ones.data(), n)), 0.0);
    EXPECT_EQ(vs::jaccard_distance(kernels.jaccard_counts(zeros.data(), ones.data(), n)), 1.0);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, BitKernelTest, ::testing::Values(Isa::Scalar, Isa::Avx2Fma, Isa::Avx512),
                         isa_test_name);

}  // namespace
