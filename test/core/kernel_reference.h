// The double-precision reference the kernel tests compare every variant with, and the float
// rounding error each may have (distance_test.cc for float vectors, half_test.cc for halves).
#pragma once

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/kernels/distance.h"

namespace vs::testing {

// Exact values (to double precision) of what the kernels compute, with the sum of the magnitudes
// of each sum's terms, which scales its float rounding error.
struct Reference {
    double l2_squared = 0, inner_product = 0, l1 = 0, norm_a = 0, norm_b = 0;
    double inner_product_magnitude = 0;  // the other sums have no negative terms
};

inline Reference reference(const std::vector<float> &a, const std::vector<float> &b) {
    Reference r;
    for (std::size_t i = 0; i < a.size(); i++) {
        double x = a[i], y = b[i];
        r.l2_squared += (x - y) * (x - y);
        r.inner_product += x * y;
        r.inner_product_magnitude += std::fabs(x * y);
        r.l1 += std::fabs(x - y);
        r.norm_a += x * x;
        r.norm_b += y * y;
    }
    return r;
}

// A float sum of n terms, each term computed with at most three roundings (a difference, its
// square, the accumulation), is off by at most gamma(n + 2) times the sum of the terms'
// magnitudes, in whatever order the kernel adds them (Higham, Accuracy and Stability of
// Numerical Algorithms, 2nd ed., 3.1 and 4.2); each rounding may also underflow by half the
// smallest subnormal.
inline double float_error_bound(double magnitude, std::size_t n) {
    double roundings = double(n) + 2;
    double unit_roundoff = std::ldexp(1.0, -24);
    double gamma = roundings * unit_roundoff / (1 - roundings * unit_roundoff);
    return gamma * magnitude + roundings * std::numeric_limits<float>::denorm_min();
}

inline double in_float_range(double x) { return std::fmax(-FLT_MAX, std::fmin(FLT_MAX, x)); }

// The kernel's result lies within the bound of the exact value; where that goes past the float
// range, the result is the range's end (a kernel that overflowed in float recomputes in double,
// whose error is far below the bound, and clamps).
inline void expect_close(double got, double want, double magnitude, std::size_t n) {
    double tolerance = float_error_bound(magnitude, n);
    EXPECT_TRUE(std::isfinite(got)) << "n=" << n;
    EXPECT_GE(got, in_float_range(want - tolerance)) << "n=" << n;
    EXPECT_LE(got, in_float_range(want + tolerance)) << "n=" << n;
}

inline double reference_cosine_distance(const Reference &r) {
    double similarity = r.inner_product / std::sqrt(r.norm_a * r.norm_b);
    return 1 - std::fmax(-1.0, std::fmin(1.0, similarity));
}

inline bool cpu_has(Isa isa) {
    Isa best = vs::detect_isa();
    if (isa == Isa::Scalar) return true;
    if (isa == Isa::Avx2Fma) return best == Isa::Avx2Fma || best == Isa::Avx512;
    return best == Isa::Avx512;
}

// The name of a parameterised kernel test's instance, by the tier it runs.
inline std::string isa_test_name(const ::testing::TestParamInfo<Isa> &info) {
    switch (info.param) {
        case Isa::Avx512: return "Avx512";
        case Isa::Avx2Fma: return "Avx2Fma";
        case Isa::Scalar: break;
    }
    return "Scalar";
}

}  // namespace vs::testing
