// An lsh scan, written once over a Store so that the same code searches the in-memory index of
// the unit tests and build calibration and, through the glue, the bucket pages. A Store provides:
//
//   template <class Reserve, class Visit>
//   void read_bucket(int table, std::uint32_t bucket, Reserve &&reserve, Visit &&visit)
//        calls visit(const Ref *refs, const std::uint64_t *sketches, int n) for the bucket's
//        entries, one or more times (once per page), sketches sketch_words() words per entry;
//        before each, reserve(m) with an m >= that call's n. visit allocates nothing (the glue
//        calls it with a page locked); reserve makes the room
//   void distances(const float *query, const Ref *refs, int n, float *out)
//        exact distances in the index's order (index_distance of the metric; cosine as the
//        negative inner product of unit vectors); a store whose rows are gone may return +inf
//
// A scan probes `probes` buckets per table in rounds (round i takes every table's i-th most
// likely bucket, ProbeSequence), ranks the distinct entries it read by sketch Hamming distance
// (a histogram cut, ties in reading order), re-ranks the best `candidates` exactly and returns
// the best k. Rounds make the candidate sets of growing probe counts nested, which the
// calibration relies on to measure every probe count from one scan per query.
#pragma once

#include <algorithm>
#include <cmath>

#include "core/index/memory.h"
#include "core/lsh/hasher.h"
#include "core/lsh/probe.h"

namespace vs::lsh {

struct SearchSettings {
    int probes;      // buckets per table
    int candidates;  // C: entries re-ranked exactly
};

// The planner's stop and limits.
struct PlanSettings {
    double threshold;            // stop once the expected recall reaches it
    double reference;            // the neighbour distance H is modelled at
    int max_probes;              // buckets per table
    std::size_t max_candidates;  // entries under the cut
};

// The cost model of a scan, in microseconds, measured in PostgreSQL on seed (a scan of 45,700
// entries and 713 re-ranks took 1.4 ms): a bucket probed (its directory slot and first page),
// an entry read (decoded, scored, deduplicated), and a row fetched from the heap and re-ranked.
constexpr double kProbeMicros = 0.5;
constexpr double kEntryMicros = 0.015;
inline double rerank_micros(std::uint32_t dims) noexcept { return 0.3 + 0.0002 * dims; }

struct ScanStats {
    std::size_t entries;     // read, duplicates included
    std::size_t distinct;    // distinct entries ranked by sketch
    std::size_t reranked;
    int rounds;
};

class Searcher {
  public:
    static constexpr int kMaxModelDistances = 32;

    void init(const Layout *layout, const Allocator *allocator) noexcept {
        layout_ = layout;
        allocator_ = allocator;
        hasher_.init(layout, allocator);
        const int functions = layout->tables * layout->functions;
        max_values_ = 0;
        for (int j = 0; j < layout->functions; j++) max_values_ = std::max(max_values_, layout->values(j));
        alternative_lists_ = allocator->array<Alternative>(std::size_t(functions) * max_values_);
        alternatives_ = allocator->array<const Alternative *>(functions);
        counts_ = allocator->array<int>(functions);
        for (int f = 0; f < functions; f++) {
            alternatives_[f] = alternative_lists_ + std::size_t(f) * max_values_;
            counts_[f] = layout->values(f % layout->functions);
        }
        sequences_ = allocator->array<ProbeSequence>(layout->tables);
        for (int t = 0; t < layout->tables; t++) sequences_[t].init(allocator, 16);
        query_sketch_ = allocator->array<std::uint64_t>(layout->sketch_words());
        histogram_ = allocator->array<std::size_t>(std::size_t(layout->sketch_bits) + 1);
        seen_.init(allocator, 1024);
        capacity_ = probed_capacity_ = 0;
        grow(1024);
        grow_probed(64);
        model_ready_ = false;  // the model's tables are large (vertices x distances): made when first asked for
        next_tuples_ = allocator->array<std::uint16_t>(std::size_t(layout->tables) * kMaxFunctions);
        has_next_ = allocator->array<bool>(layout->tables);
        table_probes_ = allocator->array<int>(layout->tables);
        results_ = allocator->array<Candidate>(kMaxModelDistances);
        best_.init(allocator, kMaxModelDistances + 1);
    }

    const Layout &layout() const noexcept { return *layout_; }
    const ScanStats &stats() const noexcept { return stats_; }
    // What the last probe_rounds read, in reading order: distinct refs and their Hamming distances.
    std::size_t candidate_count() const noexcept { return count_; }
    const Ref *candidate_refs() const noexcept { return refs_; }
    const std::uint16_t *candidate_hamming() const noexcept { return hamming_; }
    std::size_t buckets_probed() const noexcept { return probed_; }

    // Hashes query and probes rounds rounds (at most the buckets of a table), calling
    // after_round(round, entries read so far) after each (round counts from 1); exclude (a
    // calibration query's own row) is skipped.
    // False when the query has nothing to hash (zero under cosine and inner product).
    template <class Store, class AfterRound>
    bool probe_rounds(Store &store, const float *query, int rounds, Ref exclude, AfterRound after_round) noexcept {
        if (!start_query(query)) return false;
        rounds = int(std::min<std::uint32_t>(std::uint32_t(std::max(rounds, 0)), layout_->buckets));
        for (int round = 1; round <= rounds; round++) {
            for (int t = 0; t < layout_->tables; t++) {
                std::uint16_t chosen[kMaxFunctions];
                float score;
                if (sequences_[t].next(chosen, &score)) read_probe(store, t, chosen, exclude);
            }
            stats_.rounds = round;
            after_round(round, stats_.entries);
        }
        stats_.distinct = count_;
        return true;
    }

    // The per-query planner (design §2.2, §5): probes buckets and raises the sketch cut one step
    // at a time until the expected recall R = H(r) x S(cut) reaches settings.threshold, and
    // returns the entries at or under the cut, as select does. H is the model's chance that a
    // neighbour at distance settings.reference lies in a probed bucket (probe.h). S is the mean
    // chance that the nearest 10 pass the cut, each with the bit-flip rate its rank's Hamming
    // distance among the entries read shows (a normal approximation of the binomial). Each step
    // takes the action of the larger gain in R per microsecond of the cost model: the bucket of
    // any table that adds most to H, at the entries a bucket has held so far, or one more
    // Hamming distance under the cut, at its entries' re-rank. R only grows along the way, so
    // that the build calibrates every threshold from one run per query: observe(R, cut, entries
    // at or under the cut) is called after every step. Sliced layouts only: the cross-polytope's model costs
    // milliseconds a query.
    template <class Store, class Observe>
    std::size_t plan(Store &store, const float *query, const PlanSettings &settings, Ref exclude,
                     Observe observe) noexcept {
        if (!start_query(query)) return 0;
        const int tables = layout_->tables, functions = layout_->functions, bits = layout_->sketch_bits;
        ensure_model();
        model_.reset(1);
        for (int t = 0; t < tables; t++)
            for (int j = 0; j < functions; j++)
                hasher_.probabilities(t, j, alternatives_[t * functions + j], settings.reference, 1.0,
                                      model_.probabilities(t, j, 0));
        std::uint16_t *pending = next_tuples_;
        int probes = 0;
        for (int t = 0; t < tables; t++) {
            float score;
            has_next_[t] = sequences_[t].next(pending + t * kMaxFunctions, &score);
            table_probes_[t] = 0;
        }
        std::fill(histogram_, histogram_ + bits + 1, 0);
        const double rerank_cost = rerank_micros(layout_->dims);
        const std::size_t most = std::max<std::size_t>(settings.max_candidates, 1);
        // No cut until the nearest 10 by sketch are read (or nothing more can be): it then
        // admits them, or fewer if max_candidates says so.
        int cut = -1;
        std::size_t under = 0;
        double pass = 0, pass_next = 0;  // S(cut), S(cut + 1)
        auto place_first_cut = [&] {
            cut = 0;
            under = histogram_[0];
            while (cut < bits && under < std::size_t(kSurvivalRanks) && under + histogram_[cut + 1] <= most)
                under += histogram_[++cut];
            estimate_flip_rates();
            pass = cut_survival(cut);
            pass_next = cut < bits ? cut_survival(cut + 1) : pass;
        };
        for (;;) {
            // The table whose next bucket adds most to H, and how much.
            int best = -1;
            double gain = 0, missed = 1;
            for (int t = 0; t < tables; t++) missed *= 1 - model_.coverage(t, 0);
            for (int t = 0; t < tables; t++) {
                if (!has_next_[t] || table_probes_[t] >= settings.max_probes) continue;
                double others = 1;
                for (int u = 0; u < tables; u++)
                    if (u != t) others *= 1 - model_.coverage(u, 0);
                const double added = model_.bucket_probability(t, 0, pending + t * kMaxFunctions) * others;
                if (best < 0 || added > gain) best = t, gain = added;
            }
            const double found = 1 - missed;
            if (cut < 0 && best < 0) {
                if (count_ == 0) break;  // nothing to probe, nothing read
                place_first_cut();
            }
            const bool can_cut = cut >= 0 && cut < bits && under + histogram_[cut + 1] <= most;
            if (cut >= 0) {
                const double expected = found * pass;
                observe(expected, cut, under);
                if (expected >= settings.threshold || (best < 0 && !can_cut)) break;
            }
            bool probe = best >= 0;
            if (probe && can_cut) {
                const double per_bucket = probes ? double(stats_.entries) / probes : 0;
                const double passing = count_ ? double(under) / double(count_) : 0;
                const double probe_gain =
                    gain * pass / (kProbeMicros + per_bucket * (kEntryMicros + passing * rerank_cost));
                // (A distance no entry has costs nothing to admit: a hundredth of a microsecond
                // keeps its gain finite.)
                const double cut_gain = found * (pass_next - pass) / (double(histogram_[cut + 1]) * rerank_cost + 0.01);
                probe = probe_gain >= cut_gain;
            }
            if (probe) {
                const std::size_t before = count_;
                model_.add(best, pending + best * kMaxFunctions);
                read_probe(store, best, pending + best * kMaxFunctions, exclude);
                probes++;
                table_probes_[best]++;
                float score;
                has_next_[best] = sequences_[best].next(pending + best * kMaxFunctions, &score);
                for (std::size_t i = before; i < count_; i++) {
                    histogram_[hamming_[i]]++;
                    if (int(hamming_[i]) <= cut) under++;
                }
                if (cut < 0 && count_ >= std::size_t(kSurvivalRanks)) place_first_cut();
                estimate_flip_rates();
            } else {
                under += histogram_[++cut];
            }
            if (cut >= 0) {
                pass = cut_survival(cut);
                pass_next = cut < bits ? cut_survival(cut + 1) : pass;
            }
        }
        // As probe_rounds counts them: the rounds every table was probed to.
        stats_.rounds = table_probes_[0];
        for (int t = 1; t < tables; t++) stats_.rounds = std::min(stats_.rounds, table_probes_[t]);
        stats_.distinct = count_;
        const std::size_t kept = count_ ? keep_best_by_sketch(std::min(under, most)) : 0;
        stats_.reranked = kept;
        return kept;
    }

    // The best k (at most kMaxModelDistances) of the query's scan under settings into out,
    // nearest first; returns their count.
    template <class Store>
    int search(Store &store, const float *query, int k, SearchSettings settings, Candidate *out,
               Ref exclude = kNoRef) noexcept {
        k = std::min(k, kMaxModelDistances);
        results_count_ = 0;
        const std::size_t kept = select(store, query, {settings.probes, std::max(settings.candidates, k)}, exclude);
        store.distances(query, refs_, int(kept), distances_);
        best_.clear();
        for (std::size_t i = 0; i < kept; i++) {
            if (!(distances_[i] < INFINITY)) continue;
            best_.push({distances_[i], refs_[i]});
            if (int(best_.size()) > k) best_.pop();
        }
        int found = int(best_.drain_sorted(out));
        results_count_ = found;
        std::copy(out, out + found, results_);
        return found;
    }

    // The candidates of the query's scan under settings: probes its buckets and keeps the best
    // settings.candidates entries by sketch, whose refs are candidate_refs()[0, returned) in
    // reading order; the caller re-ranks them exactly (search does, or the glue, which reads rows
    // from the heap). 0 when the query has nothing to hash.
    template <class Store>
    std::size_t select(Store &store, const float *query, SearchSettings settings, Ref exclude = kNoRef) noexcept {
        if (!probe_rounds(store, query, settings.probes, exclude, [](int, std::size_t) {})) return 0;
        const std::size_t kept = keep_best_by_sketch(std::size_t(std::max(settings.candidates, 1)));
        stats_.reranked = kept;
        return kept;
    }

    // The model's expected recall of the last search's probes and cut (§2.2), with its own
    // results' distances plugged in for the true neighbours' (so it errs low until they are found).
    double expected_recall(double gamma = 1.0) noexcept {
        const int distances = results_count_;
        if (distances == 0) return 0;
        ensure_model();
        model_.reset(distances);
        double survive[kMaxModelDistances];
        for (int m = 0; m < distances; m++) {
            const double r = model_distance(results_[m].distance);
            for (int t = 0; t < layout_->tables; t++)
                for (int j = 0; j < layout_->functions; j++)
                    hasher_.probabilities(t, j, alternatives_[t * layout_->functions + j], r, gamma,
                                          model_.probabilities(t, j, m));
            const double flip = layout_->family == Family::Sliced ? periodic_bit_flip(r, layout_->sketch_width)
                                                                   : angular_bit_flip(r);
            survive[m] = survival(layout_->sketch_bits, flip, cut_distance_, cut_tie_fraction_);
        }
        for (std::size_t p = 0; p < probed_; p++) model_.add(probed_tables_[p], probed_tuples_ + p * kMaxFunctions);
        return model_.expected_recall(survive);
    }

    Hasher &hasher() noexcept { return hasher_; }
    const Alternative *const *alternatives(int table) const noexcept { return alternatives_ + table * layout_->functions; }

    // The model's distance of an exact index distance: the angle for the angular families, the
    // L2 distance for slices.
    double model_distance(float distance) const noexcept {
        switch (layout_->metric) {
            case Metric::L2: return std::sqrt(std::max(0.0f, distance));
            case Metric::InnerProduct: {
                double cosine = query_norm_ > 0 ? -distance / (layout_->lift_norm * query_norm_) : 0;
                return std::acos(std::max(-1.0, std::min(1.0, cosine)));
            }
            default: return std::acos(std::max(-1.0, std::min(1.0, -double(distance))));
        }
    }

  private:
    static constexpr int kSurvivalRanks = 10;

    // Hashes and sketches query and starts every table's probe sequence; false when it has
    // nothing to hash.
    bool start_query(const float *query) noexcept {
        count_ = 0;
        probed_ = 0;
        stats_ = {};
        seen_.clear();
        if (!hasher_.load(query, true)) return false;
        hasher_.sketch_into(query_sketch_);
        query_norm_ = 0;
        for (std::uint32_t i = 0; i < layout_->dims; i++) query_norm_ += double(query[i]) * query[i];
        query_norm_ = std::sqrt(query_norm_);
        const int functions = layout_->functions;
        for (int t = 0; t < layout_->tables; t++) {
            for (int j = 0; j < functions; j++)
                hasher_.alternatives(t, j, alternative_lists_ + std::size_t(t * functions + j) * max_values_);
            sequences_[t].start(alternatives_ + t * functions, counts_ + t * functions, functions);
        }
        return true;
    }

    // Reads the bucket of the tuple chosen of table, appending its entries not seen before
    // (nor exclude) to the candidates with their Hamming distances.
    template <class Store>
    void read_probe(Store &store, int table, const std::uint16_t *chosen, Ref exclude) noexcept {
        const int words = layout_->sketch_words();
        remember_probe(table, chosen);
        store.read_bucket(table, hasher_.bucket_of(alternatives_ + table * layout_->functions, chosen),
                          [&](int most) {
                              if (count_ + std::size_t(most) > capacity_) grow(2 * (count_ + std::size_t(most)));
                              seen_.reserve(std::size_t(most));
                          },
                          [&](const Ref *refs, const std::uint64_t *sketches, int n) {
                              stats_.entries += std::size_t(n);
                              // Scored first, all at once, into the tail of the arrays.
                              std::uint16_t *scored = hamming_ + count_;
                              hamming_many(query_sketch_, sketches, n, words, scored);
                              for (int e = 0; e < n; e++) {
                                  if (refs[e] == exclude || !seen_.insert(refs[e])) continue;
                                  refs_[count_] = refs[e];
                                  hamming_[count_++] = scored[e];
                              }
                          });
    }

    void ensure_model() noexcept {
        if (model_ready_) return;
        model_.init(allocator_, layout_->tables, layout_->functions, max_values_, kMaxModelDistances);
        model_ready_ = true;
    }

    // The bit-flip rate of the nearest kSurvivalRanks neighbours, each read from the Hamming
    // distance of its rank among the entries read (a rank beyond them counts as far).
    void estimate_flip_rates() noexcept {
        const int bits = layout_->sketch_bits;
        int h = 0;
        std::size_t below = histogram_[0];
        for (int j = 0; j < kSurvivalRanks; j++) {
            while (h < bits && below < std::size_t(j + 1)) below += histogram_[++h];
            flip_rates_[j] = std::min(0.49, std::max(0.5, double(h)) / bits);
        }
    }

    // S(cut): the mean chance that those neighbours' Hamming distances are at most cut.
    double cut_survival(int cut) const noexcept {
        const int bits = layout_->sketch_bits;
        double total = 0;
        for (int j = 0; j < kSurvivalRanks; j++) {
            const double p = flip_rates_[j];
            total += normal_cdf((cut + 0.5 - bits * p) / std::sqrt(bits * p * (1 - p)));
        }
        return total / kSurvivalRanks;
    }

    // Moves the best wanted candidates by Hamming distance to the front, in reading order
    // (ties at the cut kept first come), and returns how many.
    std::size_t keep_best_by_sketch(std::size_t wanted) noexcept {
        const int bits = layout_->sketch_bits;
        cut_distance_ = bits + 1;
        cut_tie_fraction_ = 1;
        if (count_ <= wanted) return count_;
        std::fill(histogram_, histogram_ + bits + 1, 0);
        for (std::size_t i = 0; i < count_; i++) histogram_[hamming_[i]]++;
        std::size_t below = 0;
        int cut = 0;
        while (below + histogram_[cut] < wanted) below += histogram_[cut++];
        std::size_t ties = wanted - below, kept = 0;
        cut_distance_ = cut;
        cut_tie_fraction_ = double(ties) / double(histogram_[cut]);
        for (std::size_t i = 0; i < count_; i++) {
            if (hamming_[i] > cut || (hamming_[i] == cut && ties == 0)) continue;
            if (hamming_[i] == cut) ties--;
            refs_[kept] = refs_[i];
            hamming_[kept++] = hamming_[i];
        }
        return kept;
    }

    void remember_probe(int table, const std::uint16_t *chosen) noexcept {
        if (probed_ == probed_capacity_) grow_probed(2 * probed_capacity_);
        probed_tables_[probed_] = table;
        std::copy(chosen, chosen + layout_->functions, probed_tuples_ + probed_ * kMaxFunctions);
        probed_++;
    }

    void grow(std::size_t capacity) noexcept {
        Ref *refs = allocator_->array<Ref>(capacity);
        std::uint16_t *hamming = allocator_->array<std::uint16_t>(capacity);
        if (capacity_) {
            std::copy(refs_, refs_ + count_, refs);
            std::copy(hamming_, hamming_ + count_, hamming);
            allocator_->free(refs_);
            allocator_->free(hamming_);
            allocator_->free(distances_);
        }
        refs_ = refs;
        hamming_ = hamming;
        distances_ = allocator_->array<float>(capacity);
        capacity_ = capacity;
    }

    void grow_probed(std::size_t capacity) noexcept {
        int *tables = allocator_->array<int>(capacity);
        std::uint16_t *tuples = allocator_->array<std::uint16_t>(capacity * kMaxFunctions);
        if (probed_capacity_) {
            std::copy(probed_tables_, probed_tables_ + probed_, tables);
            std::copy(probed_tuples_, probed_tuples_ + probed_ * kMaxFunctions, tuples);
            allocator_->free(probed_tables_);
            allocator_->free(probed_tuples_);
        }
        probed_tables_ = tables;
        probed_tuples_ = tuples;
        probed_capacity_ = capacity;
    }

    const Layout *layout_;
    const Allocator *allocator_;
    Hasher hasher_;
    int max_values_;
    Alternative *alternative_lists_;
    const Alternative **alternatives_;  // per (table, function)
    int *counts_;
    ProbeSequence *sequences_;
    std::uint64_t *query_sketch_;
    std::size_t *histogram_;
    VisitedSet seen_;
    Ref *refs_;
    std::uint16_t *hamming_;
    float *distances_;  // of the candidates re-ranked
    CandidateHeap<true> best_;
    std::size_t count_, capacity_;
    int *probed_tables_;
    std::uint16_t *probed_tuples_;
    std::size_t probed_, probed_capacity_;
    ProbeModel model_;
    bool model_ready_;
    std::uint16_t *next_tuples_;  // the planner's next tuple per table
    bool *has_next_;
    int *table_probes_;
    double flip_rates_[kSurvivalRanks];
    Candidate *results_;
    int results_count_ = 0;
    double query_norm_ = 0;
    int cut_distance_ = 0;
    double cut_tie_fraction_ = 1;
    ScanStats stats_;
};

}  // namespace vs::lsh
