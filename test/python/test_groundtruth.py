"""The ground-truth and recall module (groundtruth.py): a hand-checked example with ties under
each metric, the answers it refuses, and each metric's order and distances against its SQL
operator's on the live server."""
import os
import sys
import tempfile
import unittest

import numpy as np
import psycopg

import groundtruth

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import vsutil  # noqa: E402

# Seven rows around the query [1, 0], with ties under every metric (distances worked out by hand
# in the comments: l2, l1, inner product, cosine).
TINY_BASE = np.array([
    [1, 0],    # 0:  0     0  -1  0
    [2, 0],    # 1:  1     1  -2  0
    [1, 1],    # 2:  1     1  -1  1 - 1/sqrt(2)
    [0, 1],    # 3:  sqrt2 2   0  1
    [1, -1],   # 4:  1     1  -1  1 - 1/sqrt(2)
    [-1, 0],   # 5:  2     2   1  2
    [3, 0],    # 6:  2     2  -3  0
], dtype=np.float32)
TINY_QUERY = np.array([[1, 0]], dtype=np.float32)
HALF_COS = 1 - 1 / np.sqrt(2)


class HandCheckedTest(unittest.TestCase):
    def truth(self, metric, k, **kwargs):
        return groundtruth.GroundTruth(TINY_BASE, TINY_QUERY, metric, k, **kwargs)

    def test_distances(self):
        want = {
            "l2": [0, 1, 1, np.sqrt(2), 1, 2, 2],
            "l1": [0, 1, 1, 2, 1, 2, 2],
            "inner_product": [-1, -2, -1, 0, -1, 1, -3],
            "cosine": [0, 0, HALF_COS, 1, HALF_COS, 2, 0],
        }
        for metric, distances in want.items():
            np.testing.assert_allclose(groundtruth.distances(TINY_BASE, TINY_QUERY, metric)[0], distances,
                                       rtol=0, atol=1e-15, err_msg=metric)

    def test_top_k_breaks_ties_by_position(self):
        for metric, k, rows, dist in [("l2", 2, [0, 1], [0, 1]), ("l1", 4, [0, 1, 2, 4], [0, 1, 1, 1]),
                                      ("inner_product", 3, [6, 1, 0], [-3, -2, -1]),
                                      ("cosine", 4, [0, 1, 6, 2], [0, 0, 0, HALF_COS])]:
            truth = self.truth(metric, k)
            self.assertEqual(truth.rows[0].tolist(), rows, metric)
            np.testing.assert_allclose(truth.dist[0], dist, rtol=0, atol=1e-15, err_msg=metric)

    def test_recall_counts_ties_at_the_kth_distance(self):
        l2 = self.truth("l2", 2)  # true top 2: rows 0 and 1; rows 1, 2 and 4 tie at the 2nd distance
        for answer, want in [([0, 1], 1.0), ([0, 4], 1.0), ([4, 0], 1.0), ([2, 4], 1.0),
                             ([0, 3], 0.5), ([0], 0.5), ([], 0.0), ([3, 5], 0.0)]:
            self.assertEqual(l2.recall([answer]), want, answer)
        inner_product = self.truth("inner_product", 3)  # rows 6, 1, then one of 0, 2, 4
        self.assertEqual(inner_product.recall([[6, 1, 4]]), 1.0)
        self.assertAlmostEqual(inner_product.recall([[6, 1, 3]]), 2 / 3)
        cosine = self.truth("cosine", 4)  # rows 0, 1, 6 at 0, then 2 or 4
        self.assertEqual(cosine.recall([[4, 6, 1, 0]]), 1.0)
        self.assertEqual(cosine.recall([[0, 1, 3, 5]]), 0.5)
        twice = groundtruth.GroundTruth(TINY_BASE, np.repeat(TINY_QUERY, 2, axis=0), "cosine", 4)
        self.assertEqual(twice.recall([[0, 1, 6, 2], [0, 1, 3, 5]]), 0.75)  # the mean over queries

    def test_ids_name_the_rows(self):
        truth = self.truth("l2", 2, ids=np.arange(101, 108))
        self.assertEqual(truth.top_ids[0].tolist(), [101, 102])
        self.assertEqual(truth.recall([[101, 105]]), 1.0)
        self.assertEqual(truth.recall([[101, 104]]), 0.5)
        with self.assertRaisesRegex(ValueError, r"does not hold: \[1\]"):
            truth.recall([[101, 1]])

    def test_bad_answers_are_errors(self):
        truth = self.truth("l2", 2)
        with self.assertRaisesRegex(ValueError, "twice"):
            truth.recall([[0, 0]])
        with self.assertRaisesRegex(ValueError, "more than k"):
            truth.recall([[0, 1, 2]])
        with self.assertRaisesRegex(ValueError, "does not hold"):
            truth.recall([[0, 7]])
        with self.assertRaisesRegex(ValueError, "answers for 1 queries"):
            truth.recall([[0], [1]])

    def test_cached_ground_truth_is_read_back(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = f"{tmp}/sub/gt.npz"
            first = groundtruth.GroundTruth.cached(path, TINY_BASE, TINY_QUERY, "cosine", 4)
            again = groundtruth.GroundTruth.cached(path, TINY_BASE, TINY_QUERY, "cosine", 4,
                                                   candidates=lambda *_: self.fail("recomputed"))
        np.testing.assert_array_equal(again.rows, first.rows)
        np.testing.assert_array_equal(again.dist, first.dist)


class AgainstServerTest(unittest.TestCase):
    """For random vectors, each metric ranks the rows as its operator does in a sequential scan
    and gives the distances the operator returns. 1,000 rows, so that the fast pass's candidates
    (groundtruth.CANDIDATES) are a part of them."""
    ROWS, DIM, QUERIES, K = 1000, 24, 5, 50

    @classmethod
    def setUpClass(cls):
        rng = np.random.default_rng(11)
        cls.base = rng.standard_normal((cls.ROWS, cls.DIM)).astype(np.float32)
        cls.queries = rng.standard_normal((cls.QUERIES, cls.DIM)).astype(np.float32)
        cls.conn = psycopg.connect(autocommit=True)
        vsutil.register_vector(cls.conn)
        cls.conn.execute(f"CREATE TEMP TABLE gt_random (id int, embedding vector({cls.DIM}))")
        vsutil.copy_vectors(cls.conn, "gt_random", cls.base, first_id=0)

    @classmethod
    def tearDownClass(cls):
        cls.conn.close()

    def test_each_metric_orders_as_its_operator(self):
        cur = self.conn.cursor()
        for metric, op in groundtruth.OPERATORS.items():
            truth = groundtruth.GroundTruth(self.base, self.queries, metric, self.K)
            full = groundtruth.distances(self.base, self.queries, metric)
            sql = f"SELECT id, embedding {op} %s FROM gt_random ORDER BY embedding {op} %s LIMIT {self.K}"
            for i, q in enumerate(self.queries):
                rows = cur.execute(sql, (q, q), binary=True).fetchall()
                self.assertEqual([r[0] for r in rows], truth.rows[i].tolist(), f"{op}, query {i}")
                self.assertEqual(truth.rows[i].tolist(), np.argsort(full[i], kind="stable")[:self.K].tolist())
                np.testing.assert_allclose([r[1] for r in rows], truth.dist[i], rtol=1e-5, atol=1e-5,
                                           err_msg=f"{op}, query {i}")
                self.assertEqual(truth.hits(i, [r[0] for r in rows]), self.K)


if __name__ == "__main__":
    unittest.main()
