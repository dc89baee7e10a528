// Sketches: B bits per row, stored beside its heap TID in every bucket, by which a scan ranks
// the entries it reads before re-ranking the best few exactly (design §2.2). A sketch is the
// same in every table. Bit i comes from coordinate i mod d' of sketch rotation i / d' (rows of one
// rotation are orthogonal, hence independent projections).
//
// Angular (cosine, and inner product after the lift): the sign of the coordinate, a hyperplane
// hash (Charikar 2002), so two vectors at angle theta differ in each bit with probability theta/pi
// and Hamming distance / B estimates theta/pi.
//
// L2: a periodic bit, floor((z + u_i) / w) mod 2, with z = sqrt(d') (Rx)_j the Gaussian
// projection and u_i uniform in [0, 2w). A sign bit of an uncentred row says little about L2
// distance; a square wave of period 2w does. For z(x) - z(y) ~ N(0, r^2) the bits differ with the
// mean of a triangle wave: pi_s(r) = 1/2 - (4/pi^2) sum_{m odd} exp(-m^2 pi^2 r^2 / (2 w^2)) / m^2,
// which rises from 0 and saturates at 1/2 around r = w, so w is set to twice the typical
// neighbour distance.
//
// A neighbour's Hamming distance is then Binomial(B, pi_s), from which the model reads the
// chance it survives the cut to the best C candidates.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/lsh/params.h"
#include "core/lsh/rotation.h"

namespace vs::lsh {

// The Hamming distances of n sketches (words words each, one after the other) from query, into
// out: with the popcnt instruction where the CPU has it (chosen once, at the first call; the
// build has no -march, and the portable popcount is a library call per word).
void hamming_many(const std::uint64_t *query, const std::uint64_t *sketches, int n, int words,
                  std::uint16_t *out) noexcept;

inline int hamming(const std::uint64_t *a, const std::uint64_t *b, int words) noexcept {
    int distance = 0;
    for (int w = 0; w < words; w++) distance += __builtin_popcountll(a[w] ^ b[w]);
    return distance;
}

inline float sketch_offset(const Layout &layout, int bit) noexcept {
    std::uint64_t state = derive_seed(layout.seed, SeedPurpose::SketchOffset, std::uint64_t(bit));
    return float(double(splitmix64(state) >> 11) * 0x1.0p-53 * 2 * layout.sketch_width);
}

// The sketch of a prepared vector (see prepare_vector; rotated_dims floats) into out
// (sketch_words words); scratch holds padded floats. offsets (sketch_bits floats, periodic bits
// only) are sketch_offset's values, which a caller hashing many rows computes once.
inline void sketch(const Layout &layout, const float *prepared, std::uint64_t *out, float *scratch,
                   const float *offsets) noexcept {
    const int padded = int(layout.padded), bits = layout.sketch_bits;
    const bool periodic = layout.family == Family::Sliced;
    const float scale = std::sqrt(float(padded)) / layout.sketch_width;
    const float inverse_width = 1.0f / layout.sketch_width;
    for (int w = 0; w < layout.sketch_words(); w++) out[w] = 0;
    for (int start = 0; start < bits; start += padded) {
        rotate(derive_seed(layout.seed, SeedPurpose::SketchRotation, std::uint64_t(start / padded)), prepared,
               layout.rotated_dims(), layout.padded, scratch);
        const int end = std::min(bits, start + padded);
        for (int bit = start; bit < end; bit++) {
            const float coordinate = scratch[bit - start];
            std::uint64_t set;
            if (periodic) {
                // The parity of the period the shifted projection falls in, in float and without
                // a branch (a double floor per bit was most of a 128-dimension build); clamped
                // so that no row, however large, overflows the conversion.
                float v = scale * coordinate + offsets[bit] * inverse_width;
                v = v < -1e9f ? -1e9f : v > 1e9f ? 1e9f : v;
                std::int32_t period = std::int32_t(v);
                period -= float(period) > v;
                set = std::uint64_t(period & 1);
            } else {
                set = coordinate < 0;
            }
            out[bit / 64] |= set << (bit % 64);
        }
    }
}

// The chance that one bit differs for a neighbour at angle theta (angular) or distance r (L2).
inline double angular_bit_flip(double theta) noexcept { return theta / M_PI; }

inline double periodic_bit_flip(double r, double width) noexcept {
    if (!(r > 0)) return 0;
    double sum = 0;
    for (int m = 1; m < 200; m += 2) {
        double term = std::exp(-double(m) * m * M_PI * M_PI * r * r / (2 * width * width)) / (double(m) * m);
        sum += term;
        if (term < 1e-12) break;
    }
    return 0.5 - 4 / (M_PI * M_PI) * sum;
}

// P[Binomial(bits, p) = h].
inline double binomial_pmf(int bits, double p, int h) noexcept {
    if (h < 0 || h > bits) return 0;
    if (p <= 0) return h == 0;
    if (p >= 1) return h == bits;
    return std::exp(std::lgamma(bits + 1.0) - std::lgamma(h + 1.0) - std::lgamma(bits - h + 1.0) + h * std::log(p) +
                    (bits - h) * std::log1p(-p));
}

// The chance that a neighbour with bit-flip probability p is kept by a cut that admits every
// entry under cut_distance and a fraction tie_fraction of those at it.
inline double survival(int bits, double p, int cut_distance, double tie_fraction) noexcept {
    double below = 0;
    for (int h = 0; h < cut_distance && h <= bits; h++) below += binomial_pmf(bits, p, h);
    double kept = below + tie_fraction * binomial_pmf(bits, p, cut_distance);
    return kept > 1 ? 1 : kept;
}

}  // namespace vs::lsh
