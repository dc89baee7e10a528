// Memory the caller hands the core, and the two growable containers the graph search needs.
// Nothing here has a destructor: PostgreSQL may longjmp through these frames, and frees the
// memory by deleting the context it came from.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace vs {

// allocate never returns null: it reports failure its own way (ereport in PostgreSQL).
struct Allocator {
    void *(*allocate)(void *context, std::size_t bytes) noexcept;
    void (*release)(void *context, void *block) noexcept;
    void *context;

    template <typename T>
    T *array(std::size_t n) const noexcept {
        return static_cast<T *>(allocate(context, sizeof(T) * (n ? n : 1)));
    }
    void free(void *block) const noexcept { release(context, block); }
};

// An element of a store, opaque to the algorithms: an array index in memory, a packed page
// address in PostgreSQL.
using Ref = std::uint64_t;
constexpr Ref kNoRef = ~Ref(0);

struct Candidate {
    float distance;
    Ref ref;
};

// A binary heap of candidates: the farthest on top (kFarthestFirst) keeps the best ef found so
// far, the nearest on top orders the frontier still to expand.
template <bool kFarthestFirst>
class CandidateHeap {
  public:
    void init(const Allocator *allocator, std::size_t capacity) noexcept {
        allocator_ = allocator;
        capacity_ = capacity ? capacity : 1;
        items_ = allocator->array<Candidate>(capacity_);
        size_ = 0;
    }
    std::size_t size() const noexcept { return size_; }
    bool empty() const noexcept { return size_ == 0; }
    const Candidate &top() const noexcept { return items_[0]; }
    void clear() noexcept { size_ = 0; }

    void push(Candidate c) noexcept {
        if (size_ == capacity_) grow();
        std::size_t i = size_++;
        while (i > 0) {
            std::size_t parent = (i - 1) / 2;
            if (!before(c, items_[parent])) break;
            items_[i] = items_[parent];
            i = parent;
        }
        items_[i] = c;
    }

    void pop() noexcept {
        Candidate last = items_[--size_];
        std::size_t i = 0;
        for (;;) {
            std::size_t child = 2 * i + 1;
            if (child >= size_) break;
            if (child + 1 < size_ && before(items_[child + 1], items_[child])) child++;
            if (!before(items_[child], last)) break;
            items_[i] = items_[child];
            i = child;
        }
        items_[i] = last;
    }

    // Empties the heap into out, nearest first; returns the count.
    std::size_t drain_sorted(Candidate *out) noexcept {
        std::size_t n = size_;
        for (std::size_t k = 0; k < n; k++) {
            out[kFarthestFirst ? n - 1 - k : k] = top();
            pop();
        }
        return n;
    }

  private:
    static bool before(const Candidate &a, const Candidate &b) noexcept {
        return kFarthestFirst ? a.distance > b.distance : a.distance < b.distance;
    }
    void grow() noexcept {
        Candidate *bigger = allocator_->array<Candidate>(capacity_ * 2);
        std::memcpy(bigger, items_, sizeof(Candidate) * size_);
        allocator_->free(items_);
        items_ = bigger;
        capacity_ *= 2;
    }

    const Allocator *allocator_;
    Candidate *items_;
    std::size_t size_;
    std::size_t capacity_;
};

// The elements a search has already reached: open addressing over refs, grown at half load.
// It remembers which slots it filled, so that clearing a table that grew large for one wide
// search costs the next narrow one only the slots it used.
class VisitedSet {
  public:
    void init(const Allocator *allocator, std::size_t expected) noexcept {
        allocator_ = allocator;
        std::size_t capacity = 64;
        while (capacity < 2 * expected) capacity *= 2;
        allocate(capacity);
    }
    void clear() noexcept {
        if (size_ * 16 < capacity_) {
            for (std::size_t k = 0; k < size_; k++) slots_[filled_[k]] = kNoRef;
        } else {
            std::memset(static_cast<void *>(slots_), 0xff, sizeof(Ref) * capacity_);
        }
        size_ = 0;
    }
    bool contains(Ref ref) const noexcept {
        for (std::size_t i = hash(ref) & (capacity_ - 1);; i = (i + 1) & (capacity_ - 1)) {
            if (slots_[i] == ref) return true;
            if (slots_[i] == kNoRef) return false;
        }
    }
    std::size_t size() const noexcept { return size_; }
    // Makes room for n more refs, so that inserting them allocates nothing.
    void reserve(std::size_t n) noexcept {
        while (2 * (size_ + n) > capacity_) grow();
    }
    // True when ref was not in the set before.
    bool insert(Ref ref) noexcept {
        if (2 * (size_ + 1) > capacity_) grow();
        for (std::size_t i = hash(ref) & (capacity_ - 1);; i = (i + 1) & (capacity_ - 1)) {
            if (slots_[i] == ref) return false;
            if (slots_[i] == kNoRef) {
                slots_[i] = ref;
                filled_[size_++] = std::uint32_t(i);
                return true;
            }
        }
    }

  private:
    static std::size_t hash(Ref ref) noexcept { return std::size_t((ref * 0x9E3779B97F4A7C15ull) >> 17); }
    void allocate(std::size_t capacity) noexcept {
        capacity_ = capacity;
        slots_ = allocator_->array<Ref>(capacity);
        std::memset(static_cast<void *>(slots_), 0xff, sizeof(Ref) * capacity);
        filled_ = allocator_->array<std::uint32_t>(capacity / 2);
        size_ = 0;
    }
    void grow() noexcept {
        Ref *old_slots = slots_;
        std::uint32_t *old_filled = filled_;
        std::size_t old_size = size_;
        allocate(capacity_ * 2);
        for (std::size_t k = 0; k < old_size; k++) insert(old_slots[old_filled[k]]);
        allocator_->free(old_slots);
        allocator_->free(old_filled);
    }

    const Allocator *allocator_;
    Ref *slots_;
    std::uint32_t *filled_;  // the slots in use, in the order they were filled
    std::size_t capacity_;
    std::size_t size_;
};

}  // namespace vs
