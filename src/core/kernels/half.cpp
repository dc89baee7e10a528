// Half-precision conversions in portable code, and the scalar, AVX2+F16C and AVX-512 distance
// kernels over halves. The vector kernels widen eight or sixteen halves at a time with
// VCVTPH2PS (exact), so each variant computes what the scalar loop would over the same floats,
// up to the order of its sums.
#include "core/kernels/half.h"

#include <cmath>
#include <cstring>

#include "core/kernels/x86.h"

namespace vs {

float half_to_float(Half h) noexcept {
    std::uint32_t sign = std::uint32_t(h & 0x8000) << 16;
    std::uint32_t exponent = (h >> 10) & 0x1f;
    std::uint32_t mantissa = h & 0x3ff;
    std::uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000 | (mantissa << 13);  // infinity, or NaN with its payload
    } else if (exponent == 0) {
        float magnitude = float(mantissa) * 0x1p-24f;  // zero or subnormal: mantissa units of 2^-24
        return sign ? -magnitude : magnitude;
    } else {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);  // rebias 15 -> 127
    }
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    return f;
}

// Keeps the bits of the result above `shift` of `significand`, rounded to nearest, ties to even.
static std::uint32_t round_shift(std::uint32_t significand, int shift) noexcept {
    std::uint32_t kept = significand >> shift;
    std::uint32_t rest = significand & ((1u << shift) - 1);
    std::uint32_t halfway = 1u << (shift - 1);
    return kept + (rest > halfway || (rest == halfway && (kept & 1)));
}

Half float_to_half(float f) noexcept {
    std::uint32_t bits;
    std::memcpy(&bits, &f, sizeof(bits));
    Half sign = Half((bits >> 16) & 0x8000);
    std::uint32_t magnitude = bits & 0x7fffffff;
    if (magnitude >= 0x7f800000)  // infinity, or NaN made quiet
        return sign | 0x7c00 | (magnitude > 0x7f800000 ? 0x200 | ((magnitude >> 13) & 0x3ff) : 0);
    if (magnitude >= 0x477ff000) return sign | 0x7c00;  // 65520 and above round past 65504
    if (magnitude <= 0x33000000) return sign;           // up to 2^-25, half the smallest subnormal
    if (magnitude < 0x38800000) {                       // below 2^-14: a subnormal half
        int exponent = int(magnitude >> 23);
        return sign | Half(round_shift((magnitude & 0x7fffff) | 0x800000, 126 - exponent));
    }
    // A normal half; a carry out of the mantissa rightly raises the exponent.
    return sign | Half(round_shift(magnitude - 0x38000000, 13));
}

namespace {

float l2_squared_scalar(const Half *a, const Half *b, std::size_t n) noexcept {
    float s[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) {
            float d = half_to_float(a[i + j]) - half_to_float(b[i + j]);
            s[j] += d * d;
        }
    for (; i < n; i++) {
        float d = half_to_float(a[i]) - half_to_float(b[i]);
        s[0] += d * d;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

float inner_product_scalar(const Half *a, const Half *b, std::size_t n) noexcept {
    float s[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += half_to_float(a[i + j]) * half_to_float(b[i + j]);
    for (; i < n; i++) s[0] += half_to_float(a[i]) * half_to_float(b[i]);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

float l1_scalar(const Half *a, const Half *b, std::size_t n) noexcept {
    float s[4] = {0, 0, 0, 0};
    std::size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) s[j] += std::fabs(half_to_float(a[i + j]) - half_to_float(b[i + j]));
    for (; i < n; i++) s[0] += std::fabs(half_to_float(a[i]) - half_to_float(b[i]));
    return (s[0] + s[1]) + (s[2] + s[3]);
}

CosineParts cosine_parts_scalar(const Half *a, const Half *b, std::size_t n) noexcept {
    float dot = 0, norm_a = 0, norm_b = 0;
    for (std::size_t i = 0; i < n; i++) {
        float x = half_to_float(a[i]), y = half_to_float(b[i]);
        dot += x * y;
        norm_a += x * x;
        norm_b += y * y;
    }
    return {dot, norm_a, norm_b};
}

#ifdef VS_X86

#define VS_AVX2_F16C __attribute__((target("avx2,fma,f16c")))

VS_AVX2_F16C inline __m256 load8(const Half *p) noexcept {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
}

VS_AVX2_F16C float l2_squared_avx2(const Half *a, const Half *b, std::size_t n) noexcept {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m256 d0 = _mm256_sub_ps(load8(a + i), load8(b + i));
        __m256 d1 = _mm256_sub_ps(load8(a + i + 8), load8(b + i + 8));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        s1 = _mm256_fmadd_ps(d1, d1, s1);
    }
    if (i + 8 <= n) {
        __m256 d0 = _mm256_sub_ps(load8(a + i), load8(b + i));
        s0 = _mm256_fmadd_ps(d0, d0, s0);
        i += 8;
    }
    float s = x86::hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) {
        float d = half_to_float(a[i]) - half_to_float(b[i]);
        s += d * d;
    }
    return s;
}

VS_AVX2_F16C float inner_product_avx2(const Half *a, const Half *b, std::size_t n) noexcept {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        s0 = _mm256_fmadd_ps(load8(a + i), load8(b + i), s0);
        s1 = _mm256_fmadd_ps(load8(a + i + 8), load8(b + i + 8), s1);
    }
    if (i + 8 <= n) {
        s0 = _mm256_fmadd_ps(load8(a + i), load8(b + i), s0);
        i += 8;
    }
    float s = x86::hsum256(_mm256_add_ps(s0, s1));
    for (; i < n; i++) s += half_to_float(a[i]) * half_to_float(b[i]);
    return s;
}

VS_AVX2_F16C float l1_avx2(const Half *a, const Half *b, std::size_t n) noexcept {
    const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    __m256 s0 = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_add_ps(s0, _mm256_and_ps(_mm256_sub_ps(load8(a + i), load8(b + i)), abs_mask));
    float s = x86::hsum256(s0);
    for (; i < n; i++) s += std::fabs(half_to_float(a[i]) - half_to_float(b[i]));
    return s;
}

VS_AVX2_F16C CosineParts cosine_parts_avx2(const Half *a, const Half *b, std::size_t n) noexcept {
    __m256 dot = _mm256_setzero_ps(), na = _mm256_setzero_ps(), nb = _mm256_setzero_ps();
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 va = load8(a + i), vb = load8(b + i);
        dot = _mm256_fmadd_ps(va, vb, dot);
        na = _mm256_fmadd_ps(va, va, na);
        nb = _mm256_fmadd_ps(vb, vb, nb);
    }
    float dot_sum = x86::hsum256(dot), norm_a = x86::hsum256(na), norm_b = x86::hsum256(nb);
    for (; i < n; i++) {
        float x = half_to_float(a[i]), y = half_to_float(b[i]);
        dot_sum += x * y;
        norm_a += x * x;
        norm_b += y * y;
    }
    return {dot_sum, norm_a, norm_b};
}

VS_AVX2_F16C void narrow_avx2(const float *in, Half *out, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i *>(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) out[i] = float_to_half(in[i]);
}

#define VS_AVX512 __attribute__((target("avx512f")))

// As in distance.cpp: GCC 12's _mm512_reduce_add_ps warns about its own undefined registers.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

VS_AVX512 inline __m512 load16(const Half *p) noexcept {
    return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i *>(p)));
}

// AVX-512F has no masked 16-bit load (that is AVX-512BW), so the last fewer-than-16 halves are
// widened through a zeroed copy: zeros add nothing to any of the sums.
VS_AVX512 inline __m512 load_tail(const Half *p, std::size_t count) noexcept {
    Half padded[16] = {};
    std::memcpy(padded, p, count * sizeof(Half));
    return load16(padded);
}

VS_AVX512 void narrow_avx512(const float *in, Half *out, std::size_t n) noexcept {
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16)
        _mm256_storeu_si256(reinterpret_cast<__m256i *>(out + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(in + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++) out[i] = float_to_half(in[i]);
}

VS_AVX512 float l2_squared_avx512(const Half *a, const Half *b, std::size_t n) noexcept {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 d0 = _mm512_sub_ps(load16(a + i), load16(b + i));
        __m512 d1 = _mm512_sub_ps(load16(a + i + 16), load16(b + i + 16));
        s0 = _mm512_fmadd_ps(d0, d0, s0);
        s1 = _mm512_fmadd_ps(d1, d1, s1);
    }
    for (; i + 16 <= n; i += 16) {
        __m512 d = _mm512_sub_ps(load16(a + i), load16(b + i));
        s0 = _mm512_fmadd_ps(d, d, s0);
    }
    if (i < n) {
        __m512 d = _mm512_sub_ps(load_tail(a + i, n - i), load_tail(b + i, n - i));
        s1 = _mm512_fmadd_ps(d, d, s1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

VS_AVX512 float inner_product_avx512(const Half *a, const Half *b, std::size_t n) noexcept {
    __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm512_fmadd_ps(load16(a + i), load16(b + i), s0);
        s1 = _mm512_fmadd_ps(load16(a + i + 16), load16(b + i + 16), s1);
    }
    for (; i + 16 <= n; i += 16) s0 = _mm512_fmadd_ps(load16(a + i), load16(b + i), s0);
    if (i < n) s1 = _mm512_fmadd_ps(load_tail(a + i, n - i), load_tail(b + i, n - i), s1);
    return _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
}

VS_AVX512 float l1_avx512(const Half *a, const Half *b, std::size_t n) noexcept {
    __m512 s0 = _mm512_setzero_ps();
    std::size_t i = 0;
    for (; i + 16 <= n; i += 16) s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(load16(a + i), load16(b + i))));
    if (i < n)
        s0 = _mm512_add_ps(s0, _mm512_abs_ps(_mm512_sub_ps(load_tail(a + i, n - i), load_tail(b + i, n - i))));
    return _mm512_reduce_add_ps(s0);
}

VS_AVX512 CosineParts cosine_parts_avx512(const Half *a, const Half *b, std::size_t n) noexcept {
    __m512 dot = _mm512_setzero_ps(), na = _mm512_setzero_ps(), nb = _mm512_setzero_ps();
    for (std::size_t i = 0; i < n; i += 16) {
        __m512 va = n - i >= 16 ? load16(a + i) : load_tail(a + i, n - i);
        __m512 vb = n - i >= 16 ? load16(b + i) : load_tail(b + i, n - i);
        dot = _mm512_fmadd_ps(va, vb, dot);
        na = _mm512_fmadd_ps(va, va, na);
        nb = _mm512_fmadd_ps(vb, vb, nb);
    }
    return {_mm512_reduce_add_ps(dot), _mm512_reduce_add_ps(na), _mm512_reduce_add_ps(nb)};
}

#pragma GCC diagnostic pop

#endif  // VS_X86

void narrow_scalar(const float *in, Half *out, std::size_t n) noexcept {
    for (std::size_t i = 0; i < n; i++) out[i] = float_to_half(in[i]);
}

template <HalfDistanceFn F>
float negated(const Half *a, const Half *b, std::size_t n) noexcept {
    return -F(a, b, n);
}

using HalfCosineParts = CosineParts (*)(const Half *a, const Half *b, std::size_t n) noexcept;

template <HalfCosineParts parts>
float cosine_as_distance(const Half *a, const Half *b, std::size_t n) noexcept {
    return float(cosine_distance(parts(a, b, n)));
}

}  // namespace

HalfKernels select_half_kernels(Isa isa) noexcept {
#ifdef VS_X86
    if (isa == Isa::Avx512)
        return {isa,          l2_squared_avx512,   inner_product_avx512, negated<inner_product_avx512>, l1_avx512,
                cosine_parts_avx512, cosine_as_distance<cosine_parts_avx512>, narrow_avx512};
    if (isa == Isa::Avx2Fma)
        return {isa,          l2_squared_avx2,   inner_product_avx2, negated<inner_product_avx2>, l1_avx2,
                cosine_parts_avx2, cosine_as_distance<cosine_parts_avx2>, narrow_avx2};
#endif
    return {Isa::Scalar,         l2_squared_scalar,   inner_product_scalar, negated<inner_product_scalar>, l1_scalar,
            cosine_parts_scalar, cosine_as_distance<cosine_parts_scalar>, narrow_scalar};
}

}  // namespace vs
