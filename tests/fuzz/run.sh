#!/usr/bin/env bash
# Fuzzes the API against its own OpenAPI document with schemathesis: a scratch database, an account with a test
# key and a few test-mode integrations, `soku serve` (API and workers) on a free loopback port, then
# `schemathesis run http://127.0.0.1:PORT/openapi.json` with every phase (examples, coverage, fuzzing, stateful
# through the document's links) for a bounded time. Fails on any 5xx, any response the document does not allow
# (status code, body schema, content type, headers), any request the document forbids that the server accepts,
# and any resource that the links say exists but does not (or still does after a DELETE). The checks are in
# tests/fuzz/schemathesis.toml; see tests/fuzz/README.md.
#
# Environment:
#   SOKU_BIN                 the soku binary (default: `cargo build -p soku`, then <target>/debug/soku)
#   SOKU_TEST_DATABASE_URL   admin URL used to create/drop the scratch database
#                            (default postgres://soku:soku@127.0.0.1:5432/postgres; DATABASE_URL if set)
#   REDIS_URL                default redis://127.0.0.1:6379 (keys go under a random SOKU_REDIS_PREFIX)
#   FUZZ_MAX_TIME            seconds schemathesis may spend (default 150)
#   FUZZ_MAX_EXAMPLES        test cases per operation and phase (default 60)
#   FUZZ_SEED                a fixed seed, to replay a run (default: random, printed)
#   FUZZ_VENV                where schemathesis is installed (default ~/.cache/soku-fuzz/venv-<version>)
#   FUZZ_KEEP=1              keep the scratch directory (with the report), database and Redis keys
set -uo pipefail

SCHEMATHESIS_VERSION=4.32.5

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

ADMIN_URL="${SOKU_TEST_DATABASE_URL:-${DATABASE_URL:-postgres://soku:soku@127.0.0.1:5432/postgres}}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
MAX_TIME="${FUZZ_MAX_TIME:-150}"
MAX_EXAMPLES="${FUZZ_MAX_EXAMPLES:-60}"
VENV="${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/soku-fuzz/venv-$SCHEMATHESIS_VERSION}"

say() { printf '[fuzz] %s\n' "$*" >&2; }
die() {
    printf '[fuzz] error: %s\n' "$*" >&2
    exit 2
}
# shellcheck source=tests/scratch.sh
source "$ROOT/tests/scratch.sh"

# ---------------------------------------------------------------- prerequisites
for tool in psql curl jq python3 redis-cli timeout; do
    have "$tool" || die "$tool is required"
done

# schemathesis, pinned, in its own virtualenv (installed once, then reused).
if [[ "$("$VENV/bin/schemathesis" --version 2>/dev/null)" != *" $SCHEMATHESIS_VERSION" ]]; then
    say "installing schemathesis $SCHEMATHESIS_VERSION into $VENV"
    if [[ -e "$VENV" ]]; then
        # Only ever replace a virtualenv (a stale or broken one), never some other directory.
        [[ -f "$VENV/pyvenv.cfg" ]] || die "FUZZ_VENV=$VENV exists and is not a virtualenv"
        rm -rf "$VENV"
    fi
    mkdir -p "$(dirname "$VENV")"
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian's python3 keeps venv (ensurepip) in a package of its own.
        rm -rf "$VENV"
        if [[ "$(id -u)" -eq 0 ]] && have apt-get; then
            pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            say "python3 -m venv failed: installing python3-venv"
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python${pyver}-venv" >/dev/null 2>&1 ||
                DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 ||
                die "could not install python3-venv"
        fi
        python3 -m venv "$VENV" || die "python3 -m venv $VENV failed (install python3-venv)"
    fi
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" ||
        die "pip install schemathesis==$SCHEMATHESIS_VERSION failed"
fi
ST="$VENV/bin/schemathesis"

scratch_soku_bin

# ---------------------------------------------------------------- scratch state and cleanup
scratch_start fuzz "${FUZZ_KEEP:-}"

# One active account with a test key (test posts publish to the sandbox, never to a platform) and a test-mode
# connection per platform, so that posts naming an accountId can find one.
ACCT="$(admin account create --name fuzz --plan business --status active | jget accountId)" || exit 2
TEST_KEY="$(admin key create "$ACCT" --mode test | jget apiKey)" || exit 2
for p in threads x linkedin instagram facebook tiktok youtube; do
    admin integration add "$ACCT" --mode test --platform "$p" --account-id "${p}_main" --default \
        --credentials '{"accessToken":"placeholder"}' >/dev/null || exit 2
done

# ---------------------------------------------------------------- start soku serve
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
API="http://127.0.0.1:$PORT"

# A budget no run can spend: the fuzzer must see the endpoints, not 429s. Media import off: a post's generated
# media URLs name hosts on the internet, and importing them would make the server resolve those names.
# Transcription on (else POST /v1/ai/transcribe is a 503, which the fuzzer counts as a server error), at a
# closed loopback port: the fuzzer cannot make media with audio (createMedia is not fuzzed), so no job ever runs.
SOKU_LISTEN="127.0.0.1:$PORT" SOKU_PUBLIC_URL="$API" SOKU_RATE_LIMIT_BUSINESS=10000000 SOKU_MEDIA_IMPORT=off \
    SOKU_TRANSCRIPTION_URL=http://127.0.0.1:9/v1 \
    SOKU_LOG="${SOKU_LOG:-warn}" "$SOKU_BIN" serve >"$WORK/serve.log" 2>&1 &
SCRATCH_PID=$!
wait_for_http "$API/readyz" "$SCRATCH_PID" "$WORK/serve.log" || die "soku serve did not become ready at $API"
say "soku serve up at $API (pid $SCRATCH_PID)"

# ---------------------------------------------------------------- schemathesis
SEED="${FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}"
say "schemathesis $SCHEMATHESIS_VERSION, seed $SEED, at most ${MAX_TIME}s, $MAX_EXAMPLES examples per operation"
rc=0
# One worker: with two, hypothesis parses lambda sources from two threads at once and CPython 3.11's `ast.parse`
# is not thread-safe ("SystemError: AST constructor recursion depth mismatch", seen in CI): a tool error, not a
# finding, that would fail the step at random.
SOKU_FUZZ_KEY="$TEST_KEY" timeout --kill-after=30 "$((MAX_TIME + 120))" \
    "$ST" --config-file "$HERE/schemathesis.toml" run "$API/openapi.json" \
    --phases examples,coverage,fuzzing,stateful \
    --max-examples "$MAX_EXAMPLES" \
    --max-time "$MAX_TIME" \
    --seed "$SEED" \
    --workers 1 \
    --request-timeout 30 \
    --generation-database none \
    --no-color \
    --report junit --report-dir "$WORK/report" || rc=$?

if ((rc != 0)); then
    say "schemathesis failed (exit $rc); run again with FUZZ_SEED=$SEED (FUZZ_KEEP=1 keeps the report and serve.log)"
    if grep -qE 'panicked|internal error' "$WORK/serve.log"; then
        say "server errors in the log:"
        grep -E 'panicked|internal error' "$WORK/serve.log" | tail -n 20 | sed 's/^/    | /' >&2
    fi
    exit 1
fi
say "schemathesis passed"
