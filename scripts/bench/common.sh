# shellcheck shell=bash
# Helpers for scripts/bench-*.sh. Source it; don't run it.
#
#   bench_require_tools [TOOL...]  psql, redis-cli, curl, jq, wrk and the TOOLs named (e.g. pgbench); missing ones
#                              installed with apt-get when root
#   bench_build_release        SOKU_BIN, or `cargo build --release -p soku` (honours CARGO_TARGET_DIR)
#   bench_scratch_init PREFIX  scratch dir, database PREFIX_<random>, Redis prefix, master key; exports
#                              DATABASE_URL, REDIS_URL, SOKU_REDIS_PREFIX, SOKU_MASTER_KEY, SOKU_DATA_DIR
#   bench_cleanup              trap handler: stop the API, drop the database, delete the Redis keys
#   bench_migrate, bench_admin ARGS..., bench_jget FIELD
#   bench_start_api [serve]    `soku api` (or `soku serve`: API and workers) on a free loopback port (env passed
#                              through); sets BENCH_API, BENCH_API_PID
#   bench_start_worker ARGS... `soku worker ARGS...` (env passed through), its /metrics on a free loopback port;
#                              sets BENCH_WORKER_PID (stopped by bench_cleanup)
#   ticks PID, pg_ticks        CPU clock ticks (user + system) of a process / of every postgres process, plus
#                              what the postmaster reaped from backends that ended
#   bench_free_port            a free loopback TCP port

# shellcheck source=scripts/wait-for-http.sh
source "$(dirname "${BASH_SOURCE[0]}")/../wait-for-http.sh"

bench_say() { printf '[bench] %s\n' "$*" >&2; }
bench_die() {
    printf '[bench] error: %s\n' "$*" >&2
    exit 2
}
bench_have() { command -v "$1" >/dev/null 2>&1; }
bench_rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

BENCH_APT_UPDATED=""
bench_apt_install() {
    [[ "$(id -u)" -eq 0 ]] && bench_have apt-get || return 1
    if [[ -z "$BENCH_APT_UPDATED" ]]; then
        apt-get update -qq >/dev/null 2>&1
        BENCH_APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# pgbench: Debian's /usr/bin/pgbench is a wrapper (postgresql-client-common) that fails without the server
# package, which holds the program; so "present" means "answers --version".
bench_tool_ok() {
    if [[ "$1" == pgbench ]]; then
        pgbench --version >/dev/null 2>&1
    else
        bench_have "$1"
    fi
}

bench_require_tools() {
    local tool pkg
    for tool in wrk jq psql redis-cli curl python3 "$@"; do
        bench_tool_ok "$tool" && continue
        case "$tool" in
        wrk | jq) pkg="$tool" ;;
        psql) pkg=postgresql-client ;;
        pgbench) pkg=postgresql ;;
        redis-cli) pkg=redis-tools ;;
        *) pkg="" ;;
        esac
        if [[ -n "$pkg" ]]; then
            bench_say "installing $pkg"
            bench_apt_install "$pkg" || true
        fi
        bench_tool_ok "$tool" || bench_die "$tool is required (Debian package ${pkg:-$tool})"
    done
}

bench_build_release() {
    if [[ -n "${SOKU_BIN:-}" ]]; then
        [[ -x "$SOKU_BIN" ]] || bench_die "SOKU_BIN=$SOKU_BIN is not an executable"
    else
        bench_say "cargo build --release -p soku"
        (cd "$ROOT" && cargo build --release -q -p soku) || bench_die "cargo build --release -p soku failed"
        SOKU_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/soku"
    fi
    SOKU_BIN="$(cd "$(dirname "$SOKU_BIN")" && pwd)/$(basename "$SOKU_BIN")"
}

bench_scratch_init() {
    local prefix="$1" base query
    BENCH_ADMIN_URL="${SOKU_TEST_DATABASE_URL:-${DATABASE_URL:-postgres://soku:soku@127.0.0.1:5432/postgres}}"
    export REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
    BENCH_WORK="$(mktemp -d "${TMPDIR:-/tmp}/soku-bench.XXXXXX")"
    BENCH_DB="${prefix}_$(bench_rand_hex 6)"
    base="${BENCH_ADMIN_URL%%\?*}"
    query="${BENCH_ADMIN_URL#"$base"}"
    export DATABASE_URL="${base%/*}/${BENCH_DB}${query}"
    SOKU_REDIS_PREFIX="${prefix}_$(bench_rand_hex 6)"
    export SOKU_REDIS_PREFIX
    SOKU_MASTER_KEY="$(bench_rand_hex 32)"
    export SOKU_MASTER_KEY
    export SOKU_DATA_DIR="$BENCH_WORK/data"
    unset SOKU_CONFIG
    BENCH_API_PID=""
    BENCH_WORKER_PID=""
    BENCH_DB_CREATED=""
    cd "$BENCH_WORK" || bench_die "cannot cd to $BENCH_WORK" # no stray ./soku.toml
    psql "$BENCH_ADMIN_URL" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $BENCH_DB" >/dev/null ||
        bench_die "cannot create database $BENCH_DB via $BENCH_ADMIN_URL"
    BENCH_DB_CREATED=1
    bench_say "database $BENCH_DB, Redis prefix $SOKU_REDIS_PREFIX, scratch $BENCH_WORK"
}

bench_cleanup() {
    local rc=$? pid
    for pid in "${BENCH_WORKER_PID:-}" "${BENCH_API_PID:-}"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    if [[ "${BENCH_KEEP:-}" == 1 ]]; then
        bench_say "kept: $BENCH_WORK, database $BENCH_DB, Redis prefix $SOKU_REDIS_PREFIX"
        return "$rc"
    fi
    if [[ -n "${BENCH_DB_CREATED:-}" ]]; then
        psql "$BENCH_ADMIN_URL" -qX -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 ||
            bench_say "warning: could not drop database $BENCH_DB"
    fi
    if [[ -n "${SOKU_REDIS_PREFIX:-}" ]]; then
        redis-cli -u "$REDIS_URL" --scan --pattern "${SOKU_REDIS_PREFIX}:*" 2>/dev/null |
            xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1
    fi
    [[ -n "${BENCH_WORK:-}" ]] && rm -rf "$BENCH_WORK"
    return "$rc"
}

bench_migrate() {
    "$SOKU_BIN" migrate >"$BENCH_WORK/migrate.out" 2>&1 || {
        cat "$BENCH_WORK/migrate.out" >&2
        bench_die "soku migrate failed"
    }
}

bench_admin() {
    local out
    if ! out="$("$SOKU_BIN" admin "$@" 2>"$BENCH_WORK/admin.err")"; then
        bench_die "soku admin $* failed: $(cat "$BENCH_WORK/admin.err")"
    fi
    printf '%s' "$out"
}

bench_jget() { jq -er ".$1" || bench_die "no .$1 in admin output"; }

bench_free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

bench_start_api() { # [COMMAND]: `soku api` (default), or `serve` for the API and workers in one process
    local port cmd="${1:-api}"
    port="$(bench_free_port)"
    BENCH_API="http://127.0.0.1:$port"
    SOKU_LISTEN="127.0.0.1:$port" SOKU_PUBLIC_URL="$BENCH_API" "$SOKU_BIN" "$cmd" >"$BENCH_WORK/api.log" 2>&1 &
    BENCH_API_PID=$!
    wait_for_http "$BENCH_API/healthz" "$BENCH_API_PID" "$BENCH_WORK/api.log" ||
        bench_die "soku $cmd did not come up at $BENCH_API"
    bench_say "soku $cmd up at $BENCH_API (pid $BENCH_API_PID)"
}

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() { awk '$2 == "(postgres)" { s += $14 + $15 + $16 + $17 } END { print s + 0 }' /proc/[0-9]*/stat 2>/dev/null; }

bench_start_worker() {
    local port
    port="$(bench_free_port)"
    SOKU_WORKER_METRICS_LISTEN="127.0.0.1:$port" "$SOKU_BIN" worker "$@" >"$BENCH_WORK/worker.log" 2>&1 &
    BENCH_WORKER_PID=$!
    wait_for_http "http://127.0.0.1:$port/healthz" "$BENCH_WORKER_PID" "$BENCH_WORK/worker.log" ||
        bench_die "soku worker did not come up"
    bench_say "soku worker $* up (pid $BENCH_WORKER_PID)"
}
