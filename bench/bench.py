"""The vectorsearch benchmark: loads a dataset into PostgreSQL, measures exact search (seq scan)
and each index configuration given, and measures hnswlib and faiss on the same vectors and
queries in the same run. Run it through bench/run, which provides the server.

Every query goes alone over one connection, as a prepared statement with a binary vector
parameter; each setting runs all its queries `--passes` times and keeps the fastest pass (the
others are noise from this shared machine); recall is from the kept pass."""
import argparse
import contextlib
import datetime
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import faiss
import hnswlib
import numpy as np
import psycopg
from psycopg.types.numeric import Int4

import datasets  # first: it puts scripts/ and test/python/ on the path
import groundtruth
import report
from index_types import INDEX_TYPES

HERE = os.path.dirname(os.path.abspath(__file__))

METRICS = {
    "l2": {"operator": groundtruth.OPERATORS["l2"], "opclass": "vector_l2_ops", "hnswlib": "l2"},
    "cosine": {"operator": groundtruth.OPERATORS["cosine"], "opclass": "vector_cosine_ops", "hnswlib": "cosine"},
}
HNSWLIB_DEFAULT = "m=16,ef_construction=64"

# The smoke run builds these indexes (unless --index names others), on 10,000 rows: on fewer the
# planner rightly prefers the seq scan. Each point of an index's sweep must reach its floor; a miss
# is 0.002 of the 50 queries' 500 neighbours. hnsw: levels are random, and at ef_search=20 one
# run in five leaves a query stranded in a cluster far from its own, losing all ten of its
# neighbours (0.02): 25 builds gave 0.962-0.990, and hnswlib seeded 0-39 0.960-0.988 on the same
# data, each low run losing one query whole; a CI run gave 0.948. The floor allows five such
# queries, far above what a broken graph reaches; at 40, seven runs gave 1.0. lsh (fixed seeds:
# the same every run) gave 0.918 at target_recall 0.9 and 0.990 at 0.99; its floor is the lower
# target less the 0.03 the calibration may miss it by.
SMOKE_INDEXES = {"hnsw:m=16,ef_construction=64": {"sweep": [20, 40], "floor": 0.9},
                 "lsh": {"sweep": [0.9, 0.99], "floor": 0.87}}
SMOKE_RECALL_FLOOR = 0.95  # of an index given with --index

# What an index holds of each row (bench/run --index hnsw:key=halfvec,...), as pgvector documents
# the recipes: the vector itself; an expression index on embedding::halfvec(d) or
# embedding::sparsevec(d) (its non-zero elements), queried through the same expression; or binary_quantize(embedding)::bit(d) ordered by Hamming distance, whose
# best `rerank` rows (default 100) a query then orders exactly by the vector's own distance.
KEYS = ("vector", "halfvec", "sparsevec", "bit")
DEFAULT_RERANK = 100

QUERY_TIMEOUT_MS = 60_000
BUILD_TIMEOUT_MS = 3_600_000
WARMUP_QUERIES = 10


def parse_params(text):
    """'m=16,ef_construction=64' -> {'m': '16', 'ef_construction': '64'}; names and values are
    restricted to words and numbers because they are spliced into SQL."""
    params = {}
    for item in filter(None, text.split(",")):
        name, _, value = item.partition("=")
        if not re.fullmatch(r"[a-z_]\w*", name) or not re.fullmatch(r"[\w.]+", value):
            raise argparse.ArgumentTypeError(f"bad parameter {item!r}: want name=value")
        params[name] = value
    return params


def index_config(text):
    """'hnsw:m=16,ef_construction=64' -> {method, params, spec, sweep: None (the default)}."""
    method, _, params = text.partition(":")
    if method not in INDEX_TYPES:
        raise argparse.ArgumentTypeError(f"unknown index type {method!r} (known: {', '.join(INDEX_TYPES)})")
    params = parse_params(params)
    if params.get("key", "vector") not in KEYS:
        raise argparse.ArgumentTypeError(f"unknown key {params['key']!r} (known: {', '.join(KEYS)})")
    if params.get("key") in ("bit", "sparsevec") and method != "hnsw":
        raise argparse.ArgumentTypeError(f"{method} has no {params['key']} operator class")
    if "rerank" in params and not params["rerank"].isdigit():
        raise argparse.ArgumentTypeError("rerank must be a whole number of rows")
    return {"method": method, "params": params, "spec": text, "sweep": None}


def int_list(text):
    return [int(v) for v in text.split(",")]


def number_list(text):
    """'10,20' -> [10, 20]; '0.9,0.95' -> [0.9, 0.95]: knob values, spliced into SET."""
    values = []
    for item in text.split(","):
        if not re.fullmatch(r"\d+(\.\d+)?", item):
            raise argparse.ArgumentTypeError(f"bad knob value {item!r}: want a number")
        values.append(float(item) if "." in item else int(item))
    return values


class SweepAction(argparse.Action):
    """--sweep belongs to the --index before it, so that one run sweeps each index over its own
    knob (hnsw.ef_search 10..320, lsh.target_recall 0.8..0.99); given before any --index, it is
    the sweep of every index that has none of its own."""

    def __call__(self, parser, namespace, values, option_string=None):
        if namespace.index:
            namespace.index[-1]["sweep"] = values
        else:
            namespace.sweep = values


def measure(search, queries, passes):
    """Runs search(q) for each query one at a time, `passes` times after a short warm-up; returns
    (ids found in the fastest pass, figures of that pass)."""
    for q in queries[:WARMUP_QUERIES]:
        search(q)
    best, pass_qps = None, []
    for _ in range(passes):
        found, latencies = [], []
        start = time.perf_counter()
        for q in queries:
            t = time.perf_counter()
            found.append(search(q))
            latencies.append(time.perf_counter() - t)
        elapsed = time.perf_counter() - start
        pass_qps.append(len(queries) / elapsed)
        if best is None or elapsed < best[0]:
            best = (elapsed, found, latencies)
    elapsed, found, latencies = best
    ms = np.array(latencies) * 1000
    return found, {"qps": len(queries) / elapsed, "p50_ms": float(np.percentile(ms, 50)),
                   "p99_ms": float(np.percentile(ms, 99)), "pass_qps": pass_qps,
                   "latencies_ms": ms.round(4).tolist()}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Server:
    """One autocommit connection to the benchmark database, opened again after a server restart:
    an index that crashes its backend must cost its own row, not the whole run."""

    def __init__(self):
        self.connect()

    def connect(self, wait_s=60):
        deadline = time.monotonic() + wait_s
        while True:
            try:
                self.conn = psycopg.connect(autocommit=True, options=f"-c statement_timeout={QUERY_TIMEOUT_MS}")
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(1)
        datasets.vsutil.register_vector(self.conn)

    def recover(self):
        if self.conn.broken or self.conn.closed:
            log("the connection was lost; reconnecting")
            self.connect()

    @contextlib.contextmanager
    def patience(self):
        """Lifts the per-query statement timeout for a load or an index build."""
        self.conn.execute(f"SET statement_timeout = {BUILD_TIMEOUT_MS}")
        try:
            yield self.conn
        finally:
            if not self.conn.broken:
                self.conn.execute("RESET statement_timeout")

    def value(self, sql, params=None):
        return self.conn.execute(sql, params).fetchone()[0]


def load_table(server, ds):
    """Creates and fills `items`; returns (seconds to COPY, rows, table bytes)."""
    conn = server.conn
    conn.execute("DROP TABLE IF EXISTS items")
    conn.execute(f"CREATE TABLE items (id int, embedding vector({ds.dim}))")
    # The type's default STORAGE main compresses Fashion-MNIST's pixels inline, and a seq scan
    # then spends its time decompressing (~7x slower); pgvector stores vectors plain.
    conn.execute("ALTER TABLE items ALTER COLUMN embedding SET STORAGE PLAIN")
    with server.patience():
        start = time.perf_counter()
        datasets.vsutil.copy_vectors(conn, "items", ds.base)
        load_s = time.perf_counter() - start
        # Hint bits and the visibility map are set now rather than by the first timed scan.
        conn.execute("VACUUM ANALYZE items")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
        conn.execute("SELECT pg_prewarm('items')")
    return load_s, server.value("SELECT count(*) FROM items"), server.value("SELECT pg_relation_size('items')")


def key_sql(ds, key, rerank, k):
    """(the indexed expression and its operator class, the query: one parameter, the vector)."""
    operator = METRICS[ds.metric]["operator"]
    if key in ("halfvec", "sparsevec"):
        expression = f"(embedding::{key}({ds.dim}))"
        opclass = METRICS[ds.metric]["opclass"].replace("vector_", f"{key}_")
        return (f"{expression} {opclass}",
                f"SELECT id FROM items ORDER BY {expression} {operator} %s::vector::{key}({ds.dim}) LIMIT {k}")
    if key == "bit":
        expression = f"(binary_quantize(embedding)::bit({ds.dim}))"
        # The vector appears twice: the candidates' order and the exact one; a CTE binds it once.
        return (f"{expression} bit_hamming_ops",
                f"WITH q AS (SELECT %s::vector AS v) SELECT id FROM (SELECT id, embedding FROM items "
                f"ORDER BY {expression} <~> (SELECT binary_quantize(v)::bit({ds.dim}) FROM q) LIMIT {rerank}) c "
                f"ORDER BY embedding {operator} (SELECT v FROM q) LIMIT {k}")
    return (f"embedding {METRICS[ds.metric]['opclass']}",
            f"SELECT id FROM items ORDER BY embedding {operator} %s LIMIT {k}")


def pg_search(server, ds, k, key="vector", rerank=DEFAULT_RERANK):
    """(the query, a function running it for one query vector and returning 0-based ids)."""
    sql = key_sql(ds, key, rerank, k)[1]
    cursor = server.conn.cursor()

    def search(q):
        return [row[0] - 1 for row in cursor.execute(sql, (q,), binary=True, prepare=True)]
    return sql, search


def plan(server, sql, q):
    """The plan's nodes on one line, e.g. 'Limit / Index Scan using items_idx on items'."""
    rows = server.conn.execute("EXPLAIN (COSTS OFF) " + sql, (q,), binary=True).fetchall()
    lines = [r[0].strip() for r in rows]
    return " / ".join([lines[0]] + [line[2:].strip() for line in lines[1:] if line.startswith("->")])


def insert_rate(server, ds, rows):
    """Seconds to insert `rows` rows one statement at a time (autocommit), from one client; the
    rows are base vectors plus 1% noise, so that an index sees new points. Removes them again."""
    n = len(ds.base)
    rng = np.random.default_rng(7)
    picks = ds.base[rng.integers(0, n, rows)]
    vectors = (picks + rng.normal(0, 0.01 * float(ds.base.std()), picks.shape)).astype(np.float32)
    cursor = server.conn.cursor()
    start = time.perf_counter()
    for i, v in enumerate(vectors):
        cursor.execute("INSERT INTO items (id, embedding) VALUES (%s, %s)", (Int4(n + 1 + i), v),
                       binary=True, prepare=True)
    elapsed = time.perf_counter() - start
    remove_inserted(server, n)
    return elapsed


def remove_inserted(server, n):
    with server.patience() as conn:
        conn.execute("DELETE FROM items WHERE id > %s", (n,))
        conn.execute("VACUUM items")


def pg_exact(server, ds, k, nq, passes, insert_rows):
    sql, search = pg_search(server, ds, k)
    queries = ds.queries[:nq]
    run = {"engine": "vectorsearch", "label": "vectorsearch seq scan (exact)", "knob": None,
           "plan": plan(server, sql, queries[0]), "points": []}
    log(f"{run['label']}: {len(queries)} queries, plan {run['plan']}")
    found, figures = measure(search, queries, passes)
    run["points"].append({"value": None, "recall": ds.recall(found, k), **figures})
    if insert_rows:
        log(f"inserting {insert_rows} rows into the table without index")
        run["insert_rows"], run["insert_s"] = insert_rows, insert_rate(server, ds, insert_rows)
    return run


def pg_index(server, ds, k, method, params, sweep, passes, insert_rows):
    """Builds one index, sweeps its query-time knob, measures inserts, and drops it again. Any
    error (no such access method yet, a timeout, a crash, an answer holding a row twice) ends up in
    the row, not the run."""
    knob = INDEX_TYPES[method]["knob"]
    settings = ",".join(f"{n}={v}" for n, v in params.items()) or "defaults"
    params = dict(params)
    key, rerank = params.pop("key", "vector"), int(params.pop("rerank", DEFAULT_RERANK))
    with_clause = f" WITH ({', '.join(f'{name} = {value}' for name, value in params.items())})" if params else ""
    ddl = f"CREATE INDEX items_idx ON items USING {method} ({key_sql(ds, key, rerank, k)[0]}){with_clause}"
    run = {"engine": "vectorsearch", "method": method, "label": f"vectorsearch {method} {settings}",
           "index_sql": ddl, "knob": knob, "points": []}
    log(f"{run['label']}: {ddl}")
    step = "CREATE INDEX"
    try:
        with server.patience() as conn:
            if INDEX_TYPES[method]["parallel_build"]:
                # Timed with one parallel worker first, as pgvector's reference was; the queries
                # then run on the one-process build, which is what the other figures compare.
                conn.execute("SET max_parallel_maintenance_workers = 1")
                start = time.perf_counter()
                conn.execute(ddl)
                run["build_parallel_s"] = time.perf_counter() - start
                conn.execute("DROP INDEX items_idx")
                conn.execute("RESET max_parallel_maintenance_workers")
                log(f"  built with one parallel worker in {run['build_parallel_s']:.1f} s")
            start = time.perf_counter()
            conn.execute(ddl)
            run["build_s"] = time.perf_counter() - start
            conn.execute("SELECT pg_prewarm('items_idx')")
        run["index_bytes"] = server.value("SELECT pg_relation_size('items_idx')")
        step = "index scan"
        sql, search = pg_search(server, ds, k, key, rerank)
        run["plan"] = plan(server, sql, ds.queries[0])
        if "items_idx" not in run["plan"]:
            raise RuntimeError(f"the planner does not use the index: {run['plan']}")
        step = "query"
        for value in sweep:
            server.conn.execute(f"SET {knob} = {value}")
            found, figures = measure(search, ds.queries, passes)
            # The knob may change the plan (a cost gate), and then the recall is not the index's.
            run["points"].append({"value": value, "recall": ds.recall(found, k),
                                  "plan": plan(server, sql, ds.queries[0]), **figures})
            log(f"  {knob}={value}: recall {run['points'][-1]['recall']:.4f}, {figures['qps']:.0f} QPS")
        step = "insert"
        if insert_rows:
            log(f"  inserting {insert_rows} rows into the indexed table")
            run["insert_rows"], run["insert_s"] = insert_rows, insert_rate(server, ds, insert_rows)
    except (psycopg.Error, RuntimeError, ValueError) as e:  # ValueError: a bad answer (groundtruth)
        run["error"] = f"{step} failed: " + str(e).strip().splitlines()[0]
        log(f"  FAILED: {run['error']}")
    server.recover()
    server.conn.execute(f"RESET {knob}")
    server.conn.execute("DROP INDEX IF EXISTS items_idx")
    remove_inserted(server, len(ds.base))
    return run


def hnswlib_run(ds, k, params, sweep, passes):
    m, efc = int(params.get("m", 16)), int(params.get("ef_construction", 64))
    run = {"engine": "hnswlib", "label": f"hnswlib M={m},ef_construction={efc}", "knob": "ef", "points": []}
    log(f"{run['label']}: building on one thread")
    index = hnswlib.Index(space=METRICS[ds.metric]["hnswlib"], dim=ds.dim)
    index.set_num_threads(1)
    start = time.perf_counter()
    index.init_index(max_elements=len(ds.base), M=m, ef_construction=efc)
    index.add_items(ds.base, np.arange(len(ds.base)), num_threads=1)
    run["build_s"] = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp:
        index.save_index(os.path.join(tmp, "index"))
        run["index_bytes"] = os.path.getsize(os.path.join(tmp, "index"))
    for ef in sweep:
        index.set_ef(ef)
        found, figures = measure(lambda q: index.knn_query(q, k=k, num_threads=1)[0][0], ds.queries, passes)
        run["points"].append({"value": ef, "recall": ds.recall(found, k), **figures})
        log(f"  ef={ef}: recall {run['points'][-1]['recall']:.4f}, {figures['qps']:.0f} QPS")
    return run


def faiss_flat_run(ds, k, nq, passes):
    faiss.omp_set_num_threads(1)
    name = "IndexFlatL2" if ds.metric == "l2" else "IndexFlatIP, unit vectors"
    run = {"engine": "faiss", "label": f"faiss {name} (exact)", "knob": None, "points": []}
    log(f"{run['label']}: {nq} queries")
    start = time.perf_counter()
    index = datasets.faiss_flat(ds.base, ds.metric)
    run["build_s"] = time.perf_counter() - start
    run["index_bytes"] = index.ntotal * index.d * 4
    found, figures = measure(lambda q: index.search(datasets.faiss_query(q, ds.metric), k)[1][0],
                             ds.queries[:nq], passes)
    run["points"].append({"value": None, "recall": ds.recall(found, k), **figures})
    return run


def package_version(package):
    return subprocess.run(["dpkg-query", "-W", "-f", "${Version}", package],
                          capture_output=True, text=True).stdout or "?"


def machine(server):
    with open("/proc/cpuinfo") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.machine())
    with open("/proc/meminfo") as f:
        memory_kb = int(f.readline().split()[1])
    settings = ["shared_buffers", "maintenance_work_mem", "fsync", "synchronous_commit", "full_page_writes",
                "jit", "max_parallel_workers_per_gather", "max_parallel_maintenance_workers"]
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(), "cpu": cpu, "memory_gb": round(memory_kb / 2**20),
        "server": "PostgreSQL " + server.value("SHOW server_version").split()[0],
        "vectorsearch": server.value("SELECT extversion FROM pg_extension WHERE extname = 'vectorsearch'"),
        "hnswlib": package_version("python3-hnswlib"), "faiss": package_version("python3-faiss"),
        "settings": ", ".join(f"{name}={server.value(f'SHOW {name}')}" for name in settings),
    }


def sweep_of(args, index):
    return index["sweep"] or args.sweep or INDEX_TYPES[index["method"]]["sweep"]


def run_dataset(args, ds, server, out_dir, stem):
    log(f"{ds.name}: {len(ds.base):,} x {ds.dim} ({ds.metric}), {len(ds.queries):,} queries; ground truth")
    start = time.perf_counter()
    ds.ground_truth(args.k)
    log(f"ground truth ready in {time.perf_counter() - start:.1f} s")
    load_s, count, table_bytes = load_table(server, ds)
    log(f"loaded {count:,} rows in {load_s:.1f} s")
    exact_nq = min(args.exact_queries, len(ds.queries))
    runs = [pg_exact(server, ds, args.k, exact_nq, args.passes, args.insert_rows)]
    for index in args.index:
        runs.append(pg_index(server, ds, args.k, index["method"], index["params"], sweep_of(args, index),
                             args.passes, args.insert_rows))
    hnsw = next((index for index in args.index if index["method"] == "hnsw"), None)
    hnsw_params = hnsw["params"] if hnsw else args.hnswlib
    hnsw_sweep = args.hnswlib_sweep or (sweep_of(args, hnsw) if hnsw else INDEX_TYPES["hnsw"]["sweep"])
    runs.append(hnswlib_run(ds, args.k, hnsw_params, hnsw_sweep, args.passes))
    runs.append(faiss_flat_run(ds, args.k, exact_nq, args.passes))
    result = {
        "k": args.k, "exact_queries": exact_nq, "command": sys.argv[1:], "meta": machine(server),
        "dataset": {"name": ds.name, "metric": ds.metric, "rows": count, "dim": ds.dim,
                    "queries": len(ds.queries), "reference_name": ds.reference_name,
                    "load_s": load_s, "table_bytes": table_bytes},
        "runs": runs,
    }
    paths = report.write(result, out_dir, stem, args.reference)
    print(report.markdown(result, args.reference))
    log("wrote " + ", ".join(os.path.relpath(p) for p in paths))
    return result, paths


def smoke_checks(ds, result, paths, k, floors):
    """Prints one PASS/FAIL line per check; bench/run counts them. floors: each index run's
    recall floor, in run order."""
    runs = {r["engine"] + ("-exact" if r["knob"] is None else ""): r for r in result["runs"]}
    truth = ds.ground_truth(k)
    dist = truth.dist
    recomputed = groundtruth.distances_to(ds.base, ds.queries, truth.rows, ds.metric)
    checks = [
        ("dataset loaded", result["dataset"]["rows"] == len(ds.base), f"{result['dataset']['rows']} rows"),
        ("ground truth sorted, exact, and agreeing with faiss",
         bool(np.all(np.diff(dist, axis=1) >= 0) and np.allclose(recomputed, dist, rtol=1e-12)
              and runs["faiss-exact"]["points"][0]["recall"] >= 0.999),
         f"faiss flat recall {runs['faiss-exact']['points'][0]['recall']:.4f}"),
        ("exact seq scan recall == 1.0", runs["vectorsearch-exact"]["points"][0]["recall"] == 1.0,
         f"{runs['vectorsearch-exact']['points'][0]['recall']:.4f}"),
        ("hnswlib recall > 0.9", max(p["recall"] for p in runs["hnswlib"]["points"]) > 0.9,
         ", ".join(f"{p['recall']:.4f}" for p in runs["hnswlib"]["points"])),
    ]
    index_runs = [run for run in result["runs"] if run["engine"] == "vectorsearch" and run["knob"] is not None]
    for run, floor in zip(index_runs, floors):
        points = run["points"]
        checks.append((f"{run['label']}: built, used by the plan, recall >= {floor}",
                       "error" not in run and len(points) > 0
                       and all("items_idx" in p["plan"] and p["recall"] >= floor for p in points),
                       run.get("error") or ", ".join(
                           f"{run['knob']}={p['value']}: {p['recall']:.4f}"
                           + ("" if "items_idx" in p["plan"] else f" from {p['plan']}") for p in points)))
    checks += [(f"{os.path.splitext(p)[1][1:]} written", os.path.getsize(p) > 0, os.path.relpath(p)) for p in paths]
    for name, ok, detail in checks:
        print(f"{'PASS' if ok else 'FAIL'}: {name} ({detail})")


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", choices=[*datasets.NAMED, "clustered"], default="fashion-mnist")
    parser.add_argument("--rows", type=int_list,
                        help="synthetic clustered data of these sizes (comma-separated), one run each")
    parser.add_argument("--dim", type=int, default=128, help="dimensions of the clustered data (96-768)")
    parser.add_argument("--queries", default="1000", help="number of queries, or 'all' (default 1000)")
    parser.add_argument("--exact-queries", type=int, default=100,
                        help="queries for the exact seq scan and faiss flat (slow), default 100")
    parser.add_argument("-k", type=int, default=10)
    parser.add_argument("--index", type=index_config, action="append", default=[],
                        help="an index to build, e.g. hnsw:m=16,ef_construction=64, or hnsw:key=halfvec,... or hnsw:key=bit,rerank=100,... (repeatable)")
    parser.add_argument("--sweep", type=number_list, action=SweepAction,
                        help="values of the query-time knob of the --index before it (before any --index: of "
                             "every index without its own); default: index_types.py's")
    parser.add_argument("--hnswlib", type=parse_params, default=parse_params(HNSWLIB_DEFAULT),
                        help=f"hnswlib's build parameters when no hnsw index is given ({HNSWLIB_DEFAULT})")
    parser.add_argument("--hnswlib-sweep", type=int_list, help="hnswlib's ef values (default: the hnsw index's sweep)")
    parser.add_argument("--passes", type=int, default=2, help="passes over the queries per setting, best kept")
    parser.add_argument("--insert-rows", type=int, default=1000, help="rows for the insert test (0: none)")
    parser.add_argument("--reference", default=report.REFERENCE_FILE, help="pgvector reference curves to draw, if present")
    parser.add_argument("--out", default=os.path.join(HERE, "results"))
    parser.add_argument("--stall", action="store_true",
                        help="instead: query latency alone and while another session inserts (bench/stall.py)")
    parser.add_argument("--stall-rows", type=int, default=20_000, help="rows indexed before the --stall phases")
    parser.add_argument("--stall-seconds", type=int, default=20, help="seconds of each --stall phase")
    parser.add_argument("--stall-insert-rate", type=int, default=200, help="rows a second the --stall inserter adds")
    parser.add_argument("--smoke", action="store_true",
                        help=f"CI check on 10,000 synthetic rows and 50 queries with indexes ({', '.join(SMOKE_INDEXES)} "
                             "unless --index is given), < 60 s; prints PASS/FAIL lines")
    args = parser.parse_args()
    if args.smoke:
        args.dataset, args.rows, args.dim, args.queries, args.exact_queries = "clustered", [10_000], 128, "50", 50
        args.hnswlib_sweep, args.passes, args.insert_rows = args.hnswlib_sweep or [20, 40], 1, 200
        args.index = args.index or [index_config(spec) for spec in SMOKE_INDEXES]
        for index in args.index:
            smoke = SMOKE_INDEXES.get(index["spec"], {})
            index["sweep"] = index["sweep"] or args.sweep or smoke.get("sweep")
            index["floor"] = smoke.get("floor", SMOKE_RECALL_FLOOR)
    elif args.rows:
        args.dataset = "clustered"
    elif args.dataset == "clustered":
        args.rows = [100_000]
    if not 96 <= args.dim <= 768:
        parser.error("--dim must be within 96-768")
    return args


def main():
    args = parse_args()
    if args.stall:
        import stall
        stall.run(args.dataset, args.stall_rows, args.stall_seconds, args.stall_insert_rate, args.k, out_dir=args.out)
        return
    nq = None if args.queries == "all" else int(args.queries)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    server = Server()
    results = []
    for rows in args.rows or [None]:
        ds = datasets.load(args.dataset, nq, rows=rows, dim=args.dim)
        stem = f"{stamp}-{'smoke-' if args.smoke else ''}{ds.name}"
        result, paths = run_dataset(args, ds, server, args.out, stem)
        results.append(result)
    if args.smoke:
        smoke_checks(ds, result, paths, args.k, [index["floor"] for index in args.index])
    elif len(results) > 1:
        table = report.scaling(results)
        path = os.path.join(args.out, f"{stamp}-scaling-{args.dim}d.md")
        with open(path, "w") as f:
            f.write(table)
        print(table)
        log(f"wrote {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
