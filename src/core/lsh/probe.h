// Query-directed multiprobe (Lv, Josephson, Wang, Charikar & Li, "Multi-probe LSH", 2007) and
// the probability model that says how much a set of probed buckets is worth (design §2.1-2.2).
//
// Probe order. A table's bucket is the tuple of its k functions' values. Each function lists its
// alternatives sorted by Delta (the query's own value first, at 0), and a bucket scores
// S = sum_j Delta_j(a_j). Under both families a neighbour's chance of landing in a bucket falls
// as S grows, so a table is probed in increasing S. ProbeSequence generates the tuples in that
// order with a min-heap, as Lv et al.'s shift and expand do: a tuple's successors raise its last
// raised function by one place or raise a later function from 0 to 1, so every tuple has exactly
// one predecessor (lower its last nonzero place) and is generated once, after it. For the
// cross-polytope with k = 1 this is FALCONN's order: the next-best vertices by |coordinate|.
//
// Model. For a neighbour at distance r (an angle for the cross-polytope), function j of table t
// puts it on alternative a with probability p_tj(a | r) (family.h), and the functions of a table
// are independent given r, so the bucket has P_t(b | r) = prod_j p_tj(a_j | r) and the probed set
// covers Cov_t(r) = sum_{b probed} P_t(b | r). Tables have independent rotations, so the
// neighbour is in some probed bucket with H(r) = 1 - prod_t (1 - Cov_t(r)). The expected recall@k
// of the probe set is the mean of H over the k neighbours' distances, times each one's chance
// of surviving the sketch cut when the caller gives it. Every function's probabilities sum to 1
// over its alternatives, so probing every bucket covers 1.
#pragma once

#include <cstdint>

#include "core/index/memory.h"
#include "core/lsh/family.h"

namespace vs::lsh {

// A tuple of alternative places, one 16-bit place per function, packed into a heap's Ref.
inline std::uint16_t place(Ref tuple, int function) noexcept { return std::uint16_t(tuple >> (16 * function)); }

class ProbeSequence {
  public:
    void init(const Allocator *allocator, std::size_t expected_probes) noexcept {
        heap_.init(allocator, expected_probes * kMaxFunctions + 1);
    }

    // Starts the sequence over functions lists of alternatives (sorted by score) of counts[j] each.
    void start(const Alternative *const *alternatives, const int *counts, int functions) noexcept {
        alternatives_ = alternatives;
        counts_ = counts;
        functions_ = functions;
        heap_.clear();
        float score = 0;
        for (int j = 0; j < functions; j++) score += alternatives[j][0].score;
        heap_.push({score, 0});
    }

    // The next tuple in increasing score into chosen (functions places); false when every
    // bucket was probed.
    bool next(std::uint16_t *chosen, float *score) noexcept {
        if (heap_.empty()) return false;
        Candidate top = heap_.top();
        heap_.pop();
        int last = -1;
        for (int j = 0; j < functions_; j++) {
            chosen[j] = place(top.ref, j);
            if (chosen[j]) last = j;
        }
        *score = top.distance;
        for (int j = last < 0 ? 0 : last; j < functions_; j++) {
            int from = chosen[j], to = from + 1;
            if (j > last) from = 0, to = 1;
            if (to >= counts_[j]) continue;
            Ref successor = (top.ref & ~(Ref(0xffff) << (16 * j))) | (Ref(to) << (16 * j));
            heap_.push({top.distance - alternatives_[j][from].score + alternatives_[j][to].score, successor});
        }
        return true;
    }

  private:
    CandidateHeap<false> heap_;
    const Alternative *const *alternatives_;
    const int *counts_;
    int functions_;
};

// The coverage of the buckets probed so far in each table, at each of up to max_distances
// neighbour distances.
class ProbeModel {
  public:
    void init(const Allocator *allocator, int tables, int functions, int max_alternatives, int max_distances) noexcept {
        tables_ = tables;
        functions_ = functions;
        max_alternatives_ = max_alternatives;
        max_distances_ = max_distances;
        probabilities_ = allocator->array<float>(std::size_t(tables) * functions * max_distances * max_alternatives);
        coverage_ = allocator->array<double>(std::size_t(tables) * max_distances);
        distances_ = 0;
    }

    // Probability table of function j of table at the distance numbered distance: counts
    // entries to fill, in the order of that function's sorted alternatives.
    float *probabilities(int table, int j, int distance) noexcept {
        return probabilities_ + ((std::size_t(table) * functions_ + j) * max_distances_ + distance) * max_alternatives_;
    }

    // Forgets the probes; distances probability tables are to be filled before any add.
    void reset(int distances) noexcept {
        distances_ = distances;
        for (std::size_t i = 0; i < std::size_t(tables_) * max_distances_; i++) coverage_[i] = 0;
    }

    // P_t(b | r) of the tuple chosen of table at the distance numbered distance.
    double bucket_probability(int table, int distance, const std::uint16_t *chosen) noexcept {
        double bucket = 1;
        for (int j = 0; j < functions_; j++) bucket *= probabilities(table, j, distance)[chosen[j]];
        return bucket;
    }

    void add(int table, const std::uint16_t *chosen) noexcept {
        for (int m = 0; m < distances_; m++) coverage_[table * max_distances_ + m] += bucket_probability(table, m, chosen);
    }

    double coverage(int table, int distance) const noexcept {
        double c = coverage_[table * max_distances_ + distance];
        return c > 1 ? 1 : c;
    }

    // H(r) of the distance numbered distance.
    double found(int distance) const noexcept {
        double missed = 1;
        for (int t = 0; t < tables_; t++) missed *= 1 - coverage(t, distance);
        return 1 - missed;
    }

    // The mean of H over the distances, each weighted by its survival of the sketch cut
    // (survival may be null: everything probed is re-ranked).
    double expected_recall(const double *survival) const noexcept {
        if (distances_ == 0) return 0;
        double total = 0;
        for (int m = 0; m < distances_; m++) total += found(m) * (survival ? survival[m] : 1.0);
        return total / distances_;
    }

  private:
    int tables_, functions_, max_alternatives_, max_distances_, distances_;
    float *probabilities_;
    double *coverage_;
};

}  // namespace vs::lsh
