// An HNSW graph held in one block of memory: the store an index build fills before writing
// pages, and the one the unit tests check the algorithms on. Elements are numbered densely from 0.
// It holds vectors of any type of core/index/vector_type.h: MemoryGraph is the one of `vector`.
//
// Everything lives inside the block and refers to other parts by offset, never by pointer, so
// the block may be shared memory mapped at different addresses in several processes: each
// attaches its own MemoryGraph to it and all insert at once (a parallel index build). Every
// neighbour list has a spin lock held only to copy the list in or out; distances are computed
// and memory is allocated outside it, so that an error raised by an allocation (an ereport in
// PostgreSQL, which no destructor sees) never leaves a lock held. The entry point is published
// with a compare-and-swap, not under a lock (see link). Vectors, levels and labels are written
// before the element is linked anywhere, and a reader reaches an element only through a list
// it read under that list's lock, so it sees them complete.
//
//   header | labels (8 B each) | upper-list offsets (8 B) | layer-0 lists ((2m + 1) x 4 B)
//          | levels (1 B) | list locks (1 B) | vectors (vector_bytes(dim)) | pool of upper lists
#pragma once

#include <atomic>
#include <cstdint>
#include <new>
#include <thread>

#include "core/hnsw/hnsw.h"
#include "core/index/vector_type.h"

namespace vs::hnsw {

// A lock for a few dozen instructions of work, usable across processes in shared memory.
class SpinLock {
  public:
    void lock() noexcept {
        while (held_.exchange(1, std::memory_order_acquire)) {
            for (int spins = 0; held_.load(std::memory_order_relaxed); spins++)
                if (spins >= 64) {
                    std::this_thread::yield();  // the holder may have been descheduled
                    spins = 0;
                }
        }
    }
    void unlock() noexcept { held_.store(0, std::memory_order_release); }

  private:
    std::atomic<std::uint8_t> held_{0};
};

template <class VectorType>
class BasicMemoryGraph {
  public:
    using Component = typename VectorType::Component;
    using Kernel = typename VectorType::Kernel;

    // Bytes of a block for capacity elements.
    static std::size_t region_bytes(int dim, int m, std::size_t capacity) noexcept {
        return Layout(dim, m, capacity).total;
    }
    // Bytes one more element adds, so a caller can size the graph to a memory budget.
    static std::size_t bytes_per_element(int dim, int m) noexcept {
        return sizeof(std::uint64_t) * 2 + sizeof(std::uint32_t) * (2 * m + 1) + 2 + vector_bytes<VectorType>(dim) +
               sizeof(std::uint32_t) * pool_words_per_element(m);
    }

    // Lays out an empty graph of capacity elements in region (region_bytes long, 8-byte aligned)
    // and attaches to it. scratch serves this process's own work space.
    void create(void *region, int dim, int m, std::size_t capacity, const Allocator *scratch,
                Kernel distance) noexcept {
        lay_out(region, dim, m, capacity);
        attach(region, scratch, distance);
    }

    // Attaches to a graph that create laid out, possibly in another process.
    void attach(void *region, const Allocator *scratch, Kernel distance) noexcept {
        map(region);
        distance_ = distance;
        scratch_pool_ = scratch->array<Candidate>(2 * m_ + 1);
        scratch_selected_ = scratch->array<Ref>(2 * m_ + 1);
    }

    // Copies the graph into region, laid out anew for a larger capacity, and attaches to it.
    // Only while no other process uses the graph.
    void move_to(void *region, std::size_t capacity) noexcept {
        BasicMemoryGraph old = *this;
        std::size_t n = size();
        lay_out(region, dim_, m_, capacity);
        map(region);
        std::memcpy(labels_, old.labels_, sizeof(std::uint64_t) * n);
        std::memcpy(upper_, old.upper_, sizeof(std::uint64_t) * n);
        std::memcpy(layer0_, old.layer0_, sizeof(std::uint32_t) * (2 * m_ + 1) * n);
        std::memcpy(levels_, old.levels_, n);
        std::memcpy(vectors_, old.vectors_, vector_bytes<VectorType>(dim_) * n);
        std::size_t used = old.header_->pool_used.load();
        std::memcpy(pool_, old.pool_, sizeof(std::uint32_t) * used);
        header_->size.store(n);
        header_->pool_used.store(used);
        header_->entry.store(old.header_->entry.load());
    }

    std::size_t size() const noexcept { return header_->size.load(std::memory_order_acquire); }
    std::size_t capacity() const noexcept { return header_->capacity; }
    int dim() const noexcept { return dim_; }
    EntryPoint entry() const noexcept { return unpack_entry(header_->entry.load(std::memory_order_acquire)); }
    const Component *vector(Ref r) const noexcept { return vectors_ + r * components_; }
    int level(Ref r) const noexcept { return levels_[r]; }
    std::uint64_t label(Ref r) const noexcept { return labels_[r]; }

    // Claims the next element and stores its vector, level and the caller's label for it, with
    // no links yet. Returns kNoRef when the graph is full.
    Ref add(const Component *vector, int level, std::uint64_t label) noexcept {
        std::uint64_t words = std::uint64_t(level) * (m_ + 1);
        std::uint64_t offset = kNoOffset;
        if (words > 0 && !claim(header_->pool_used, header_->pool_words, words, &offset)) return kNoRef;
        std::uint64_t r;
        if (!claim(header_->size, header_->capacity, 1, &r)) return kNoRef;
        std::memcpy(vectors_ + r * components_, vector, vector_bytes<VectorType>(dim_));
        labels_[r] = label;
        levels_[r] = std::uint8_t(level);
        layer0_[r * (2 * m_ + 1)] = 0;
        upper_[r] = offset;
        for (int l = 1; l <= level; l++) pool_[offset + std::size_t(l - 1) * (m_ + 1)] = 0;
        return r;
    }

    // Links r into the graph with the core's insert, then makes it the entry point if it is
    // above the top. No lock is held meanwhile: insert allocates, and in PostgreSQL a failed
    // allocation leaves through ereport, which would leave the lock held and every other
    // participant waiting for it forever.
    //
    // The entry is published with a compare-and-swap against the entry the insert started
    // from. Without it, two inserts that raise the top at once (the first two into an empty
    // graph above all) would each miss the other on the layers above the old top, and the one
    // published first would become unreachable there. When the swap fails, another insert has
    // raised the top meanwhile: r then links, from the new entry, on the layers between the old
    // top and the new one, which it could not find anything on before, and tries again if it
    // is still above. The top only ever rises, so this ends within kMaxLevel rounds. Of the
    // inserts that start from the same entry exactly one publishes; every other one links, on
    // the layers it took for empty, from the entry it lost to, which is there already.
    void link(Ref r, int ef_construction, Workspace &ws) noexcept {
        query_ = vector(r);
        int top = level(r);
        std::uint64_t seen = header_->entry.load(std::memory_order_acquire);
        EntryPoint from = unpack_entry(seen);
        insert(*this, r, top, from, m_, ef_construction, ws);
        while (top > from.level) {
            if (header_->entry.compare_exchange_strong(seen, (r << 8) | std::uint64_t(top), std::memory_order_acq_rel,
                                                       std::memory_order_acquire))
                return;
            UpperLayers above{*this, from.level};
            from = unpack_entry(seen);
            insert(above, r, top, from, m_, ef_construction, ws);
        }
    }

    void set_query(const Component *query) noexcept { query_ = query; }

    // The Store interface of hnsw.h.
    float distance_to_query(Ref r) const noexcept { return distance_(query_, vector(r), components_); }
    void distances_to_query(const Ref *refs, int n, float *out) const noexcept {
        for (int i = 0; i < n; i++) {
            if (i + 1 < n) __builtin_prefetch(vector(refs[i + 1]));
            out[i] = distance_(query_, vector(refs[i]), components_);
        }
    }
    float distance(Ref a, Ref b) const noexcept { return distance_(vector(a), vector(b), components_); }
    bool linkable(Ref) const noexcept { return true; }
    int neighbors(Ref r, int layer, Ref *out) const noexcept {
        const std::uint32_t *list = links(r, layer);
        locks_[r].lock();
        std::uint32_t n = list[0];
        for (std::uint32_t i = 0; i < n; i++) out[i] = list[i + 1];
        locks_[r].unlock();
        return int(n);
    }
    void set_neighbors(Ref r, int layer, const Ref *list, int n) noexcept {
        std::uint32_t *dest = links(r, layer);
        locks_[r].lock();
        write_list(dest, list, n);
        locks_[r].unlock();
    }
    // The new list is chosen outside the lock and written only if the list did not change
    // meanwhile; otherwise chosen again from the newer list.
    void add_neighbor(Ref r, int layer, Ref new_ref, float d) noexcept {
        Ref current[2 * kMaxM + 1];
        std::uint32_t *dest = links(r, layer);
        for (;;) {
            int count = neighbors(r, layer, current);
            int n = updated_neighbors(*this, r, current, count, new_ref, d, max_degree(m_, layer), scratch_pool_,
                                      scratch_selected_);
            locks_[r].lock();
            bool unchanged = dest[0] == std::uint32_t(count);
            for (int i = 0; i < count && unchanged; i++) unchanged = dest[i + 1] == std::uint32_t(current[i]);
            if (unchanged) write_list(dest, scratch_selected_, n);
            locks_[r].unlock();
            if (unchanged) return;
        }
    }

  private:
    static constexpr std::uint64_t kNoEntry = ~std::uint64_t(0);
    static constexpr std::uint64_t kNoOffset = ~std::uint64_t(0);

    struct Header {
        int dim;
        int m;
        std::uint64_t capacity;
        std::uint64_t pool_words;
        std::atomic<std::uint64_t> size{0};
        std::atomic<std::uint64_t> pool_used{0};
        std::atomic<std::uint64_t> entry{kNoEntry};  // ref << 8 | level
    };

    // The graph as seen by an element that is already linked on the layers up to linked: those
    // look empty and take no links, so that the core's insert links it on the layers above only.
    struct UpperLayers {
        BasicMemoryGraph &graph;
        int linked;

        float distance_to_query(Ref r) const noexcept { return graph.distance_to_query(r); }
        void distances_to_query(const Ref *refs, int n, float *out) const noexcept {
            graph.distances_to_query(refs, n, out);
        }
        float distance(Ref a, Ref b) const noexcept { return graph.distance(a, b); }
        bool linkable(Ref r) const noexcept { return graph.linkable(r); }
        int neighbors(Ref r, int layer, Ref *out) const noexcept {
            return layer > linked ? graph.neighbors(r, layer, out) : 0;
        }
        void set_neighbors(Ref r, int layer, const Ref *list, int n) noexcept {
            if (layer > linked) graph.set_neighbors(r, layer, list, n);
        }
        void add_neighbor(Ref r, int layer, Ref new_ref, float d) noexcept {
            if (layer > linked) graph.add_neighbor(r, layer, new_ref, d);
        }
    };

    static EntryPoint unpack_entry(std::uint64_t packed) noexcept {
        if (packed == kNoEntry) return {kNoRef, -1};
        return {packed >> 8, int(packed & 0xff)};
    }

    // Upper lists take (m + 1) words per layer and an element has 1 / (m - 1) upper layers on
    // average: the pool holds twice that, plus room for a few elements of the highest level so
    // that small graphs never run short.
    static std::size_t pool_words_per_element(int m) noexcept { return std::size_t(2 * (m + 1) + m - 2) / (m - 1); }

    struct Layout {
        std::size_t labels, upper, layer0, levels, locks, vectors, pool, pool_words, total;
        Layout(int dim, int m, std::size_t capacity) noexcept {
            auto aligned = [](std::size_t x) { return (x + 63) & ~std::size_t(63); };
            pool_words = capacity * pool_words_per_element(m) + std::size_t(4 * kMaxLevel) * (m + 1);
            labels = aligned(sizeof(Header));
            upper = aligned(labels + sizeof(std::uint64_t) * capacity);
            layer0 = aligned(upper + sizeof(std::uint64_t) * capacity);
            levels = aligned(layer0 + sizeof(std::uint32_t) * (2 * m + 1) * capacity);
            locks = aligned(levels + capacity);
            vectors = aligned(locks + sizeof(SpinLock) * capacity);
            pool = aligned(vectors + vector_bytes<VectorType>(dim) * capacity);
            total = aligned(pool + sizeof(std::uint32_t) * pool_words);
        }
    };

    static void lay_out(void *region, int dim, int m, std::size_t capacity) noexcept {
        Layout layout(dim, m, capacity);
        Header *header = new (region) Header;
        header->dim = dim;
        header->m = m;
        header->capacity = capacity;
        header->pool_words = layout.pool_words;
        SpinLock *locks = reinterpret_cast<SpinLock *>(static_cast<char *>(region) + layout.locks);
        for (std::size_t i = 0; i < capacity; i++) new (&locks[i]) SpinLock;
    }

    void map(void *region) noexcept {
        header_ = static_cast<Header *>(region);
        dim_ = header_->dim;
        components_ = VectorType::components(std::size_t(dim_));
        m_ = header_->m;
        Layout layout(dim_, m_, header_->capacity);
        char *base = static_cast<char *>(region);
        labels_ = reinterpret_cast<std::uint64_t *>(base + layout.labels);
        upper_ = reinterpret_cast<std::uint64_t *>(base + layout.upper);
        layer0_ = reinterpret_cast<std::uint32_t *>(base + layout.layer0);
        levels_ = reinterpret_cast<std::uint8_t *>(base + layout.levels);
        locks_ = reinterpret_cast<SpinLock *>(base + layout.locks);
        vectors_ = reinterpret_cast<Component *>(base + layout.vectors);
        pool_ = reinterpret_cast<std::uint32_t *>(base + layout.pool);
    }

    // Takes n units of a counter bounded by limit; false, taking nothing, when they do not fit.
    static bool claim(std::atomic<std::uint64_t> &counter, std::uint64_t limit, std::uint64_t n,
                      std::uint64_t *first) noexcept {
        std::uint64_t used = counter.load(std::memory_order_relaxed);
        do {
            if (used + n > limit) return false;
        } while (!counter.compare_exchange_weak(used, used + n, std::memory_order_acq_rel));
        *first = used;
        return true;
    }

    static void write_list(std::uint32_t *dest, const Ref *list, int n) noexcept {
        dest[0] = std::uint32_t(n);
        for (int i = 0; i < n; i++) dest[i + 1] = std::uint32_t(list[i]);
    }

    std::uint32_t *links(Ref r, int layer) const noexcept {
        if (layer == 0) return layer0_ + r * (2 * m_ + 1);
        return pool_ + upper_[r] + std::size_t(layer - 1) * (m_ + 1);
    }

    Header *header_;
    int dim_;
    std::size_t components_;  // of one vector
    int m_;
    Kernel distance_;
    const Component *query_;
    std::uint64_t *labels_;
    std::uint64_t *upper_;
    std::uint32_t *layer0_;
    std::uint8_t *levels_;
    SpinLock *locks_;
    Component *vectors_;
    std::uint32_t *pool_;
    Candidate *scratch_pool_;
    Ref *scratch_selected_;
};

// The k nearest of the graph's elements to query (an approximate answer): greedy descent through
// the upper layers, then a beam of width ef on layer 0. Writes up to k results nearest first.
template <class VectorType>
int search(BasicMemoryGraph<VectorType> &graph, const typename VectorType::Component *query, int k, int ef,
           Workspace &ws, Candidate *out) noexcept {
    EntryPoint entry = graph.entry();
    if (entry.ref == kNoRef) return 0;
    graph.set_query(query);
    int found = hnsw::search(graph, entry, ef < k ? k : ef, ws);  // an in-memory graph has no dead ends
    int n = found < k ? found : k;
    std::memcpy(out, ws.sorted, sizeof(Candidate) * n);
    return n;
}

using MemoryGraph = BasicMemoryGraph<FloatVector>;
// The graph of an index build, whose element the operator class names at run time.
using AnyMemoryGraph = BasicMemoryGraph<AnyVector>;

}  // namespace vs::hnsw
