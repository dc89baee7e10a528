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
#pragma once

#include <cstddef>
#include <type_traits>

#include "core/kernels/distance.h"

namespace vs {

template <class Component>
using VectorKernel = float (*)(const Component *a, const Component *b, std::size_t n) noexcept;

template <class VectorType>
constexpr std::size_t vector_bytes(std::size_t dims) noexcept {
    return sizeof(typename VectorType::Component) * VectorType::components(dims);
}

// The `vector` type: 32-bit floats, with the kernels of distance.h.
struct FloatVector {
    using Component = float;
    using KernelTable = Kernels;

    static constexpr std::size_t components(std::size_t dims) noexcept { return dims; }
    static VectorKernel<float> kernel(const Kernels &kernels, Metric metric) noexcept {
        return index_distance(kernels, metric);
    }
    // Cosine too: the index normalises its vectors and orders by their negative inner product.
    static constexpr bool summable(Metric) noexcept { return true; }
};

static_assert(std::is_same_v<VectorKernel<float>, DistanceFn>);

}  // namespace vs
