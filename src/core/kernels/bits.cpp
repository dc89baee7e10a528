// The bit kernels of bits.h: one body, compiled with and without the POPCNT instruction (the
// build has no -march, and without it __builtin_popcountll is a library call per word).
#include "core/kernels/bits.h"

#include <cstring>

namespace vs {
namespace {

// Word i of a string of `bytes` bytes; the last, partial word zero-padded.
inline std::uint64_t word_at(const std::uint8_t *p, std::size_t i, std::size_t bytes) noexcept {
    std::uint64_t w = 0;
    std::memcpy(&w, p + i, bytes - i >= 8 ? 8 : bytes - i);
    return w;
}

inline std::uint64_t hamming_words(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept {
    std::uint64_t count = 0;
    for (std::size_t i = 0; i < bytes; i += 8) count += __builtin_popcountll(word_at(a, i, bytes) ^ word_at(b, i, bytes));
    return count;
}

inline JaccardCounts jaccard_words(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept {
    JaccardCounts c{0, 0};
    for (std::size_t i = 0; i < bytes; i += 8) {
        std::uint64_t x = word_at(a, i, bytes), y = word_at(b, i, bytes);
        c.both += __builtin_popcountll(x & y);
        c.either += __builtin_popcountll(x | y);
    }
    return c;
}

std::uint64_t hamming_portable(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept {
    return hamming_words(a, b, bytes);
}

JaccardCounts jaccard_counts_portable(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept {
    return jaccard_words(a, b, bytes);
}

#if defined(__x86_64__)
__attribute__((target("popcnt"))) std::uint64_t hamming_popcnt(const std::uint8_t *a, const std::uint8_t *b,
                                                               std::size_t bytes) noexcept {
    return hamming_words(a, b, bytes);
}

__attribute__((target("popcnt"))) JaccardCounts jaccard_counts_popcnt(const std::uint8_t *a, const std::uint8_t *b,
                                                                      std::size_t bytes) noexcept {
    return jaccard_words(a, b, bytes);
}
#endif

using Hamming = std::uint64_t (*)(const std::uint8_t *, const std::uint8_t *, std::size_t) noexcept;
using Jaccard = JaccardCounts (*)(const std::uint8_t *, const std::uint8_t *, std::size_t) noexcept;

template <Hamming count>
float hamming_as_float(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept {
    return float(count(a, b, bytes));
}

template <Jaccard counts>
float jaccard_as_float(const std::uint8_t *a, const std::uint8_t *b, std::size_t bytes) noexcept {
    return float(jaccard_distance(counts(a, b, bytes)));
}

}  // namespace

BitKernels select_bit_kernels(Isa isa) noexcept {
#if defined(__x86_64__)
    if (isa != Isa::Scalar)
        return {isa, hamming_popcnt, jaccard_counts_popcnt, hamming_as_float<hamming_popcnt>,
                jaccard_as_float<jaccard_counts_popcnt>};
#endif
    return {Isa::Scalar, hamming_portable, jaccard_counts_portable, hamming_as_float<hamming_portable>,
            jaccard_as_float<jaccard_counts_portable>};
}

}  // namespace vs
