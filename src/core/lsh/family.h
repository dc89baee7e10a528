// The hash families of the lsh index, one per metric, and the collision probabilities the
// multiprobe model needs (design §1.2, §2.1).
//
// Cosine: cross-polytope LSH (Andoni et al. 2015). The unit vector is rotated and hashed to the
// vertex +-e_i of the largest |(Rx)_i| among the first vertices/2 coordinates. Its collision
// probability falls with the angle about as exp(-tau^2/(4 - tau^2) ln d) (their Thm. 1), which is
// asymptotically optimal, and, unlike a hyperplane, one function already splits the space into
// 2d' cells, so a table needs one rotation.
//
// Inner product: the lift x -> (x/M, sqrt(1 - |x|^2/M^2)), q -> (q/|q|, 0) (Bachrach et al. 2014;
// Neyshabur & Srebro 2015) puts every row on the unit sphere with cos(q', x') = q.x / (M |q|),
// which is monotone in q.x: inner-product search becomes angular search, then cross-polytope.
//
// L2: sliced Gaussian projections, a p-stable family (Datar et al. 2004) with data-chosen cuts.
// z(x) = sqrt(d') (Rx)_j is a Gaussian projection, so z(x) - z(y) ~ N(0, |x - y|^2); each
// function is cut into slots at the build sample's quantiles, which fits the slot widths to the
// data without guessing Datar's width w. No angular reduction: L2 neighbours need not be angular
// neighbours around any centre (a row far along one axis), while a projection keeps position.
//
// Probabilities, per function, of where a neighbour of the query lands:
//   cross-polytope, at angle theta: vertex (i, s) scores Delta = (|y_i*| - s y_i)^2 against the
//     winner i*, which orders the probe sequence; the neighbour is cos(theta) y + sin(theta) w
//     with w ~ N(0, 1/d') per coordinate, and the chance it lands on each vertex is the chance
//     that vertex's Gaussian is the largest (see cross_polytope_probabilities).
//   sliced, at distance r: the Gaussian mass of the slot, Phi((hi - z)/(gamma r)) - Phi((lo - z)/(gamma r)).
// gamma (1 unless fitted) absorbs where real data is not Gaussian.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cmath>
#include <cstdint>
#include <limits>

#include "core/lsh/params.h"

namespace vs::lsh {

// A value a function can take for a neighbour of the query, and how far the query is from it.
struct Alternative {
    float score;           // Delta: 0 for the query's own value, growing with unlikeliness
    std::uint16_t value;   // a vertex or a slot
};

// Sorts alternatives by score, own value first: degenerate slots (equal cuts) and equal
// coordinates score 0 too, and the probe sequence must start at the query's own bucket.
inline void sort_alternatives(Alternative *alternatives, int n, int own) noexcept {
    std::sort(alternatives, alternatives + n, [own](const Alternative &a, const Alternative &b) {
        if (a.score != b.score) return a.score < b.score;
        if ((a.value == own) != (b.value == own)) return a.value == own;
        return a.value < b.value;
    });
}

inline double normal_cdf(double x) noexcept { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

// Writes the vector to hash, hashed_dims floats: x/|x| for cosine, the lift for inner product
// (a row beyond lift_norm lifts as if its norm were lift_norm; *clamped says so), x for L2.
// False when there is nothing to hash: a zero vector under cosine, a zero query for inner product.
inline bool prepare_vector(const Layout &layout, const float *x, bool query, float *out, bool *clamped) noexcept {
    double squared = 0;
    for (std::uint32_t i = 0; i < layout.dims; i++) squared += double(x[i]) * x[i];
    const double norm = std::sqrt(squared);
    *clamped = false;
    switch (layout.metric) {
        case Metric::Cosine:
        case Metric::L1:
            if (!(norm > 0)) return false;
            for (std::uint32_t i = 0; i < layout.dims; i++) out[i] = float(x[i] / norm);
            return true;
        case Metric::InnerProduct: {
            if (query) {
                if (!(norm > 0)) return false;
                for (std::uint32_t i = 0; i < layout.dims; i++) out[i] = float(x[i] / norm);
                out[layout.dims] = 0;
                return true;
            }
            double scale = 1.0 / layout.lift_norm;
            if (norm > layout.lift_norm) {
                *clamped = true;
                scale = 1.0 / norm;
            }
            for (std::uint32_t i = 0; i < layout.dims; i++) out[i] = float(x[i] * scale);
            const double rest = 1.0 - squared * scale * scale;
            out[layout.dims] = float(rest > 0 ? std::sqrt(rest) : 0.0);
            return true;
        }
        case Metric::L2:
            for (std::uint32_t i = 0; i < layout.dims; i++) out[i] = x[i];
            return true;
        case Metric::Hamming:
        case Metric::Jaccard: break;  // no lsh index of bits
    }
    return false;
}

// The vertex of y's first vertices/2 coordinates: 2i for +e_i, 2i + 1 for -e_i.
inline int cross_polytope_vertex(const float *y, int vertices) noexcept {
    int best = 0;
    for (int i = 1; i < vertices / 2; i++)
        if (std::fabs(y[i]) > std::fabs(y[best])) best = i;
    return 2 * best + (y[best] < 0);
}

// Every vertex with its Delta, sorted by it; the winner first.
inline void cross_polytope_alternatives(const float *y, int vertices, Alternative *out) noexcept {
    const int own = cross_polytope_vertex(y, vertices);
    const float top = std::fabs(y[own / 2]);
    for (int i = 0; i < vertices / 2; i++) {
        float plus = top - y[i], minus = top + y[i];
        out[2 * i] = {plus * plus, std::uint16_t(2 * i)};
        out[2 * i + 1] = {minus * minus, std::uint16_t(2 * i + 1)};
    }
    sort_alternatives(out, vertices, own);
}

// The chance of each alternative (sorted as cross_polytope_alternatives left them) for a
// neighbour at angle theta of the query whose rotation is y. The neighbour's coordinates are
// v_i ~ N(cos(theta) y_i, sigma^2) with sigma^2 = sin^2(theta) / (gamma d'), and it lands on
// (i, s) when s v_i is the largest |v_k|: P = integral over t of the density of s v_i at t times
// prod_{k != i} P[|v_k| < t], taken on a grid of t around where the maximum lies. (The design's
// shortcut exp(-lambda Delta) / Z, lambda = gamma d' cot^2(theta) / 4, put only 0.56 on the
// query's own vertex where 0.75 is measured at theta = 0.2, and no single gamma fits all angles.)
inline void cross_polytope_probabilities(const float *y, int vertices, const Alternative *alternatives, double theta,
                                         std::uint32_t padded, double gamma, float *out) noexcept {
    const int coordinates = vertices / 2;
    if (!(theta > 1e-6)) {
        for (int a = 0; a < vertices; a++) out[a] = a == 0;
        return;
    }
    const double c = std::cos(theta), sigma = std::sin(theta) / std::sqrt(gamma * padded);
    double largest_mean = 0;
    for (int i = 0; i < coordinates; i++) largest_mean = std::max(largest_mean, std::fabs(c * y[i]));
    const double low = std::max(0.0, largest_mean - 6 * sigma);
    const double high = std::max(largest_mean, sigma * std::sqrt(2 * std::log(double(vertices)))) + 6 * sigma;
    constexpr int kSteps = 64;
    const double step = (high - low) / kSteps;
    double mass[kMaxVertices] = {}, below[kMaxVertices / 2];
    for (int g = 0; g <= kSteps; g++) {
        const double t = low + g * step, weight = (g == 0 || g == kSteps ? 0.5 : 1.0) * step;
        double all_below = 1;
        for (int i = 0; i < coordinates; i++) {
            double mean = c * y[i];
            below[i] = std::max(normal_cdf((t - mean) / sigma) - normal_cdf((-t - mean) / sigma), 1e-300);
            all_below *= below[i];
        }
        // Where some |v_k| is almost surely above t, the maximum is not at t: every vertex's
        // integrand is at most a few times all_below there.
        if (all_below < 1e-12) continue;
        for (int i = 0; i < coordinates; i++) {
            double mean = c * y[i];
            double others = all_below / below[i];
            double up = (t - mean) / sigma, down = (t + mean) / sigma;
            mass[2 * i] += weight * others * std::exp(-up * up / 2);
            mass[2 * i + 1] += weight * others * std::exp(-down * down / 2);
        }
    }
    double total = 0;
    for (int v = 0; v < vertices; v++) total += mass[v];
    for (int a = 0; a < vertices; a++)
        out[a] = total > 0 ? float(mass[alternatives[a].value] / total) : float(1.0 / vertices);
}

// The slot of z among slots - 1 ascending cuts.
inline int sliced_slot(float z, const float *cuts, int slots) noexcept {
    return int(std::upper_bound(cuts, cuts + slots - 1, z) - cuts);
}

inline float slot_low(const float *cuts, int slot) noexcept {
    return slot == 0 ? -std::numeric_limits<float>::infinity() : cuts[slot - 1];
}
inline float slot_high(const float *cuts, int slots, int slot) noexcept {
    return slot == slots - 1 ? std::numeric_limits<float>::infinity() : cuts[slot];
}

// Every slot with its Delta (squared distance from z to the slot), sorted by it.
inline void sliced_alternatives(float z, const float *cuts, int slots, Alternative *out) noexcept {
    for (int s = 0; s < slots; s++) {
        float low = slot_low(cuts, s), high = slot_high(cuts, slots, s);
        float gap = z < low ? low - z : z > high ? z - high : 0.0f;
        out[s] = {gap * gap, std::uint16_t(s)};
    }
    sort_alternatives(out, slots, sliced_slot(z, cuts, slots));
}

// The exact Gaussian mass of each alternative's slot for a neighbour at distance r.
inline void sliced_probabilities(float z, const float *cuts, int slots, const Alternative *alternatives, double r,
                                 double gamma, float *out) noexcept {
    const double spread = gamma * r;
    for (int a = 0; a < slots; a++) {
        int s = alternatives[a].value;
        if (!(spread > 0)) {
            out[a] = a == 0;
            continue;
        }
        double low = s == 0 ? 0.0 : normal_cdf((slot_low(cuts, s) - z) / spread);
        double high = s == slots - 1 ? 1.0 : normal_cdf((slot_high(cuts, slots, s) - z) / spread);
        out[a] = float(high - low);
    }
}

}  // namespace vs::lsh
