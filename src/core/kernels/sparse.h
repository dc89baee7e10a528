// Distance kernels over sparse vectors (the sparsevec type): a merge walk over two lists of
// strictly ascending indices, summing in float as pgvector does. As the float kernels of
// distance.h, a sum that overflows float is computed again in double and clamped to +-FLT_MAX, so
// every distance of finite input is finite.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/kernels/distance.h"

namespace vs {

struct SparseVector {
    std::size_t nnz;
    const std::int32_t *indices;  // 0-based, strictly ascending
    const float *values;          // finite, non-zero
};

float sparse_l2_squared(const SparseVector &a, const SparseVector &b) noexcept;
float sparse_inner_product(const SparseVector &a, const SparseVector &b) noexcept;
float sparse_l1(const SparseVector &a, const SparseVector &b) noexcept;
CosineParts sparse_cosine_parts(const SparseVector &a, const SparseVector &b) noexcept;

// The same sums in double: what the kernels fall back on, and what a caller returning a double
// uses for a result at_float_limit.
double sparse_l2_squared_double(const SparseVector &a, const SparseVector &b) noexcept;
double sparse_inner_product_double(const SparseVector &a, const SparseVector &b) noexcept;
double sparse_l1_double(const SparseVector &a, const SparseVector &b) noexcept;

// What an index orders by besides the two above: the negative inner product (as `<#>`), and the
// cosine distance itself, computed from the parts as the SQL operator does, so that an index keeps
// sparse keys as they are and orders as the operator to within the float it keeps a distance in.
float sparse_negative_inner_product(const SparseVector &a, const SparseVector &b) noexcept;
float sparse_cosine_distance(const SparseVector &a, const SparseVector &b) noexcept;

using SparseDistance = float (*)(const SparseVector &a, const SparseVector &b) noexcept;

}  // namespace vs
