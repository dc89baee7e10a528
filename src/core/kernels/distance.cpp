// Scalar, AVX2+FMA and AVX-512 distance kernels, each compiled with its own target attribute so
// the shipped library runs on any x86-64 and still uses the widest unit the CPU has; and the
// double-precision versions that every kernel falls back on where its float sums overflow.
#include "core/kernels/distance.h"

#include <cfloat>
#include <cmath>

#include "core/kernels/x86.h"

namespace vs {
namespace {

using DoubleFn = double (*)(const float *a, const float *b, std::size_t n) noexcept;

// Out of line and cold, so that the kernels' hot path holds only the test and a jump to it.
template <DoubleFn InDouble>
[[gnu::cold, gnu::noinline]] float in_double_clamped(const float *a, const float *b, std::size_t n) noexcept {
    double x = InDouble(a, b, n);
    if (x > FLT_MAX) return FLT_MAX;
    if (x < -FLT_MAX) return -FLT_MAX;
    return float(x);
}

// Every kernel returns through here: the float result, or where it overflowed, the double one.
template <DoubleFn InDouble>
inline float finite_or_double(float fast, const float *a, const float *b, std::size_t n) noexcept {
    if (__builtin_expect(std::isfinite(fast), 1)) return fast;
    return in_double_clamped<InDouble>(a, b, n);
}

// The same for the cosine's parts, whose norms can also underflow: squares below FLT_MIN lose
// precision, and a vector of elements below about 1e-19 gets a zero norm, and so a NaN cosine,
// although it has a direction. Double's range holds the square of any float.
inline CosineParts cosine_parts_or_double(float dot, float norm_a, float norm_b, const float *a, const float *b,
                                          std::size_t n) noexcept {
    bool in_range = std::isfinite(dot) && std::isfinite(norm_a) && std::isfinite(norm_b) && norm_a >= FLT_MIN &&
                    norm_b >= FLT_MIN;
    if (__builtin_expect(in_range, 1)) return {dot, norm_a, norm_b};
    return cosine_parts_double(a, b, n);
}

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
    return finite_or_double<l2_squared_double>((s[0] + s[1]) + (s[2] + s[3]), a, b, n);
}

float inner_product_scalar(const float *a, const float *b, std::size_t n) noexcept {
    float s[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += a[i + j] * b[i + j];
    for (; i < n; i++) s[0] += a[i] * b[i];
    return finite_or_double<inner_product_double>((s[0] + s[1]) + (s[2] + s[3]), a, b, n);
}

float l1_scalar(const float *a, const float *b, std::size_t n) noexcept {
    float s[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += std::fabs(a[i + j] - b[i + j]);
    for (; i < n; i++) s[0] += std::fabs(a[i] - b[i]);
    return finite_or_double<l1_double>((s[0] + s[1]) + (s[2] + s[3]), a, b, n);
}

CosineParts cosine_parts_scalar(const float *a, const float *b, std::size_t n) noexcept {
    float dot = 0, norm_a = 0, norm_b = 0;
    for (std::size_t i = 0; i < n; i++) {
        dot += a[i] * b[i];
        norm_a += a[i] * a[i];
        norm_b += b[i] * b[i];
    }
    return cosine_parts_or_double(dot, norm_a, norm_b, a, b, n);
}

#ifdef VS_X86

#define VS_AVX2 __attribute__((target("avx2,fma")))

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
    float s = x86::hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) {
        float d = a[i] - b[i];
        s += d * d;
    }
    return finite_or_double<l2_squared_double>(s, a, b, n);
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
    float s = x86::hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += a[i] * b[i];
    return finite_or_double<inner_product_double>(s, a, b, n);
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
    float s = x86::hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += std::fabs(a[i] - b[i]);
    return finite_or_double<l1_double>(s, a, b, n);
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
    float dot_sum = x86::hsum256(dot), norm_a = x86::hsum256(na), norm_b = x86::hsum256(nb);
    for (; i < n; i++) {
        dot_sum += a[i] * b[i];
        norm_a += a[i] * a[i];
        norm_b += b[i] * b[i];
    }
    return cosine_parts_or_double(dot_sum, norm_a, norm_b, a, b, n);
}

#define VS_AVX512 __attribute__((target("avx512f")))

// GCC 12's _mm512_reduce_add_ps trips -Wuninitialized on its own _mm256_undefined_pd, and
// -Wmaybe-uninitialized wherever it is inlined, so both stay off through the AVX-512 kernels.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
VS_AVX512 inline float hsum512(__m512 v) noexcept { return _mm512_reduce_add_ps(v); }

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
    return finite_or_double<l2_squared_double>(hsum512(_mm512_add_ps(s0, s1)), a, b, n);
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
    return finite_or_double<inner_product_double>(hsum512(_mm512_add_ps(s0, s1)), a, b, n);
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
    return finite_or_double<l1_double>(hsum512(_mm512_add_ps(s0, s1)), a, b, n);
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
    return cosine_parts_or_double(hsum512(dot), hsum512(na), hsum512(nb), a, b, n);
}

#pragma GCC diagnostic pop

#endif  // VS_X86

template <DistanceFn F>
float negated(const float *a, const float *b, std::size_t n) noexcept {
    return -F(a, b, n);
}

}  // namespace

// One accumulator, in order: the rare path, where plain code is worth more than speed.
double l2_squared_double(const float *a, const float *b, std::size_t n) noexcept {
    double sum = 0;
    for (std::size_t i = 0; i < n; i++) {
        double d = double(a[i]) - double(b[i]);
        sum += d * d;
    }
    return sum;
}

double inner_product_double(const float *a, const float *b, std::size_t n) noexcept {
    double sum = 0;
    for (std::size_t i = 0; i < n; i++) sum += double(a[i]) * double(b[i]);
    return sum;
}

double l1_double(const float *a, const float *b, std::size_t n) noexcept {
    double sum = 0;
    for (std::size_t i = 0; i < n; i++) sum += std::fabs(double(a[i]) - double(b[i]));
    return sum;
}

CosineParts cosine_parts_double(const float *a, const float *b, std::size_t n) noexcept {
    CosineParts p{0, 0, 0};
    for (std::size_t i = 0; i < n; i++) {
        double x = a[i], y = b[i];
        p.dot += x * y;
        p.norm_a += x * x;
        p.norm_b += y * y;
    }
    return p;
}

Isa detect_isa() noexcept {
#ifdef VS_X86
    __builtin_cpu_init();
    // __builtin_cpu_supports also checks that the OS saves the wide registers (XCR0).
    if (__builtin_cpu_supports("avx512f")) return Isa::Avx512;
    // F16C too, for the half kernels of this tier (half.h); every CPU with AVX2 and FMA has it.
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
        return Isa::Avx2Fma;
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
    double similarity = parts.dot / std::sqrt(parts.norm_a * parts.norm_b);
    if (std::isnan(similarity)) return similarity;
    if (similarity > 1) similarity = 1;
    if (similarity < -1) similarity = -1;
    return 1 - similarity;
}

}  // namespace vs
