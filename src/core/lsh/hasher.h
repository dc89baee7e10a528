// Hashing rows and queries under a Layout: a row's bucket in every table and its sketch (what a
// build or an insert writes), a query's alternatives per function and their probabilities (what
// multiprobe reads), and fit_layout, which sets a layout's data-dependent constants from a sample
// of rows. A bucket is the tuple of its functions' values, numbered in mixed radix (function 0
// least significant); the tuple is not hashed modulo a bucket count, so that buckets never merge
// and the probability model stays exact (empty buckets cost a directory slot, no page).
#pragma once

#include <algorithm>
#include <cmath>

#include "core/index/memory.h"
#include "core/lsh/family.h"
#include "core/lsh/sketch.h"

namespace vs::lsh {

class Hasher {
  public:
    // The hasher keeps what it derives from layout (the sketch's offsets, the rotations' blocks):
    // layout must not change while it is in use.
    void init(const Layout *layout, const Allocator *allocator) noexcept {
        layout_ = layout;
        prepared_ = allocator->array<float>(layout->input_padded);
        rotated_ = allocator->array<float>(layout->padded);
        const int functions = layout->tables * layout->functions;
        projections_ = allocator->array<float>(functions);
        offsets_ = allocator->array<float>(std::size_t(layout->sketch_bits));
        for (int bit = 0; bit < layout->sketch_bits; bit++) offsets_[bit] = sketch_offset(*layout, bit);
        // Cross-polytope functions look at disjoint blocks of coordinates of as few rotations as
        // hold them all, as sliced functions do: orthogonal directions of one rotation hash
        // nearly independently, and a row then costs one rotation for eight tables, not eight.
        block_rotation_ = allocator->array<int>(functions);
        block_offset_ = allocator->array<std::uint32_t>(functions);
        int rotation = 0;
        std::uint32_t used = 0;
        for (int f = 0; f < functions; f++) {
            const std::uint32_t coordinates = std::uint32_t(layout->vertices[f % layout->functions] / 2);
            if (used + coordinates > layout->padded) rotation++, used = 0;
            block_rotation_[f] = rotation;
            block_offset_[f] = used;
            used += coordinates;
        }
    }
    void release(const Allocator *allocator) noexcept {
        allocator->free(prepared_);
        allocator->free(rotated_);
        allocator->free(projections_);
        allocator->free(block_rotation_);
        allocator->free(block_offset_);
        allocator->free(offsets_);
    }
    const Layout &layout() const noexcept { return *layout_; }

    // Makes x the vector the other calls hash; false when it has nothing to hash (see
    // prepare_vector). clamped() says whether an inner-product row was beyond lift_norm.
    bool load(const float *x, bool query) noexcept {
        if (!prepare_vector(*layout_, x, query, prepared_, &clamped_)) return false;
        if (layout_->reduced()) {
            std::fill(prepared_ + layout_->hashed_dims, prepared_ + layout_->input_padded, 0.0f);
            subsampled_hadamard(derive_seed(layout_->seed, SeedPurpose::Reduction, 0), prepared_, layout_->input_padded,
                                layout_->padded);
        }
        if (layout_->centred)
            for (std::uint32_t i = 0; i < layout_->rotated_dims(); i++) prepared_[i] -= layout_->center[i];
        rotated_for_ = -1;
        if (layout_->family == Family::Sliced) compute_projections();
        return true;
    }
    bool clamped() const noexcept { return clamped_; }
    // The loaded vector as the rotations take it (rotated_dims floats).
    const float *prepared() const noexcept { return prepared_; }

    std::uint32_t bucket(int table) noexcept {
        std::uint32_t bucket = 0, radix = 1;
        for (int j = 0; j < layout_->functions; j++) {
            bucket += radix * std::uint32_t(value(table, j));
            radix *= std::uint32_t(layout_->values(j));
        }
        return bucket;
    }

    // The bucket of the tuple of alternatives chosen[j] (indices into each function's sorted list).
    std::uint32_t bucket_of(const Alternative *const *alternatives, const std::uint16_t *chosen) const noexcept {
        std::uint32_t bucket = 0, radix = 1;
        for (int j = 0; j < layout_->functions; j++) {
            bucket += radix * alternatives[j][chosen[j]].value;
            radix *= std::uint32_t(layout_->values(j));
        }
        return bucket;
    }

    void sketch_into(std::uint64_t *out) noexcept {
        sketch(*layout_, prepared_, out, rotated_, offsets_);
        rotated_for_ = -1;
    }

    // Function j of table's values, sorted by their Delta for the loaded query (values(j) of them).
    void alternatives(int table, int j, Alternative *out) noexcept {
        if (layout_->family == Family::Sliced)
            sliced_alternatives(projection(table, j), layout_->cuts[table][j], layout_->slots, out);
        else
            cross_polytope_alternatives(rotation(table, j), layout_->vertices[j], out);
    }

    // The chance of each of those alternatives for a neighbour at distance (an angle for the
    // cross-polytope, an L2 distance for slices).
    void probabilities(int table, int j, const Alternative *alternatives, double distance, double gamma,
                       float *out) noexcept {
        if (layout_->family == Family::Sliced)
            sliced_probabilities(projection(table, j), layout_->cuts[table][j], layout_->slots, alternatives, distance,
                                 gamma, out);
        else
            cross_polytope_probabilities(rotation(table, j), layout_->vertices[j], alternatives, distance,
                                         layout_->padded, gamma, out);
    }

    // z = sqrt(d') (R x)_j of sliced function j of table.
    float projection(int table, int j) const noexcept { return projections_[table * layout_->functions + j]; }

  private:
    int value(int table, int j) noexcept {
        if (layout_->family == Family::Sliced)
            return sliced_slot(projection(table, j), layout_->cuts[table][j], layout_->slots);
        return cross_polytope_vertex(rotation(table, j), layout_->vertices[j]);
    }

    // The coordinates cross-polytope function j of table looks at, of the loaded vector rotated.
    const float *rotation(int table, int j) noexcept {
        const int f = table * layout_->functions + j, number = block_rotation_[f];
        if (rotated_for_ != number) {
            rotate(derive_seed(layout_->seed, SeedPurpose::BucketRotation, std::uint64_t(number)), prepared_,
                   layout_->rotated_dims(), layout_->padded, rotated_);
            rotated_for_ = number;
        }
        return rotated_ + block_offset_[f];
    }

    // Sliced functions are consecutive coordinates of as few rotations as hold them all.
    void compute_projections() noexcept {
        const int padded = int(layout_->padded), total = layout_->tables * layout_->functions;
        const float scale = std::sqrt(float(padded));
        for (int f = 0; f < total; f++) {
            if (f % padded == 0)
                rotate(derive_seed(layout_->seed, SeedPurpose::BucketRotation, std::uint64_t(f / padded)), prepared_,
                       layout_->rotated_dims(), layout_->padded, rotated_);
            projections_[f] = scale * rotated_[f % padded];
        }
        rotated_for_ = -1;
    }

    const Layout *layout_;
    float *prepared_;
    float *rotated_;
    float *projections_;
    float *offsets_;                // of the periodic sketch's bits
    int *block_rotation_;           // per (table, function): the rotation it looks at
    std::uint32_t *block_offset_;   // and where its coordinates start
    int rotated_for_;
    bool clamped_;
};

// Sets layout's data-dependent constants from n sample rows (row-major, layout.dims each), drawn
// from a table designed for design_rows rows: the cross-polytope's center (params.h), the
// inner-product lift's M (1.05 x the largest norm, so that rows a little beyond the sample still
// lift exactly), the sliced cut points (the
// sample's i/c quantiles of each projection, so slots hold equal shares), and the L2 sketch
// width: four times r10, the median distance of up to 100 sample rows to their neighbour of rank
// ceil(10 m / design_rows) among the m sample rows (the 10th neighbour, scaled to the table). A
// bit's flip probability grows in proportion to the distance only up to about the width and is
// a coin toss beyond, and the rows a scan must tell from the neighbours lie a few times farther:
// with 256 bits on Fashion-MNIST, 95% of the true 10 nearest rank within the first 95 rows by
// Hamming distance at 4 r10, 92 at 3 r10, 3,400 at 2 r10 and 17,700 (of 20,000) at r10; seed
// (512 bits) needs 323, 209 and 342 at 4, 3 and 2 r10. Too narrow fails sharply, too wide mildly.
inline void fit_layout(Layout &layout, const float *sample, std::size_t n, double design_rows, const Allocator *allocator,
                       DistanceFn l2_squared) noexcept {
    const std::size_t dims = layout.dims;
    if (layout.metric == Metric::InnerProduct) {
        double largest = 0;
        for (std::size_t r = 0; r < n; r++) {
            double squared = 0;
            for (std::size_t i = 0; i < dims; i++) squared += double(sample[r * dims + i]) * sample[r * dims + i];
            largest = std::max(largest, squared);
        }
        layout.lift_norm = largest > 0 ? float(1.05 * std::sqrt(largest)) : 1.0f;
    }
    if (n == 0) return;
    Hasher hasher;
    // Cosine only: the inner-product lift's query (q / |q|, 0) is not among the rows it lifts,
    // and hashed around their mean its top rows scatter (on 3-d rows, a fifth of the table
    // re-ranked for recall 0.9, against a twentieth uncentred).
    if (layout.metric == Metric::Cosine) {
        const std::uint32_t width = layout.rotated_dims();
        double *sum = allocator->array<double>(width);
        std::fill(sum, sum + width, 0.0);
        std::size_t loaded = 0;
        layout.centred = false;
        hasher.init(&layout, allocator);
        for (std::size_t r = 0; r < n; r++) {
            if (!hasher.load(sample + r * dims, false)) continue;
            for (std::uint32_t i = 0; i < width; i++) sum[i] += hasher.prepared()[i];
            loaded++;
        }
        hasher.release(allocator);
        for (std::uint32_t i = 0; i < width; i++) layout.center[i] = loaded ? float(sum[i] / double(loaded)) : 0.0f;
        layout.centred = loaded > 0;
        allocator->free(sum);
    }
    if (layout.family != Family::Sliced) return;

    float *values = allocator->array<float>(n * layout.tables * layout.functions);
    for (int t = 0; t < layout.tables; t++)
        for (int j = 0; j < layout.functions; j++)
            for (int s = 0; s + 1 < layout.slots; s++) layout.cuts[t][j][s] = 0;
    hasher.init(&layout, allocator);
    for (std::size_t r = 0; r < n; r++) {
        hasher.load(sample + r * dims, false);
        for (int f = 0; f < layout.tables * layout.functions; f++) values[f * n + r] = hasher.projection(f / layout.functions, f % layout.functions);
    }
    hasher.release(allocator);
    for (int f = 0; f < layout.tables * layout.functions; f++) {
        float *column = values + f * n;
        std::sort(column, column + n);
        for (int s = 1; s < layout.slots; s++)
            layout.cuts[f / layout.functions][f % layout.functions][s - 1] = column[std::min(n - 1, n * s / layout.slots)];
    }
    allocator->free(values);

    const std::size_t queries = std::min<std::size_t>(n, 100);
    std::size_t rank = std::size_t(std::ceil(10.0 * double(n) / std::max(design_rows, double(n))));
    rank = std::max<std::size_t>(1, std::min(rank, n > 1 ? n - 1 : 1));
    float *distances = allocator->array<float>(n);
    float *neighbour = allocator->array<float>(queries);
    std::size_t found = 0;
    for (std::size_t q = 0; q < queries && n > 1; q++) {
        std::size_t others = 0;
        for (std::size_t r = 0; r < n; r++)
            if (r != q) distances[others++] = l2_squared(sample + q * dims, sample + r * dims, dims);
        std::nth_element(distances, distances + (rank - 1), distances + others);
        neighbour[found++] = std::sqrt(distances[rank - 1]);
    }
    if (found) {
        std::nth_element(neighbour, neighbour + found / 2, neighbour + found);
        layout.sketch_width = neighbour[found / 2] > 0 ? 4 * neighbour[found / 2] : 1.0f;
    }
    allocator->free(distances);
    allocator->free(neighbour);
}

}  // namespace vs::lsh
