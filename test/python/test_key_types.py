"""The indexes over the other key types on real data (Fashion-MNIST, 784 dimensions, 20,000 rows, 200
test images), as pgvector documents the recipes: a halfvec expression index answers as the vector
index does (recall@10 within 0.005 at the same ef_search) from an index about half the size, and
lsh on a halfvec expression meets its target recall as on the vector; a bit index of
binary_quantize finds the candidates an exact search of the bits would, so that its
re-ranked answer recalls what the recipe itself can (within 0.02); and on a sparse set made from
it (pixels of 127 and below dropped, as bench's fashion-mnist-sparse: 245 non-zero elements on
average) a sparsevec index, built alone, with a parallel worker or beyond its memory, recalls as
a vector index of the same rows does (within 0.015: the graphs are random), from an index under
0.8 of its size. The ground truth is the vectors' own (groundtruth.py)."""
import os
import sys
import unittest

import numpy as np
import psycopg

import groundtruth

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import vsutil  # noqa: E402

K = 10
N_BASE = 20_000
N_QUERIES = 200
DIM = 784
HALF = f"embedding::halfvec({DIM})"
BITS = f"binary_quantize(embedding)::bit({DIM})"
RERANK = 200


class KeyTypesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        train, _ = vsutil.fashion_mnist("train")
        cls.vectors = train[:N_BASE]
        cls.queries = vsutil.fashion_mnist("t10k")[0][:N_QUERIES]
        cls.truth = groundtruth.GroundTruth(cls.vectors, cls.queries, "l2", K)
        cls.conn = psycopg.connect(autocommit=True)
        vsutil.register_vector(cls.conn)
        cls.conn.execute("DROP TABLE IF EXISTS fm_keys")
        vsutil.vector_table(cls.conn, "fm_keys", cls.vectors)
        cls.conn.execute("CREATE INDEX fm_keys_vector ON fm_keys USING hnsw (embedding vector_l2_ops)")
        cls.conn.execute(f"CREATE INDEX fm_keys_half ON fm_keys USING hnsw (({HALF}) halfvec_l2_ops)")
        cls.conn.execute(f"CREATE INDEX fm_keys_bits ON fm_keys USING hnsw (({BITS}) bit_hamming_ops)")

    @classmethod
    def tearDownClass(cls):
        cls.conn.execute("DROP TABLE IF EXISTS fm_keys")
        cls.conn.close()

    def answers(self, sql, index, ef_search):
        """The ids (0-based) the query sql returns for each test image, after checking that its
        plan scans index."""
        self.conn.execute("SET enable_seqscan = off")
        self.conn.execute(f"SET hnsw.ef_search = {ef_search}")
        try:
            plan = "\n".join(r[0] for r in self.conn.execute("EXPLAIN " + sql, (self.queries[0],)))
            self.assertIn(f"Index Scan using {index}", plan)
            cur = self.conn.cursor()
            return [[r[0] - 1 for r in cur.execute(sql, (q,), binary=True, prepare=True)] for q in self.queries]
        finally:
            self.conn.execute("RESET enable_seqscan")
            self.conn.execute("RESET hnsw.ef_search")

    def test_halfvec_index_recalls_as_the_vector_index_at_half_the_size(self):
        by_vector = f"SELECT id FROM fm_keys ORDER BY embedding <-> %s LIMIT {K}"
        by_half = f"SELECT id FROM fm_keys ORDER BY {HALF} <-> %s::vector::halfvec({DIM}) LIMIT {K}"
        for ef_search in (40, 100):
            vector = self.truth.recall(self.answers(by_vector, "fm_keys_vector", ef_search))
            half = self.truth.recall(self.answers(by_half, "fm_keys_half", ef_search))
            print(f"\n  ef_search {ef_search}: recall@{K} vector {vector:.4f}, halfvec {half:.4f}", file=sys.stderr)
            self.assertLessEqual(abs(half - vector), 0.005, f"at ef_search {ef_search}")
        ratio = self.conn.execute(
            "SELECT pg_relation_size('fm_keys_half')::float8 / pg_relation_size('fm_keys_vector')").fetchone()[0]
        print(f"  halfvec index / vector index size: {ratio:.3f}", file=sys.stderr)
        self.assertLess(ratio, 0.55)
        self.assertGreater(ratio, 0.45)

    def test_lsh_on_halfvec_meets_its_target_as_on_vector(self):
        # lsh hashes a halfvec row as the floats its halves widen to: at each target recall the
        # halfvec index lands within the 0.03 lsh promises, as the vector index does (a table of
        # their own, so that no hnsw index serves the queries)
        self.conn.execute("DROP TABLE IF EXISTS fm_lsh")
        vsutil.vector_table(self.conn, "fm_lsh", self.vectors)
        self.conn.execute("CREATE INDEX fm_lsh_vector ON fm_lsh USING lsh (embedding vector_l2_ops)")
        self.conn.execute(f"CREATE INDEX fm_lsh_half ON fm_lsh USING lsh (({HALF}) halfvec_l2_ops)")
        try:
            by_vector = f"SELECT id FROM fm_lsh ORDER BY embedding <-> %s LIMIT {K}"
            by_half = f"SELECT id FROM fm_lsh ORDER BY {HALF} <-> %s::vector::halfvec({DIM}) LIMIT {K}"
            for target in (0.9, 0.95):
                self.conn.execute(f"SET lsh.target_recall = {target}")
                vector = self.truth.recall(self.answers(by_vector, "fm_lsh_vector", 40))
                half = self.truth.recall(self.answers(by_half, "fm_lsh_half", 40))
                print(f"\n  lsh.target_recall {target}: recall@{K} vector {vector:.4f}, halfvec {half:.4f}",
                      file=sys.stderr)
                self.assertLessEqual(abs(half - target), 0.03)
                self.assertLessEqual(abs(vector - target), 0.03)
        finally:
            self.conn.execute("RESET lsh.target_recall")
            self.conn.execute("DROP TABLE fm_lsh")

    def build_sparse(self, name, settings, rows=None):
        """Builds the sparsevec index name on fm_sparse (rows: on its first rows only, a partial
        index) under settings; returns the notices and debug messages."""
        messages = []
        conn = psycopg.connect(autocommit=True)
        conn.add_notice_handler(lambda d: messages.append(d.message_primary))
        try:
            for setting in settings + ["client_min_messages = debug1"]:
                conn.execute(f"SET {setting}")
            where = f" WHERE id <= {rows}" if rows else ""
            conn.execute(f"CREATE INDEX {name} ON fm_sparse USING hnsw ((embedding::sparsevec({DIM})) sparsevec_l2_ops){where}")
        finally:
            conn.close()
        return messages

    def test_sparsevec_index_recalls_as_the_vector_index_of_the_same_rows(self):
        # built alone, with a parallel worker (the keys in shared memory), and in 1 MB of memory
        # (most rows inserted into the written graph): each recalls as the vector index does
        sparse_rows = np.where(self.vectors > 127, self.vectors, 0).astype(np.float32)
        sparse_queries = np.where(self.queries > 127, self.queries, 0).astype(np.float32)
        truth = groundtruth.GroundTruth(sparse_rows, sparse_queries, "l2", K)
        small = 3_000
        small_truth = groundtruth.GroundTruth(sparse_rows[:small], sparse_queries, "l2", K)
        self.conn.execute("DROP TABLE IF EXISTS fm_sparse")
        vsutil.vector_table(self.conn, "fm_sparse", sparse_rows)
        self.conn.execute("ALTER TABLE fm_sparse SET (parallel_workers = 1)")
        self.conn.execute("CREATE INDEX fm_sparse_vector ON fm_sparse USING hnsw (embedding vector_l2_ops)")
        sparse = f"embedding::sparsevec({DIM})"
        saved = self.queries
        try:
            self.queries = sparse_queries
            by_vector = f"SELECT id FROM fm_sparse ORDER BY embedding <-> %s LIMIT {K}"
            by_sparse = f"SELECT id FROM fm_sparse ORDER BY {sparse} <-> %s::vector::sparsevec({DIM}) LIMIT {K}"
            vector = {ef: truth.recall(self.answers(by_vector, "fm_sparse_vector", ef)) for ef in (40, 100)}
            serial = self.build_sparse("fm_sparse_serial", ["max_parallel_maintenance_workers = 0"])
            self.assertFalse([m for m in serial if "parallel workers" in m or "no longer fits" in m])
            size = self.conn.execute("SELECT pg_relation_size('fm_sparse_serial')::float8 / pg_relation_size('fm_sparse_vector')").fetchone()[0]
            self.conn.execute("SELECT vectorsearch_check_index('fm_sparse_serial', true)")  # an ERROR if not sound
            found = {ef: truth.recall(self.answers(by_sparse, "fm_sparse_serial", ef)) for ef in (40, 100)}
            self.conn.execute("DROP INDEX fm_sparse_serial")
            # (a parallel build sizes its shared memory up front, taking a row's bytes in the table,
            # here a dense vector of 3 KB, for its key's: 64 MB would hold 19,000 of the 20,000)
            parallel = self.build_sparse("fm_sparse_parallel", ["max_parallel_maintenance_workers = 1",
                                                                "maintenance_work_mem = '128MB'"])
            self.assertIn("hnsw build with 1 parallel workers", parallel)
            self.assertFalse([m for m in parallel if "graph is full" in m or "no longer fits" in m], parallel)
            self.conn.execute("SELECT vectorsearch_check_index('fm_sparse_parallel', true)")  # an ERROR if not sound
            found_parallel = {ef: truth.recall(self.answers(by_sparse, "fm_sparse_parallel", ef)) for ef in (40, 100)}
            self.conn.execute("DROP INDEX fm_sparse_parallel")
            for ef in (40, 100):
                print(f"\n  ef_search {ef}: recall@{K} vector {vector[ef]:.4f}, sparsevec {found[ef]:.4f}, "
                      f"built with a parallel worker {found_parallel[ef]:.4f}", file=sys.stderr)
                self.assertLessEqual(abs(found[ef] - vector[ef]), 0.015, f"at ef_search {ef}")
                self.assertLessEqual(abs(found_parallel[ef] - vector[ef]), 0.015, f"at ef_search {ef}")
            print(f"  sparsevec index / vector index size: {size:.3f}", file=sys.stderr)
            self.assertLess(size, 0.8)
            # 3,000 rows of keys (about 6 MB) in 1 MB: the rest go into the written graph
            self.conn.execute("DROP INDEX fm_sparse_vector")
            by_small = by_sparse.replace("ORDER BY", f"WHERE id <= {small} ORDER BY")
            tight = self.build_sparse("fm_sparse_small", ["maintenance_work_mem = '1MB'", "max_parallel_maintenance_workers = 0"], small)
            # (once: the graph goes to pages once, and later rows to the pages)
            full = [m for m in tight if "no longer fits into maintenance_work_mem" in m]
            self.assertEqual(len(full), 1, full[:3])
            self.conn.execute("SELECT vectorsearch_check_index('fm_sparse_small', true)")  # an ERROR if not sound
            recall = small_truth.recall(self.answers(by_small, "fm_sparse_small", 100))
            print(f"  built in 1 MB ({small} rows): recall@{K} {recall:.4f} at ef_search 100", file=sys.stderr)
            self.assertGreater(recall, 0.97)
        finally:
            self.queries = saved
            self.conn.execute("DROP TABLE fm_sparse")

    def test_sparsevec_parallel_build_beyond_its_key_memory(self):
        # An expression index whose keys (2,000 elements, 16 KB) dwarf the table's rows (an int):
        # the shared arena, sized from the table, fills after a few dozen keys, the graph goes to
        # pages once with a NOTICE that names maintenance_work_mem, and the other rows are
        # inserted there; every row is found again at distance 0.
        rows = 300
        self.conn.execute("DROP TABLE IF EXISTS sparse_wide")
        self.conn.execute("DROP FUNCTION IF EXISTS sparse_wide_key(int)")
        self.conn.execute("CREATE TABLE sparse_wide (id int)")
        self.conn.execute(f"INSERT INTO sparse_wide SELECT generate_series(1, {rows})")
        self.conn.execute("ALTER TABLE sparse_wide SET (parallel_workers = 1)")
        messages = []
        conn = psycopg.connect(autocommit=True)
        conn.add_notice_handler(lambda d: messages.append(d.message_primary))
        try:
            for setting in ("max_parallel_maintenance_workers = 1", "maintenance_work_mem = '64MB'",
                            "client_min_messages = debug1"):
                conn.execute(f"SET {setting}")
            conn.execute("""CREATE FUNCTION sparse_wide_key(i int) RETURNS sparsevec IMMUTABLE PARALLEL SAFE LANGUAGE sql AS $$
                SELECT ('{' || string_agg(((j * 7 + i) % 100000 + 1) || ':' || (1 + (i * j) % 5), ',') || '}/100000')::sparsevec
                FROM generate_series(1, 2000) j $$""")
            conn.execute("CREATE INDEX sparse_wide_idx ON sparse_wide USING hnsw ((sparse_wide_key(id)::sparsevec(100000)) sparsevec_l2_ops)")
            self.assertIn("hnsw build with 1 parallel workers", messages)
            full = [m for m in messages if "hnsw graph" in m]
            self.assertEqual(len(full), 1, full[:3])
            self.assertIn("no longer fits into maintenance_work_mem", full[0])
            conn.execute("SELECT vectorsearch_check_index('sparse_wide_idx', true)")  # an ERROR if not sound
            conn.execute("SET enable_seqscan = off")
            conn.execute("SET hnsw.ef_search = 400")
            found = conn.execute(f"""SELECT count(*) FROM sparse_wide w WHERE (SELECT n.id FROM sparse_wide n
                ORDER BY sparse_wide_key(n.id)::sparsevec(100000) <-> sparse_wide_key(w.id)::sparsevec(100000) LIMIT 1) = w.id""").fetchone()[0]
            self.assertEqual(found, rows)
        finally:
            conn.close()
            self.conn.execute("DROP TABLE sparse_wide")
            self.conn.execute("DROP FUNCTION IF EXISTS sparse_wide_key(int)")

    def test_bit_index_with_exact_rerank(self):
        # the query vector orders the candidates and re-ranks them: a CTE binds it once
        reranked = (f"WITH q AS (SELECT %s::vector AS v) SELECT id FROM (SELECT id, embedding FROM fm_keys "
                    f"ORDER BY {BITS} <~> (SELECT binary_quantize(v)::bit({DIM}) FROM q) LIMIT {RERANK}) c "
                    f"ORDER BY embedding <-> (SELECT v FROM q) LIMIT {K}")
        answers = self.answers(reranked, "fm_keys_bits", 400)
        self.assertTrue(all(len(a) == K for a in answers))
        recall = self.truth.recall(answers)
        # what the recipe reaches with the exact RERANK nearest by Hamming distance (ties in any
        # order): binary_quantize keeps only which pixels are lit, so not every true neighbour is
        # among them
        bits, query_bits = self.vectors > 0, self.queries > 0
        exact = []
        for q, qb in zip(self.queries, query_bits):
            candidates = np.argsort((bits != qb).sum(axis=1), kind="stable")[:RERANK]
            exact.append(list(candidates[np.argsort(((self.vectors[candidates] - q) ** 2).sum(axis=1))[:K]]))
        ideal = self.truth.recall(exact)
        print(f"\n  bit index, {RERANK} candidates re-ranked: recall@{K} {recall:.4f} "
              f"(exact Hamming candidates: {ideal:.4f})", file=sys.stderr)
        self.assertGreaterEqual(recall, ideal - 0.02)
        self.assertGreater(ideal, 0.7)


if __name__ == "__main__":
    unittest.main()
