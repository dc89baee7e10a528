"""Recall and behaviour of each index access method of index_types.INDEX_TYPES on real data
(Fashion-MNIST, 784 dimensions), over prepared binary queries: after CREATE INDEX, after inserting
more rows, after deleting half of them and VACUUM, after inserting into the space VACUUM freed,
under the cosine operator class, build progress, built with a parallel worker (against a serial
build, and beyond maintenance_work_mem), after HOT updates, and filtered queries with iterative
scans. The ground truth (groundtruth.py) is over the rows the table holds at each stage.

One TestCase per access method (HnswIndexTest for hnsw), made at the end from the IndexTests
mixin. Its stages build on one another (build, then insert, then delete), in the order of the test
names; each one brings the table to its stage first, so that any test also runs on its own."""
import os
import sys
import time
import unittest

import numpy as np
import psycopg

import groundtruth
from index_types import INDEX_TYPES

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import vsutil  # noqa: E402

K = 10
N_BASE = 20_000     # the first train images, indexed by CREATE INDEX
N_EXTRA = 5_000     # the next ones, inserted into the index one by one (COPY)
N_REUSE = 5_000     # the next ones, inserted after the delete + VACUUM, into the freed slots
N_QUERIES = 200     # the first test images


class IndexTests:
    """The tests of one access method, index_type, a key of INDEX_TYPES."""
    index_type = None

    @classmethod
    def setUpClass(cls):
        cls.am = INDEX_TYPES[cls.index_type]
        cls.table, cls.cosine_table = f"fm_{cls.index_type}", f"fm_{cls.index_type}_cosine"
        train, _ = vsutil.fashion_mnist("train")
        cls.vectors = train[:N_BASE + N_EXTRA + N_REUSE]  # row id i holds vectors[i - 1]
        cls.queries = vsutil.fashion_mnist("t10k")[0][:N_QUERIES]
        cls.truths = {}
        cls.conn = psycopg.connect(autocommit=True)
        vsutil.register_vector(cls.conn)
        cls.conn.execute(f"DROP TABLE IF EXISTS {cls.table}, {cls.cosine_table}")
        cls.indexed_table(cls.table, cls.vectors[:N_BASE], "vector_l2_ops")
        cls.live = np.arange(1, N_BASE + 1)             # ids of the rows the table holds
        cls.stage = "built"

    @classmethod
    def tearDownClass(cls):
        cls.conn.execute(f"DROP TABLE IF EXISTS {cls.table}, {cls.cosine_table}")
        cls.conn.close()

    @classmethod
    def create_index(cls, conn, table, opclass):
        """The index table_idx with the access method's test options."""
        conn.execute(f"CREATE INDEX {table}_idx ON {table} USING {cls.index_type} (embedding {opclass}) "
                     f"WITH ({cls.am['with']})")

    @classmethod
    def indexed_table(cls, table, vectors, opclass):
        """vector_table with an index named table_idx."""
        vsutil.vector_table(cls.conn, table, vectors)
        cls.create_index(cls.conn, table, opclass)

    # the stages, each reached once whatever test asks for it first

    @classmethod
    def insert_rows(cls):
        if cls.stage == "built":
            vsutil.copy_vectors(cls.conn, cls.table, cls.vectors[N_BASE:N_BASE + N_EXTRA], first_id=N_BASE + 1)
            cls.conn.execute(f"ANALYZE {cls.table}")
            cls.live = np.arange(1, N_BASE + N_EXTRA + 1)
            cls.stage = "inserted"

    @classmethod
    def delete_half(cls):
        cls.insert_rows()
        if cls.stage == "inserted":
            cls.conn.execute(f"DELETE FROM {cls.table} WHERE id % 2 = 0")
            cls.conn.execute(f"VACUUM ANALYZE {cls.table}")
            cls.live = np.arange(1, N_BASE + N_EXTRA + 1, 2)
            cls.stage = "deleted"

    # measuring

    def scan_settings(self, scan):
        """Sets the access method's settings of the scan named scan (a key of its 'scans')."""
        for name, value in self.am["scans"][scan].items():
            self.conn.execute(f"SET {name} = {value}")

    def scan_label(self, scan):
        """'at hnsw.ef_search = 100', say: the settings of the scan named scan, for messages."""
        settings = self.am["scans"][scan]
        return "at " + ", ".join(f"{name} = {value}" for name, value in settings.items()) if settings else "by default"

    def reset_scan_settings(self, scan):
        for name in self.am["scans"][scan]:
            self.conn.execute(f"RESET {name}")

    def search(self, table, op, scan):
        """The ids of the K nearest rows for each query, through the index, by the scan named scan."""
        self.conn.execute("SET enable_seqscan = off")
        self.scan_settings(scan)
        sql = f"SELECT id FROM {table} ORDER BY embedding {op} %s LIMIT {K}"
        plan = "\n".join(r[0] for r in self.conn.execute("EXPLAIN " + sql, (self.queries[0],)))
        self.assertIn(f"Index Scan using {table}_idx", plan)
        cur = self.conn.cursor()
        try:
            return [[r[0] for r in cur.execute(sql, (q,), binary=True, prepare=True).fetchall()]
                    for q in self.queries]
        finally:
            self.conn.execute("RESET enable_seqscan")
            self.reset_scan_settings(scan)

    def recall(self, results, live, op, k=K):
        """recall@k (groundtruth.py) of results, one answer per query, among the rows named live."""
        key = (live.tobytes(), op, k)
        if key not in self.truths:
            self.truths[key] = groundtruth.GroundTruth(self.vectors[live - 1], self.queries,
                                                       groundtruth.METRIC_OF_OPERATOR[op], k, ids=live)
        return self.truths[key].recall(results)

    # the tests

    def test_1_recall_after_build(self):
        by_scan = {scan: self.search(self.table, "<->", scan) for scan in ("accurate", "fast")}
        for scan, results in by_scan.items():
            self.assertTrue(all(len(ids) == K for ids in results), f"an answer short of {K} rows in the {scan} scan")
        accurate = self.recall(by_scan["accurate"], self.live, "<->")
        fast = self.recall(by_scan["fast"], self.live, "<->")
        print(f"\n  after build ({N_BASE} rows): recall@{K} {accurate:.4f} {self.scan_label('accurate')}, "
              f"{fast:.4f} {self.scan_label('fast')}", file=sys.stderr)
        self.assertGreaterEqual(accurate, 0.995)
        self.assertLessEqual(fast, accurate)

    def test_2_recall_after_inserts(self):
        self.insert_rows()
        results = self.search(self.table, "<->", "accurate")
        self.assertTrue(any(id_ > N_BASE for ids in results for id_ in ids), "no inserted row is ever returned")
        accurate = self.recall(results, self.live, "<->")
        print(f"\n  after {N_EXTRA} inserts ({len(self.live)} rows): recall@{K} {accurate:.4f} "
              f"{self.scan_label('accurate')}", file=sys.stderr)
        self.assertGreaterEqual(accurate, 0.99)

    def test_3_recall_after_delete_and_vacuum(self):
        self.delete_half()
        self.assertEqual(self.conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0], len(self.live))
        for scan in ("accurate", "fast"):
            results = self.search(self.table, "<->", scan)
            deleted = sorted({id_ for ids in results for id_ in ids if id_ % 2 == 0})
            self.assertEqual(deleted, [], f"deleted rows returned by the {scan} scan")
            if scan == "accurate":
                self.assertTrue(all(len(ids) == K for ids in results))
                accurate = self.recall(results, self.live, "<->")
        print(f"\n  after deleting half + VACUUM ({len(self.live)} rows): recall@{K} {accurate:.4f} "
              f"{self.scan_label('accurate')}", file=sys.stderr)
        self.assertGreaterEqual(accurate, 0.99)

    def test_3b_inserts_reuse_freed_space(self):
        self.delete_half()
        # VACUUM freed 12,500 slots; they may be reused once no snapshot older than it remains,
        # which one more transaction ID handed out shows.
        size = self.conn.execute(f"SELECT pg_relation_size('{self.table}_idx')").fetchone()[0]
        self.conn.execute("SELECT txid_current()")
        first = N_BASE + N_EXTRA + 1
        vsutil.copy_vectors(self.conn, self.table, self.vectors[first - 1:], first_id=first)
        grown = self.conn.execute(f"SELECT pg_relation_size('{self.table}_idx')").fetchone()[0] - size
        live = np.concatenate([self.live, np.arange(first, first + N_REUSE)])
        type(self).live, type(self).stage = live, "reused"
        results = self.search(self.table, "<->", "accurate")
        self.assertTrue(any(id_ >= first for ids in results for id_ in ids), "no reinserted row is ever returned")
        accurate = self.recall(results, live, "<->")
        print(f"\n  {N_REUSE} inserts after VACUUM: the index grew by {grown} bytes; recall@{K} {accurate:.4f} "
              f"{self.scan_label('accurate')}", file=sys.stderr)
        self.assertEqual(grown, 0)
        self.assertGreaterEqual(accurate, 0.99)

    def test_5_build_progress(self):
        # Another session watches pg_stat_progress_create_index while the build runs.
        table = f"{self.index_type}_progress"
        self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        vsutil.vector_table(self.conn, table, self.vectors[:N_BASE])
        builder = psycopg.connect(autocommit=True)
        seen = set()
        try:
            with builder.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
                # Sends CREATE INDEX without waiting for it, then polls its progress.
                builder.pgconn.send_query(
                    f"CREATE INDEX ON {table} USING {self.index_type} (embedding vector_l2_ops)".encode())
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
        """Builds table's index under settings; returns the notices and debug messages."""
        messages = []
        conn = psycopg.connect(autocommit=True)
        conn.add_notice_handler(lambda d: messages.append(d.message_primary))
        try:
            for setting in settings + ["client_min_messages = debug1"]:
                conn.execute(f"SET {setting}")
            conn.execute(f"DROP INDEX IF EXISTS {table}_idx")
            self.create_index(conn, table, "vector_l2_ops")
        finally:
            conn.close()
        return messages

    def parallel_message(self, workers):
        return f"{self.index_type} build with {workers} parallel workers"

    def test_6_parallel_build_matches_serial(self):
        if not self.am["parallel_build"]:
            self.skipTest(f"{self.index_type} builds without parallel workers")
        table = f"{self.index_type}_parallel"
        self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        vsutil.vector_table(self.conn, table, self.vectors[:N_BASE])
        live = np.arange(1, N_BASE + 1)
        try:
            serial = self.build_logged(table, ["max_parallel_maintenance_workers = 0"])
            self.assertFalse([m for m in serial if "parallel workers" in m])
            serial_recall = [self.recall(self.search(table, "<->", scan), live, "<->") for scan in ("fast", "default")]
            parallel = self.build_logged(table, ["max_parallel_maintenance_workers = 1"])
            self.assertIn(self.parallel_message(1), parallel)
            parallel_recall = [self.recall(self.search(table, "<->", scan), live, "<->") for scan in ("fast", "default")]
        finally:
            self.conn.execute(f"DROP TABLE {table}")
        print(f"\n  recall@{K} in the fast and the default scan: serial build {serial_recall}, "
              f"with a parallel worker {parallel_recall}", file=sys.stderr)
        for one, two in zip(serial_recall, parallel_recall):
            self.assertAlmostEqual(one, two, delta=0.02)

    def test_7_parallel_build_beyond_memory(self):
        # 1MB holds about 300 of these rows: the shared graph fills, is written out, and the
        # leader and the worker insert the rest into the pages at once.
        if not self.am["parallel_build"]:
            self.skipTest(f"{self.index_type} builds without parallel workers")
        table = f"{self.index_type}_parallel_small"
        self.conn.execute(f"DROP TABLE IF EXISTS {table}")
        vsutil.vector_table(self.conn, table, self.vectors[:3000])
        self.conn.execute(f"ALTER TABLE {table} SET (parallel_workers = 1)")
        try:
            messages = self.build_logged(table, ["max_parallel_maintenance_workers = 1",
                                                 "maintenance_work_mem = '1MB'"])
            results = self.search(table, "<->", "accurate")
        finally:
            self.conn.execute(f"DROP TABLE {table}")
        self.assertIn(self.parallel_message(1), messages)
        self.assertTrue(any(m.startswith(self.am["memory_notice"]) for m in messages), messages)
        accurate = self.recall(results, np.arange(1, 3001), "<->")
        print(f"\n  parallel build beyond maintenance_work_mem (3000 rows): recall@{K} {accurate:.4f} "
              f"{self.scan_label('accurate')}", file=sys.stderr)
        self.assertGreaterEqual(accurate, 0.99)

    def test_8_build_after_hot_updates_waits_for_old_snapshots(self):
        # Rows updated in place (HOT, with no index on the column yet) while an older snapshot can
        # still see their old vectors: the new index must not serve that snapshot
        # (pg_index.indcheckxmin), whether one process scanned the table or several.
        table = f"{self.index_type}_hot"
        for workers in (0, 1) if self.am["parallel_build"] else (0,):
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
            self.assertEqual(self.parallel_message(1) in messages, workers == 1)
            self.assertTrue(checkxmin, f"indcheckxmin not set after a build with {workers} workers")

    def test_9_filtered_queries_with_iterative_scans(self):
        # One row in ten passes the filter: a default scan (hnsw: ef_search 40) holds about 4 of
        # them in its first batch and goes on until 10 do, in every mode.
        iterative = self.am["iterative_scan"]
        if iterative is None:
            self.skipTest(f"{self.index_type} has no iterative scan")
        passing = self.live[self.live % 10 == 1]
        sql = f"SELECT id FROM {self.table} WHERE id %% 10 = 1 ORDER BY embedding <-> %s LIMIT {K}"
        found = {}
        for mode in ("off", "relaxed_order", "strict_order"):
            self.conn.execute("SET enable_seqscan = off")
            self.conn.execute(f"SET {iterative} = {mode}")
            try:
                plan = "\n".join(r[0] for r in self.conn.execute("EXPLAIN " + sql, (self.queries[0],)))
                self.assertIn(f"Index Scan using {self.table}_idx", plan)
                cur = self.conn.cursor()
                found[mode] = [[r[0] for r in cur.execute(sql, (q,), binary=True, prepare=True).fetchall()]
                               for q in self.queries]
            finally:
                self.conn.execute("RESET enable_seqscan")
                self.conn.execute(f"RESET {iterative}")
        recall = {mode: self.recall(found[mode], passing, "<->") for mode in found}
        print(f"\n  a filter passing 1 row in 10, default scan: recall@{K} {recall['off']:.4f} off, "
              f"{recall['relaxed_order']:.4f} relaxed, {recall['strict_order']:.4f} strict", file=sys.stderr)
        for mode in found:
            self.assertTrue(all(len(ids) == K for ids in found[mode]), f"an answer short of {K} rows under {mode}")
        for mode in found:
            self.assertGreaterEqual(recall[mode], self.am["default_floors"][mode], mode)

    def test_9b_limit_above_ef_search(self):
        # LIMIT 100, beyond a default scan's first batch (hnsw: ef_search 40), is planned as an
        # index scan by the planner alone, also as a generic plan's LIMIT $1, and returns 100 rows
        # in order with high recall.
        k = 100
        queries = {"LIMIT 100": (f"SELECT id, embedding <-> %s FROM {self.table} ORDER BY embedding <-> %s LIMIT {k}",
                                 lambda q: (q, q)),
                   "LIMIT $1": (f"SELECT id, embedding <-> %s FROM {self.table} ORDER BY embedding <-> %s LIMIT %s",
                                lambda q: (q, q, k))}
        self.conn.execute("SET plan_cache_mode = force_generic_plan")
        try:
            for name, (sql, args) in queries.items():
                cur = self.conn.cursor()
                plan = "\n".join(r[0] for r in cur.execute("EXPLAIN " + sql, args(self.queries[0])))
                self.assertIn(f"Index Scan using {self.table}_idx", plan, name)
                answers = [cur.execute(sql, args(q), binary=True, prepare=True).fetchall() for q in self.queries]
                for rows in answers:
                    self.assertEqual(len(rows), k, name)
                    d = [r[1] for r in rows]
                    self.assertTrue(all(a <= b for a, b in zip(d, d[1:])), f"{name}: rows out of order")
                recall = self.recall([[r[0] for r in rows] for rows in answers], self.live, "<->", k)
                print(f"\n  {name} by default ({len(self.live)} rows): recall@{k} {recall:.4f}", file=sys.stderr)
                self.assertGreaterEqual(recall, self.am["default_floors"]["limit_100"], name)
        finally:
            self.conn.execute("RESET plan_cache_mode")

    def test_4_cosine(self):
        self.conn.execute(f"DROP TABLE IF EXISTS {self.cosine_table}")
        self.indexed_table(self.cosine_table, self.vectors[:N_BASE], "vector_cosine_ops")
        try:
            accurate = self.recall(self.search(self.cosine_table, "<=>", "accurate"), np.arange(1, N_BASE + 1), "<=>")
        finally:
            self.conn.execute(f"DROP TABLE {self.cosine_table}")
        print(f"\n  cosine ({N_BASE} rows): recall@{K} {accurate:.4f} {self.scan_label('accurate')}", file=sys.stderr)
        self.assertGreaterEqual(accurate, 0.985)


def index_test_case(index_type):
    """The TestCase of IndexTests on index_type: HnswIndexTest for hnsw."""
    return type(f"{index_type.capitalize()}IndexTest", (IndexTests, unittest.TestCase), {"index_type": index_type})


globals().update({case.__name__: case for case in map(index_test_case, INDEX_TYPES)})

if __name__ == "__main__":
    unittest.main()
