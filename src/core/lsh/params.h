// The layout of an lsh index: which hash family, how many tables, functions, buckets and sketch
// bits, and the data-fitted constants (slot cut points, the inner-product lift's norm, the L2
// sketch width). It is a fixed-size, trivially copyable struct, so that it can live in a params
// page and in shared memory as it is.
//
// Defaults (design §1.3). N_d is the number of rows the layout is designed for, E = 6 + B/8 the
// bytes of one entry (heap TID and sketch), cap = (8160 - 24) / E the entries of one page.
//   B    256 sketch bits; for L2, 512 with d' <= 256 and 768 with d' <= 128, where distances
//        contrast little (seed, 128 dimensions: 30% more queries a second at 768 than at 512,
//        in two tables instead of three, for the same size).
//   L    clamp(0.45 (4d + 200) 0.8 / E, 2, 8) tables: the index's size is budgeted at 0.45 of
//        hnsw's bytes per row (a 4d-byte vector and about 200 bytes of links) at 80% page fill.
//   n_b  ceil(N_d / (1.5 cap)) buckets per table: coarse on purpose, since the sketch ranks the
//        entries of a bucket finely, and fuller buckets mean fewer, fuller pages to read.
//   CP   one cross-polytope over the first ceil(n_b / 2) rotated coordinates while n_b <= 2d';
//        else two, the second over ceil(n_b / (2d')) coordinates.
//   L2   k = 4 sliced projections of c = ceil(n_b^(1/4)) slots each; k = 2 when n_b < 16.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "core/kernels/distance.h"
#include "core/lsh/rotation.h"

namespace vs::lsh {

enum class Family : std::uint8_t { CrossPolytope = 1, Sliced = 2 };

constexpr int kMaxTables = 16;
constexpr int kMaxFunctions = 4;
constexpr int kMaxSlots = 16;
constexpr int kMaxSketchBits = 1024;
// Rows wider than this are first reduced to it by a subsampled Hadamard transform (rotation.h):
// hashing then costs a few 1024-point rotations at any width, and the exact re-rank is unaffected.
constexpr std::uint32_t kMaxHashedDims = 1024;
constexpr int kMaxVertices = 2 * kMaxHashedDims;
constexpr int kPageEntryBytes = 8160 - 24;

struct Layout {
    Metric metric;
    Family family;
    std::uint64_t seed;
    std::uint32_t dims;         // of the column
    std::uint32_t hashed_dims;  // of the vector hashed: dims, or dims + 1 with the inner-product lift
    std::uint32_t input_padded; // hashed_dims rounded up to a power of two
    std::uint32_t padded;       // d': where the hash and sketch rotations work, input_padded
                                // or kMaxHashedDims after the reduction
    int tables;
    int functions;               // per table
    int vertices[kMaxFunctions]; // cross-polytope: 2 x the coordinates function j looks at
    int slots;                   // sliced: slots per function
    std::uint32_t buckets;       // per table: the product of each function's values
    int sketch_bits;
    float sketch_width;          // L2: half the period of the sketch's bits
    float lift_norm;             // inner product: M, the norm that lifts to the unit sphere
    bool centred;                // cosine: center is subtracted before hashing
    union {
        float cuts[kMaxTables][kMaxFunctions][kMaxSlots - 1];  // sliced: ascending slot boundaries
        // Cosine: the mean of the sample's prepared rows (rotated_dims floats). Rows of
        // one sign (pixels) lie in a narrow cone, where every row's largest rotated coordinate
        // is the cone axis's and the sign bits agree: centred, the hash and the sketch see how
        // rows differ, not where the cone points. Distances between rows are unchanged.
        float center[kMaxHashedDims];
    };

    int values(int function) const noexcept { return family == Family::Sliced ? slots : vertices[function]; }
    int sketch_words() const noexcept { return (sketch_bits + 63) / 64; }
    bool reduced() const noexcept { return input_padded > padded; }
    // Floats of the vector the rotations take (zero-padded to padded).
    std::uint32_t rotated_dims() const noexcept { return reduced() ? padded : hashed_dims; }
};

static_assert(std::is_trivially_copyable_v<Layout>, "a layout is stored in a page as it is");
static_assert(sizeof(Layout) < 6144, "a layout fits in a metapage beside its header");

// The sample-independent part of a layout for rows of dims dimensions under metric, designed for
// design_rows rows; a positive tables, buckets or sketch_bits overrides the default.
inline Layout default_layout(Metric metric, std::uint32_t dims, double design_rows, std::uint64_t seed,
                             int tables = 0, std::uint32_t buckets = 0, int sketch_bits = 0) noexcept {
    Layout layout{};
    layout.metric = metric;
    layout.family = metric == Metric::L2 ? Family::Sliced : Family::CrossPolytope;
    layout.seed = seed;
    layout.dims = dims;
    layout.hashed_dims = metric == Metric::InnerProduct ? dims + 1 : dims;
    layout.input_padded = std::uint32_t(padded_dims(layout.hashed_dims));
    layout.padded = std::min(layout.input_padded, kMaxHashedDims);
    const int padded = int(layout.padded);

    int bits = metric != Metric::L2 ? 256 : padded <= 128 ? 768 : padded <= 256 ? 512 : 256;
    layout.sketch_bits = sketch_bits > 0 ? (sketch_bits < kMaxSketchBits ? (sketch_bits + 63) / 64 * 64 : kMaxSketchBits) : bits;
    const double entry_bytes = 6 + layout.sketch_bits / 8.0;
    int default_tables = int(0.45 * (4.0 * dims + 200) * 0.8 / entry_bytes);
    default_tables = default_tables < 2 ? 2 : default_tables > 8 ? 8 : default_tables;
    layout.tables = tables > 0 ? (tables < kMaxTables ? tables : kMaxTables) : default_tables;
    const double page_entries = std::floor(kPageEntryBytes / entry_bytes);
    double wanted = buckets > 0 ? buckets : std::ceil(design_rows / (1.5 * page_entries));
    if (wanted < 2) wanted = 2;

    if (layout.family == Family::CrossPolytope) {
        const double whole = std::min(2.0 * padded, double(kMaxVertices));
        if (wanted <= whole) {
            layout.functions = 1;
            layout.vertices[0] = 2 * int(std::ceil(wanted / 2));
        } else {
            layout.functions = 2;
            layout.vertices[0] = int(whole);
            double last = std::ceil(wanted / whole);
            layout.vertices[1] = 2 * int(std::min(last, whole / 2));
        }
        layout.buckets = 1;
        for (int j = 0; j < layout.functions; j++) layout.buckets *= std::uint32_t(layout.vertices[j]);
    } else {
        layout.functions = wanted < 16 ? 2 : 4;
        int slots = int(std::ceil(std::pow(wanted, 1.0 / layout.functions) - 1e-9));
        layout.slots = slots < 2 ? 2 : slots > kMaxSlots ? kMaxSlots : slots;
        layout.buckets = 1;
        for (int j = 0; j < layout.functions; j++) layout.buckets *= std::uint32_t(layout.slots);
    }
    layout.sketch_width = 1;
    layout.lift_norm = 1;
    return layout;
}

}  // namespace vs::lsh
