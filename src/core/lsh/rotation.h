// Pseudo-random rotations by the fast Walsh-Hadamard transform, the building block of every LSH
// hash and sketch (Andoni, Indyk, Laarhoven, Razenshteyn & Schmidt, "Practical and optimal LSH
// for angular distance", 2015; FALCONN).
//
// A vector of d dimensions is zero-padded to d' = 2^ceil(log2 d) and rotated by
// R = (H D2)(H D1) / d', where H is the unnormalised Walsh-Hadamard matrix (H H = d' I, applied
// in place in d' log2 d' additions) and D1, D2 are diagonals of random signs. R is orthogonal, so
// norms and inner products are kept, and each output coordinate behaves like the projection on a
// random direction. Two rounds rather than one because sparse rows (half-zero images, a row with
// one dominant coordinate) leave one round visibly non-random; three buy nothing measurable.
//
// The signs are never stored: they are regenerated from a 64-bit seed by splitmix64, one word per
// 64 signs, which costs less than the transform. Changing this generator changes every index's
// hashes, so the on-disk layout version covers it.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vs::lsh {

constexpr int kRotationRounds = 2;

inline std::uint64_t splitmix64(std::uint64_t &state) noexcept {
    std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

// What a layout draws seeds for; a seed is derived from the index seed, the purpose and a number,
// so that adding draws of one purpose never changes those of another.
enum class SeedPurpose : std::uint64_t { BucketRotation = 1, SketchRotation = 2, SketchOffset = 3, Reduction = 4 };

inline std::uint64_t derive_seed(std::uint64_t seed, SeedPurpose purpose, std::uint64_t number) noexcept {
    std::uint64_t state = seed ^ (std::uint64_t(purpose) * 0xD1B54A32D192ED03ull);
    splitmix64(state);
    state ^= number * 0x8CB92BA72F3D8DD7ull;
    return splitmix64(state);
}

inline std::size_t padded_dims(std::size_t dims) noexcept {
    std::size_t padded = 1;
    while (padded < dims) padded *= 2;
    return padded;
}

// Eight floats as one value of GCC's vector extension: the compiler emits the widest vector
// instructions the build allows (no -march: two SSE2 operations), where its auto-vectoriser at
// -O2 left the butterflies scalar.
typedef float EightFloats __attribute__((vector_size(32)));

// Unnormalised in-place Walsh-Hadamard transform of n = 2^m floats. The first three strides work
// within blocks of 8; from stride 8 on, the butterflies take 8 floats at a time.
inline void walsh_hadamard(float *x, std::size_t n) noexcept {
    std::size_t half = 1;
    if (n >= 8) {
        // The first three stages within each 8 floats, in registers: done in place, each stage
        // stored what the next loaded at once (a third of a 128-dimension build's time).
        for (std::size_t i = 0; i < n; i += 8) {
            const float b0 = x[i] + x[i + 1], b1 = x[i] - x[i + 1], b2 = x[i + 2] + x[i + 3], b3 = x[i + 2] - x[i + 3];
            const float b4 = x[i + 4] + x[i + 5], b5 = x[i + 4] - x[i + 5], b6 = x[i + 6] + x[i + 7],
                        b7 = x[i + 6] - x[i + 7];
            const float c0 = b0 + b2, c1 = b1 + b3, c2 = b0 - b2, c3 = b1 - b3;
            const float c4 = b4 + b6, c5 = b5 + b7, c6 = b4 - b6, c7 = b5 - b7;
            x[i] = c0 + c4, x[i + 1] = c1 + c5, x[i + 2] = c2 + c6, x[i + 3] = c3 + c7;
            x[i + 4] = c0 - c4, x[i + 5] = c1 - c5, x[i + 6] = c2 - c6, x[i + 7] = c3 - c7;
        }
        half = 8;
    }
    for (; half < n && half < 8; half *= 2)
        for (std::size_t block = 0; block < n; block += 2 * half)
            for (std::size_t i = block; i < block + half; i++) {
                float a = x[i], b = x[i + half];
                x[i] = a + b;
                x[i + half] = a - b;
            }
    for (; half < n; half *= 2)
        for (std::size_t block = 0; block < n; block += 2 * half)
            for (std::size_t i = block; i < block + half; i += 8) {
                EightFloats a, b;
                std::memcpy(&a, x + i, sizeof a);
                std::memcpy(&b, x + i + half, sizeof b);
                const EightFloats sum = a + b, difference = a - b;
                std::memcpy(x + i, &sum, sizeof sum);
                std::memcpy(x + i + half, &difference, sizeof difference);
            }
}

// Multiplies n floats by the random signs of state's next words, one bit a float: the bit goes
// into the float's sign bit by XOR, without a branch (a branch per float mispredicts half the
// time, which cost more than the transform).
inline void flip_signs(std::uint64_t &state, float *x, std::size_t n) noexcept {
    for (std::size_t start = 0; start < n; start += 64) {
        const std::uint64_t signs = splitmix64(state);
        const std::size_t end = start + 64 < n ? start + 64 : n;
        for (std::size_t i = start; i < end; i++) {
            std::uint32_t bits;
            std::memcpy(&bits, &x[i], sizeof bits);
            bits ^= std::uint32_t((signs >> (i - start)) & 1) << 31;
            std::memcpy(&x[i], &bits, sizeof bits);
        }
    }
}

// Rotates padded floats in place by the rotation of seed.
inline void rotate_in_place(std::uint64_t seed, float *x, std::size_t padded) noexcept {
    std::uint64_t state = seed;
    for (int round = 0; round < kRotationRounds; round++) {
        flip_signs(state, x, padded);
        walsh_hadamard(x, padded);
    }
    const float scale = 1.0f / float(padded);
    for (std::size_t i = 0; i < padded; i++) x[i] *= scale;
}

// Reduces padded floats in place to their first kept (a power of two, at most padded), by one
// round of H D with the signs of seed, scaled by 1 / sqrt(kept) so that norms and inner products
// are kept in expectation: a subsampled randomized Hadamard transform, a Johnson-Lindenstrauss
// map (Ailon & Chazelle 2006). The rounds of rotate_in_place then run on kept floats, not padded.
inline void subsampled_hadamard(std::uint64_t seed, float *x, std::size_t padded, std::size_t kept) noexcept {
    std::uint64_t state = seed;
    flip_signs(state, x, padded);
    walsh_hadamard(x, padded);
    const float scale = 1.0f / std::sqrt(float(kept));
    for (std::size_t i = 0; i < kept; i++) x[i] *= scale;
}

// out (padded floats) = R_seed (x zero-padded from dims to padded).
inline void rotate(std::uint64_t seed, const float *x, std::size_t dims, std::size_t padded, float *out) noexcept {
    std::memcpy(out, x, sizeof(float) * dims);
    std::memset(out + dims, 0, sizeof(float) * (padded - dims));
    rotate_in_place(seed, out, padded);
}

}  // namespace vs::lsh
