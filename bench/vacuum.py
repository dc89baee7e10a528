#!/usr/bin/python3
"""How long VACUUM of an hnsw index takes, and what it reads, after deleting rows: loads
Fashion-MNIST (60,000 x 784) into `items`, builds hnsw, deletes a fixed share of the rows (drawn
with a fixed seed), restarts the server so that VACUUM starts with empty shared buffers, and times
`VACUUM (INDEX_CLEANUP ON) items`. It reports the index's idx_blks_read and idx_blks_hit in
pg_statio_user_indexes during the VACUUM (a read that the page store's memo of recent buffers
serves is counted in neither), recall@10 before the delete and after the VACUUM (against brute
force over the rows left), and, for scale, the recall of an index built afresh on the rows left.

    bench/vacuum.py                        starts a throwaway cluster (scripts/lib.sh), as bench/run does
    bench/vacuum.py --delete 0.3 --seed 7

With PGHOST set (a cluster started by scripts/lib.sh's vs_cluster_start, whose data directory is
$PGHOST/data) it uses that cluster. It writes bench/results/<stamp>-vacuum-<dataset>.json and .md
and prints the table."""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np
import psycopg

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# The benchmark server of bench/run, with autovacuum off so that only the timed VACUUM removes rows.
SETTINGS = ["shared_buffers=4GB", "maintenance_work_mem=2GB", "fsync=off", "synchronous_commit=off",
            "full_page_writes=off", "max_wal_size=20GB", "checkpoint_timeout=1h", "jit=off",
            "max_parallel_workers_per_gather=0", "max_parallel_maintenance_workers=0", "autovacuum=off"]


# The operator and operator class of each metric, as in bench.py (not imported: it needs hnswlib).
OPERATORS = {"l2": {"operator": "<->", "opclass": "vector_l2_ops"},
             "cosine": {"operator": "<=>", "opclass": "vector_cosine_ops"}}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="fashion-mnist", choices=["fashion-mnist", "fashion-mnist-angular", "seed"])
    p.add_argument("--delete", type=float, default=0.1, help="share of the rows deleted (default 0.1)")
    p.add_argument("--seed", type=int, default=42, help="seed of the rows deleted (default 42)")
    p.add_argument("--queries", type=int, default=1000, help="queries for recall (default 1000)")
    p.add_argument("--ef-search", type=int, default=40)
    p.add_argument("--index", default="m=16,ef_construction=64", help="hnsw WITH options")
    p.add_argument("--out", default=os.path.join(HERE, "results"))
    return p.parse_args()


def in_throwaway_cluster():
    """Runs this script again inside a cluster that scripts/lib.sh builds the extension for,
    starts and stops; returns its exit status."""
    script = ('source "$1/scripts/lib.sh"; shift; export VS_PORT=${VS_PORT:-54401}; '
              'vs_install_packages "${VS_PACKAGES[@]}" python3-faiss dataset-fashion-mnist && vs_build_install && '
              f'vs_cluster_start {" ".join(SETTINGS)} && "$PG_BIN/psql" -qX -c "CREATE EXTENSION vectorsearch" && '
              '/usr/bin/python3 "$@"')
    return subprocess.call(["bash", "-c", script, "vacuum", ROOT, os.path.abspath(__file__), *sys.argv[1:]])


def restart_server():
    """Restarts the cluster of PGHOST with its options, so that shared buffers start empty."""
    data = os.path.join(os.environ["PGHOST"], "data")
    pg_ctl = os.path.join(os.path.dirname(os.environ.get("VS_PG_CONFIG", "/usr/lib/postgresql/15/bin/pg_config")), "pg_ctl")
    command = [pg_ctl, "-D", data, "-m", "fast", "-w", "-t", "120", "restart"]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def connect(vsutil):
    conn = psycopg.connect(autocommit=True)
    vsutil.register_vector(conn)
    return conn


def index_blocks(conn):
    """(idx_blks_read, idx_blks_hit) of items_idx as the statistics hold them now."""
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return conn.execute("SELECT idx_blks_read, idx_blks_hit FROM pg_statio_user_indexes "
                        "WHERE indexrelname = 'items_idx'").fetchone()


def recall(conn, ds, operator, ef_search, position):
    """recall@10 of the index over ds's queries; position maps a row id to its row in ds.base."""
    conn.execute(f"SET hnsw.ef_search = {ef_search}")
    sql = f"SELECT id FROM items ORDER BY embedding {operator} %s LIMIT 10"
    cursor = conn.cursor()
    found = [[position(row[0]) for row in cursor.execute(sql, (q,), binary=True, prepare=True)] for q in ds.queries]
    return ds.recall(found, 10)


def main():
    args = parse_args()
    if "PGHOST" not in os.environ:
        sys.exit(in_throwaway_cluster())
    import datasets  # here: it imports faiss, which the throwaway cluster's run installs first
    vsutil = datasets.vsutil
    ds = datasets.load(args.dataset, args.queries)
    metric = OPERATORS[ds.metric]
    n = len(ds.base)
    deleted = np.sort(np.random.default_rng(args.seed).choice(n, int(round(n * args.delete)), replace=False))
    kept = np.setdiff1d(np.arange(n), deleted)
    # The rows left as a dataset of their own, for the brute-force ground truth after the delete.
    left = datasets.Dataset(f"{ds.name}-minus-{args.delete:g}-seed{args.seed}", ds.metric, ds.base[kept], ds.queries)
    os.makedirs(os.path.join(datasets.CACHE, left.name), exist_ok=True)
    left.ground_truth(10)
    result = {"dataset": ds.name, "rows": n, "deleted": len(deleted), "seed": args.seed, "index": args.index,
              "ef_search": args.ef_search, "queries": len(ds.queries), "settings": SETTINGS}

    conn = connect(vsutil)
    conn.execute("DROP TABLE IF EXISTS items")
    conn.execute(f"CREATE TABLE items (id int, embedding vector({ds.dim}))")
    conn.execute("ALTER TABLE items ALTER COLUMN embedding SET STORAGE PLAIN")
    vsutil.copy_vectors(conn, "items", ds.base)
    conn.execute("VACUUM ANALYZE items")
    create = f"CREATE INDEX items_idx ON items USING hnsw (embedding {metric['opclass']}) WITH ({args.index})"
    log("building hnsw")
    start = time.perf_counter()
    conn.execute(create)
    result["build_s"] = time.perf_counter() - start
    result["index_blocks"] = conn.execute("SELECT pg_relation_size('items_idx') / current_setting('block_size')::int").fetchone()[0]
    result["recall_before"] = recall(conn, ds, metric["operator"], args.ef_search, lambda i: i - 1)

    log(f"deleting {len(deleted)} rows (seed {args.seed}), restarting the server")
    conn.execute("DELETE FROM items WHERE id = ANY(%s)", ([int(i) + 1 for i in deleted],))
    conn.execute("CHECKPOINT")
    conn.close()
    restart_server()
    conn = connect(vsutil)
    before = index_blocks(conn)
    log("VACUUM")
    start = time.perf_counter()
    # INDEX_CLEANUP ON: with dead rows on under 2% of the table's pages VACUUM would skip the index.
    conn.execute("VACUUM (INDEX_CLEANUP ON) items")
    result["vacuum_s"] = time.perf_counter() - start
    log(f"VACUUM took {result['vacuum_s']:.2f} s")
    conn.execute("SELECT pg_stat_force_next_flush()")
    conn.execute("SELECT 1")
    time.sleep(1.5)  # the statistics of a backend reach the shared ones when it goes idle
    with connect(vsutil) as observer:
        after = index_blocks(observer)
    result["idx_blks_read"], result["idx_blks_hit"] = after[0] - before[0], after[1] - before[1]
    result["index_blocks_after"] = conn.execute("SELECT pg_relation_size('items_idx') / current_setting('block_size')::int").fetchone()[0]
    position = lambda i: int(np.searchsorted(kept, i - 1))  # noqa: E731
    result["recall_after"] = recall(conn, left, metric["operator"], args.ef_search, position)

    log("building hnsw afresh on the rows left")
    conn.execute("DROP INDEX items_idx")
    conn.execute(create)
    result["recall_fresh"] = recall(conn, left, metric["operator"], args.ef_search, position)
    conn.close()

    table = (f"### VACUUM of hnsw ({args.index}) on {ds.name}: {n:,} rows, {len(deleted):,} deleted (seed {args.seed})\n\n"
             "| VACUUM s | idx_blks_read | idx_blks_hit | index blocks | recall@10 before | after VACUUM | fresh index |\n"
             "|--:|--:|--:|--:|--:|--:|--:|\n"
             f"| {result['vacuum_s']:.2f} | {result['idx_blks_read']:,} | {result['idx_blks_hit']:,} | "
             f"{result['index_blocks']:,} | {result['recall_before']:.4f} | {result['recall_after']:.4f} | "
             f"{result['recall_fresh']:.4f} |\n\n"
             f"hnsw.ef_search={args.ef_search}, {len(ds.queries)} queries; VACUUM starts with empty shared buffers "
             f"(the server restarted after the DELETE); build {result['build_s']:.1f} s.\n")
    os.makedirs(args.out, exist_ok=True)
    stem = os.path.join(args.out, f"{time.strftime('%Y%m%d-%H%M%S')}-vacuum-{ds.name}")
    with open(stem + ".json", "w") as f:
        json.dump(result, f, indent=1)
    with open(stem + ".md", "w") as f:
        f.write(table)
    print(table)
    log(f"wrote {os.path.relpath(stem)}.json and .md")


if __name__ == "__main__":
    main()
