// The Hamming kernel of sketch.h, compiled twice: for CPUs with the popcnt instruction and
// portably.
#include "core/lsh/sketch.h"

namespace vs::lsh {

namespace {

template <int kWords>
inline int distance(const std::uint64_t *a, const std::uint64_t *b, int words) noexcept {
    int d = 0;
    const int n = kWords > 0 ? kWords : words;
    for (int w = 0; w < n; w++) d += __builtin_popcountll(a[w] ^ b[w]);
    return d;
}

// The usual widths (256 and 512 bits) get loops the compiler unrolls.
template <int kWords>
inline void many(const std::uint64_t *query, const std::uint64_t *sketches, int n, int words,
                 std::uint16_t *out) noexcept {
    for (int i = 0; i < n; i++) out[i] = std::uint16_t(distance<kWords>(query, sketches + std::size_t(i) * words, words));
}

inline void dispatch_width(const std::uint64_t *query, const std::uint64_t *sketches, int n, int words,
                           std::uint16_t *out) noexcept {
    switch (words) {
        case 4: many<4>(query, sketches, n, words, out); break;
        case 8: many<8>(query, sketches, n, words, out); break;
        default: many<0>(query, sketches, n, words, out); break;
    }
}

__attribute__((target("popcnt"))) void hamming_popcnt(const std::uint64_t *query, const std::uint64_t *sketches,
                                                      int n, int words, std::uint16_t *out) noexcept {
    dispatch_width(query, sketches, n, words, out);
}

void hamming_portable(const std::uint64_t *query, const std::uint64_t *sketches, int n, int words,
                      std::uint16_t *out) noexcept {
    dispatch_width(query, sketches, n, words, out);
}

using HammingMany = void (*)(const std::uint64_t *, const std::uint64_t *, int, int, std::uint16_t *) noexcept;

}  // namespace

void hamming_many(const std::uint64_t *query, const std::uint64_t *sketches, int n, int words,
                  std::uint16_t *out) noexcept {
    static const HammingMany kernel = __builtin_cpu_supports("popcnt") ? hamming_popcnt : hamming_portable;
    kernel(query, sketches, n, words, out);
}

}  // namespace vs::lsh
