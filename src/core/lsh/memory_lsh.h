// An lsh index held in memory: the Store of search.h over growable arrays, used by the unit
// tests and as the reference the page store must agree with. Rows are numbered densely from 0 in
// insertion order (their Ref); a row with nothing to hash (zero under cosine) is not indexed.
// It keeps each row's vector (unit length under cosine) for the exact re-rank, which the
// on-disk index leaves in the heap; each bucket holds refs and sketches side by side, as a
// bucket page does.
#pragma once

#include <algorithm>
#include <cstring>

#include "core/lsh/hasher.h"

namespace vs::lsh {

class MemoryLsh {
  public:
    void init(const Layout *layout, const Allocator *allocator, DistanceFn distance) noexcept {
        layout_ = layout;
        allocator_ = allocator;
        distance_ = distance;
        hasher_.init(layout, allocator);
        words_ = layout->sketch_words();
        buckets_ = allocator->array<Bucket>(std::size_t(layout->tables) * layout->buckets);
        std::memset(static_cast<void *>(buckets_), 0, sizeof(Bucket) * layout->tables * layout->buckets);
        rows_ = capacity_ = clamped_ = 0;
        vectors_ = nullptr;
        reserve(1024);
        sketch_ = allocator->array<std::uint64_t>(words_);
        unit_query_ = allocator->array<float>(layout->dims);
    }

    std::size_t size() const noexcept { return rows_; }
    std::size_t clamped_rows() const noexcept { return clamped_; }
    const float *vector(Ref ref) const noexcept { return vectors_ + ref * layout_->dims; }

    // Hashes x into every table; returns its ref, or kNoRef when it is not indexed.
    Ref insert(const float *x) noexcept {
        if (!hasher_.load(x, false)) return kNoRef;
        clamped_ += hasher_.clamped();
        if (rows_ == capacity_) reserve(2 * capacity_);
        const Ref ref = rows_++;
        const std::uint32_t dims = layout_->dims;
        float *stored = vectors_ + ref * dims;
        std::memcpy(stored, x, sizeof(float) * dims);
        if (layout_->metric == Metric::Cosine) normalise(stored);
        hasher_.sketch_into(sketch_);
        for (int t = 0; t < layout_->tables; t++)
            append(buckets_[std::size_t(t) * layout_->buckets + hasher_.bucket(t)], ref);
        return ref;
    }

    std::size_t bucket_size(int table, std::uint32_t bucket) const noexcept {
        return buckets_[std::size_t(table) * layout_->buckets + bucket].size;
    }

    template <class Reserve, class Visit>
    void read_bucket(int table, std::uint32_t bucket, Reserve &&reserve, Visit &&visit) noexcept {
        const Bucket &b = buckets_[std::size_t(table) * layout_->buckets + bucket];
        if (b.size == 0) return;
        reserve(int(b.size));
        visit(b.refs, b.sketches, int(b.size));
    }

    void distances(const float *query, const Ref *refs, int n, float *out) noexcept {
        const std::uint32_t dims = layout_->dims;
        if (layout_->metric == Metric::Cosine) {
            std::memcpy(unit_query_, query, sizeof(float) * dims);
            normalise(unit_query_);
            query = unit_query_;
        }
        for (int i = 0; i < n; i++) out[i] = distance_(query, vectors_ + refs[i] * dims, dims);
    }

  private:
    void normalise(float *x) const noexcept {
        double squared = 0;
        for (std::uint32_t i = 0; i < layout_->dims; i++) squared += double(x[i]) * x[i];
        for (std::uint32_t i = 0; i < layout_->dims; i++) x[i] = float(x[i] / std::sqrt(squared));
    }

    struct Bucket {
        Ref *refs;
        std::uint64_t *sketches;
        std::size_t size, capacity;
    };

    void append(Bucket &b, Ref ref) noexcept {
        if (b.size == b.capacity) {
            std::size_t capacity = b.capacity ? 2 * b.capacity : 8;
            Ref *refs = allocator_->array<Ref>(capacity);
            std::uint64_t *sketches = allocator_->array<std::uint64_t>(capacity * words_);
            if (b.capacity) {
                std::memcpy(refs, b.refs, sizeof(Ref) * b.size);
                std::memcpy(sketches, b.sketches, sizeof(std::uint64_t) * b.size * words_);
                allocator_->free(b.refs);
                allocator_->free(b.sketches);
            }
            b.refs = refs;
            b.sketches = sketches;
            b.capacity = capacity;
        }
        b.refs[b.size] = ref;
        std::memcpy(b.sketches + b.size * words_, sketch_, sizeof(std::uint64_t) * words_);
        b.size++;
    }

    void reserve(std::size_t capacity) noexcept {
        float *vectors = allocator_->array<float>(capacity * layout_->dims);
        if (vectors_) {
            std::memcpy(vectors, vectors_, sizeof(float) * rows_ * layout_->dims);
            allocator_->free(vectors_);
        }
        vectors_ = vectors;
        capacity_ = capacity;
    }

    const Layout *layout_;
    const Allocator *allocator_;
    DistanceFn distance_;
    Hasher hasher_;
    int words_;
    Bucket *buckets_;
    float *vectors_;
    std::size_t rows_, capacity_, clamped_;
    std::uint64_t *sketch_;
    float *unit_query_;
};

// The layout for n rows (row-major, dims each) under metric with the defaults of params.h, fitted
// on an evenly strided sample of up to 2,000 of them and designed for 1.25 n rows (room for a
// fifth more before the buckets overfill), then all of them inserted.
inline void build_memory_lsh(MemoryLsh &index, Layout &layout, Metric metric, const float *rows, std::size_t n,
                             std::uint32_t dims, std::uint64_t seed, const Allocator *allocator,
                             const Kernels &kernels) noexcept {
    const double design_rows = 1.25 * double(n);
    layout = default_layout(metric, dims, design_rows, seed);
    const std::size_t sample_rows = std::min<std::size_t>(n, 2000);
    float *sample = allocator->array<float>(sample_rows * dims);
    for (std::size_t s = 0; s < sample_rows; s++)
        std::memcpy(sample + s * dims, rows + (s * n / sample_rows) * dims, sizeof(float) * dims);
    fit_layout(layout, sample, sample_rows, design_rows, allocator, kernels.l2_squared);
    allocator->free(sample);
    index.init(&layout, allocator, index_distance(kernels, metric));
    for (std::size_t r = 0; r < n; r++) index.insert(rows + r * dims);
}

}  // namespace vs::lsh
