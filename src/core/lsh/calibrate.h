// Calibration: choosing probes and C for a target recall@k from the index's own rows used as
// queries, whose exact neighbours the caller found (the build does it during its heap scan).
//
// One scan per calibration query probes up to max_probes rounds and records, after each round,
// where each true neighbour stands in the sketch order: entries under its Hamming distance plus
// the ties read before it. Since rounds nest and the re-rank is exact, a true neighbour is
// returned by (probes p, candidates C) exactly when it was read by round p and stands within the
// first C, so that one scan gives the recall of every (p, C). choose_settings then takes the
// cheapest pair whose mean recall reaches the target, at the cost
//   probes x tables x c_p + entries x c_s + min(C, distinct) x c_r
// of search.h (design §5's 3 ns an entry had scans read 64 entries for every re-rank).
//
// Fixed settings are the same for every query, so easy queries pay for hard ones, and queries
// unlike the table's rows miss the target. Searcher::plan chooses per query instead; its
// threshold for a target is calibrated on the same queries (measure_plans, choose_threshold),
// and a target takes whichever of the two costs less on them.
#pragma once

#include <algorithm>

#include "core/lsh/search.h"

namespace vs::lsh {

struct RecallGrid {
    int max_probes;
    int max_candidates;
    double *recall;    // [max_probes][max_candidates + 1]: mean recall at (p, C), C from 0
    double *entries;   // [max_probes]: mean entries read
    double *distinct;  // [max_probes]: mean distinct entries ranked
    int tables;
    std::uint32_t dims;

    double recall_at(int probes, int candidates) const noexcept {
        return recall[std::size_t(probes - 1) * (max_candidates + 1) + std::min(candidates, max_candidates)];
    }
    double cost(int probes, int candidates) const noexcept {
        const double c = std::min(double(candidates), distinct[probes - 1]);
        return probes * tables * kProbeMicros + entries[probes - 1] * kEntryMicros + c * rerank_micros(dims);
    }
};

struct Calibration {
    SearchSettings settings;
    double recall;  // the calibration queries' mean recall at those settings
    double cost;    // microseconds, by the cost model above
};

// Scans n queries (row-major, the index's dims; self[q] is query q's own ref in the store or
// kNoRef) whose true k nearest are truth[q * k ...], up to max_probes rounds each, and fills grid
// for every C up to max_candidates.
template <class Store>
void measure_recall_grid(Store &store, Searcher &searcher, const float *queries, const Ref *self, const Ref *truth,
                         std::size_t n, int k, int max_probes, int max_candidates, const Allocator *allocator,
                         RecallGrid &grid) noexcept {
    const Layout &layout = searcher.layout();
    max_probes = int(std::min<std::uint32_t>(std::uint32_t(max_probes), layout.buckets));
    grid.max_probes = max_probes;
    grid.tables = layout.tables;
    grid.dims = layout.dims;
    grid.max_candidates = max_candidates;
    const std::size_t columns = std::size_t(max_candidates) + 1;
    grid.recall = allocator->array<double>(std::size_t(max_probes) * columns);
    grid.entries = allocator->array<double>(max_probes);
    grid.distinct = allocator->array<double>(max_probes);
    std::fill(grid.recall, grid.recall + std::size_t(max_probes) * columns, 0.0);
    std::fill(grid.entries, grid.entries + max_probes, 0.0);
    std::fill(grid.distinct, grid.distinct + max_probes, 0.0);

    const int bits = layout.sketch_bits;
    std::size_t *histogram = allocator->array<std::size_t>(std::size_t(bits) + 1);
    std::size_t *below = allocator->array<std::size_t>(std::size_t(bits) + 2);
    int *neighbour_hamming = allocator->array<int>(k);
    std::size_t *ties_before = allocator->array<std::size_t>(k);
    for (std::size_t q = 0; q < n; q++) {
        const Ref *wanted = truth + q * k;
        std::fill(histogram, histogram + bits + 1, 0);
        std::fill(neighbour_hamming, neighbour_hamming + k, -1);
        std::size_t scanned = 0;
        auto record = [&](int round, std::size_t entries) {
            const Ref *refs = searcher.candidate_refs();
            const std::uint16_t *hamming = searcher.candidate_hamming();
            for (; scanned < searcher.candidate_count(); scanned++) {
                for (int j = 0; j < k; j++)
                    if (refs[scanned] == wanted[j]) {
                        neighbour_hamming[j] = hamming[scanned];
                        ties_before[j] = histogram[hamming[scanned]];
                    }
                histogram[hamming[scanned]]++;
            }
            below[0] = 0;
            for (int h = 0; h <= bits; h++) below[h + 1] = below[h] + histogram[h];
            grid.entries[round - 1] += double(entries);
            grid.distinct[round - 1] += double(scanned);
            for (int j = 0; j < k; j++) {
                if (neighbour_hamming[j] < 0) continue;
                // Counted first at C = rank + 1; the prefix sums below carry it to every larger C.
                const std::size_t rank = below[neighbour_hamming[j]] + ties_before[j];
                if (rank < std::size_t(max_candidates)) grid.recall[(round - 1) * columns + rank + 1] += 1.0;
            }
        };
        searcher.probe_rounds(store, queries + q * layout.dims, max_probes, self ? self[q] : kNoRef, record);
    }
    for (int p = 0; p < max_probes; p++) {
        grid.entries[p] /= double(n);
        grid.distinct[p] /= double(n);
        double *row = grid.recall + p * columns;
        for (std::size_t c = 1; c < columns; c++) row[c] += row[c - 1];
        for (std::size_t c = 0; c < columns; c++) row[c] /= double(n) * k;
    }
    allocator->free(histogram);
    allocator->free(below);
    allocator->free(neighbour_hamming);
    allocator->free(ties_before);
}

// The cheapest settings on grid whose recall reaches target (for each probe count, the least C
// that does); if none does, the probe count of the best recall at the largest C (more probes
// are not always better there: their entries compete for the same C re-ranks).
inline Calibration choose_settings(const RecallGrid &grid, double target, int k) noexcept {
    Calibration best{{grid.max_probes, grid.max_candidates}, -1, 1e300};
    Calibration highest{{1, grid.max_candidates}, grid.recall_at(1, grid.max_candidates), grid.cost(1, grid.max_candidates)};
    for (int p = 1; p <= grid.max_probes; p++) {
        const double reached = grid.recall_at(p, grid.max_candidates);
        if (reached > highest.recall) highest = {{p, grid.max_candidates}, reached, grid.cost(p, grid.max_candidates)};
        if (reached < target) continue;
        int low = k, high = grid.max_candidates;
        while (low < high) {
            int middle = (low + high) / 2;
            if (grid.recall_at(p, middle) >= target) high = middle; else low = middle + 1;
        }
        const double cost = grid.cost(p, low);
        if (cost < best.cost) best = {{p, low}, grid.recall_at(p, low), cost};
    }
    return best.recall >= 0 ? best : highest;
}

inline void release_recall_grid(RecallGrid &grid, const Allocator *allocator) noexcept {
    allocator->free(grid.recall);
    allocator->free(grid.entries);
    allocator->free(grid.distinct);
}

// The planner's steps on the calibration queries, query after query: after each, its expected
// recall (the running maximum, which is where a threshold stops it), the true neighbours it
// would return and its cost. A query logs at most tables x max_probes + sketch bits + 1 steps
// of 9 bytes: 14 MB for 500 queries at 16 tables, 128 probes and 1,024 bits.
struct PlanLog {
    std::size_t queries;
    std::size_t *starts;  // [queries + 1]: query q's steps are [starts[q], starts[q + 1])
    float *expected;
    std::uint8_t *hits;
    float *cost;
    std::size_t size, capacity;
};

struct PlanCalibration {
    double threshold;  // 0: no threshold reaches the target within the logged steps
    double recall;
    double cost;       // microseconds, mean
};

// Stops at, or past, this expected recall: no target calibrates above it.
constexpr double kPlanLogEnd = 0.9995;

inline void grow_plan_log(PlanLog &log, const Allocator *allocator) noexcept {
    const std::size_t capacity = std::max<std::size_t>(4096, 2 * log.capacity);
    float *expected = allocator->array<float>(capacity), *cost = allocator->array<float>(capacity);
    std::uint8_t *hits = allocator->array<std::uint8_t>(capacity);
    if (log.capacity) {
        std::copy(log.expected, log.expected + log.size, expected);
        std::copy(log.cost, log.cost + log.size, cost);
        std::copy(log.hits, log.hits + log.size, hits);
        allocator->free(log.expected);
        allocator->free(log.cost);
        allocator->free(log.hits);
    }
    log.expected = expected;
    log.cost = cost;
    log.hits = hits;
    log.capacity = capacity;
}

// Runs the planner on n queries (as measure_recall_grid takes them) with its neighbour distance
// reference, up to kPlanLogEnd or its limits, and logs every step.
template <class Store>
void measure_plans(Store &store, Searcher &searcher, const float *queries, const Ref *self, const Ref *truth,
                   std::size_t n, int k, double reference, int max_probes, std::size_t max_candidates,
                   const Allocator *allocator, PlanLog &log) noexcept {
    const Layout &layout = searcher.layout();
    log.queries = n;
    log.starts = allocator->array<std::size_t>(n + 1);
    log.size = 0;
    log.capacity = 0;
    log.expected = nullptr;
    log.hits = nullptr;
    log.cost = nullptr;
    int *neighbour_hamming = allocator->array<int>(k);
    const double rerank = rerank_micros(layout.dims);
    for (std::size_t q = 0; q < n; q++) {
        log.starts[q] = log.size;
        const Ref *wanted = truth + q * k;
        std::fill(neighbour_hamming, neighbour_hamming + k, -1);
        std::size_t scanned = 0;
        float highest = 0;
        auto observe = [&](double expected, int cut, std::size_t under) {
            const Ref *refs = searcher.candidate_refs();
            const std::uint16_t *hamming = searcher.candidate_hamming();
            for (; scanned < searcher.candidate_count(); scanned++)
                for (int j = 0; j < k; j++)
                    if (refs[scanned] == wanted[j]) neighbour_hamming[j] = hamming[scanned];
            int hits = 0;
            for (int j = 0; j < k; j++) hits += neighbour_hamming[j] >= 0 && neighbour_hamming[j] <= cut;
            if (log.size == log.capacity) grow_plan_log(log, allocator);
            highest = std::max(highest, float(expected));
            log.expected[log.size] = highest;
            log.hits[log.size] = std::uint8_t(hits);
            log.cost[log.size] = float(double(searcher.buckets_probed()) * kProbeMicros +
                                       double(searcher.stats().entries) * kEntryMicros +
                                       double(std::min(under, max_candidates)) * rerank);
            log.size++;
        };
        searcher.plan(store, queries + q * layout.dims, {kPlanLogEnd, reference, max_probes, max_candidates},
                      self ? self[q] : kNoRef, observe);
    }
    log.starts[n] = log.size;
    allocator->free(neighbour_hamming);
}

// The mean recall and cost of stopping every logged query at threshold (a query that logged
// nothing, with nothing to hash or read, counts as recall 0, as in measure_recall_grid).
inline PlanCalibration replay_plans(const PlanLog &log, double threshold, int k) noexcept {
    PlanCalibration at{threshold, 0, 0};
    for (std::size_t q = 0; q < log.queries; q++) {
        const std::size_t first = log.starts[q], end = log.starts[q + 1];
        if (first == end) continue;
        const std::size_t stop =
            std::min(end - 1, std::size_t(std::lower_bound(log.expected + first, log.expected + end, float(threshold)) -
                                          log.expected));
        at.recall += double(log.hits[stop]) / k;
        at.cost += log.cost[stop];
    }
    if (log.queries) at.recall /= double(log.queries), at.cost /= double(log.queries);
    return at;
}

// The least threshold whose replay reaches target (recall grows with the threshold), or
// threshold 0 when none does below kPlanLogEnd.
inline PlanCalibration choose_threshold(const PlanLog &log, double target, int k) noexcept {
    if (replay_plans(log, kPlanLogEnd, k).recall < target) return {0, 0, 0};
    double low = 0, high = kPlanLogEnd;
    for (int step = 0; step < 40; step++) {
        const double middle = (low + high) / 2;
        if (replay_plans(log, middle, k).recall >= target) high = middle; else low = middle;
    }
    return replay_plans(log, high, k);
}

inline void release_plan_log(PlanLog &log, const Allocator *allocator) noexcept {
    allocator->free(log.starts);
    if (log.capacity) {
        allocator->free(log.expected);
        allocator->free(log.cost);
        allocator->free(log.hits);
    }
}

}  // namespace vs::lsh
