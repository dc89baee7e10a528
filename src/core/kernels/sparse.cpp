// The merge kernels of sparse.h: one walk over both index lists, written once over the sum's
// type (float, the fast path; double, the fallback) and the term each pair of values adds.
#include "core/kernels/sparse.h"

#include <cfloat>
#include <cmath>
#include <cstring>

namespace vs {
namespace {

// Calls term(x, y) for every index either vector holds, with 0 for the other's missing value, in
// ascending order of index. Without branches on the comparison, which a merge of two supports
// mispredicts about every other step: each step loads both values and keeps the smaller index's
// (or both), so the terms and their order are those of the obvious merge. The arrays are read
// through locals, which the compiler then keeps in registers.
template <class Term>
void merge(const SparseVector &a, const SparseVector &b, Term term) noexcept {
    const std::int32_t *ai = a.indices, *bi = b.indices;
    const float *av = a.values, *bv = b.values;
    const std::size_t na = a.nnz, nb = b.nnz;
    std::size_t i = 0, j = 0;
    while (i < na && j < nb) {
        std::int32_t x = ai[i], y = bi[j];
        // A value times 1 or 0 (a select the compiler would turn back into a branch): the same
        // term, but for the sign of a zero, which no term's sum sees.
        term(av[i] * float(x <= y), bv[j] * float(y <= x));
        i += x <= y;
        j += y <= x;
    }
    for (; i < na; i++) term(av[i], 0.0f);
    for (; j < nb; j++) term(0.0f, bv[j]);
}

template <class Sum>
Sum l2_squared_in(const SparseVector &a, const SparseVector &b) noexcept {
    Sum sum = 0;
    merge(a, b, [&sum](float x, float y) {
        Sum d = Sum(x) - Sum(y);
        sum += d * d;
    });
    return sum;
}

// Only indices both hold add to an inner product: the same merge, adding a product where the
// indices meet.
template <class Sum>
Sum inner_product_in(const SparseVector &a, const SparseVector &b) noexcept {
    const std::int32_t *ai = a.indices, *bi = b.indices;
    const float *av = a.values, *bv = b.values;
    const std::size_t na = a.nnz, nb = b.nnz;
    Sum sum = 0;
    std::size_t i = 0, j = 0;
    while (i < na && j < nb) {
        std::int32_t x = ai[i], y = bi[j];
        if (x == y) sum += Sum(av[i]) * Sum(bv[j]);
        i += x <= y;
        j += y <= x;
    }
    return sum;
}

template <class Sum>
Sum l1_in(const SparseVector &a, const SparseVector &b) noexcept {
    Sum sum = 0;
    merge(a, b, [&](float x, float y) { sum += std::fabs(Sum(x) - Sum(y)); });
    return sum;
}

template <class Sum>
Sum squared_norm_in(const SparseVector &v) noexcept {
    Sum sum = 0;
    for (std::size_t i = 0; i < v.nnz; i++) sum += Sum(v.values[i]) * Sum(v.values[i]);
    return sum;
}

float clamped(double x) noexcept { return x > FLT_MAX ? FLT_MAX : x < -FLT_MAX ? -FLT_MAX : float(x); }

}  // namespace

float sparse_l2_squared(const SparseVector &a, const SparseVector &b) noexcept {
    float fast = l2_squared_in<float>(a, b);
    return std::isfinite(fast) ? fast : clamped(l2_squared_in<double>(a, b));
}

float sparse_inner_product(const SparseVector &a, const SparseVector &b) noexcept {
    float fast = inner_product_in<float>(a, b);
    return std::isfinite(fast) ? fast : clamped(inner_product_in<double>(a, b));
}

float sparse_l1(const SparseVector &a, const SparseVector &b) noexcept {
    float fast = l1_in<float>(a, b);
    return std::isfinite(fast) ? fast : clamped(l1_in<double>(a, b));
}

// In double where a float part overflows or a norm underflows, as cosine_parts_or_double does.
CosineParts sparse_cosine_parts(const SparseVector &a, const SparseVector &b) noexcept {
    float dot = inner_product_in<float>(a, b), norm_a = squared_norm_in<float>(a), norm_b = squared_norm_in<float>(b);
    if (std::isfinite(dot) && std::isfinite(norm_a) && std::isfinite(norm_b) && (norm_a >= FLT_MIN || a.nnz == 0) &&
        (norm_b >= FLT_MIN || b.nnz == 0))
        return {dot, norm_a, norm_b};
    return {inner_product_in<double>(a, b), squared_norm_in<double>(a), squared_norm_in<double>(b)};
}

float sparse_negative_inner_product(const SparseVector &a, const SparseVector &b) noexcept {
    return -sparse_inner_product(a, b);
}

float sparse_cosine_distance(const SparseVector &a, const SparseVector &b) noexcept {
    return float(cosine_distance(sparse_cosine_parts(a, b)));
}

void sparse_query_set(SparseQuery *q, const SparseVector &query) noexcept {
    std::memset(q->dense, 0, sizeof(float) * (q->dims + 1));
    q->vector = query;
    // (an index outside the dimensions, of a damaged key, has nowhere to go: as query_value reads it)
    for (std::size_t i = 0; i < query.nnz; i++)
        if (std::uint32_t(query.indices[i]) < q->dims) q->dense[query.indices[i]] = query.values[i];
    q->squared_norm = squared_norm_in<float>(query);
    q->squared_norm_double = squared_norm_in<double>(query);
    double l1 = 0;
    for (std::size_t i = 0; i < query.nnz; i++) l1 += std::fabs(double(query.values[i]));
    q->l1_norm_double = l1;
}

namespace {

// The query's value at a key's index: branch-free, and 0 for an index it cannot have.
inline float query_value(const SparseQuery &q, std::int32_t index) noexcept {
    std::size_t at = std::uint32_t(index);
    return q.dense[at < q.dims ? at : q.dims];
}

// The float sum of the merge kernel's products: a key's element the query lacks adds +0 or -0,
// which leaves any float sum as it is but -0, and a sum of these products is never -0 (it starts
// at +0, and x + -x is +0).
float query_inner_product(const SparseQuery &q, const SparseVector &key) noexcept {
    const std::int32_t *indices = key.indices;
    const float *values = key.values;
    float sum = 0;
    for (std::size_t i = 0; i < key.nnz; i++) sum += query_value(q, indices[i]) * values[i];
    return std::isfinite(sum) ? sum : clamped(inner_product_in<double>(q.vector, key));
}

float query_negative_inner_product(const SparseQuery &q, const SparseVector &key) noexcept {
    return -query_inner_product(q, key);
}

// sparse_cosine_parts with the query's norm summed once.
float query_cosine_distance(const SparseQuery &q, const SparseVector &key) noexcept {
    float dot = 0;
    for (std::size_t i = 0; i < key.nnz; i++) dot += query_value(q, key.indices[i]) * key.values[i];
    float norm_a = q.squared_norm, norm_b = squared_norm_in<float>(key);
    if (std::isfinite(dot) && std::isfinite(norm_a) && std::isfinite(norm_b) && (norm_a >= FLT_MIN || q.vector.nnz == 0) &&
        (norm_b >= FLT_MIN || key.nnz == 0))
        return float(cosine_distance({dot, norm_a, norm_b}));
    return float(cosine_distance(sparse_cosine_parts(q.vector, key)));
}

// |q - k|^2 = |q|^2 + the sum over k's elements of (q_i - k_i)^2 - q_i^2.
float query_l2_squared(const SparseQuery &q, const SparseVector &key) noexcept {
    double sum = q.squared_norm_double;
    for (std::size_t i = 0; i < key.nnz; i++) {
        double x = query_value(q, key.indices[i]), d = x - double(key.values[i]);
        sum += d * d - x * x;
    }
    return clamped(sum > 0 ? sum : 0);
}

// |q - k|_1 = |q|_1 + the sum over k's elements of |q_i - k_i| - |q_i|.
float query_l1(const SparseQuery &q, const SparseVector &key) noexcept {
    double sum = q.l1_norm_double;
    for (std::size_t i = 0; i < key.nnz; i++) {
        double x = query_value(q, key.indices[i]);
        sum += std::fabs(x - double(key.values[i])) - std::fabs(x);
    }
    return clamped(sum > 0 ? sum : 0);
}

}  // namespace

SparseQueryDistance sparse_query_distance(Metric metric) noexcept {
    switch (metric) {
        case Metric::L2: return query_l2_squared;
        case Metric::InnerProduct: return query_negative_inner_product;
        case Metric::Cosine: return query_cosine_distance;
        case Metric::L1: return query_l1;
        case Metric::Hamming:
        case Metric::Jaccard: break;
    }
    return nullptr;
}

double sparse_l2_squared_double(const SparseVector &a, const SparseVector &b) noexcept {
    return l2_squared_in<double>(a, b);
}
double sparse_inner_product_double(const SparseVector &a, const SparseVector &b) noexcept {
    return inner_product_in<double>(a, b);
}
double sparse_l1_double(const SparseVector &a, const SparseVector &b) noexcept { return l1_in<double>(a, b); }

}  // namespace vs
