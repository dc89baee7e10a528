// IEEE 754 half precision (binary16), the element of the halfvec type: exact conversions to and
// from float, and distance kernels over halves, one variant per instruction set as in distance.h.
//
// Halves are kept as their 16 bits, not as _Float16, so that code built without compiler
// support for the type reads the same bytes. The kernels widen each half to float and accumulate
// in float lanes, as pgvector's do. Unlike float kernels they need no double fallback: a half is at
// most 65504, so a sum over 16,000 dimensions of squared differences (at most 1.7e10 each) stays
// below 3e14, far inside float's range, and the smallest non-zero square (3.6e-15) is far above
// float's smallest normal number, so no cosine norm underflows.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/kernels/distance.h"

namespace vs {

using Half = std::uint16_t;

constexpr float kHalfMax = 65504.0f;

// Exact: every half is a float.
float half_to_float(Half h) noexcept;

// Rounded to nearest, ties to even, as the F16C instructions round: a float beyond the half
// range becomes an infinity of its sign, a float below the smallest subnormal half a zero of its
// sign, a NaN a quiet NaN.
Half float_to_half(float f) noexcept;

using HalfDistanceFn = float (*)(const Half *a, const Half *b, std::size_t n) noexcept;

struct HalfKernels {
    Isa isa;
    HalfDistanceFn l2_squared;
    HalfDistanceFn inner_product;
    HalfDistanceFn negative_inner_product;
    HalfDistanceFn l1;
    CosineParts (*cosine_parts)(const Half *a, const Half *b, std::size_t n) noexcept;
    // 1 - cos(a, b) from cosine_parts, as the SQL operator computes it: what a halfvec index
    // orders by under cosine, since halves scaled to unit length and rounded would not keep the
    // operator's order (neighbours 1e-4 apart swap).
    HalfDistanceFn cosine_distance;
    // float_to_half over n floats: the F16C tiers round eight or sixteen at once, as it does.
    // What a cast of a vector to halfvec spends its time on (an expression index's query and
    // every row it returns).
    void (*narrow)(const float *in, Half *out, std::size_t n) noexcept;
};

// The kernels for isa (see select_kernels): the AVX2 tier also needs F16C, which every CPU with
// AVX2 and FMA has; detect_isa checks it.
HalfKernels select_half_kernels(Isa isa) noexcept;

}  // namespace vs
