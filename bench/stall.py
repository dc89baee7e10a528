"""How much concurrent inserts slow the queries of an hnsw index: the latency of k-NN queries,
one session running them back to back, first alone and then while another session inserts rows
one per transaction at a steady rate (200 a second by default: on 2 cores a flat-out inserter
would measure CPU contention instead). An insert that holds a lock every query needs (the
metapage's) across I/O shows as a tail: p99.9 and the slowest query grow while p50 does not.
Run it through bench/run:

    bench/run --stall                      Fashion-MNIST, 20,000 rows indexed, 20 s per phase
    bench/run --stall --stall-rows 40000 --stall-seconds 30 --stall-insert-rate 500

It writes bench/results/<stamp>-stall-<dataset>.json and .md and prints the table."""
import json
import os
import threading
import time

import numpy as np
import psycopg

import datasets
from bench import HERE, METRICS, Server, log


def percentiles(latencies_ms):
    a = np.sort(np.asarray(latencies_ms))
    return {"queries": len(a), "p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
            "p999_ms": float(np.percentile(a, 99.9)), "max_ms": float(a[-1])}


def query_loop(ds, k, ef_search, seconds, stop):
    """Runs the dataset's queries in turn for `seconds` on a connection of its own; returns the
    latencies in milliseconds."""
    conn = psycopg.connect(autocommit=True)
    datasets.vsutil.register_vector(conn)
    conn.execute(f"SET hnsw.ef_search = {ef_search}")
    sql = f"SELECT id FROM items ORDER BY embedding {METRICS[ds.metric]['operator']} %s LIMIT {k}"
    cursor = conn.cursor()
    latencies = []
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline and not stop.is_set():
        q = ds.queries[i % len(ds.queries)]
        start = time.perf_counter()
        cursor.execute(sql, (q,), binary=True, prepare=True).fetchall()
        latencies.append((time.perf_counter() - start) * 1000)
        i += 1
    conn.close()
    return latencies


def insert_loop(rows, rate, stop, counter):
    """Inserts rows one per transaction, `rate` a second, until stop is set or the rows run out."""
    conn = psycopg.connect(autocommit=True)
    datasets.vsutil.register_vector(conn)
    cursor = conn.cursor()
    start = time.monotonic()
    for i, row in enumerate(rows):
        if stop.is_set():
            break
        ahead = start + i / rate - time.monotonic()
        if ahead > 0:
            time.sleep(ahead)
        cursor.execute("INSERT INTO items (id, embedding) VALUES (%s, %s)", (-1 - i, row), binary=True, prepare=True)
        counter[0] += 1
    conn.close()


def run(dataset, rows, seconds, rate, k=10, ef_search=40, out_dir=None):
    ds = datasets.load(dataset, 1000)
    if rows + 1000 > len(ds.base):
        raise SystemExit(f"--stall-rows: {dataset} has {len(ds.base)} rows, and the inserts need 1,000 more")
    server = Server()
    conn = server.conn
    conn.execute("DROP TABLE IF EXISTS items")
    conn.execute(f"CREATE TABLE items (id int, embedding vector({ds.dim}))")
    conn.execute("ALTER TABLE items ALTER COLUMN embedding SET STORAGE PLAIN")
    with server.patience():
        datasets.vsutil.copy_vectors(conn, "items", ds.base[:rows])
        log(f"building hnsw on {rows} rows")
        conn.execute(f"CREATE INDEX items_idx ON items USING hnsw (embedding {METRICS[ds.metric]['opclass']})")
        conn.execute("VACUUM ANALYZE items")
    size_built = server.value("SELECT pg_relation_size('items_idx')")

    phases = {}
    for phase in ("alone", "with inserts"):
        stop = threading.Event()
        counter = [0]
        inserter = None
        if phase == "with inserts":
            inserter = threading.Thread(target=insert_loop, args=(ds.base[rows:], rate, stop, counter))
            inserter.start()
        log(f"queries {phase} for {seconds} s")
        start = time.monotonic()
        latencies = query_loop(ds, k, ef_search, seconds, stop)
        elapsed = time.monotonic() - start
        stop.set()
        if inserter:
            inserter.join()
        phases[phase] = {**percentiles(latencies), "inserts_per_s": counter[0] / elapsed}
    size_after = server.value("SELECT pg_relation_size('items_idx')")

    result = {"dataset": ds.name, "rows": rows, "seconds": seconds, "k": k, "ef_search": ef_search,
              "index_bytes_built": size_built, "index_bytes_after": size_after, "phases": phases,
              "vectorsearch": server.value("SELECT extversion FROM pg_extension WHERE extname = 'vectorsearch'")}
    lines = [f"# Query latency while inserting: {ds.name}, {rows} rows, ef_search {ef_search}, {seconds} s a phase", "",
             "| phase | queries | p50 ms | p99 ms | p99.9 ms | max ms | inserts/s |", "|---|---|---|---|---|---|---|"]
    for name, p in phases.items():
        lines.append(f"| {name} | {p['queries']} | {p['p50_ms']:.2f} | {p['p99_ms']:.2f} | {p['p999_ms']:.2f} | "
                     f"{p['max_ms']:.1f} | {p['inserts_per_s']:.0f} |")
    alone, busy = phases["alone"], phases["with inserts"]
    lines += ["", f"p99 with inserts / alone: {busy['p99_ms'] / alone['p99_ms']:.2f}x; "
              f"index grew {size_built / 2**20:.1f} -> {size_after / 2**20:.1f} MiB"]
    table = "\n".join(lines) + "\n"
    out_dir = out_dir or os.path.join(HERE, "results")
    os.makedirs(out_dir, exist_ok=True)
    stem = os.path.join(out_dir, f"{time.strftime('%Y%m%d-%H%M%S')}-stall-{ds.name}")
    with open(stem + ".json", "w") as f:
        json.dump(result, f, indent=2)
    with open(stem + ".md", "w") as f:
        f.write(table)
    print(table)
    log(f"wrote {os.path.relpath(stem)}.json and .md")
    return result
