// The sparse merge kernels against the double-precision reference of the float kernels' tests on
// the same vectors made dense: random supports that overlap in part, disjoint ones, empty ones,
// and magnitudes whose float sums overflow.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "core/kernels/sparse.h"
#include "kernel_reference.h"

namespace {

using namespace vs::testing;

struct Sparse {
    std::vector<std::int32_t> indices;
    std::vector<float> values;
    vs::SparseVector view() const { return {indices.size(), indices.data(), values.data()}; }
    std::vector<float> dense(int dim) const {
        std::vector<float> d(dim, 0.0f);
        for (std::size_t i = 0; i < indices.size(); i++) d[indices[i]] = values[i];
        return d;
    }
};

Sparse random_sparse(std::mt19937 &rng, int dim, double density, float scale) {
    std::uniform_real_distribution<double> coin(0, 1);
    std::uniform_real_distribution<float> value(-scale, scale);
    Sparse s;
    for (int i = 0; i < dim; i++)
        if (coin(rng) < density) {
            float v = value(rng);
            if (v == 0) continue;
            s.indices.push_back(i);
            s.values.push_back(v);
        }
    return s;
}

void check(const Sparse &a, const Sparse &b, int dim) {
    Reference r = reference(a.dense(dim), b.dense(dim));
    std::size_t terms = a.indices.size() + b.indices.size();
    expect_close(vs::sparse_l2_squared(a.view(), b.view()), r.l2_squared, r.l2_squared, terms);
    expect_close(vs::sparse_inner_product(a.view(), b.view()), r.inner_product, r.inner_product_magnitude, terms);
    expect_close(vs::sparse_l1(a.view(), b.view()), r.l1, r.l1, terms);
    vs::CosineParts p = vs::sparse_cosine_parts(a.view(), b.view());
    EXPECT_NEAR(p.dot, r.inner_product, float_error_bound(r.inner_product_magnitude, terms));
    EXPECT_NEAR(p.norm_a, r.norm_a, float_error_bound(r.norm_a, terms));
    EXPECT_NEAR(p.norm_b, r.norm_b, float_error_bound(r.norm_b, terms));
    EXPECT_NEAR(vs::sparse_l2_squared_double(a.view(), b.view()), r.l2_squared, 1e-9 * (1 + r.l2_squared));
    EXPECT_NEAR(vs::sparse_inner_product_double(a.view(), b.view()), r.inner_product,
                1e-9 * (1 + r.inner_product_magnitude));
    EXPECT_NEAR(vs::sparse_l1_double(a.view(), b.view()), r.l1, 1e-9 * (1 + r.l1));
}

TEST(SparseKernels, RandomSupportsAgreeWithTheDenseReference) {
    std::mt19937 rng(11);
    for (int dim : {1, 7, 100, 5000})
        for (double density : {0.0, 0.01, 0.1, 0.5, 1.0})
            for (int rep = 0; rep < 4; rep++) check(random_sparse(rng, dim, density, 1), random_sparse(rng, dim, density, 1), dim);
}

TEST(SparseKernels, DisjointAndEmptySupports) {
    Sparse evens, odds, empty;
    for (int i = 0; i < 100; i++) {
        Sparse &half = i % 2 ? odds : evens;
        half.indices.push_back(i);
        half.values.push_back(float(i + 1));
    }
    check(evens, odds, 100);
    check(evens, empty, 100);
    check(empty, empty, 100);
    EXPECT_EQ(vs::sparse_inner_product(evens.view(), odds.view()), 0.0f);
    EXPECT_EQ(vs::sparse_l2_squared(empty.view(), empty.view()), 0.0f);
}

// Where float sums overflow, the result is finite: the double value, clamped to the float range.
TEST(SparseKernels, OverflowingSumsStayFinite) {
    Sparse big{{0, 1}, {3e38f, 3e38f}}, negative{{0, 1}, {-3e38f, -3e38f}};
    check(big, negative, 2);
    check(big, big, 2);
    vs::CosineParts p = vs::sparse_cosine_parts(big.view(), negative.view());
    EXPECT_NEAR(vs::cosine_distance(p), 2.0, 1e-12);
    Sparse tiny{{3}, {1e-30f}};
    p = vs::sparse_cosine_parts(tiny.view(), tiny.view());
    EXPECT_NEAR(vs::cosine_distance(p), 0.0, 1e-12);  // its float norm underflows; its direction does not
}

// A query scattered over its dimensions gives the merge kernels' inner product and cosine
// distance bit for bit, and their L2 and L1 to within the float rounding of the merge (its sums
// are in double); one query serves many keys, each compared after the last, and a key's index
// outside the dimensions reads as an element the query lacks.
TEST(SparseQueryKernels, ScatteredQueryAgreesWithTheMergeKernels) {
    std::mt19937 rng(12);
    for (int dim : {1, 7, 100, 5000}) {
        std::vector<float> dense(dim + 1, 0.0f);
        vs::SparseQuery q{dense.data(), std::size_t(dim), {0, nullptr, nullptr}, 0, 0, 0};
        dense.back() = 5.0f;  // what sparse_query_set clears, as any left-over value
        for (double density : {0.0, 0.01, 0.1, 0.5, 1.0}) {
            Sparse query = random_sparse(rng, dim, density, 1);
            vs::sparse_query_set(&q, query.view());
            for (int rep = 0; rep < 6; rep++) {
                Sparse key = random_sparse(rng, dim, rep % 2 ? density : 0.3, 1);
                vs::SparseVector a = query.view(), b = key.view();
                EXPECT_EQ(vs::sparse_query_distance(vs::Metric::InnerProduct)(q, b), vs::sparse_negative_inner_product(a, b));
                float cosine = vs::sparse_query_distance(vs::Metric::Cosine)(q, b), merged = vs::sparse_cosine_distance(a, b);
                EXPECT_TRUE(cosine == merged || (std::isnan(cosine) && std::isnan(merged))) << cosine << " " << merged;
                std::size_t terms = a.nnz + b.nnz;
                double l2 = vs::sparse_l2_squared_double(a, b), l1 = vs::sparse_l1_double(a, b);
                EXPECT_NEAR(vs::sparse_query_distance(vs::Metric::L2)(q, b), l2, float_error_bound(l2 + 2 * q.squared_norm_double, terms));
                EXPECT_NEAR(vs::sparse_query_distance(vs::Metric::L1)(q, b), l1, float_error_bound(l1 + 2 * q.l1_norm_double, terms));
            }
        }
        // every element cleared between queries
        Sparse empty;
        vs::sparse_query_set(&q, empty.view());
        for (float x : dense) EXPECT_EQ(x, 0.0f);
    }
    EXPECT_TRUE(vs::sparse_query_exact(vs::Metric::InnerProduct) && vs::sparse_query_exact(vs::Metric::Cosine));
    EXPECT_FALSE(vs::sparse_query_exact(vs::Metric::L2) || vs::sparse_query_exact(vs::Metric::L1));
    EXPECT_EQ(vs::sparse_query_distance(vs::Metric::Hamming), nullptr);

    std::vector<float> dense(11, 0.0f);
    vs::SparseQuery q{dense.data(), 10, {0, nullptr, nullptr}, 0, 0, 0};
    Sparse query{{2}, {3.0f}}, corrupt{{-5, 2, 10, 1 << 30}, {1.0f, 1.0f, 1.0f, 1.0f}};
    vs::sparse_query_set(&q, query.view());
    EXPECT_EQ(vs::sparse_query_distance(vs::Metric::InnerProduct)(q, corrupt.view()), -3.0f);
    EXPECT_EQ(vs::sparse_query_distance(vs::Metric::L2)(q, corrupt.view()), 4.0f + 3.0f);
}

}  // namespace
