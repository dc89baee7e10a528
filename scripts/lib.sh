# Shared by scripts/demo and scripts/test (sourced, not run): install what is missing from
# Debian, build and install the extension, and run a throwaway PostgreSQL cluster as the
# postgres OS user in a temporary directory, stopped again when the calling script exits.

VS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_BIN=/usr/lib/postgresql/15/bin

# Packages every script needs; callers add their own.
VS_PACKAGES=(postgresql-15 postgresql-server-dev-15 g++ make libgtest-dev python3-numpy python3-psycopg)

vs_log() { printf '==> %s\n' "$*" >&2; }

vs_install_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    vs_log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

vs_build_install() {
    vs_log "building and installing the extension"
    make -C "$VS_ROOT" -s -j"$(nproc)" >/dev/null
    make -C "$VS_ROOT" -s install >/dev/null
}

# vs_cluster_start [setting=value ...]: initdb and start; exports PGHOST, PGPORT, PGUSER and
# PGDATABASE so that psql, pg_regress and psycopg reach it.
vs_cluster_start() {
    VS_CLUSTER_DIR=$(mktemp -d /tmp/vectorsearch-cluster.XXXXXX)
    chown postgres: "$VS_CLUSTER_DIR"
    trap vs_cluster_stop EXIT
    trap "exit 130" INT TERM HUP PIPE  # a signal becomes an exit, which runs the trap above
    local options="-c port=${VS_PORT:-54329} -c listen_addresses='' -c unix_socket_directories=$VS_CLUSTER_DIR"
    local setting
    for setting in "$@"; do options+=" -c $setting"; done
    vs_log "starting a throwaway cluster in $VS_CLUSTER_DIR"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$VS_CLUSTER_DIR/data" -U postgres -A trust --no-sync >/dev/null
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$VS_CLUSTER_DIR/data" -l "$VS_CLUSTER_DIR/server.log" \
        -o "$options" -w -t 60 start >/dev/null
    export PGHOST=$VS_CLUSTER_DIR PGPORT=${VS_PORT:-54329} PGUSER=postgres PGDATABASE=postgres
}

vs_cluster_stop() {
    [ -n "${VS_CLUSTER_DIR:-}" ] || return 0
    vs_log "stopping the cluster"
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$VS_CLUSTER_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 ||
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$VS_CLUSTER_DIR/data" -m immediate stop >/dev/null 2>&1
    rm -rf "$VS_CLUSTER_DIR"
    VS_CLUSTER_DIR=
}
