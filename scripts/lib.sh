# Shared by scripts/demo, scripts/test, scripts/tap, scripts/test-cassert and bench/run (sourced,
# not run): install what is missing from Debian, build and install the extension, and run a
# throwaway PostgreSQL cluster as the postgres OS user in a temporary directory, stopped again
# when the calling script exits.
#
# Settings, from the environment:
#   VS_PG_CONFIG  the pg_config of the PostgreSQL to build for and test against (default: Debian's
#                 PostgreSQL 15); scripts/test-cassert points it at an assert-enabled build
#   VS_LOG_DIR    if set, every cluster's server log is written there and kept (scripts/test sets
#                 it and scans the logs once all suites have run)
#   VS_EXTENSION_INSTALLED=1  the caller has built and installed the extension already, as it
#                 wants it tested (scripts/test for bench/run): vs_build_install leaves it alone

VS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VS_PG_CONFIG=${VS_PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
# pg_config lives in the bindir, in Debian's layout as in a source build; knowing it without
# running pg_config lets a script use PG_BIN before the packages that provide it are installed.
PG_BIN=$(dirname "$VS_PG_CONFIG")

# Packages every script needs; callers add their own.
VS_PACKAGES=(postgresql-15 postgresql-server-dev-15 g++ make libgtest-dev python3-numpy python3-psycopg)

vs_log() { printf '==> %s\n' "$*" >&2; }

# vs_on_exit COMMAND: runs COMMAND when the script exits, however it exits; the commands run last
# registered first, so that a cluster is stopped before the summary that registered earlier.
VS_EXIT_HOOKS=()
vs_on_exit() {
    VS_EXIT_HOOKS+=("$1")
    trap vs_run_exit_hooks EXIT
    trap "exit 130" INT TERM HUP PIPE  # a signal becomes an exit, which runs the hooks
}
vs_run_exit_hooks() {
    local i
    for ((i = ${#VS_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do ${VS_EXIT_HOOKS[i]}; done
}

vs_install_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'ok installed' || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    vs_log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null &&
        apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

# vs_build_install [--test-hooks]: builds the extension for VS_PG_CONFIG's PostgreSQL and installs
# it there; --test-hooks makes the test build, with the pause points of src/pg/test_hooks.h.
vs_build_install() {
    if [ "${VS_EXTENSION_INSTALLED:-0}" = 1 ]; then
        vs_log "using the extension as the caller built and installed it"
        return 0
    fi
    local flags=(PG_CONFIG="$VS_PG_CONFIG")
    if [ "${1:-}" = --test-hooks ]; then
        flags+=(VS_TEST_HOOKS=1)
        vs_log "building the test build of the extension (VS_TEST_HOOKS=1) for $VS_PG_CONFIG, and installing it"
    else
        vs_log "building and installing the extension"
    fi
    make -C "$VS_ROOT" -s -j"$(nproc)" "${flags[@]}" >/dev/null &&
        make -C "$VS_ROOT" -s "${flags[@]}" install >/dev/null
}

# vs_cluster_start [setting=value ...]: initdb and start; exports PGHOST, PGPORT, PGUSER and
# PGDATABASE so that psql, pg_regress and psycopg reach it.
vs_cluster_start() {
    VS_CLUSTER_DIR=$(mktemp -d /tmp/vectorsearch-cluster.XXXXXX)
    chown postgres: "$VS_CLUSTER_DIR"
    VS_SERVER_LOG=$VS_CLUSTER_DIR/server.log
    if [ -n "${VS_LOG_DIR:-}" ]; then
        VS_SERVER_LOG=$VS_LOG_DIR/$(basename "$0" .sh)-server-${VS_CLUSTER_DIR##*.}.log
        install -o postgres -m 644 /dev/null "$VS_SERVER_LOG"
    fi
    vs_on_exit vs_cluster_stop
    local options="-c port=${VS_PORT:-54329} -c listen_addresses='' -c unix_socket_directories=$VS_CLUSTER_DIR"
    local setting
    for setting in "$@"; do options+=" -c $setting"; done
    vs_log "starting a throwaway cluster in $VS_CLUSTER_DIR (server log $VS_SERVER_LOG)"
    runuser -u postgres -- "$PG_BIN/initdb" -D "$VS_CLUSTER_DIR/data" -U postgres -A trust --no-sync >/dev/null &&
        runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$VS_CLUSTER_DIR/data" -l "$VS_SERVER_LOG" \
            -o "$options" -w -t 60 start >/dev/null || return 1
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
