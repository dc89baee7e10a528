// Distance kernels over float vectors, one variant per instruction set.
//
// The caller picks a variant once (select_kernels(detect_isa())) and keeps the table: the core
// holds no global state, and index scans call through the table rather than through fmgr.
// Every kernel accumulates in float lanes, as pgvector does; the unit tests bound the error
// against a double-precision reference.
//
// Results are finite on finite input. Float lanes overflow once differences pass FLT_MAX or
// squares and products pass it (elements beyond about 1.8e19), and opposite infinities then add
// to NaN, which would break the order of a scan's heaps. A kernel whose float result is not
// finite computes the pair again in double, where no product of floats overflows, and returns
// that clamped to +-FLT_MAX. Checking costs one comparison per call; only overflowing pairs pay
// for the double pass. cosine_parts also recomputes when a norm underflows, so that a cosine
// distance is NaN only where a vector is zero.
#pragma once

#include <cfloat>
#include <cmath>
#include <cstddef>

namespace vs {

enum class Isa { Scalar, Avx2Fma, Avx512 };

// In double, since the squared norm of a float vector can pass FLT_MAX while its cosine is
// still defined.
struct CosineParts {
    double dot;
    double norm_a;  // squared norms
    double norm_b;
};

using DistanceFn = float (*)(const float *a, const float *b, std::size_t n) noexcept;

// The distances an index orders by. The values are stored in index metapages and returned by
// the operator classes' metric support functions: never renumber them.
// Hamming and Jaccard are the bit type's.
enum class Metric : int { L2 = 1, InnerProduct = 2, Cosine = 3, L1 = 4, Hamming = 5, Jaccard = 6 };

inline bool metric_valid(int value) noexcept { return value >= 1 && value <= 6; }

// Whether metric is one of the dense vectors' (and so of this file's kernels).
inline bool metric_on_vectors(Metric metric) noexcept { return int(metric) >= 1 && int(metric) <= 4; }

struct Kernels {
    Isa isa;
    DistanceFn l2_squared;
    DistanceFn inner_product;
    DistanceFn negative_inner_product;  // an index orders by it: smaller is more similar
    DistanceFn l1;
    CosineParts (*cosine_parts)(const float *a, const float *b, std::size_t n) noexcept;
};

// The best instruction set this CPU and operating system support.
Isa detect_isa() noexcept;

// The kernels for isa; an isa the CPU lacks must not be passed (the tests skip those).
Kernels select_kernels(Isa isa) noexcept;

const char *isa_name(Isa isa) noexcept;

// The kernel an index orders by for metric: squared L2 (the same order as L2), the negative inner
// product (smaller is more similar), and for cosine the negative inner product of vectors the
// index normalised to unit length. Table is Kernels, or a table of the same members over other
// elements (HalfKernels).
template <class Table>
inline decltype(Table::l2_squared) index_distance(const Table &k, Metric metric) noexcept {
    switch (metric) {
        case Metric::L2: return k.l2_squared;
        case Metric::L1: return k.l1;
        case Metric::InnerProduct:
        case Metric::Cosine: return k.negative_inner_product;
        case Metric::Hamming:
        case Metric::Jaccard: break;
    }
    return nullptr;
}

// The kernels' sums accumulated in double: finite for any finite input, slower. The kernels fall
// back on them; a caller that returns a double uses them for a result at_float_limit.
double l2_squared_double(const float *a, const float *b, std::size_t n) noexcept;
double inner_product_double(const float *a, const float *b, std::size_t n) noexcept;
double l1_double(const float *a, const float *b, std::size_t n) noexcept;
CosineParts cosine_parts_double(const float *a, const float *b, std::size_t n) noexcept;

// Whether a kernel's result may be a distance beyond the float range, clamped: only the double
// version knows its value. (A sum that lands on FLT_MAX exactly is recomputed needlessly.)
inline bool at_float_limit(float distance) noexcept { return std::fabs(distance) == FLT_MAX; }

// 1 - cos(a, b) from its parts, clamped to [0, 2]; NaN when either vector has zero norm,
// as the cosine of a zero vector is undefined.
double cosine_distance(const CosineParts &parts) noexcept;

}  // namespace vs
