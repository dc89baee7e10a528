// Distance kernels over float vectors, one variant per instruction set.
//
// The caller picks a variant once (select_kernels(detect_isa())) and keeps the table: the core
// holds no global state, and index scans call through the table rather than through fmgr.
// Every kernel accumulates in float lanes, as pgvector does; the unit tests bound the error
// against a double-precision reference.
#pragma once

#include <cstddef>

namespace vs {

enum class Isa { Scalar, Avx2Fma, Avx512 };

struct CosineParts {
    float dot;
    float norm_a;  // squared norms
    float norm_b;
};

using DistanceFn = float (*)(const float *a, const float *b, std::size_t n) noexcept;

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

// 1 - cos(a, b) from its parts, clamped to [0, 2]; NaN when either vector has zero norm,
// as the cosine of a zero vector is undefined.
double cosine_distance(const CosineParts &parts) noexcept;

}  // namespace vs
