// The merge kernels of sparse.h: one walk over both index lists, written once over the sum's
// type (float, the fast path; double, the fallback) and the term each pair of values adds.
#include "core/kernels/sparse.h"

#include <cfloat>
#include <cmath>

namespace vs {
namespace {

// Calls term(x, y) for every index either vector holds, with 0 for the other's missing value.
template <class Term>
void merge(const SparseVector &a, const SparseVector &b, Term term) noexcept {
    std::size_t i = 0, j = 0;
    while (i < a.nnz && j < b.nnz) {
        if (a.indices[i] == b.indices[j]) {
            term(a.values[i++], b.values[j++]);
        } else if (a.indices[i] < b.indices[j]) {
            term(a.values[i++], 0.0f);
        } else {
            term(0.0f, b.values[j++]);
        }
    }
    for (; i < a.nnz; i++) term(a.values[i], 0.0f);
    for (; j < b.nnz; j++) term(0.0f, b.values[j]);
}

template <class Sum>
Sum l2_squared_in(const SparseVector &a, const SparseVector &b) noexcept {
    Sum sum = 0;
    merge(a, b, [&](float x, float y) {
        Sum d = Sum(x) - Sum(y);
        sum += d * d;
    });
    return sum;
}

// Only indices both hold add to an inner product: a walk that skips the others.
template <class Sum>
Sum inner_product_in(const SparseVector &a, const SparseVector &b) noexcept {
    Sum sum = 0;
    std::size_t i = 0, j = 0;
    while (i < a.nnz && j < b.nnz) {
        if (a.indices[i] == b.indices[j]) {
            sum += Sum(a.values[i++]) * Sum(b.values[j++]);
        } else if (a.indices[i] < b.indices[j]) {
            i++;
        } else {
            j++;
        }
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

double sparse_l2_squared_double(const SparseVector &a, const SparseVector &b) noexcept {
    return l2_squared_in<double>(a, b);
}
double sparse_inner_product_double(const SparseVector &a, const SparseVector &b) noexcept {
    return inner_product_in<double>(a, b);
}
double sparse_l1_double(const SparseVector &a, const SparseVector &b) noexcept { return l1_in<double>(a, b); }

}  // namespace vs
