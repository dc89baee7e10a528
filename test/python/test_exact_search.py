"""Exact k-NN through a sequential scan agrees with the float64 ground truth (groundtruth.py) on
real data (Fashion-MNIST, 60,000 x 784), for every distance operator, over prepared binary queries."""
import os
import sys
import unittest

import numpy as np
import psycopg

import groundtruth

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import vsutil  # noqa: E402

K = 10


class ExactSearchTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.base, cls.labels = vsutil.fashion_mnist("train")
        cls.queries, _ = vsutil.fashion_mnist("t10k")
        cls.conn = psycopg.connect(autocommit=True)
        cls.conn.execute("DROP TABLE IF EXISTS fmnist")
        cls.conn.execute("CREATE TABLE fmnist (id int, label int, embedding vector(784))")
        vsutil.register_vector(cls.conn)
        vsutil.copy_vectors(cls.conn, "fmnist", cls.base, cls.labels)
        cls.conn.execute("ANALYZE fmnist")

    @classmethod
    def tearDownClass(cls):
        cls.conn.execute("DROP TABLE fmnist")
        cls.conn.close()

    def check_operator(self, op, nqueries=8):
        truth = groundtruth.GroundTruth(self.base, self.queries[:nqueries], groundtruth.METRIC_OF_OPERATOR[op], K,
                                        ids=np.arange(1, len(self.base) + 1))
        cur = self.conn.cursor()
        sql = f"SELECT id, embedding {op} %s FROM fmnist ORDER BY embedding {op} %s LIMIT {K}"
        for i, query in enumerate(truth.queries):
            rows = cur.execute(sql, (query, query), binary=True, prepare=True).fetchall()
            reference = truth.distances_of(i, [r[0] for r in rows])
            want = truth.dist[i]
            # Ties may be broken either way: the returned rows must have exactly the k smallest
            # reference distances, in order, and report them within float accuracy.
            scale = np.abs(want).max() + 1e-9
            np.testing.assert_allclose(reference, want, rtol=0, atol=1e-5 * scale)
            np.testing.assert_allclose([r[1] for r in rows], reference, rtol=1e-5, atol=1e-5 * scale)

    def test_l2(self):
        self.check_operator("<->")

    def test_negative_inner_product(self):
        self.check_operator("<#>")

    def test_cosine(self):
        self.check_operator("<=>")

    def test_l1(self):
        self.check_operator("<+>")

    def test_parallel_scan_gives_the_same_answer(self):
        self.conn.execute("SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0; "
                          "SET max_parallel_workers_per_gather = 2")
        try:
            plan = "\n".join(r[0] for r in self.conn.execute(
                "EXPLAIN SELECT id FROM fmnist ORDER BY embedding <-> %s LIMIT 10", (self.queries[0],)))
            self.assertIn("Parallel Seq Scan", plan)
            self.check_operator("<->", nqueries=3)
        finally:
            self.conn.execute("RESET ALL")

    def test_neighbours_share_the_query_label(self):
        # A sanity check on the data path end to end: nearest images are mostly the same class.
        _, test_labels = vsutil.fashion_mnist("t10k")
        cur = self.conn.cursor()
        agree = 0
        for query, label in zip(self.queries[:20], test_labels[:20]):
            rows = cur.execute("SELECT label FROM fmnist ORDER BY embedding <-> %s LIMIT 1",
                               (query,), binary=True, prepare=True).fetchall()
            agree += rows[0][0] == label
        self.assertGreaterEqual(agree, 14)


if __name__ == "__main__":
    unittest.main()
