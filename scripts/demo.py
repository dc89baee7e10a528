"""Loads Fashion-MNIST into PostgreSQL and searches it with vectorsearch (see scripts/demo)."""
import argparse
import time

import numpy as np
import psycopg

import vsutil

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--queries", type=int, default=5, help="test images to show neighbours for")
parser.add_argument("--timed", type=int, default=50, help="test images to time exact search over")
parser.add_argument("-k", type=int, default=10)
args = parser.parse_args()

conn = psycopg.connect(autocommit=True)
vsutil.register_vector(conn)
base, base_labels = vsutil.fashion_mnist("train")
queries, query_labels = vsutil.fashion_mnist("t10k")
names = vsutil.FASHION_MNIST_CLASSES

# Pixel vectors compress well, and a compressed value must be decompressed on every row a scan
# reads; PLAIN keeps each 3 KiB vector uncompressed in its row.
conn.execute("CREATE TABLE images (id int PRIMARY KEY, label int, embedding vector(784))")
conn.execute("ALTER TABLE images ALTER COLUMN embedding SET STORAGE PLAIN")
started = time.perf_counter()
vsutil.copy_vectors(conn, "images", base, base_labels)
conn.execute("VACUUM ANALYZE images")
size = conn.execute("SELECT pg_size_pretty(pg_table_size('images'))").fetchone()[0]
print(f"loaded {len(base):,} images x {base.shape[1]} dims in {time.perf_counter() - started:.1f} s ({size})")

sql = "SELECT id, label, embedding <-> %s AS distance FROM images ORDER BY embedding <-> %s LIMIT %s"
plan = conn.execute("EXPLAIN (COSTS OFF) " + sql, (queries[0], queries[0], args.k)).fetchall()
nodes = [line.strip().removeprefix("->").strip() for line, in plan if ":" not in line]
print("plan: " + " / ".join(nodes))

cur = conn.cursor()
for i in range(args.queries):
    started = time.perf_counter()
    rows = cur.execute(sql, (queries[i], queries[i], args.k), binary=True, prepare=True).fetchall()
    elapsed = (time.perf_counter() - started) * 1000
    print(f"\ntest image {i} ({names[query_labels[i]]}): {args.k} nearest of {len(base):,} in {elapsed:.1f} ms")
    for rank, (image_id, label, distance) in enumerate(rows, 1):
        mark = "" if label == query_labels[i] else "   <- other class"
        print(f"  {rank:2d}. image {image_id:5d}  {names[label]:<12s} distance {distance:8.1f}{mark}")

latencies = []
correct = 0
for i in range(args.timed):
    started = time.perf_counter()
    rows = cur.execute(sql, (queries[i], queries[i], args.k), binary=True, prepare=True).fetchall()
    latencies.append(time.perf_counter() - started)
    votes = np.bincount([label for _, label, _ in rows], minlength=10)
    correct += int(np.argmax(votes) == query_labels[i])
latencies = np.array(latencies) * 1000
print(f"\nexact search over {args.timed} test images: {1000 / latencies.mean():.1f} queries/s, "
      f"p50 {np.percentile(latencies, 50):.1f} ms, p99 {np.percentile(latencies, 99):.1f} ms; "
      f"{args.k}-NN vote matches the true class for {correct}/{args.timed}")

# The same searches through an hnsw index: how fast, and how many of the exact neighbours it finds.
exact = [set(r[0] for r in cur.execute(sql, (queries[i], queries[i], args.k), binary=True, prepare=True))
         for i in range(args.timed)]
conn.execute("SET maintenance_work_mem = '1GB'")
started = time.perf_counter()
conn.execute("CREATE INDEX ON images USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)")
build = time.perf_counter() - started
size = conn.execute("SELECT pg_size_pretty(pg_relation_size('images_embedding_idx'))").fetchone()[0]
print(f"\nbuilt an hnsw index (m=16, ef_construction=64) in {build:.1f} s, {size}")
for ef in (10, 40, 100):
    conn.execute(f"SET hnsw.ef_search = {ef}")
    latencies, found = [], 0
    for i in range(args.timed):
        started = time.perf_counter()
        rows = cur.execute(sql, (queries[i], queries[i], args.k), binary=True, prepare=True).fetchall()
        latencies.append(time.perf_counter() - started)
        found += len(exact[i] & {r[0] for r in rows})
    latencies = np.array(latencies) * 1000
    print(f"hnsw.ef_search={ef:3d}: {1000 / latencies.mean():6.0f} queries/s, p50 {np.percentile(latencies, 50):.2f} ms, "
          f"found {found / (args.timed * args.k):.1%} of the exact {args.k} nearest")
plan = conn.execute("EXPLAIN (COSTS OFF) " + sql, (queries[0], queries[0], args.k)).fetchall()
print("plan: " + " / ".join(line.strip().removeprefix("->").strip() for line, in plan if ":" not in line))
