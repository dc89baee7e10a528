// What the x86 kernels of distance.cpp and half.cpp share. Each function carries the target of
// the least instruction set it needs, so that a kernel compiled for a wider one inlines it.
#pragma once

#if defined(__x86_64__)
#include <immintrin.h>
#define VS_X86 1

namespace vs::x86 {

// The sum of a register's eight floats.
__attribute__((target("avx"))) inline float hsum256(__m256 v) noexcept {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

}  // namespace vs::x86
#endif
