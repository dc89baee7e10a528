// The per-type interface of the index code: what the graph, its stores and the page layouts need
// to know about the type of the vectors they index, so that `vector`, `halfvec`, `bit` and
// quantized codes share one implementation of each index instead of one copy per type. A vector
// type is a struct with no state:
//
//   using Component                    what a stored vector is an array of (float for vector;
//                                      uint16 for halfvec, uint8 for bit and 8-bit codes)
//   static std::size_t components(std::size_t dims)
//                                      how many Components hold a vector of dims dimensions
//                                      (dims for most types, dims / 8 rounded up for bit)
//   using Kernel                       what computes a distance (VectorKernel<Component> but for
//                                      AnyVector)
//   using KernelTable                  where the type's kernels come from: the table chosen
//                                      once at load time for the CPU (Kernels for float), or an
//                                      empty struct for a type with portable kernels only
//   static VectorKernel<Component> kernel(const KernelTable &, Metric)
//                                      the distance an index of that metric orders by, over n
//                                      Components; nullptr when the type has no such index
//   static bool summable(Metric)       whether that distance over a whole vector is the sum of
//                                      the distances over consecutive pieces of it, cut between
//                                      Components: a store may then compute it piece by piece
//                                      where a vector is split across pages, without copying it
//                                      out first. True for L2 squared, the inner product and L1;
//                                      false for a cosine computed from unnormalised vectors.
//
// The metric comes from the operator class; the type only says how to compute it.
//
// `sparsevec` keys have no fixed size and so no such struct: an index stores each apart, and
// only AnyKernel, over whole keys, computes their distances (see SparseKey).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "core/kernels/bits.h"
#include "core/kernels/distance.h"
#include "core/kernels/half.h"
#include "core/kernels/sparse.h"

namespace vs {

template <class Component>
using VectorKernel = float (*)(const Component *a, const Component *b, std::size_t n) noexcept;

// The element types an index stores, as recorded in its metapage: never renumber.
enum class Element : std::uint16_t { Float4 = 1, Half = 2, Bit = 3, Sparse = 4 };

inline bool element_valid(int value) noexcept { return value >= 1 && value <= 4; }

template <class VectorType>
constexpr std::size_t vector_bytes(std::size_t dims) noexcept {
    return sizeof(typename VectorType::Component) * VectorType::components(dims);
}

// The `vector` type: 32-bit floats, with the kernels of distance.h.
struct FloatVector {
    using Component = float;
    using Kernel = VectorKernel<float>;
    using KernelTable = Kernels;

    static constexpr std::size_t components(std::size_t dims) noexcept { return dims; }
    static VectorKernel<float> kernel(const Kernels &kernels, Metric metric) noexcept {
        return index_distance(kernels, metric);
    }
    // Cosine too: the index normalises its vectors and orders by their negative inner product.
    static constexpr bool summable(Metric) noexcept { return true; }
};

static_assert(std::is_same_v<VectorKernel<float>, DistanceFn>);

// `halfvec`: IEEE halves, with the kernels of half.h. Under cosine the index keeps the halves as
// they are and orders by the cosine distance itself (HalfKernels::cosine_distance), which is not
// a sum over pieces.
struct HalfVector {
    using Component = Half;
    using Kernel = VectorKernel<Half>;
    using KernelTable = HalfKernels;

    static constexpr std::size_t components(std::size_t dims) noexcept { return dims; }
    static VectorKernel<Half> kernel(const HalfKernels &kernels, Metric metric) noexcept {
        return metric == Metric::Cosine ? kernels.cosine_distance : index_distance(kernels, metric);
    }
    static constexpr bool summable(Metric metric) noexcept { return metric != Metric::Cosine; }
};

// `bit`: dims bits in bytes, first bit in the most significant place, with the kernels of bits.h.
struct BitVector {
    using Component = std::uint8_t;
    using Kernel = VectorKernel<std::uint8_t>;
    using KernelTable = BitKernels;

    static constexpr std::size_t components(std::size_t dims) noexcept { return (dims + 7) / 8; }
    static VectorKernel<std::uint8_t> kernel(const BitKernels &kernels, Metric metric) noexcept {
        switch (metric) {
            case Metric::Hamming: return kernels.hamming_distance;
            case Metric::Jaccard: return kernels.jaccard_distance;
            default: return nullptr;
        }
    }
    // A ratio of counts over the whole string, not a sum over its bytes.
    static constexpr bool summable(Metric metric) noexcept { return metric != Metric::Jaccard; }
};

// A `sparsevec` key: its non-zero elements, as many as the type allows, laid out as
//
//   int32 nnz | int32 indices[nnz] (0-based, strictly ascending) | float values[nnz]
//
// from a key's first byte, which is 4-byte aligned.
namespace sparse_key {
constexpr std::size_t kMaxNnz = 16000;  // the type's limit
constexpr std::size_t bytes(std::size_t nnz) noexcept { return sizeof(std::int32_t) + nnz * 8; }
constexpr std::size_t kMaxBytes = bytes(kMaxNnz);
inline std::size_t nnz(const unsigned char *key) noexcept {
    std::int32_t n;
    std::memcpy(&n, key, sizeof(n));
    return std::size_t(std::uint32_t(n));
}
inline SparseVector view(const unsigned char *key) noexcept {
    std::size_t n = nnz(key);
    const auto *indices = reinterpret_cast<const std::int32_t *>(key + sizeof(std::int32_t));
    return {n, indices, reinterpret_cast<const float *>(indices + n)};
}
// Whether length bytes hold a whole key: a count within the limit and exactly its elements.
inline bool complete(const unsigned char *key, std::size_t length) noexcept {
    return length >= sizeof(std::int32_t) && nnz(key) <= kMaxNnz && bytes(nnz(key)) == length;
}
}  // namespace sparse_key

inline SparseDistance sparse_index_distance(Metric metric) noexcept {
    switch (metric) {
        case Metric::L2: return sparse_l2_squared;
        case Metric::InnerProduct: return sparse_negative_inner_product;
        case Metric::Cosine: return sparse_cosine_distance;
        case Metric::L1: return sparse_l1;
        case Metric::Hamming:
        case Metric::Jaccard: break;
    }
    return nullptr;
}

// The distance of a vector of the element type chosen at run time, over the vectors' bytes: how
// the index glue, which learns the element from the operator class, runs the typed kernels. A
// switch on the element before each call, which the CPU predicts, costs nothing measurable
// beside a distance.
struct AnyKernel {
    Element element = Element::Float4;
    VectorKernel<float> float4 = nullptr;
    VectorKernel<Half> half = nullptr;
    VectorKernel<std::uint8_t> bits = nullptr;
    SparseDistance sparse = nullptr;
    // Where every vector must have one size (an in-memory graph), a sparse key lives apart and
    // its vector is the key's address, 8 bytes: an offset from sparse_base, where the memory
    // holding the keys is mapped (0 when addresses are the process's own).
    bool sparse_addresses = false;
    std::uintptr_t sparse_base = 0;

    explicit operator bool() const noexcept {
        switch (element) {
            case Element::Half: return half != nullptr;
            case Element::Bit: return bits != nullptr;
            case Element::Sparse: return sparse != nullptr;
            case Element::Float4: break;
        }
        return float4 != nullptr;
    }
    // bytes: the length of each vector; a multiple of the element's size. Sparse keys carry
    // their own length, so bytes is not used for them.
    float operator()(const unsigned char *a, const unsigned char *b, std::size_t bytes) const noexcept {
        switch (element) {
            case Element::Half:
                return half(reinterpret_cast<const Half *>(a), reinterpret_cast<const Half *>(b), bytes / sizeof(Half));
            case Element::Bit: return bits(a, b, bytes);
            case Element::Sparse: return sparse(sparse_key::view(sparse_key_at(a)), sparse_key::view(sparse_key_at(b)));
            case Element::Float4: break;
        }
        return float4(reinterpret_cast<const float *>(a), reinterpret_cast<const float *>(b), bytes / sizeof(float));
    }
    const unsigned char *sparse_key_at(const unsigned char *vector) const noexcept {
        if (!sparse_addresses) return vector;
        std::uint64_t offset;
        std::memcpy(&offset, vector, sizeof(offset));
        return reinterpret_cast<const unsigned char *>(sparse_base + std::uintptr_t(offset));
    }
};

// The bytes of a vector of dims dimensions of element; for a sparse key, the most it can have.
inline std::size_t element_vector_bytes(Element element, std::size_t dims) noexcept {
    switch (element) {
        case Element::Half: return vector_bytes<HalfVector>(dims);
        case Element::Bit: return vector_bytes<BitVector>(dims);
        case Element::Sparse: return sparse_key::bytes(dims < sparse_key::kMaxNnz ? dims : sparse_key::kMaxNnz);
        case Element::Float4: break;
    }
    return vector_bytes<FloatVector>(dims);
}

// Whether an index of element may order by metric: the vectors' four, or the bits' two.
inline bool index_of(Element element, Metric metric) noexcept {
    return element == Element::Bit ? metric == Metric::Hamming || metric == Metric::Jaccard : metric_on_vectors(metric);
}

// The kernel an index of element and metric orders by; false (an empty kernel) when no index
// of that pair exists.
inline AnyKernel any_kernel(Element element, Metric metric, const Kernels &float4, const HalfKernels &half,
                            const BitKernels &bits) noexcept {
    AnyKernel k;
    k.element = element;
    if (!index_of(element, metric)) return k;
    switch (element) {
        case Element::Float4: k.float4 = FloatVector::kernel(float4, metric); break;
        case Element::Half: k.half = HalfVector::kernel(half, metric); break;
        case Element::Bit: k.bits = BitVector::kernel(bits, metric); break;
        case Element::Sparse: k.sparse = sparse_index_distance(metric); break;
    }
    return k;
}

inline bool element_summable(Element element, Metric metric) noexcept {
    switch (element) {
        case Element::Half: return HalfVector::summable(metric);
        case Element::Bit: return BitVector::summable(metric);
        case Element::Sparse: return false;  // a key is always compared whole
        case Element::Float4: break;
    }
    return FloatVector::summable(metric);
}

// Vectors of any element, as raw bytes with an AnyKernel: what an in-memory graph holds when the
// element is known only at run time. Its "dimensions" are the bytes of a vector.
struct AnyVector {
    using Component = unsigned char;
    using Kernel = AnyKernel;
    static constexpr std::size_t components(std::size_t bytes) noexcept { return bytes; }
};

}  // namespace vs
