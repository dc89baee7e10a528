// The per-type interface (core/index/vector_type.h) with a second vector type beside `vector`:
// 8-bit codes, as a scalar quantizer stores them, with integer kernels. It is defined here, outside
// the core, as a new type would plug in; the same generic graph and search then run over both
// types, each checked against brute force with its own kernel, and each type's claim of which
// distances sum over pieces is checked against its kernels.
#include <cmath>
#include <cstdint>

#include "graph_testing.h"

namespace {

struct Uint8Codes {
    using Component = std::uint8_t;
    struct KernelTable {};  // portable kernels only

    static constexpr std::size_t components(std::size_t dims) noexcept { return dims; }
    static vs::VectorKernel<std::uint8_t> kernel(const KernelTable &, vs::Metric metric) noexcept {
        switch (metric) {
            case vs::Metric::L2: return l2_squared;
            case vs::Metric::L1: return l1;
            case vs::Metric::InnerProduct: return negative_dot;
            case vs::Metric::Cosine: return cosine;
        }
        return nullptr;
    }
    // Codes cannot be normalised to unit length in place, so the cosine kernel divides by the
    // norms of the whole vectors: not a sum over dimensions.
    static constexpr bool summable(vs::Metric metric) noexcept { return metric != vs::Metric::Cosine; }

    static float l2_squared(const std::uint8_t *a, const std::uint8_t *b, std::size_t n) noexcept {
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < n; i++) {
            int d = int(a[i]) - int(b[i]);
            sum += std::uint64_t(d * d);
        }
        return float(sum);
    }
    static float l1(const std::uint8_t *a, const std::uint8_t *b, std::size_t n) noexcept {
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < n; i++) sum += std::uint64_t(std::abs(int(a[i]) - int(b[i])));
        return float(sum);
    }
    static float negative_dot(const std::uint8_t *a, const std::uint8_t *b, std::size_t n) noexcept {
        std::uint64_t sum = 0;
        for (std::size_t i = 0; i < n; i++) sum += std::uint64_t(a[i]) * b[i];
        return -float(sum);
    }
    static float cosine(const std::uint8_t *a, const std::uint8_t *b, std::size_t n) noexcept {
        double dot = -negative_dot(a, b, n), norm_a = -negative_dot(a, a, n), norm_b = -negative_dot(b, b, n);
        return norm_a == 0 || norm_b == 0 ? 1.0f : float(1 - dot / std::sqrt(norm_a * norm_b));
    }
};

// The kernel table and the data of each type: floats as drawn, codes by scaling each float's
// range over all of data onto 0-255.
template <class VectorType>
struct TypeTraits;

template <>
struct TypeTraits<vs::FloatVector> {
    static vs::Kernels table() { return vs::select_kernels(vs::detect_isa()); }
    static std::vector<float> encode(const std::vector<float> &x) { return x; }
};

template <>
struct TypeTraits<Uint8Codes> {
    static Uint8Codes::KernelTable table() { return {}; }
    static std::vector<std::uint8_t> encode(const std::vector<float> &x) {
        auto [lo, hi] = std::minmax_element(x.begin(), x.end());
        std::vector<std::uint8_t> codes(x.size());
        for (std::size_t i = 0; i < x.size(); i++) codes[i] = std::uint8_t(std::lround((x[i] - *lo) / (*hi - *lo) * 255));
        return codes;
    }
};

template <class VectorType>
class VectorTypeTest : public ::testing::Test {};

using VectorTypes = ::testing::Types<vs::FloatVector, Uint8Codes>;
TYPED_TEST_SUITE(VectorTypeTest, VectorTypes);

TYPED_TEST(VectorTypeTest, GenericSearchFindsTheNearestByTheTypesOwnKernel) {
    using Traits = TypeTraits<TypeParam>;
    const int dim = 24;
    for (vs::Metric metric : {vs::Metric::L2, vs::Metric::L1}) {
        GraphFixture<TypeParam> f;
        auto drawn = clustered(3100, dim, 20, f.rng);
        auto data = Traits::encode(drawn);
        auto queries = split_queries(data, 100, dim);
        auto kernel = TypeParam::kernel(Traits::table(), metric);
        ASSERT_NE(kernel, nullptr);
        f.build(data, dim, 12, 64, kernel);
        EXPECT_GE(recall_at_k(f, data, queries, dim, 10, 80, kernel), 0.97) << "metric " << int(metric);
    }
}

TYPED_TEST(VectorTypeTest, SummableDistancesAddUpOverPieces) {
    using Traits = TypeTraits<TypeParam>;
    const int dim = 37;
    std::mt19937 rng(3);
    auto pair = Traits::encode(clustered(2, dim, 1, rng));
    const auto *a = pair.data(), *b = pair.data() + dim;
    for (vs::Metric metric : {vs::Metric::L2, vs::Metric::InnerProduct, vs::Metric::Cosine, vs::Metric::L1}) {
        auto kernel = TypeParam::kernel(Traits::table(), metric);
        ASSERT_NE(kernel, nullptr);
        float whole = kernel(a, b, dim);
        int cuts_that_differ = 0;
        for (int cut = 1; cut < dim; cut++) {
            float pieces = kernel(a, b, cut) + kernel(a + cut, b + cut, dim - cut);
            bool equal = std::fabs(pieces - whole) <= 1e-5f * std::fabs(whole);
            if (TypeParam::summable(metric)) {
                EXPECT_TRUE(equal) << "metric " << int(metric) << ", cut at " << cut << ": " << pieces << " vs " << whole;
            }
            cuts_that_differ += !equal;
        }
        // A type that says a distance does not sum must not be merely cautious about a kernel that does.
        if (!TypeParam::summable(metric)) {
            EXPECT_EQ(cuts_that_differ, dim - 1) << "metric " << int(metric);
        }
    }
}

TEST(VectorType, SizesFollowTheComponentType) {
    EXPECT_EQ(vs::vector_bytes<vs::FloatVector>(784), 3136u);
    EXPECT_EQ(vs::vector_bytes<Uint8Codes>(784), 784u);
    // An in-memory graph of codes stores a quarter of the bytes per vector.
    EXPECT_EQ(vs::hnsw::BasicMemoryGraph<vs::FloatVector>::bytes_per_element(784, 16) -
                  vs::hnsw::BasicMemoryGraph<Uint8Codes>::bytes_per_element(784, 16),
              3u * 784u);
}

}  // namespace
