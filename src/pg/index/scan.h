// Scan plumbing every index access method shares: the search memory a backend keeps from one
// scan to the next, the stream that hands out a scan's results nearest first (re-ranked where
// the search's distances were approximate, and in strict order where the executor relies on
// it), and the counters of what a scan cost, which vectorsearch_last_scan() reports because
// PostgreSQL 15 lets an index access method add nothing to EXPLAIN.
#pragma once

#include "pg/pg.h"

#include <algorithm>
#include <limits>

#include "core/index/memory.h"

extern "C" {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wregister"
#include "executor/instrument.h"
#include "utils/memutils.h"
#pragma GCC diagnostic pop
}

namespace vs::index {

// The search memory (visited set, heaps) of the last scan, kept by the backend for its next
// one: handing it back to malloc at every scan's end costs brk calls and page faults on each
// query. One static slot per access method; zero-initialised, it holds nothing.
class SpareScanMemory {
  public:
    // The root object kept by the last scan, its context moved under the current memory context
    // (the query's, so an error frees it with the rest of the query), or nullptr.
    void *take(MemoryContext *context);
    // Keeps root, allocated in context, for the next scan; deletes it instead when a root is kept
    // already or context has grown past limit bytes (a huge iterative scan gives its memory back).
    void keep(void *root, MemoryContext context, Size limit);

  private:
    void *root_;
    MemoryContext context_;
};

// What one scan cost, from its rescan to its end.
struct ScanStats {
    int64 batches;     // searches: the first and each continuation
    int64 visited;     // elements the search reached
    int64 distances;   // distances computed (navigation, re-ranking)
    int64 pages;       // index page accesses, found in shared buffers or not
    int64 pages_read;  // of those, pages not in shared buffers (read from the OS)
    int64 rows;        // rows handed to the executor
};

// Counts the index pages a stretch of a scan's own work accesses, from the buffer usage the
// executor's instrumentation keeps (EXPLAIN BUFFERS reads the same counters). Only the index's
// work runs between start and stop: the executor fetches heap rows between two gettuple calls.
class PageCounter {
  public:
    void start() { before_ = pgBufferUsage; }
    void stop(ScanStats *stats) const;

  private:
    BufferUsage before_;
};

// Makes stats the last scan's, for vectorsearch_last_scan(); called when a scan ends or is
// rescanned, so that the inner scan of a nested loop reports its last pass.
void publish_scan_stats(Oid index, const ScanStats &stats);

// A scan's results, batch after batch, handed out nearest first within each batch. In strict
// order a row nearer than one already returned is left out: a later batch of an approximate
// search can find rows nearer than the end of an earlier one, and the executor takes the index's
// order as the ORDER BY's.
class ResultStream {
  public:
    void reset(bool strict) {
        results_ = nullptr;
        count_ = next_ = 0;
        strict_ = strict;
        last_distance_ = -std::numeric_limits<float>::infinity();
    }
    // A new batch, sorted nearest first; the stream does not copy it.
    void set_batch(Candidate *results, int count) {
        results_ = results;
        count_ = count;
        next_ = 0;
    }
    // Replaces each distance of the batch by exact(&candidate), which returns false to drop the
    // candidate (its row went, or its search distance was not exact), and sorts the batch again
    // if anything changed: rows must come in the order of the SQL operator's distances.
    template <class Exact>
    void rerank(Exact exact) {
        bool changed = false;
        int kept = 0;
        for (int i = 0; i < count_; i++) {
            Candidate c = results_[i];
            if (!exact(&c)) continue;
            changed |= c.distance != results_[i].distance || kept != i;
            results_[kept++] = c;
        }
        count_ = kept;
        // Insertion sort, stable and in place: the batch was sorted and its distances changed
        // in the last bits at most, and std::stable_sort would take a buffer from malloc.
        if (changed)
            for (int i = 1; i < kept; i++)
                for (int j = i; j > 0 && results_[j].distance < results_[j - 1].distance; j--)
                    std::swap(results_[j], results_[j - 1]);
    }
    // The next candidate of the batch, or false when it is spent.
    bool next(Candidate *out) {
        while (next_ < count_) {
            Candidate c = results_[next_++];
            if (strict_ && c.distance < last_distance_) continue;
            *out = c;
            return true;
        }
        return false;
    }
    // c, from next(), goes to the executor (a candidate whose row is gone does not).
    void returned(const Candidate &c, ScanStats *stats) {
        last_distance_ = c.distance;
        stats->rows++;
    }

  private:
    Candidate *results_;
    int count_;
    int next_;
    bool strict_;
    float last_distance_;
};

// All of it lives in palloc'd scan state across calls that may ereport.
static_assert(std::is_trivially_destructible_v<SpareScanMemory>);
static_assert(std::is_trivially_destructible_v<ScanStats>);
static_assert(std::is_trivially_destructible_v<PageCounter>);
static_assert(std::is_trivially_destructible_v<ResultStream>);

}  // namespace vs::index
