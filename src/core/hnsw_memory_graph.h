// An HNSW graph held in arrays: the store an index build fills before writing pages, and the
// one the unit tests check the algorithms on. Elements are numbered densely from 0.
#pragma once

#include <cstdint>

#include "distance.h"
#include "hnsw.h"

namespace vs::hnsw {

class MemoryGraph {
  public:
    // Bytes one element takes, so a caller can size the graph to a memory budget.
    static std::size_t bytes_per_element(int dim, int m) noexcept {
        return sizeof(float) * dim + sizeof(std::uint32_t) * (2 * m + 1) + sizeof(std::uint32_t *) + 1;
    }

    void init(const Allocator *allocator, int dim, std::size_t capacity, int m, DistanceFn distance) noexcept {
        allocator_ = allocator;
        dim_ = dim;
        m_ = m;
        capacity_ = capacity;
        size_ = 0;
        distance_ = distance;
        vectors_ = allocator->array<float>(capacity * dim);
        levels_ = allocator->array<std::uint8_t>(capacity);
        layer0_ = allocator->array<std::uint32_t>(capacity * (2 * m + 1));
        upper_ = allocator->array<std::uint32_t *>(capacity);
        pool_ = allocator->array<Candidate>(2 * m + 1);
        selected_ = allocator->array<Ref>(2 * m + 1);
        entry_ = {kNoRef, -1};
    }

    // Doubles the room for elements, up to limit; returns false when already at limit.
    bool grow(std::size_t limit) noexcept {
        std::size_t capacity = capacity_ * 2 < limit ? capacity_ * 2 : limit;
        if (capacity <= capacity_) return false;
        vectors_ = moved(vectors_, std::size_t(dim_) * size_, std::size_t(dim_) * capacity);
        levels_ = moved(levels_, size_, capacity);
        layer0_ = moved(layer0_, (2 * m_ + 1) * size_, (2 * m_ + 1) * capacity);
        upper_ = moved(upper_, size_, capacity);
        capacity_ = capacity;
        return true;
    }

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }
    int dim() const noexcept { return dim_; }
    EntryPoint entry() const noexcept { return entry_; }
    const float *vector(Ref r) const noexcept { return vectors_ + r * dim_; }
    int level(Ref r) const noexcept { return levels_[r]; }

    // Appends an element with no links yet; the caller checks size() < capacity() first.
    Ref add(const float *vector, int level) noexcept {
        Ref r = size_++;
        std::memcpy(vectors_ + r * dim_, vector, sizeof(float) * dim_);
        levels_[r] = std::uint8_t(level);
        layer0_[r * (2 * m_ + 1)] = 0;
        upper_[r] = nullptr;
        if (level > 0) {
            upper_[r] = allocator_->array<std::uint32_t>(std::size_t(level) * (m_ + 1));
            for (int l = 1; l <= level; l++) upper_[r][(l - 1) * (m_ + 1)] = 0;
        }
        return r;
    }

    // Links r into the graph with the core's insert; returns nothing, the entry point follows.
    void link(Ref r, int ef_construction, Workspace &ws) noexcept {
        query_ = vector(r);
        if (insert(*this, r, level(r), entry_, m_, ef_construction, ws)) entry_ = {r, level(r)};
    }

    void set_query(const float *query) noexcept { query_ = query; }

    // The Store interface of hnsw.h.
    float distance_to_query(Ref r) const noexcept { return distance_(query_, vector(r), dim_); }
    void distances_to_query(const Ref *refs, int n, float *out) const noexcept {
        for (int i = 0; i < n; i++) {
            if (i + 1 < n) __builtin_prefetch(vector(refs[i + 1]));
            out[i] = distance_(query_, vector(refs[i]), dim_);
        }
    }
    float distance(Ref a, Ref b) const noexcept { return distance_(vector(a), vector(b), dim_); }
    int neighbors(Ref r, int layer, Ref *out) const noexcept {
        const std::uint32_t *list = links(r, layer);
        for (std::uint32_t i = 0; i < list[0]; i++) out[i] = list[i + 1];
        return int(list[0]);
    }
    void set_neighbors(Ref r, int layer, const Ref *list, int n) noexcept {
        std::uint32_t *dest = links(r, layer);
        dest[0] = std::uint32_t(n);
        for (int i = 0; i < n; i++) dest[i + 1] = std::uint32_t(list[i]);
    }
    void add_neighbor(Ref r, int layer, Ref new_ref, float d) noexcept {
        Ref current[2 * kMaxM + 1];
        int count = neighbors(r, layer, current);
        int n = updated_neighbors(*this, r, current, count, new_ref, d, max_degree(m_, layer), pool_, selected_);
        set_neighbors(r, layer, selected_, n);
    }

  private:
    template <typename T>
    T *moved(T *old, std::size_t used, std::size_t capacity) noexcept {
        T *bigger = allocator_->array<T>(capacity);
        std::memcpy(static_cast<void *>(bigger), old, sizeof(T) * used);
        allocator_->free(old);
        return bigger;
    }

    std::uint32_t *links(Ref r, int layer) const noexcept {
        if (layer == 0) return layer0_ + r * (2 * m_ + 1);
        return upper_[r] + std::size_t(layer - 1) * (m_ + 1);
    }

    const Allocator *allocator_;
    int dim_;
    int m_;
    std::size_t capacity_;
    std::size_t size_;
    DistanceFn distance_;
    const float *query_;
    float *vectors_;
    std::uint8_t *levels_;
    std::uint32_t *layer0_;  // per element: count, then up to 2m links
    std::uint32_t **upper_;  // per element with level > 0: (count, m links) for layers 1..level
    Candidate *pool_;
    Ref *selected_;
    EntryPoint entry_;
};

// The k nearest of the graph's elements to query (an approximate answer): greedy descent through
// the upper layers, then a beam of width ef on layer 0. Writes up to k results nearest first.
inline int search(MemoryGraph &graph, const float *query, int k, int ef, Workspace &ws, Candidate *out) noexcept {
    EntryPoint entry = graph.entry();
    if (entry.ref == kNoRef) return 0;
    graph.set_query(query);
    Candidate current{graph.distance_to_query(entry.ref), entry.ref};
    for (int layer = entry.level; layer > 0; layer--) current = greedy_search(graph, current, layer, ws);
    ws.reserve(ef < k ? k : ef);
    int found = search_layer(graph, &current, 1, ef < k ? k : ef, 0, ws);
    int n = found < k ? found : k;
    std::memcpy(out, ws.sorted, sizeof(Candidate) * n);
    return n;
}

}  // namespace vs::hnsw
