// Kernels over bit strings (PostgreSQL's bit type, whose bytes hold the first bit in the most
// significant place): Hamming distance and the counts of Jaccard distance, one variant per
// instruction set as in distance.h. Bit order within a byte does not matter to either, so the
// bytes are read as whole words.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/kernels/distance.h"

namespace vs {

struct JaccardCounts {
    std::uint64_t both;    // bits set in a and in b
    std::uint64_t either;  // bits set in a or in b
};

using BitDistanceFn = float (*)(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept;

struct BitKernels {
    Isa isa;
    std::uint64_t (*hamming)(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept;
    JaccardCounts (*jaccard_counts)(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept;
    // The same as the float distances an index orders by (exact: counts below 2^24 bits).
    BitDistanceFn hamming_distance;
    BitDistanceFn jaccard_distance;
};

// The scalar tier counts with the compiler's portable popcount; the AVX2 and AVX-512 tiers with
// the POPCNT instruction, which every CPU of either has.
BitKernels select_bit_kernels(Isa isa) noexcept;

// 1 - |a and b| / |a or b|; 1 where neither has a bit set, as pgvector defines it.
inline double jaccard_distance(const JaccardCounts &c) noexcept {
    return c.both == 0 ? 1.0 : 1.0 - double(c.both) / double(c.either);
}

}  // namespace vs
