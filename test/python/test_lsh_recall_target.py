"""lsh.target_recall on the benchmark's three datasets: an lsh index built with its defaults (no
WITH clause) on the first five sixths of the base rows, queried with 1,000 held-out queries at
targets 0.8, 0.9, 0.95 and 0.99, must measure a mean recall@10 within 0.03 of each target; and
still after the last sixth (20% more rows) is inserted. The index calibrates on rows of its own
table at build; the queries here are never among them. Seed's queries all lie where its table
begins (x_0 < 1), easier than its rows: fixed settings per target overshot them by up to 0.14,
and its index plans per query instead (the build finds that cheaper there)."""
import os
import sys
import unittest

import numpy as np
import psycopg

import groundtruth

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import vsutil  # noqa: E402

K = 10
TARGETS = (0.8, 0.9, 0.95, 0.99)
TOLERANCE = 0.03
N_QUERIES = 1000


def normalised(x):
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def datasets():
    train, _ = vsutil.fashion_mnist("train")
    test, _ = vsutil.fashion_mnist("t10k")
    seed_base, seed_queries = vsutil.seed_dataset(N_QUERIES)
    return {
        "fashion_mnist": (train, test[:N_QUERIES], "vector_l2_ops", "<->"),
        "fashion_mnist_angular": (normalised(train), normalised(test[:N_QUERIES]), "vector_cosine_ops", "<=>"),
        "seed": (seed_base, seed_queries, "vector_l2_ops", "<->"),
    }


# Datasets whose queries are unlike the table's rows, where fixed settings per target miss the
# targets; their bound above holds only if the build chooses the per-query planner there.
PLANS_PER_QUERY = {"seed"}


class LshRecallTargetTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.conn = psycopg.connect(autocommit=True)
        vsutil.register_vector(cls.conn)
        cls.data = datasets()

    @classmethod
    def tearDownClass(cls):
        cls.conn.close()

    def measure(self, table, base, queries, op, rows):
        """{target: recall@10} of the index over the table's first rows rows."""
        truth = groundtruth.GroundTruth(base[:rows], queries, groundtruth.METRIC_OF_OPERATOR[op], K,
                                        ids=np.arange(1, rows + 1))
        sql = f"SELECT id FROM {table} ORDER BY embedding {op} %s LIMIT {K}"
        measured = {}
        self.conn.execute("SET enable_seqscan = off")
        try:
            plan = "\n".join(r[0] for r in self.conn.execute("EXPLAIN " + sql, (queries[0],)))
            self.assertIn(f"Index Scan using {table}_idx", plan)
            for target in TARGETS:
                self.conn.execute(f"SET lsh.target_recall = {target}")
                cur = self.conn.cursor()
                answers = [[r[0] for r in cur.execute(sql, (q,), binary=True, prepare=True).fetchall()]
                           for q in queries]
                measured[target] = truth.recall(answers)
        finally:
            self.conn.execute("RESET enable_seqscan")
            self.conn.execute("RESET lsh.target_recall")
        return measured

    def check(self, name):
        base, queries, opclass, op = self.data[name]
        table = f"lsh_target_{name}"
        built = len(base) * 5 // 6
        self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        self.conn.execute(f"CREATE TABLE {table} (id int, embedding vector({base.shape[1]}))")
        self.conn.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE PLAIN")
        try:
            vsutil.copy_vectors(self.conn, table, base[:built])
            self.conn.execute(f"ANALYZE {table}")
            notices = []

            def collect(notice):
                notices.append(notice.message_primary)

            self.conn.add_notice_handler(collect)
            self.conn.execute("SET client_min_messages = debug1")
            try:
                self.conn.execute(f"CREATE INDEX {table}_idx ON {table} USING lsh (embedding {opclass})")
            finally:
                self.conn.execute("RESET client_min_messages")
                self.conn.remove_notice_handler(collect)
            planned = [m for m in notices if "plans per query" in m]
            if name in PLANS_PER_QUERY:
                self.assertTrue(planned, f"{name}: the build chose no per-query plan")
            after_build = self.measure(table, base, queries, op, built)
            vsutil.copy_vectors(self.conn, table, base[built:], first_id=built + 1)
            self.conn.execute(f"ANALYZE {table}")
            after_inserts = self.measure(table, base, queries, op, len(base))
        finally:
            self.conn.execute(f"DROP TABLE {table}")
        for stage, measured in (("after build", after_build), ("after 20% more rows", after_inserts)):
            print(f"\n  {name} {stage}: " + ", ".join(f"target {t}: {r:.3f}" for t, r in measured.items()),
                  file=sys.stderr)
        for stage, measured in (("after build", after_build), ("after 20% more rows", after_inserts)):
            for target, recall in measured.items():
                message = f"{name} {stage}, target {target}"
                self.assertGreaterEqual(recall, target - TOLERANCE, message)
                self.assertLessEqual(recall, target + TOLERANCE, message)

    def test_fashion_mnist(self):
        self.check("fashion_mnist")

    def test_fashion_mnist_angular(self):
        self.check("fashion_mnist_angular")

    def test_seed(self):
        self.check("seed")


if __name__ == "__main__":
    unittest.main()
