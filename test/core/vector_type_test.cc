// The per-type interface (core/index/vector_type.h): `vector`, `halfvec`, and 8-bit codes, as a
// scalar quantizer stores them, with integer kernels, defined here outside the core as a new type
// would plug in. The same generic graph and search run over each, checked against brute force
// with its own kernel, and each type's claim of which distances sum over pieces is checked
// against its kernels. Then `bit` with its own two metrics, and AnyVector, the run-time-typed
// form the index glue uses, against the typed kernels.
#include <cmath>
#include <cstdint>

#include "graph_testing.h"

namespace {

struct Uint8Codes {
    using Component = std::uint8_t;
    using Kernel = vs::VectorKernel<std::uint8_t>;
    struct KernelTable {};  // portable kernels only

    static constexpr std::size_t components(std::size_t dims) noexcept { return dims; }
    static vs::VectorKernel<std::uint8_t> kernel(const KernelTable &, vs::Metric metric) noexcept {
        switch (metric) {
            case vs::Metric::L2: return l2_squared;
            case vs::Metric::L1: return l1;
            case vs::Metric::InnerProduct: return negative_dot;
            case vs::Metric::Cosine: return cosine;
            case vs::Metric::Hamming:
            case vs::Metric::Jaccard: break;
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
struct TypeTraits<vs::HalfVector> {
    static vs::HalfKernels table() { return vs::select_half_kernels(vs::detect_isa()); }
    static std::vector<vs::Half> encode(const std::vector<float> &x) {
        std::vector<vs::Half> halves;
        for (float f : x) halves.push_back(vs::float_to_half(f));
        return halves;
    }
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

using VectorTypes = ::testing::Types<vs::FloatVector, vs::HalfVector, Uint8Codes>;
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

// Bits: one per dimension, set where a clustered float is positive, as binary_quantize makes
// them.
std::vector<std::uint8_t> quantized(const std::vector<float> &x, int dim) {
    std::size_t rows = x.size() / dim, stride = vs::BitVector::components(dim);
    std::vector<std::uint8_t> bits(rows * stride, 0);
    for (std::size_t r = 0; r < rows; r++)
        for (int i = 0; i < dim; i++)
            if (x[r * dim + i] > 0) bits[r * stride + i / 8] |= std::uint8_t(0x80 >> (i % 8));
    return bits;
}

TEST(BitVectorType, GenericSearchFindsTheNearestByHammingAndJaccard) {
    const int dim = 100;  // not a multiple of 8: the last byte is partly padding
    vs::BitKernels table = vs::select_bit_kernels(vs::detect_isa());
    for (vs::Metric metric : {vs::Metric::Hamming, vs::Metric::Jaccard}) {
        GraphFixture<vs::BitVector> f;
        auto data = quantized(clustered(3100, dim, 20, f.rng), dim);
        auto queries = split_queries(data, 100, int(vs::BitVector::components(dim)));
        auto kernel = vs::BitVector::kernel(table, metric);
        ASSERT_NE(kernel, nullptr);
        f.build(data, dim, 12, 64, kernel);
        EXPECT_GE(recall_at_k(f, data, queries, dim, 10, 80, kernel), 0.97) << "metric " << int(metric);
    }
    EXPECT_EQ(vs::BitVector::kernel(table, vs::Metric::L2), nullptr);
}

TEST(BitVectorType, HammingSumsOverPiecesAndJaccardIsSaidNotTo) {
    std::mt19937 rng(4);
    const int dim = 200;
    auto pair = quantized(clustered(2, dim, 1, rng), dim);
    std::size_t bytes = vs::BitVector::components(dim);
    vs::BitKernels table = vs::select_bit_kernels(vs::detect_isa());
    for (std::size_t cut = 1; cut < bytes; cut++)
        EXPECT_EQ(table.hamming_distance(pair.data(), pair.data() + bytes, cut) +
                      table.hamming_distance(pair.data() + cut, pair.data() + bytes + cut, bytes - cut),
                  table.hamming_distance(pair.data(), pair.data() + bytes, bytes));
    EXPECT_TRUE(vs::BitVector::summable(vs::Metric::Hamming));
    EXPECT_FALSE(vs::BitVector::summable(vs::Metric::Jaccard));
    EXPECT_FALSE(vs::element_summable(vs::Element::Bit, vs::Metric::Jaccard));
}

// The run-time-typed kernel computes, over the bytes of each element's vectors, exactly what
// the typed kernel computes over them.
TEST(AnyVectorType, AnyKernelIsTheTypedKernelOverBytes) {
    std::mt19937 rng(8);
    const int dim = 45;
    auto floats = clustered(2, dim, 1, rng);
    auto halves = TypeTraits<vs::HalfVector>::encode(floats);
    auto bits = quantized(floats, dim);
    vs::Kernels float4 = vs::select_kernels(vs::detect_isa());
    vs::HalfKernels half = vs::select_half_kernels(vs::detect_isa());
    vs::BitKernels bit = vs::select_bit_kernels(vs::detect_isa());
    auto bytes = [](const auto *p) { return reinterpret_cast<const unsigned char *>(p); };
    for (vs::Metric metric : {vs::Metric::L2, vs::Metric::InnerProduct, vs::Metric::Cosine, vs::Metric::L1}) {
        vs::AnyKernel f = vs::any_kernel(vs::Element::Float4, metric, float4, half, bit);
        vs::AnyKernel h = vs::any_kernel(vs::Element::Half, metric, float4, half, bit);
        ASSERT_TRUE(f && h);
        EXPECT_EQ(f(bytes(floats.data()), bytes(floats.data() + dim), vs::element_vector_bytes(vs::Element::Float4, dim)),
                  vs::FloatVector::kernel(float4, metric)(floats.data(), floats.data() + dim, dim));
        EXPECT_EQ(h(bytes(halves.data()), bytes(halves.data() + dim), vs::element_vector_bytes(vs::Element::Half, dim)),
                  vs::HalfVector::kernel(half, metric)(halves.data(), halves.data() + dim, dim));
        EXPECT_FALSE(vs::any_kernel(vs::Element::Bit, metric, float4, half, bit));
    }
    std::size_t stride = vs::BitVector::components(dim);
    for (vs::Metric metric : {vs::Metric::Hamming, vs::Metric::Jaccard}) {
        vs::AnyKernel b = vs::any_kernel(vs::Element::Bit, metric, float4, half, bit);
        ASSERT_TRUE(b);
        EXPECT_EQ(b(bits.data(), bits.data() + stride, vs::element_vector_bytes(vs::Element::Bit, dim)),
                  vs::BitVector::kernel(bit, metric)(bits.data(), bits.data() + stride, stride));
        EXPECT_FALSE(vs::any_kernel(vs::Element::Float4, metric, float4, half, bit));
    }
}

// A graph of AnyVector over halves' bytes, as the index build keeps one, finds what the typed
// graph finds.
TEST(AnyVectorType, GraphOverBytesSearchesAsTheTypedGraph) {
    const int dim = 24;
    GraphFixture<vs::AnyVector> f;
    auto halves = TypeTraits<vs::HalfVector>::encode(clustered(2100, dim, 20, f.rng));
    std::vector<unsigned char> data(reinterpret_cast<const unsigned char *>(halves.data()),
                                    reinterpret_cast<const unsigned char *>(halves.data() + halves.size()));
    int key_bytes = int(vs::element_vector_bytes(vs::Element::Half, dim));
    auto queries = split_queries(data, 100, key_bytes);
    vs::AnyKernel kernel = vs::any_kernel(vs::Element::Half, vs::Metric::L2, vs::select_kernels(vs::detect_isa()),
                                          vs::select_half_kernels(vs::detect_isa()), vs::select_bit_kernels(vs::detect_isa()));
    f.build(data, key_bytes, 12, 64, kernel);
    EXPECT_GE(recall_at_k(f, data, queries, key_bytes, 10, 80, kernel), 0.97);
}

// Sparse keys as an index lays them out (count, indices, values), in clusters as real sparse
// features come: each cluster has a support of about density of dim indices, and each of its
// keys holds most of that support, at values near the cluster's.
std::vector<std::vector<unsigned char>> sparse_keys(std::mt19937 &rng, std::size_t n, int dim, double density) {
    std::uniform_real_distribution<double> coin(0, 1);
    std::uniform_real_distribution<float> value(0.5f, 2.0f), noise(-0.1f, 0.1f);
    std::vector<std::vector<float>> centres(20, std::vector<float>(dim, 0.0f));
    for (auto &centre : centres)
        for (int i = 0; i < dim; i++)
            if (coin(rng) < density) centre[i] = value(rng);
    std::vector<std::vector<unsigned char>> keys;
    for (std::size_t k = 0; k < n; k++) {
        const auto &centre = centres[k % centres.size()];
        std::vector<std::int32_t> indices;
        std::vector<float> values;
        for (int i = 0; i < dim; i++)
            if (centre[i] != 0 && coin(rng) < 0.8) {
                indices.push_back(i);
                values.push_back(centre[i] + noise(rng));  // never zero
            }
        std::vector<unsigned char> key(vs::sparse_key::bytes(indices.size()));
        std::int32_t nnz = std::int32_t(indices.size());
        std::memcpy(key.data(), &nnz, sizeof(nnz));
        std::memcpy(key.data() + 4, indices.data(), 4 * indices.size());
        std::memcpy(key.data() + 4 + 4 * indices.size(), values.data(), 4 * values.size());
        keys.push_back(std::move(key));
    }
    return keys;
}

// Over whole sparse keys the run-time kernel is the merge kernel the metric names, the cosine
// distance included (computed, as the SQL operator does, from its parts).
TEST(AnyVectorType, AnyKernelOverSparseKeysIsTheMergeKernel) {
    std::mt19937 rng(9);
    auto keys = sparse_keys(rng, 2, 300, 0.1);
    vs::Kernels float4 = vs::select_kernels(vs::detect_isa());
    vs::HalfKernels half = vs::select_half_kernels(vs::detect_isa());
    vs::BitKernels bit = vs::select_bit_kernels(vs::detect_isa());
    vs::SparseVector a = vs::sparse_key::view(keys[0].data()), b = vs::sparse_key::view(keys[1].data());
    ASSERT_TRUE(vs::sparse_key::complete(keys[0].data(), keys[0].size()));
    EXPECT_FALSE(vs::sparse_key::complete(keys[0].data(), keys[0].size() - 4));
    auto distance = [&](vs::Metric metric) {
        vs::AnyKernel k = vs::any_kernel(vs::Element::Sparse, metric, float4, half, bit);
        EXPECT_TRUE(k);
        return k(keys[0].data(), keys[1].data(), 0);
    };
    EXPECT_EQ(distance(vs::Metric::L2), vs::sparse_l2_squared(a, b));
    EXPECT_EQ(distance(vs::Metric::InnerProduct), -vs::sparse_inner_product(a, b));
    EXPECT_EQ(distance(vs::Metric::L1), vs::sparse_l1(a, b));
    EXPECT_EQ(distance(vs::Metric::Cosine), float(vs::cosine_distance(vs::sparse_cosine_parts(a, b))));
    EXPECT_GT(distance(vs::Metric::Cosine), 0.0f);
    EXPECT_FALSE(vs::any_kernel(vs::Element::Sparse, vs::Metric::Hamming, float4, half, bit));
    EXPECT_FALSE(vs::element_summable(vs::Element::Sparse, vs::Metric::L2));
}

// An index build's graph holds sparse keys by address, as offsets from where their memory is
// mapped: it finds their nearest as a search over the keys themselves would.
TEST(AnyVectorType, GraphOverSparseKeyAddressesFindsTheNearest) {
    GraphFixture<vs::AnyVector> f;
    auto keys = sparse_keys(f.rng, 1600, 400, 0.05);
    std::vector<unsigned char> arena;
    std::vector<std::uint64_t> offsets;
    for (const auto &key : keys) {
        offsets.push_back(arena.size());
        arena.insert(arena.end(), key.begin(), key.end());
    }
    std::vector<unsigned char> data(offsets.size() * sizeof(std::uint64_t));
    std::memcpy(data.data(), offsets.data(), data.size());
    auto queries = split_queries(data, 100, int(sizeof(std::uint64_t)));
    vs::AnyKernel kernel = vs::any_kernel(vs::Element::Sparse, vs::Metric::L2, vs::select_kernels(vs::detect_isa()),
                                          vs::select_half_kernels(vs::detect_isa()), vs::select_bit_kernels(vs::detect_isa()));
    kernel.sparse_addresses = true;
    kernel.sparse_base = reinterpret_cast<std::uintptr_t>(arena.data());
    f.build(data, int(sizeof(std::uint64_t)), 12, 64, kernel);
    EXPECT_GE(recall_at_k(f, data, queries, int(sizeof(std::uint64_t)), 10, 80, kernel), 0.95);
}

TEST(VectorType, SizesFollowTheComponentType) {
    EXPECT_EQ(vs::element_vector_bytes(vs::Element::Float4, 784), 3136u);
    EXPECT_EQ(vs::element_vector_bytes(vs::Element::Half, 784), 1568u);
    EXPECT_EQ(vs::element_vector_bytes(vs::Element::Bit, 785), 99u);
    // A sparse key's most: every dimension, up to the type's limit of non-zero elements.
    EXPECT_EQ(vs::element_vector_bytes(vs::Element::Sparse, 10), 84u);
    EXPECT_EQ(vs::element_vector_bytes(vs::Element::Sparse, 1000000), 128004u);
    EXPECT_EQ(vs::vector_bytes<vs::FloatVector>(784), 3136u);
    EXPECT_EQ(vs::vector_bytes<Uint8Codes>(784), 784u);
    // An in-memory graph of codes stores a quarter of the bytes per vector.
    EXPECT_EQ(vs::hnsw::BasicMemoryGraph<vs::FloatVector>::bytes_per_element(784, 16) -
                  vs::hnsw::BasicMemoryGraph<Uint8Codes>::bytes_per_element(784, 16),
              3u * 784u);
}

}  // namespace
