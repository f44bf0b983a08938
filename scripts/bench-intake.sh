#!/usr/bin/env bash
# Intake benchmark: POST /v1/posts end to end (auth, rate limit, idempotency, validation, insert, enqueue) on
# loopback with wrk. A benchmark, not a test: it prints numbers and a markdown row for docs/benchmarks.md, and
# exits non-zero only when the run itself is wrong (non-2xx responses, posts lost or extra, setup failure).
#
#   scripts/bench-intake.sh                       # both runs: live key, then sk_test_ key
#   MODES=live CONCURRENCY=128 DURATION=60s scripts/bench-intake.sh
#
# Environment:
#   CONCURRENCY   wrk connections (default 64)          THREADS   wrk threads (default 2)
#   DURATION      measured run (default 30s)            WARMUP    warm-up run before it (default 5s)
#   MODES         "live test" (default), "live" or "test"
#   SOKU_BIN      use this binary instead of `cargo build --release -p soku` (CARGO_TARGET_DIR is honoured)
#   SOKU_TEST_DATABASE_URL  admin URL (default $DATABASE_URL, else postgres://soku:soku@127.0.0.1:5432/postgres);
#                 a scratch database soku_bench_<random> is created beside it and dropped at the end
#   REDIS_URL     default redis://127.0.0.1:6379 (keys under a random SOKU_REDIS_PREFIX, deleted at the end)
#   BENCH_KEEP=1  keep the scratch database, Redis keys and logs
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/scripts/bench"
# shellcheck source=scripts/bench/common.sh
source "$BENCH_DIR/common.sh"

CONCURRENCY="${CONCURRENCY:-64}"
THREADS="${THREADS:-2}"
DURATION="${DURATION:-30s}"
WARMUP="${WARMUP:-5s}"
MODES="${MODES:-live test}"

bench_require_tools
bench_build_release
bench_scratch_init soku_bench
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

bench_migrate

# One business account, rate limit raised out of the way (SOKU_RATE_LIMIT_BUSINESS below), a live key with the
# three integrations the post names, and a test key (test-mode posts need no integrations).
ACCT="$(bench_admin account create --name bench --plan business --status active | bench_jget accountId)" || exit 2
LIVE_KEY="$(bench_admin key create "$ACCT" --name bench-live --mode live | bench_jget apiKey)" || exit 2
TEST_KEY="$(bench_admin key create "$ACCT" --name bench-test --mode test | bench_jget apiKey)" || exit 2
for p in threads x linkedin; do
    bench_admin integration add "$ACCT" --platform "$p" --account-id "${p}_main" --default \
        --credentials '{"accessToken":"placeholder"}' >/dev/null || exit 2
done

SOKU_RATE_LIMIT_BUSINESS=100000000 SOKU_LOG=warn bench_start_api

# ---------------------------------------------------------------- conditions
CPU_MODEL="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^model name[[:space:]]*:[[:space:]]*//')"
CPU_MODEL="${CPU_MODEL:-$(uname -m)}"
NPROC="$(nproc)"
PG_VERSION="$(psql "$DATABASE_URL" -AtqX -c 'SHOW server_version' 2>/dev/null | awk '{print $1}')"
REDIS_VERSION="$(redis-cli -u "$REDIS_URL" info server 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p')"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
if [[ "$COMMIT" != none ]] && ! git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null; then
    COMMIT="$COMMIT-dirty"
fi
WRK_VERSION="$(wrk --version 2>&1 | head -n1 | awk '{print $2}')"
TODAY="$(date -u +%F)"

cat <<EOF

== Soku intake benchmark: POST /v1/posts (text post to threads, x, linkedin; unique Idempotency-Key each)
   commit       $COMMIT
   CPU          $CPU_MODEL, nproc $NPROC (wrk and soku api share them)
   Postgres     $PG_VERSION    Redis $REDIS_VERSION    wrk $WRK_VERSION
   load         wrk -t$THREADS -c$CONCURRENCY -d$DURATION --latency (after a $WARMUP warm-up), loopback
   server       soku api (release), SOKU_LOG=warn, rate limit out of the way, no worker running

EOF

count_posts() { # LIVEMODE(true|false) -> number of posts of the bench account in that mode
    psql "$DATABASE_URL" -AtqX -v ON_ERROR_STOP=1 \
        -c "SELECT count(*) FROM posts WHERE account_id = '$ACCT' AND livemode = $1" 2>/dev/null
}

ROWS=()
STATUS=0
for mode in $MODES; do
    case "$mode" in
    live) key="$LIVE_KEY" livemode=true ;;
    test) key="$TEST_KEY" livemode=false ;;
    *)
        bench_say "unknown mode '$mode' (live or test)"
        STATUS=1
        continue
        ;;
    esac
    tag="$(bench_rand_hex 4)"

    bench_say "$mode: warm-up $WARMUP"
    wrk -t"$THREADS" -c"$CONCURRENCY" -d"$WARMUP" -s "$BENCH_DIR/intake.lua" "$BENCH_API" -- "$key" "w$tag" \
        >"$BENCH_WORK/wrk-$mode-warmup.out" 2>&1
    sleep 1 # let the warm-up's in-flight tail land before counting
    before="$(count_posts "$livemode")"

    bench_say "$mode: measuring $DURATION at $CONCURRENCY connections"
    wrk -t"$THREADS" -c"$CONCURRENCY" -d"$DURATION" --latency -s "$BENCH_DIR/intake.lua" "$BENCH_API" -- "$key" "m$tag" \
        >"$BENCH_WORK/wrk-$mode.out" 2>&1
    wrk_rc=$?
    sleep 2 # requests still in flight when wrk stopped may still be committed
    after="$(count_posts "$livemode")"

    echo "--- $mode key (${key:0:8}…)"
    grep -vE '^BENCH_' "$BENCH_WORK/wrk-$mode.out" | sed 's/^/   /'
    result="$(grep '^BENCH_RESULT ' "$BENCH_WORK/wrk-$mode.out" | tail -n1)"
    if ((wrk_rc != 0)) || [[ -z "$result" ]]; then
        echo "   wrk failed (exit $wrk_rc); output above"
        STATUS=1
        continue
    fi
    r() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$result"; }
    requests="$(r requests)" s202="$(r status_202)" s2xx="$(r status_2xx)" non2xx="$(r non_2xx)"
    sockerr="$(r socket_errors)" rps="$(r rps)" p50="$(r p50_ms)" p99="$(r p99_ms)"
    grep -E '^BENCH_(STATUS|BODY) ' "$BENCH_WORK/wrk-$mode.out" | sed 's/^BENCH_/   /'

    verdict=ok
    if [[ -z "$before" || -z "$after" ]]; then
        db_note="could not count posts in the database"
        verdict=FAIL
    else
        stored=$((after - before))
        extra=$((stored - s202))
        if ((extra < 0)); then
            db_note="LOST: $stored posts stored, but wrk counted $s202 responses 202"
            verdict=FAIL
        elif ((extra > CONCURRENCY + sockerr)); then
            db_note="$stored posts stored for $s202 responses 202: $extra more than the in-flight tail (≤ $((CONCURRENCY + sockerr)))"
            verdict=FAIL
        else
            db_note="$stored posts stored = $s202 responses 202 + $extra in flight when wrk stopped (≤ $((CONCURRENCY + sockerr)))"
        fi
    fi
    if ((non2xx > 0)); then
        verdict=FAIL
    fi
    if ((s2xx != s202)); then
        db_note="$db_note; $((s2xx - s202)) 2xx responses were not 202"
        verdict=FAIL
    fi
    [[ "$verdict" == ok ]] || STATUS=1

    printf '   requests/s   %s\n' "$rps"
    printf '   latency      p50 %s ms, p99 %s ms\n' "$p50" "$p99"
    printf '   responses    %s total, %s 202, %s non-2xx, %s socket errors\n' "$requests" "$s202" "$non2xx" "$sockerr"
    printf '   database     %s\n' "$db_note"
    printf '   verdict      %s\n\n' "$verdict"

    ROWS+=("| $TODAY | \`$COMMIT\` | $mode | $CONCURRENCY | $DURATION | $rps | $p50 | $p99 | $non2xx | $CPU_MODEL | $NPROC | $PG_VERSION | $REDIS_VERSION |")
done

echo "Markdown for docs/benchmarks.md:"
echo
echo "| date | commit | key | connections | duration | requests/s | p50 ms | p99 ms | non-2xx | CPU | nproc | Postgres | Redis |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
exit "$STATUS"
