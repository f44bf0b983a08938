# shellcheck shell=bash
# What the script-driven test steps (tests/seeds/run.sh, tests/fuzz/run.sh) share: the soku binary, a scratch
# database and Redis prefix of their own (removed at exit), migrations, and `soku admin` helpers. Source it
# after defining `say` and `die`, with ROOT set to the repo root and ADMIN_URL / REDIS_URL set.
#
#   scratch_soku_bin        resolve SOKU_BIN (building `soku` when unset) to an absolute path
#   scratch_start TAG KEEP  make $WORK, database soku_TAG_<random>, prefix TAG_<random>, a master key; export
#                           what `soku` reads; migrate; cd into $WORK. KEEP=1 keeps everything at exit.
#   SCRATCH_PID             set it to the server's pid: it is stopped at exit
#   admin ARGS...           `soku admin ARGS`, dying with its stderr when it fails
#   jget FIELD              a field of the JSON on stdin

# shellcheck source=scripts/wait-for-http.sh
source "$ROOT/scripts/wait-for-http.sh"

have() { command -v "$1" >/dev/null 2>&1; }
rand_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

scratch_soku_bin() {
    if [[ -z "${SOKU_BIN:-}" ]]; then
        say "SOKU_BIN not set: building with cargo build -p soku"
        (cd "$ROOT" && cargo build -q -p soku) || die "cargo build -p soku failed"
        SOKU_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/debug/soku"
    fi
    [[ -x "$SOKU_BIN" ]] || die "SOKU_BIN=$SOKU_BIN is not an executable"
    SOKU_BIN="$(cd "$(dirname "$SOKU_BIN")" && pwd)/$(basename "$SOKU_BIN")"
}

scratch_start() {
    local tag="$1"
    SCRATCH_KEEP="${2:-}"
    WORK="$(mktemp -d "${TMPDIR:-/tmp}/soku-$tag.XXXXXX")"
    DB_NAME="soku_${tag}_$(rand_hex 6)"
    # Replace the database name in the admin URL (keep any ?query).
    local base="${ADMIN_URL%%\?*}"
    local query="${ADMIN_URL#"$base"}"
    export DATABASE_URL="${base%/*}/${DB_NAME}${query}"
    export REDIS_URL
    SOKU_REDIS_PREFIX="${tag}_$(rand_hex 6)"
    export SOKU_REDIS_PREFIX
    SOKU_MASTER_KEY="$(rand_hex 32)"
    export SOKU_MASTER_KEY
    export SOKU_DATA_DIR="$WORK/data"
    unset SOKU_CONFIG
    SCRATCH_PID=""
    DB_CREATED=""
    trap scratch_cleanup EXIT
    trap 'exit 130' INT TERM
    cd "$WORK" || die "cannot cd to $WORK" # so that no stray ./soku.toml is picked up
    psql "$ADMIN_URL" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB_NAME" >/dev/null ||
        die "cannot create database $DB_NAME via $ADMIN_URL"
    DB_CREATED=1
    say "database $DB_NAME, Redis prefix $SOKU_REDIS_PREFIX, scratch $WORK"
    "$SOKU_BIN" migrate >"$WORK/migrate.out" 2>&1 || {
        cat "$WORK/migrate.out" >&2
        die "soku migrate failed"
    }
}

scratch_cleanup() {
    local rc=$?
    if [[ -n "$SCRATCH_PID" ]] && kill -0 "$SCRATCH_PID" 2>/dev/null; then
        kill "$SCRATCH_PID" 2>/dev/null
        wait "$SCRATCH_PID" 2>/dev/null
    fi
    if [[ "$SCRATCH_KEEP" == 1 ]]; then
        say "kept: $WORK, database $DB_NAME, Redis prefix $SOKU_REDIS_PREFIX"
        return "$rc"
    fi
    if [[ -n "$DB_CREATED" ]]; then
        psql "$ADMIN_URL" -qX -v ON_ERROR_STOP=1 -c "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null 2>&1 ||
            say "warning: could not drop database $DB_NAME"
    fi
    redis-cli -u "$REDIS_URL" --scan --pattern "${SOKU_REDIS_PREFIX}:*" 2>/dev/null |
        xargs -r -n 200 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1
    cd / && rm -rf "$WORK"
    return "$rc"
}

admin() {
    local out
    if ! out="$("$SOKU_BIN" admin "$@" 2>"$WORK/admin.err")"; then
        die "soku admin $* failed: $(cat "$WORK/admin.err")"
    fi
    printf '%s' "$out"
}
jget() { jq -er ".$1" || die "no .$1 in admin output"; }
