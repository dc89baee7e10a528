"""The binary wire format as clients use it: round trips through prepared binary queries, and
crafted messages that vector_recv, halfvec_recv and sparsevec_recv must reject with an ERROR,
never a crash or a bad value."""
import os
import struct
import sys
import unittest

import numpy as np
import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts"))
import vsutil  # noqa: E402


class RawVector(bytes):
    """Bytes sent as they are, as a binary vector parameter."""


class RawHalfvec(bytes):
    """Bytes sent as they are, as a binary halfvec parameter."""


class RawSparsevec(bytes):
    """Bytes sent as they are, as a binary sparsevec parameter."""


def raw_dumper(oid):
    class RawDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj):
            return bytes(obj)

    RawDumper.oid = oid
    return RawDumper


class WireTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.conn = psycopg.connect(autocommit=True)
        cls.conn.adapters.register_dumper(RawVector, raw_dumper(vsutil.register_vector(cls.conn)))
        halfvec = cls.conn.execute("SELECT 'halfvec'::regtype::oid").fetchone()[0]
        cls.conn.adapters.register_dumper(RawHalfvec, raw_dumper(halfvec))
        sparsevec = cls.conn.execute("SELECT 'sparsevec'::regtype::oid").fetchone()[0]
        cls.conn.adapters.register_dumper(RawSparsevec, raw_dumper(sparsevec))

    @classmethod
    def tearDownClass(cls):
        cls.conn.close()

    def test_binary_round_trip(self):
        rng = np.random.default_rng(3)
        for dim in (1, 3, 30, 31, 784, 16000):
            v = rng.standard_normal(dim).astype(np.float32)
            got = self.conn.execute("SELECT %s::vector", (v,), binary=True).fetchone()[0]
            np.testing.assert_array_equal(got, v)
            text = self.conn.execute("SELECT %s::vector::text", (v,), binary=True).fetchone()[0]
            np.testing.assert_array_equal(np.array(text[1:-1].split(","), dtype=np.float32), v)

    def test_binary_and_text_parameters_agree(self):
        v = np.array([1.5, -2.25, 3e-8, 1e20], dtype=np.float32)
        text = "[" + ",".join(repr(float(x)) for x in v) + "]"
        same = self.conn.execute("SELECT %s::vector = %s::vector", (v, text), binary=True).fetchone()[0]
        self.assertTrue(same)

    def assert_rejected(self, payload, sqlstate, sql="SELECT %s::vector", raw=RawVector):
        with self.assertRaises(psycopg.Error) as caught:
            self.conn.execute(sql, (raw(payload),), binary=True)
        self.assertEqual(caught.exception.sqlstate, sqlstate, str(caught.exception))

    def test_crafted_messages_are_rejected(self):
        one = struct.pack(">f", 1.0)
        self.assert_rejected(struct.pack(">hh", 0, 0), "22000")  # no dimensions
        self.assert_rejected(struct.pack(">hh", -1, 0) + one, "22000")  # negative dims
        self.assert_rejected(struct.pack(">hh", 16001, 0) + one * 16001, "54000")  # too many
        self.assert_rejected(struct.pack(">hh", 1, 7) + one, "22000")  # unused not zero
        self.assert_rejected(struct.pack(">hh", 1, 0) + struct.pack(">f", float("nan")), "22000")
        self.assert_rejected(struct.pack(">hh", 1, 0) + struct.pack(">f", float("-inf")), "22000")
        self.assert_rejected(struct.pack(">hh", 3, 0) + one, "22P03")  # truncated
        self.assert_rejected(struct.pack(">hh", 1, 0) + one + b"\0", "22P03")  # trailing bytes
        self.assert_rejected(b"\0", "08P01")  # not even a header
        self.assert_rejected(struct.pack(">hh", 2, 0) + one * 2, "22000", "SELECT %s::vector(3)")
        # The session survives every rejection.
        self.assertEqual(self.conn.execute("SELECT '[1]'::vector::text").fetchone()[0], "[1]")

    def test_halfvec_binary_round_trip(self):
        # pgvector's halfvec format: >hh (dims, 0), then big-endian binary16, as its clients pack it
        rng = np.random.default_rng(4)
        for dim in (1, 3, 61, 62, 784, 16000):
            h = rng.standard_normal(dim).astype(">f2")
            payload = struct.pack(">hh", dim, 0) + h.tobytes()
            cur = self.conn.cursor(binary=True)
            got = cur.execute("SELECT %s::halfvec", (RawHalfvec(payload),)).fetchone()[0]
            self.assertEqual(bytes(got), payload)
            text = self.conn.execute("SELECT %s::halfvec::text", (RawHalfvec(payload),), binary=True).fetchone()[0]
            np.testing.assert_array_equal(np.array(text[1:-1].split(","), dtype=np.float32), h.astype(np.float32))

    def test_crafted_halfvec_messages_are_rejected(self):
        one = struct.pack(">H", 0x3C00)
        sql = "SELECT %s::halfvec"
        for payload, sqlstate in [
                (struct.pack(">hh", 0, 0), "22000"),  # no dimensions
                (struct.pack(">hh", -1, 0) + one, "22000"),  # negative dims
                (struct.pack(">hh", 16001, 0) + one * 16001, "54000"),  # too many
                (struct.pack(">hh", 1, 7) + one, "22000"),  # unused not zero
                (struct.pack(">hh", 1, 0) + struct.pack(">H", 0x7E00), "22000"),  # NaN
                (struct.pack(">hh", 1, 0) + struct.pack(">H", 0xFC00), "22000"),  # -infinity
                (struct.pack(">hh", 3, 0) + one, "22P03"),  # truncated
                (struct.pack(">hh", 1, 0) + one + b"\0", "22P03"),  # trailing byte
                (b"\0", "08P01")]:  # not even a header
            self.assert_rejected(payload, sqlstate, sql, RawHalfvec)
        self.assert_rejected(struct.pack(">hh", 2, 0) + one * 2, "22000", "SELECT %s::halfvec(3)", RawHalfvec)
        self.assertEqual(self.conn.execute("SELECT '[1]'::halfvec::text").fetchone()[0], "[1]")

    def test_sparsevec_binary_round_trip(self):
        # pgvector's sparsevec format: >iii (dims, nnz, 0), nnz 0-based indices, nnz float4 values
        for dim, indices in ((1, [0]), (5, []), (1_000_000_000, [0, 7, 999_999_999]), (20_000, list(range(0, 20_000, 2)))):
            values = [float(i % 13 + 1) / 4 for i in range(len(indices))]
            payload = struct.pack(f">iii{len(indices)}i{len(indices)}f", dim, len(indices), 0, *indices, *values)
            got = self.conn.cursor(binary=True).execute("SELECT %s::sparsevec", (RawSparsevec(payload),)).fetchone()[0]
            self.assertEqual(bytes(got), payload)
            text = self.conn.execute("SELECT %s::sparsevec::text", (RawSparsevec(payload),), binary=True).fetchone()[0]
            pairs = ",".join(f"{i + 1}:{v:g}" for i, v in zip(indices, values))
            self.assertEqual(text, "{" + pairs + "}/" + str(dim))

    def test_crafted_sparsevec_messages_are_rejected(self):
        def message(dim, nnz, unused, indices, values):
            return struct.pack(f">iii{len(indices)}i{len(values)}f", dim, nnz, unused, *indices, *values)
        for payload, sqlstate in [
                (message(0, 0, 0, [], []), "22000"),  # no dimensions
                (message(1_000_000_001, 0, 0, [], []), "54000"),  # too many dimensions
                (message(5, -1, 0, [], []), "22000"),  # negative count
                (message(5, 6, 0, [], []), "54000"),  # more elements than dimensions
                (message(20_000, 16_001, 0, [], []), "54000"),  # more than 16,000 elements
                (message(5, 1, 3, [0], [1]), "22000"),  # unused not zero
                (message(5, 1, 0, [5], [1]), "22000"),  # index out of bounds
                (message(5, 1, 0, [-1], [1]), "22000"),  # negative index
                (message(5, 2, 0, [3, 1], [1, 1]), "22000"),  # not ascending
                (message(5, 2, 0, [1, 1], [1, 1]), "22000"),  # duplicate
                (message(5, 1, 0, [1], [0]), "22000"),  # a stored zero
                (message(5, 1, 0, [1], [float("nan")]), "22000"),
                (message(5, 1, 0, [1], [float("inf")]), "22000"),
                (message(5, 2, 0, [1], [1]), "22P03"),  # truncated
                (message(5, 1, 0, [1], [1]) + b"\0", "22P03"),  # trailing byte
                (b"\0\0\0", "08P01")]:  # not even a header
            self.assert_rejected(payload, sqlstate, "SELECT %s::sparsevec", RawSparsevec)
        self.assert_rejected(message(4, 0, 0, [], []), "22000", "SELECT %s::sparsevec(5)", RawSparsevec)
        self.assertEqual(self.conn.execute("SELECT '{1:1}/2'::sparsevec::text").fetchone()[0], "{1:1}/2")

    def test_large_vectors_are_stored_out_of_line(self):
        # A row that cannot fit in a page moves its vector to TOAST and reads back intact.
        rng = np.random.default_rng(5)
        v = rng.standard_normal(4000).astype(np.float32)
        self.conn.execute("CREATE TEMP TABLE big (embedding vector(4000))")
        self.conn.execute("INSERT INTO big VALUES (%s)", (v,), binary=True)
        # random floats do not compress: the whole vector went to the TOAST table
        toast = self.conn.execute(
            "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'big'::regclass").fetchone()[0]
        self.assertGreaterEqual(toast, 4 * 4000)
        got = self.conn.execute("SELECT embedding FROM big", binary=True).fetchone()[0]
        np.testing.assert_array_equal(got, v)
        self.conn.execute("DROP TABLE big")

    def test_embeddings_stay_inline_when_they_fit(self):
        # Incompressible 768-d float embeddings stay in the heap row: no TOAST fetch per row.
        rng = np.random.default_rng(6)
        self.conn.execute("CREATE TEMP TABLE emb (id int, embedding vector(768))")
        vsutil.copy_vectors(self.conn, "emb", rng.standard_normal((200, 768)).astype(np.float32))
        toast = self.conn.execute(
            "SELECT pg_relation_size(reltoastrelid) FROM pg_class WHERE oid = 'emb'::regclass").fetchone()[0]
        self.assertEqual(toast, 0)
        self.conn.execute("DROP TABLE emb")


if __name__ == "__main__":
    unittest.main()
