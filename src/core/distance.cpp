// Scalar, AVX2+FMA and AVX-512 distance kernels, each compiled with its own target attribute so
// the shipped library runs on any x86-64 and still uses the widest unit the CPU has.
#include "distance.h"

#include <cmath>

#if defined(__x86_64__)
#include <immintrin.h>
#define VS_X86 1
#endif

namespace vs {
namespace {

// Four independent accumulators let the scalar loop overlap additions without reassociation.
float l2_squared_scalar(const float *a, const float *b, std::size_t n) noexcept {
    float s[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) {
            float d = a[i + j] - b[i + j];
            s[j] += d * d;
        }
    for (; i < n; i++) {
        float d = a[i] - b[i];
        s[0] += d * d;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

float inner_product_scalar(const float *a, const float *b, std::size_t n) noexcept {
    float s[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += a[i + j] * b[i + j];
    for (; i < n; i++) s[0] += a[i] * b[i];
    return (s[0] + s[1]) + (s[2] + s[3]);
}

float l1_scalar(const float *a, const float *b, std::size_t n) noexcept {
    float s[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += std::fabs(a[i + j] - b[i + j]);
    for (; i < n; i++) s[0] += std::fabs(a[i] - b[i]);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

CosineParts cosine_parts_scalar(const float *a, const float *b, std::size_t n) noexcept {
    CosineParts p{0, 0, 0};
    for (std::size_t i = 0; i < n; i++) {
        p.dot += a[i] * b[i];
        p.norm_a += a[i] * a[i];
        p.norm_b += b[i] * b[i];
    }
    return p;
}

#ifdef VS_X86

#define VS_AVX2 __attribute__((target("avx2,fma")))

VS_AVX2 inline float hsum256(__m256 v) noexcept {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Two accumulators hide the FMA latency; the tail of fewer than 8 goes through the scalar loop.
VS_AVX2 float l2_squared_avx2(const float *a, const float *b, std::size_t n) noexcept {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    if (i + 8 <= n) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        i += 8;
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return s;
}

VS_AVX2 float inner_product_avx2(const float *a, const float *b, std::size_t n) noexcept {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    }
    if (i + 8 <= n) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        i += 8;
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

VS_AVX2 float l1_avx2(const float *a, const float *b, std::size_t n) noexcept {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
        s0 = _mm256_add_ps(s0, _mm256_and_ps(d0, abs_mask));
        s1 = _mm256_add_ps(s1, _mm256_and_ps(d1, abs_mask));
    }
    if (i + 8 <= n) {
        __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
        s0 = _mm256_add_ps(s0, _mm256_and_ps(d0, abs_mask));
        i += 8;
    }
    float s = hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += std::fabs(a[i] - b[i]);
    return s;
}

VS_AVX2 CosineParts cosine_parts_avx2(const float *a, const float *b, std::size_t n) noexcept {
    __m256 dot = _mm256_setzero_ps(), na = _mm256_setzero_ps(), nb = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 va = _mm256_loadu_ps(a + i), vb = _mm256_loadu_ps(b + i);
        dot = _mm256_fmadd_ps(va, vb, dot);
        na = _mm256_fmadd_ps(va, va, na);
        nb = _mm256_fmadd_ps(vb, vb, nb);
    }
    CosineParts p{hsum256(dot), hsum256(na), hsum256(nb)};
    for (; i < n; i++) {
        p.dot += a[i] * b[i];
        p.norm_a += a[i] * a[i];
        p.norm_b += b[i] * b[i];
    }
    return p;
}

#define VS_AVX512 __attribute__((target("avx512f")))

// GCC 12's _mm512_reduce_add_ps trips -Wuninitialized on its own _mm256_undefined_pd.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
VS_AVX512 inline float hsum512(__m512 v) noexcept { return _mm512_reduce_add_ps(v); }
#pragma GCC diagnostic pop

// Masked loads read the tail without touching memory past the end of either vector.
VS_AVX512 inline __mmask16 tail_mask(std::size_t remaining) noexcept {
    return static_cast<__mmask16>((1u << remaining) - 1);
}

VS_AVX512 float l2_squared_avx512(const float *a, const float *b, std::size_t n) noexcept {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
        __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : tail_mask(n - i);
        __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i));
        s0 = _mm512_fmadd_ps(d, d, s0);
    }
    return hsum512(_mm512_add_ps(s0, s1));
}

VS_AVX512 float inner_product_avx512(const float *a, const float *b, std::size_t n) noexcept {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s0);
        s1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), s1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : tail_mask(n - i);
        s0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), s0);
    }
    return hsum512(_mm512_add_ps(s0, s1));
}

VS_AVX512 float l1_avx512(const float *a, const float *b, std::size_t n) noexcept {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i))));
        s1 = _mm512_add_ps(s1, _mm512_abs_ps(_mm512_sub_ps(_mm512_loadu_ps(a + i + 16),
                                                           _mm512_loadu_ps(b + i + 16))));
    }
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : tail_mask(n - i);
        s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, a + i),
                                                           _mm512_maskz_loadu_ps(m, b + i))));
    }
    return hsum512(_mm512_add_ps(s0, s1));
}

VS_AVX512 CosineParts cosine_parts_avx512(const float *a, const float *b, std::size_t n) noexcept {
    __m512 dot = _mm512_setzero_ps(), na = _mm512_setzero_ps(), nb = _mm512_setzero_ps();
    for (std::size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? 0xffff : tail_mask(n - i);
        __m512 va = _mm512_maskz_loadu_ps(m, a + i), vb = _mm512_maskz_loadu_ps(m, b + i);
        dot = _mm512_fmadd_ps(va, vb, dot);
        na = _mm512_fmadd_ps(va, va, na);
        nb = _mm512_fmadd_ps(vb, vb, nb);
    }
    return {hsum512(dot), hsum512(na), hsum512(nb)};
}

#endif  // VS_X86

template <DistanceFn F>
float negated(const float *a, const float *b, std::size_t n) noexcept {
    return -F(a, b, n);
}

}  // namespace

Isa detect_isa() noexcept {
#ifdef VS_X86
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
    if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::Avx2Fma;
#endif
    return Isa::Scalar;
}

Kernels select_kernels(Isa isa) noexcept {
#ifdef VS_X86
    if (isa == Isa::Avx512)
        return {isa, l2_squared_avx512, inner_product_avx512, negated<inner_product_avx512>, l1_avx512,
                cosine_parts_avx512};
    if (isa == Isa::Avx2Fma)
        return {isa, l2_squared_avx2, inner_product_avx2, negated<inner_product_avx2>, l1_avx2, cosine_parts_avx2};
#endif
    return {Isa::Scalar, l2_squared_scalar, inner_product_scalar, negated<inner_product_scalar>, l1_scalar,
            cosine_parts_scalar};
}

const char *isa_name(Isa isa) noexcept {
    switch (isa) {
        case Isa::Avx512: return "avx512";
        case Isa::Avx2Fma: return "avx2+fma";
        case Isa::Scalar: break;
    }
    return "scalar";
}

double cosine_distance(const CosineParts &parts) noexcept {
    double similarity = double(parts.dot) / std::sqrt(double(parts.norm_a) * double(parts.norm_b));
    if (std::isnan(similarity)) return similarity;
    if (similarity > 1) similarity = 1;
    if (similarity < -1) similarity = -1;
    return 1 - similarity;
}

}  // namespace vs
