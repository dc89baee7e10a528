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

// A query scattered into a dense array over its dimensions, for comparing it with many keys: a
// distance is then one pass over the key's elements instead of a merge of both lists (some 6x
// faster at 245 of 784 elements). The inner product and the cosine distance come out bit for bit
// as the merge kernels' (the same products added in the same order, the other elements adding
// zeros). L2 and L1, whose terms for the query's elements a key lacks follow from the query's
// norms, are summed in double and may differ from the merge kernels' in the last bits; a caller
// that must order as the operators do computes them again with those (sparse_query_exact).
struct SparseQuery {
    float *dense;      // dims + 1 floats: the query's values at its indices, 0 elsewhere and at dims
    std::size_t dims;  // a key's index outside [0, dims) reads dense[dims], as if the query lacked it
    SparseVector vector;  // the query itself, which the merge kernels take where a sum overflows
    float squared_norm;   // as the cosine kernel sums it, in float
    double squared_norm_double;
    double l1_norm_double;
};

// Scatters query (which must stay readable while q is used) into q->dense, cleared first.
void sparse_query_set(SparseQuery *q, const SparseVector &query) noexcept;

using SparseQueryDistance = float (*)(const SparseQuery &q, const SparseVector &key) noexcept;

// The distance an index of metric orders by (as sparse_index_distance), from a scattered query;
// nullptr for a metric no sparse index has.
SparseQueryDistance sparse_query_distance(Metric metric) noexcept;
// Whether it equals the merge kernel's bit for bit.
inline bool sparse_query_exact(Metric metric) noexcept {
    return metric == Metric::InnerProduct || metric == Metric::Cosine;
}

}  // namespace vs
