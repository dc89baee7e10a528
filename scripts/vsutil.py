"""Helpers shared by the demo, the integration tests and the benchmark.

Reads Fashion-MNIST from Debian's dataset-fashion-mnist, loads vectors with binary COPY, and
teaches psycopg to send and receive numpy arrays in the vector type's binary format, so that
queries go over the wire the way a production client sends them.
"""
import gzip
import struct

import numpy as np
from psycopg.adapt import Dumper, Loader
from psycopg.pq import Format

FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist"
FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def read_idx(path):
    """An IDX file (the MNIST format): big-endian magic, dimension sizes, then uint8 data."""
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack_from(">HBB", data)
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    shape = struct.unpack_from(">" + "I" * ndim, data, 4)
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def fashion_mnist(split):
    """(vectors float32 n x 784, labels int) for split 'train' (60,000) or 't10k' (10,000)."""
    images = read_idx(f"{FASHION_MNIST_DIR}/{split}-images-idx3-ubyte.gz")
    labels = read_idx(f"{FASHION_MNIST_DIR}/{split}-labels-idx1-ubyte.gz")
    return images.reshape(len(images), -1).astype(np.float32), labels.astype(np.int64)


def seed_dataset(queries=1000):
    """The faiss tutorial's data, 128 dimensions: 100,000 uniform rows whose first coordinate also
    grows with the row number, and fresh uniform queries from the same seeded stream (all of them
    where the table begins)."""
    d, nb = 128, 100_000
    np.random.seed(1234)
    base = np.random.random((nb, d)).astype("float32")
    base[:, 0] += np.arange(nb) / 1000.
    return base, np.random.random((queries, d)).astype("float32")


def vector_bytes(vector):
    """The vector type's binary form: int16 dim, int16 unused, big-endian float4s."""
    a = np.asarray(vector, dtype=">f4")
    return struct.pack(">hh", a.size, 0) + a.tobytes()


def vector_table(conn, table, vectors):
    """table (id, embedding) holding vectors as rows 1..n, uncompressed in the row, analyzed."""
    conn.execute(f"CREATE TABLE {table} (id int, embedding vector({vectors.shape[1]}))")
    conn.execute(f"ALTER TABLE {table} ALTER COLUMN embedding SET STORAGE PLAIN")
    copy_vectors(conn, table, vectors)
    conn.execute(f"ANALYZE {table}")


def copy_vectors(conn, table, vectors, labels=None, first_id=1):
    """Appends rows (id int, [label int,] embedding vector) to table with one binary COPY."""
    vectors = np.ascontiguousarray(vectors, dtype=">f4")
    n, dim = vectors.shape
    fields = [("nfields", ">i2"), ("id_len", ">i4"), ("id", ">i4")]
    if labels is not None:
        fields += [("label_len", ">i4"), ("label", ">i4")]
    fields += [("vec_len", ">i4"), ("dim", ">i2"), ("unused", ">i2"), ("x", ">f4", (dim,))]
    rows = np.zeros(n, dtype=np.dtype(fields))
    rows["nfields"] = 2 if labels is None else 3
    rows["id_len"] = 4
    rows["id"] = np.arange(first_id, first_id + n)
    if labels is not None:
        rows["label_len"] = 4
        rows["label"] = labels
    rows["vec_len"] = 4 + 4 * dim
    rows["dim"] = dim
    rows["x"] = vectors
    header = b"PGCOPY\n\xff\r\n\0" + struct.pack(">ii", 0, 0)
    columns = "id, embedding" if labels is None else "id, label, embedding"
    with conn.cursor() as cur:
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT binary)") as copy:
            copy.write(header)
            chunk = 4096
            for start in range(0, n, chunk):
                copy.write(rows[start:start + chunk].tobytes())
            copy.write(struct.pack(">h", -1))


class _VectorDumper(Dumper):
    format = Format.BINARY

    def dump(self, obj):
        return vector_bytes(obj)


class _VectorLoader(Loader):
    format = Format.BINARY

    def load(self, data):
        dim, _ = struct.unpack_from(">hh", data)
        return np.frombuffer(bytes(data), dtype=">f4", count=dim, offset=4).astype(np.float32)


def register_vector(conn):
    """numpy arrays go out as binary vectors; vectors in binary results come back as arrays."""
    oid = conn.execute("SELECT 'vector'::regtype::oid").fetchone()[0]
    conn.adapters.register_dumper(np.ndarray, type("VectorDumper", (_VectorDumper,), {"oid": oid}))
    conn.adapters.register_loader(oid, _VectorLoader)
    return oid
