"""Recall of the hnsw index on real data (Fashion-MNIST, 784 dimensions), over prepared binary
queries: after CREATE INDEX, after inserting more rows, after deleting half of them and VACUUM,
after inserting into the space VACUUM freed, under the cosine operator class, and built with a
parallel worker (against a serial build, and beyond maintenance_work_mem). The ground truth is a float64 brute force over the rows the
table holds at each stage.

The stages build on one another (build, then insert, then delete), in the order of the test
names; each one brings the table to its stage first, so that any test also runs on its own."""
import os
import sys
import time
import unittest

import numpy as np
import psycopg

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import vsutil  # noqa: E402

K = 10
N_BASE = 20_000     # the first train images, indexed by CREATE INDEX
N_EXTRA = 5_000     # the next ones, inserted into the index one by one (COPY)
N_REUSE = 5_000     # the next ones, inserted after the delete + VACUUM, into the freed slots
N_QUERIES = 200     # the first test images
TABLE = "fm_hnsw"
COSINE_TABLE = "fm_hnsw_cosine"


def distances(base, queries, op):
    """(len(queries), len(base)) float64 distances: L2 for '<->', cosine distance for '<=>'."""
    b, q = base.astype(np.float64), queries.astype(np.float64)
    if op == "<->":
        squared = (q * q).sum(axis=1)[:, None] - 2 * q @ b.T + (b * b).sum(axis=1)[None, :]
        return np.sqrt(np.maximum(squared, 0))
    b_norm = np.linalg.norm(b, axis=1)
    q_norm = np.linalg.norm(q, axis=1)
    return 1 - (q @ b.T) / (q_norm[:, None] * b_norm[None, :])



def vector_table(conn, table, vectors):
    """table (id, embedding) holding vectors as rows 1..n, analyzed."""
    conn.execute(f"CREATE TABLE {table} (id int, embedding vector({vectors.shape[1]}))")
    conn.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE PLAIN")
    vsutil.copy_vectors(conn, table, vectors)
    conn.execute(f"ANALYZE {table}")


def indexed_table(conn, table, vectors, opclass):
    """vector_table with an hnsw index named table_idx."""
    vector_table(conn, table, vectors)
    conn.execute(f"CREATE INDEX {table}_idx ON {table} USING hnsw (embedding {opclass}) "
                 "WITH (m = 16, ef_construction = 64)")

class HnswRecallTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        train, _ = vsutil.fashion_mnist("train")
        cls.vectors = train[:N_BASE + N_EXTRA + N_REUSE]  # row id i holds vectors[i - 1]
        cls.queries = vsutil.fashion_mnist("t10k")[0][:N_QUERIES]
        cls.conn = psycopg.connect(autocommit=True)
        vsutil.register_vector(cls.conn)
        cls.conn.execute(f"DROP TABLE IF EXISTS {TABLE}, {COSINE_TABLE}")
        indexed_table(cls.conn, TABLE, cls.vectors[:N_BASE], "vector_l2_ops")
        cls.live = np.arange(1, N_BASE + 1)             # ids of the rows the table holds
        cls.stage = "built"

    @classmethod
    def tearDownClass(cls):
        cls.conn.execute(f"DROP TABLE IF EXISTS {TABLE}, {COSINE_TABLE}")
        cls.conn.close()

    # the stages, each reached once whatever test asks for it first

    @classmethod
    def insert_rows(cls):
        if cls.stage == "built":
            vsutil.copy_vectors(cls.conn, TABLE, cls.vectors[N_BASE:N_BASE + N_EXTRA], first_id=N_BASE + 1)
            cls.conn.execute(f"ANALYZE {TABLE}")
            cls.live = np.arange(1, N_BASE + N_EXTRA + 1)
            cls.stage = "inserted"

    @classmethod
    def delete_half(cls):
        cls.insert_rows()
        if cls.stage == "inserted":
            cls.conn.execute(f"DELETE FROM {TABLE} WHERE id % 2 = 0")
            cls.conn.execute(f"VACUUM ANALYZE {TABLE}")
            cls.live = np.arange(1, N_BASE + N_EXTRA + 1, 2)
            cls.stage = "deleted"

    # measuring

    def search(self, table, op, ef_search):
        """The ids of the K nearest rows for each query, through the index."""
        self.conn.execute("SET enable_seqscan = off")
        self.conn.execute(f"SET hnsw.ef_search = {ef_search}")
        sql = f"SELECT id FROM {table} ORDER BY embedding {op} %s LIMIT {K}"
        plan = "\n".join(r[0] for r in self.conn.execute("EXPLAIN " + sql, (self.queries[0],)))
        self.assertIn(f"Index Scan using {table}_idx", plan)
        cur = self.conn.cursor()
        try:
            return [[r[0] for r in cur.execute(sql, (q,), binary=True, prepare=True).fetchall()]
                    for q in self.queries]
        finally:
            self.conn.execute("RESET enable_seqscan")
            self.conn.execute("RESET hnsw.ef_search")

    def recall(self, results, live, op, k=K):
        """Mean fraction of the k returned rows that are among the k nearest live rows; a row tied
        with the k-th nearest counts as one of them. No answer may hold a row twice."""
        d = distances(self.vectors[live - 1], self.queries, op)
        kth = np.partition(d, k - 1, axis=1)[:, k - 1]
        position = np.full(live.max() + 1, -1)
        position[live] = np.arange(len(live))
        hits = 0
        for i, ids in enumerate(results):
            self.assertLessEqual(len(ids), k)
            self.assertEqual(len(set(ids)), len(ids), f"query {i} returned a row twice: {ids}")
            ids = np.unique(np.array(ids, dtype=np.int64))
            self.assertTrue((ids <= live.max()).all() and (position[ids] >= 0).all(),
                            f"query {i} returned rows the table does not hold: {ids}")
            hits += int((d[i, position[ids]] <= kth[i] * (1 + 1e-6) + 1e-9).sum())
        return hits / (k * len(results))

    # the tests

    def test_1_recall_after_build(self):
        by_ef = {ef: self.search(TABLE, "<->", ef) for ef in (100, 10)}
        for ef, results in by_ef.items():
            self.assertTrue(all(len(ids) == K for ids in results), f"an answer short of {K} rows at ef_search {ef}")
        at_100 = self.recall(by_ef[100], self.live, "<->")
        at_10 = self.recall(by_ef[10], self.live, "<->")
        print(f"\n  after build ({N_BASE} rows): recall@{K} {at_100:.4f} at ef_search 100, "
              f"{at_10:.4f} at ef_search 10", file=sys.stderr)
        self.assertGreaterEqual(at_100, 0.995)
        self.assertLessEqual(at_10, at_100)

    def test_2_recall_after_inserts(self):
        self.insert_rows()
        results = self.search(TABLE, "<->", 100)
        self.assertTrue(any(id_ > N_BASE for ids in results for id_ in ids), "no inserted row is ever returned")
        at_100 = self.recall(results, self.live, "<->")
        print(f"\n  after {N_EXTRA} inserts ({len(self.live)} rows): recall@{K} {at_100:.4f} "
              "at ef_search 100", file=sys.stderr)
        self.assertGreaterEqual(at_100, 0.99)

    def test_3_recall_after_delete_and_vacuum(self):
        self.delete_half()
        self.assertEqual(self.conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0], len(self.live))
        for ef_search in (100, 10):
            results = self.search(TABLE, "<->", ef_search)
            deleted = sorted({id_ for ids in results for id_ in ids if id_ % 2 == 0})
            self.assertEqual(deleted, [], f"deleted rows returned at ef_search {ef_search}")
            if ef_search == 100:
                self.assertTrue(all(len(ids) == K for ids in results))
                at_100 = self.recall(results, self.live, "<->")
        print(f"\n  after deleting half + VACUUM ({len(self.live)} rows): recall@{K} {at_100:.4f} "
              "at ef_search 100", file=sys.stderr)
        self.assertGreaterEqual(at_100, 0.99)

    def test_3b_inserts_reuse_freed_space(self):
        self.delete_half()
        # VACUUM freed 12,500 slots; they may be reused once no snapshot older than it remains,
        # which one more transaction ID handed out shows.
        size = self.conn.execute(f"SELECT pg_relation_size('{TABLE}_idx')").fetchone()[0]
        self.conn.execute("SELECT txid_current()")
        first = N_BASE + N_EXTRA + 1
        vsutil.copy_vectors(self.conn, TABLE, self.vectors[first - 1:], first_id=first)
        grown = self.conn.execute(f"SELECT pg_relation_size('{TABLE}_idx')").fetchone()[0] - size
        live = np.concatenate([self.live, np.arange(first, first + N_REUSE)])
        type(self).live, type(self).stage = live, "reused"
        results = self.search(TABLE, "<->", 100)
        self.assertTrue(any(id_ >= first for ids in results for id_ in ids), "no reinserted row is ever returned")
        at_100 = self.recall(results, live, "<->")
        print(f"\n  {N_REUSE} inserts after VACUUM: the index grew by {grown} bytes; recall@{K} {at_100:.4f} "
              "at ef_search 100", file=sys.stderr)
        self.assertEqual(grown, 0)
        self.assertGreaterEqual(at_100, 0.99)

    def test_5_build_progress(self):
        # Another session watches pg_stat_progress_create_index while the build runs.
        table = "hnsw_progress"
        self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        vector_table(self.conn, table, self.vectors[:N_BASE])
        builder = psycopg.connect(autocommit=True)
        seen = set()
        try:
            with builder.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
                # Sends CREATE INDEX without waiting for it, then polls its progress.
                builder.pgconn.send_query(
                    f"CREATE INDEX ON {table} USING hnsw (embedding vector_l2_ops)".encode())
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    row = self.conn.execute(
                        "SELECT phase, tuples_done, tuples_total FROM pg_stat_progress_create_index "
                        "WHERE pid = %s", (pid,)).fetchone()
                    if row is None and seen:
                        break
                    if row is not None:
                        seen.add((row[0], row[1] > 0, row[2]))
                    time.sleep(0.02)
                statuses = []
                while (result := builder.pgconn.get_result()) is not None:
                    statuses.append((result.status, result.error_message))
                built = self.conn.execute(
                    "SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass AND indisvalid",
                    (table,)).fetchone()[0]
        finally:
            builder.close()
            self.conn.execute(f"DROP TABLE {table}")
        self.assertEqual(statuses, [(psycopg.pq.ExecStatus.COMMAND_OK, b"")], "CREATE INDEX failed")
        self.assertEqual(built, 1, "no valid index after the build")
        phases = {phase for phase, _, _ in seen}
        self.assertIn("building index: loading tuples", phases)
        self.assertTrue(any(done for phase, done, _ in seen if phase == "building index: loading tuples"))
        self.assertIn(N_BASE, {total for _, _, total in seen})

    def build_logged(self, table, settings):
        """Builds table's hnsw index under settings; returns the notices and debug messages."""
        messages = []
        conn = psycopg.connect(autocommit=True)
        conn.add_notice_handler(lambda d: messages.append(d.message_primary))
        try:
            for setting in settings + ["client_min_messages = debug1"]:
                conn.execute(f"SET {setting}")
            conn.execute(f"DROP INDEX IF EXISTS {table}_idx")
            conn.execute(f"CREATE INDEX {table}_idx ON {table} USING hnsw (embedding vector_l2_ops) "
                         "WITH (m = 16, ef_construction = 64)")
        finally:
            conn.close()
        return messages

    def test_6_parallel_build_matches_serial(self):
        table = "hnsw_parallel"
        self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        vector_table(self.conn, table, self.vectors[:N_BASE])
        live = np.arange(1, N_BASE + 1)
        try:
            serial = self.build_logged(table, ["max_parallel_maintenance_workers = 0"])
            self.assertFalse([m for m in serial if "parallel workers" in m])
            serial_recall = [self.recall(self.search(table, "<->", ef), live, "<->") for ef in (10, 40)]
            parallel = self.build_logged(table, ["max_parallel_maintenance_workers = 1"])
            self.assertIn("hnsw build with 1 parallel workers", parallel)
            parallel_recall = [self.recall(self.search(table, "<->", ef), live, "<->") for ef in (10, 40)]
        finally:
            self.conn.execute(f"DROP TABLE {table}")
        print(f"\n  recall@{K} at ef_search 10, 40: serial build {serial_recall}, "
              f"with a parallel worker {parallel_recall}", file=sys.stderr)
        for one, two in zip(serial_recall, parallel_recall):
            self.assertAlmostEqual(one, two, delta=0.02)

    def test_7_parallel_build_beyond_memory(self):
        # 1MB holds about 300 of these rows: the shared graph fills, is written out, and the
        # leader and the worker insert the rest into the pages at once.
        table = "hnsw_parallel_small"
        self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        vector_table(self.conn, table, self.vectors[:3000])
        self.conn.execute(f"ALTER TABLE {table} SET (parallel_workers = 1)")
        try:
            messages = self.build_logged(table, ["max_parallel_maintenance_workers = 1",
                                                 "maintenance_work_mem = '1MB'"])
            results = self.search(table, "<->", 100)
        finally:
            self.conn.execute(f"DROP TABLE {table}")
        self.assertIn("hnsw build with 1 parallel workers", messages)
        self.assertTrue(any("no longer fits into maintenance_work_mem" in m for m in messages), messages)
        at_100 = self.recall(results, np.arange(1, 3001), "<->")
        print(f"\n  parallel build beyond maintenance_work_mem (3000 rows): recall@{K} {at_100:.4f} "
              "at ef_search 100", file=sys.stderr)
        self.assertGreaterEqual(at_100, 0.99)

    def test_8_build_after_hot_updates_waits_for_old_snapshots(self):
        # Rows updated in place (HOT, with no index on the column yet) while an older snapshot can
        # still see their old vectors: the new index must not serve that snapshot
        # (pg_index.indcheckxmin), whether one process scanned the table or several.
        table = "hnsw_hot"
        for workers in (0, 1):
            self.conn.execute(f"DROP TABLE IF EXISTS {table}")
            self.conn.execute(f"CREATE TABLE {table} (id int, embedding vector(3)) WITH (parallel_workers = 1, fillfactor = 50)")
            self.conn.execute(f"INSERT INTO {table} SELECT i, ARRAY[i, i % 7, 1] FROM generate_series(1, 2000) i")
            # autocommit, so that BEGIN opens the REPEATABLE READ transaction itself (psycopg
            # would have opened a READ COMMITTED one first, which holds no snapshot)
            old = psycopg.connect(autocommit=True)
            try:
                old.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
                old.execute(f"SELECT count(*) FROM {table}")
                self.conn.execute(f"UPDATE {table} SET embedding = ARRAY[id, 0, 2] WHERE id % 2 = 0")
                messages = self.build_logged(table, [f"max_parallel_maintenance_workers = {workers}"])
                checkxmin = self.conn.execute(
                    "SELECT indcheckxmin FROM pg_index WHERE indexrelid = %s::regclass", (f"{table}_idx",)).fetchone()[0]
            finally:
                old.close()
                self.conn.execute(f"DROP TABLE {table}")
            self.assertEqual(any("hnsw build with 1 parallel workers" in m for m in messages), workers == 1)
            self.assertTrue(checkxmin, f"indcheckxmin not set after a build with {workers} workers")

    def test_9_filtered_queries_with_iterative_scans(self):
        # One row in ten passes the filter: a scan of ef_search 40 holds about 4 of them in its
        # first batch and goes on until 10 do, in every mode.
        passing = self.live[self.live % 10 == 1]
        sql = f"SELECT id FROM {TABLE} WHERE id %% 10 = 1 ORDER BY embedding <-> %s LIMIT {K}"
        found = {}
        for mode in ("off", "relaxed_order", "strict_order"):
            self.conn.execute("SET enable_seqscan = off")
            self.conn.execute(f"SET hnsw.iterative_scan = {mode}")
            try:
                plan = "\n".join(r[0] for r in self.conn.execute("EXPLAIN " + sql, (self.queries[0],)))
                self.assertIn(f"Index Scan using {TABLE}_idx", plan)
                cur = self.conn.cursor()
                found[mode] = [[r[0] for r in cur.execute(sql, (q,), binary=True, prepare=True).fetchall()]
                               for q in self.queries]
            finally:
                self.conn.execute("RESET enable_seqscan")
                self.conn.execute("RESET hnsw.iterative_scan")
        recall = {mode: self.recall(found[mode], passing, "<->") for mode in found}
        print(f"\n  a filter passing 1 row in 10, ef_search 40: recall@{K} {recall['off']:.4f} off, "
              f"{recall['relaxed_order']:.4f} relaxed, {recall['strict_order']:.4f} strict", file=sys.stderr)
        for mode in found:
            self.assertTrue(all(len(ids) == K for ids in found[mode]), f"an answer short of {K} rows under {mode}")
        self.assertGreaterEqual(recall["relaxed_order"], 0.98)
        self.assertGreaterEqual(recall["strict_order"], 0.96)
        self.assertGreaterEqual(recall["off"], 0.96)

    def test_9b_limit_above_ef_search(self):
        # LIMIT 100 at the default ef_search of 40 is planned as an index scan by the planner alone,
        # also as a generic plan's LIMIT $1, and returns 100 rows in order with high recall.
        k = 100
        queries = {"LIMIT 100": (f"SELECT id, embedding <-> %s FROM {TABLE} ORDER BY embedding <-> %s LIMIT {k}",
                                 lambda q: (q, q)),
                   "LIMIT $1": (f"SELECT id, embedding <-> %s FROM {TABLE} ORDER BY embedding <-> %s LIMIT %s",
                                lambda q: (q, q, k))}
        self.conn.execute("SET plan_cache_mode = force_generic_plan")
        try:
            for name, (sql, args) in queries.items():
                cur = self.conn.cursor()
                plan = "\n".join(r[0] for r in cur.execute("EXPLAIN " + sql, args(self.queries[0])))
                self.assertIn(f"Index Scan using {TABLE}_idx", plan, name)
                answers = [cur.execute(sql, args(q), binary=True, prepare=True).fetchall() for q in self.queries]
                for rows in answers:
                    self.assertEqual(len(rows), k, name)
                    d = [r[1] for r in rows]
                    self.assertTrue(all(a <= b for a, b in zip(d, d[1:])), f"{name}: rows out of order")
                recall = self.recall([[r[0] for r in rows] for rows in answers], self.live, "<->", k)
                print(f"\n  {name} at ef_search 40 ({len(self.live)} rows): recall@{k} {recall:.4f}", file=sys.stderr)
                self.assertGreaterEqual(recall, 0.95, name)
        finally:
            self.conn.execute("RESET plan_cache_mode")

    def test_4_cosine(self):
        self.conn.execute(f"DROP TABLE IF EXISTS {COSINE_TABLE}")
        indexed_table(self.conn, COSINE_TABLE, self.vectors[:N_BASE], "vector_cosine_ops")
        try:
            at_100 = self.recall(self.search(COSINE_TABLE, "<=>", 100), np.arange(1, N_BASE + 1), "<=>")
        finally:
            self.conn.execute(f"DROP TABLE {COSINE_TABLE}")
        print(f"\n  cosine ({N_BASE} rows): recall@{K} {at_100:.4f} at ef_search 100", file=sys.stderr)
        self.assertGreaterEqual(at_100, 0.985)


if __name__ == "__main__":
    unittest.main()
