#!/usr/bin/env bash
# A parallel hnsw build that cannot have the dynamic shared memory its graph needs: with
# /dev/shm a tmpfs of 8MB and a graph of more than that, CREATE INDEX must say in a NOTICE that
# it goes on without parallel workers, succeed, leave no segment behind, and the index must
# answer a few queries as a sequential scan does. The small tmpfs is mounted in a mount
# namespace of this script's own (unshare -m), never on the machine's /dev/shm, so it needs
# root. Runs against the extension as installed (scripts/test builds and installs it first).
# Prints PASS: or FAIL: per check and ends with "N passed, N failed"; exit 0 only if none failed.
set -uo pipefail

if [ -z "${VS_DSM_FALLBACK_NAMESPACE:-}" ]; then
    if [ "$(id -u)" != 0 ]; then
        echo "FAIL: must run as root, to mount a tmpfs in a mount namespace of its own"
        echo "0 passed, 1 failed"
        exit 1
    fi
    VS_DSM_FALLBACK_NAMESPACE=1 exec unshare --mount --propagation private "$BASH" "$0" "$@"
fi

source "$(dirname "$0")/../../scripts/lib.sh"

passed=0
failed=0
check() {  # check DESCRIPTION COMMAND...: PASS when the command succeeds
    local description=$1
    shift
    if "$@"; then
        echo "PASS: $description"
        passed=$((passed + 1))
    else
        echo "FAIL: $description"
        failed=$((failed + 1))
    fi
}
finish() {
    echo "$passed passed, $failed failed"
    [ "$failed" = 0 ]
    exit
}

ROWS=30000
DIMS=32
SHM_SIZE=8M

if ! mount -t tmpfs -o size=$SHM_SIZE,mode=1777 tmpfs /dev/shm; then
    check "mount a $SHM_SIZE tmpfs on /dev/shm in a private mount namespace" false
    finish
fi

# maintenance_work_mem of 128MB: PostgreSQL plans a worker only with 32MB for each participant,
# and the graph of these rows (about 11MB) is sized to the table, within that.
export VS_PORT=${VS_PORT:-54341}
vs_cluster_start dynamic_shared_memory_type=posix max_parallel_maintenance_workers=1 maintenance_work_mem=128MB \
    max_parallel_workers_per_gather=0
sql() { psql -qXAt -v ON_ERROR_STOP=1 "$@"; }

sql -c "CREATE EXTENSION vectorsearch" &&
    sql -c "CREATE TABLE items (id int, embedding vector($DIMS)) WITH (parallel_workers = 1)" &&
    sql -c "SELECT setseed(0.25)" \
        -c "INSERT INTO items SELECT i, ARRAY(SELECT random() FROM generate_series(1, $DIMS) WHERE i > 0)::vector
            FROM generate_series(1, $ROWS) i" \
        -c "ANALYZE items"
check "a table of $ROWS rows of $DIMS dimensions" [ "$(sql -c 'SELECT count(*) FROM items')" = "$ROWS" ]

segments_before=$(ls /dev/shm | wc -l)
build_log=$(mktemp)
sql -c "CREATE INDEX items_idx ON items USING hnsw (embedding vector_l2_ops)" >"$build_log" 2>&1
build_status=$?
sed 's/^/  | /' "$build_log"
check "CREATE INDEX succeeds" [ "$build_status" = 0 ]
check "a NOTICE says the build goes on without parallel workers" \
    grep -q "NOTICE:  hnsw index build continues without parallel workers" "$build_log"
check "no shared memory segment is left in /dev/shm" [ "$(ls /dev/shm | wc -l)" = "$segments_before" ]

# The nearest 10 of a row by the index (with a beam wide enough to be exact on these rows) and
# by a sequential scan.
index_only="SET enable_seqscan = off"
scan_only="SET enable_indexscan = off"
nearest_sql() {  # nearest_sql QUERY_ID
    echo "SELECT id FROM items ORDER BY embedding <-> (SELECT embedding FROM items WHERE id = $1) LIMIT 10"
}
nearest() {  # nearest QUERY_ID SETTING
    sql -c "$2" -c "SET hnsw.ef_search = 400" -c "SELECT string_agg(id::text, ' ') FROM ($(nearest_sql $1)) nearest"
}
uses_index=false
sql -c "$index_only" -c "SET hnsw.ef_search = 400" -c "EXPLAIN $(nearest_sql 1)" | grep -q "Index Scan using items_idx" &&
    uses_index=true
check "the queries below use the index" $uses_index
for query in 1 777 12345 29999; do
    by_index=$(nearest $query "$index_only")
    by_scan=$(nearest $query "$scan_only")
    check "the index finds the 10 nearest rows of row $query as a sequential scan does ($by_scan)" \
        [ $uses_index = true -a -n "$by_scan" -a "$by_index" = "$by_scan" ]
done

# With room for the graph, the same build runs with its worker, and hands its segment back.
mount -o remount,size=64M /dev/shm
sql -c "DROP INDEX items_idx" -c "SET client_min_messages = debug1" \
    -c "CREATE INDEX items_idx ON items USING hnsw (embedding vector_l2_ops)" >"$build_log" 2>&1
build_status=$?
check "with a 64MB /dev/shm, CREATE INDEX succeeds with a parallel worker" \
    [ "$build_status" = 0 -a -n "$(grep "hnsw build with 1 parallel workers" "$build_log")" ]
check "with a 64MB /dev/shm, no NOTICE of a build without parallel workers" \
    [ -z "$(grep "without parallel workers" "$build_log")" ]
check "with a 64MB /dev/shm, no shared memory segment is left in /dev/shm" [ "$(ls /dev/shm | wc -l)" = "$segments_before" ]
check "the server logged no WARNING or ERROR" [ -s "$VS_SERVER_LOG" -a -z "$(grep -E "WARNING|ERROR" "$VS_SERVER_LOG")" ]
rm -f "$build_log"
finish
