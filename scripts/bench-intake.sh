#!/usr/bin/env bash
# Intake benchmark: POST /v1/posts end to end (auth, rate limit, idempotency, validation, insert, enqueue) on
# loopback with wrk, with the publish queues kept empty (as by workers that take every job at once), so that every
# request takes the documented path (Redis takes the post's targets). Then the ceiling, in the same run: the
# same statement (shared/src/store/sql/insert_post.sql, prepared, same parameter types) through pgbench on the
# same Postgres, same connections and duration; Soku's requests/s is reported as a ratio of pgbench's
# transactions/s. A benchmark, not a test: it prints numbers and a markdown row for docs/benchmarks.md, and exits
# non-zero only when the run itself is wrong (non-2xx responses, posts lost or extra, pgbench failing, setup).
#
#   scripts/bench-intake.sh                       # both runs: live key, then sk_test_ key
#   MODES=live CONCURRENCY=128 DURATION=60s scripts/bench-intake.sh
#
# Environment:
#   CONCURRENCY   wrk connections (default 64)          THREADS   wrk threads (default 2)
#   DURATION      measured run (default 30s)            WARMUP    warm-up run before it (default 5s)
#   MODES         "live test" (default), "live" or "test"
#   WORKER        "drain" (default): a loop here empties the three publish queues every 50 ms, as workers that
#                 take every job at once would; no publishing shares the cores (the targets stay pending in
#                 Postgres, nobody reconciles them);
#                 "publish": `soku worker --queues publish` publishes them meanwhile (test-mode targets through
#                 the sandbox, live ones fail at once with platform_not_available: no live adapter is built yet,
#                 nothing leaves the machine): intake and publishing share the cores;
#                 "none": no worker (each capped platform queue fills after 4,000 targets and later requests take
#                 the "queue full" branch: a debug line and an extra UPDATE; counted and reported either way)
#   CEILING=0     skip the pgbench ceiling
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
WORKER="${WORKER:-drain}"
CEILING="${CEILING:-1}"
case "$DURATION" in # pgbench -T takes whole seconds; wrk takes 30s, 2m, 1h
*s) DURATION_S="${DURATION%s}" ;;
*m) DURATION_S=$((${DURATION%m} * 60)) ;;
*h) DURATION_S=$((${DURATION%h} * 3600)) ;;
*) DURATION_S="$DURATION" ;;
esac
[[ "$DURATION_S" =~ ^[0-9]+$ ]] || {
    echo "DURATION=$DURATION: expected whole seconds, minutes or hours (30s, 2m)" >&2
    exit 2
}
case "$WORKER" in drain | publish | none) ;; *)
    echo "WORKER=$WORKER: expected drain, publish or none" >&2
    exit 2
    ;;
esac

if [[ "$CEILING" == 1 ]]; then bench_require_tools pgbench; else bench_require_tools; fi
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

# The API logs the "queue full" branch at debug (soku_shared::handoff); only that module is raised.
API_LOG_FILTER="warn,soku_shared::handoff=debug"
SOKU_RATE_LIMIT_BUSINESS=100000000 SOKU_LOG="$API_LOG_FILTER" bench_start_api
if [[ "$WORKER" == publish ]]; then
    # The publish queues only (no reconciler: what a full queue refused stays visible in Postgres). Live targets
    # meet the "not available" adapter and fail without any network call; test-mode ones go to the sandbox.
    # A small pool: Postgres's max_connections is shared with the API's pool and pgbench's clients.
    SOKU_DB_POOL_SIZE=8 SOKU_LOG=warn bench_start_worker --queues publish
fi
READY_KEYS=()
for p in threads x linkedin; do READY_KEYS+=("$SOKU_REDIS_PREFIX:publish:$p:ready"); done
DRAIN_PID=""
if [[ "$WORKER" == drain ]]; then
    while :; do
        redis-cli -u "$REDIS_URL" del "${READY_KEYS[@]}" >/dev/null 2>&1
        sleep 0.05
    done &
    DRAIN_PID=$!
    trap 'rc=$?; kill "$DRAIN_PID" 2>/dev/null; (exit $rc); bench_cleanup' EXIT
fi

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
PGBENCH_VERSION="$(pgbench --version 2>/dev/null | awk '{print $3}')"
LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
if [[ "$WORKER" == drain ]]; then
    WORKER_TEXT="the publish queues emptied every 50 ms by this script (no publishing work)"
elif [[ "$WORKER" == publish ]]; then
    WORKER_TEXT="soku worker --queues publish (release, SOKU_DB_POOL_SIZE=8) publishes meanwhile"
else
    WORKER_TEXT="no worker running (each publish queue fills at 4,000; refusals counted below)"
fi

cat <<EOF

== Soku intake benchmark: POST /v1/posts (text post to threads, x, linkedin; unique Idempotency-Key each)
   commit       $COMMIT
   CPU          $CPU_MODEL, nproc $NPROC (wrk, soku api, the worker, pgbench and Postgres share them)
   load average $LOAD_START at start (1, 5, 15 min; anything else running shares the cores)
   Postgres     $PG_VERSION    Redis $REDIS_VERSION    wrk $WRK_VERSION    pgbench $PGBENCH_VERSION
   load         wrk -t$THREADS -c$CONCURRENCY -d$DURATION --latency (after a $WARMUP warm-up), loopback
   server       soku api (release), SOKU_LOG=$API_LOG_FILTER, rate limit out of the way, DB pool ${SOKU_DB_POOL_SIZE:-32}
   worker       $WORKER_TEXT
   ceiling      $([[ "$CEILING" == 1 ]] && echo "pgbench -M prepared, insert_post.sql, plan_cache_mode=force_generic_plan as Soku, same Postgres, right after each wrk run" || echo "skipped (CEILING=0)")

EOF

count_posts() { # LIVEMODE(true|false) -> "posts refused": posts of the bench account in that mode (pgbench's
    # excluded), and those with a target the "queue full" branch left for the reconciler (its hand-over time
    # set back to its creation instead of SOKU_REQUEUE_AFTER_SECS after it)
    psql "$DATABASE_URL" -AtqX -v ON_ERROR_STOP=1 -F ' ' -c "SELECT count(*),
            count(*) FILTER (WHERE EXISTS (SELECT 1 FROM post_targets t WHERE t.post_id = p.id
                                           AND t.handoff_at < p.created_at + interval '1 second'))
        FROM posts p WHERE account_id = '$ACCT' AND livemode = $1 AND id NOT LIKE 'post_pgb%'" 2>/dev/null
}
queue_full_lines() { grep -c 'queue full' "$BENCH_WORK/api.log" 2>/dev/null || true; }
queues_waiting() { # jobs waiting in the three publish queues, together
    local k n sum=0
    for k in "${READY_KEYS[@]}"; do
        n="$(redis-cli -u "$REDIS_URL" zcard "$k" 2>/dev/null)" || { echo "?"; return; }
        sum=$((sum + n))
    done
    echo "$sum"
}

# The pgbench script, from the statement the server compiles in.
if [[ "$CEILING" == 1 ]]; then
    python3 "$BENCH_DIR/intake-pgbench.py" 3 >"$BENCH_WORK/intake.pgbench" || bench_die "intake-pgbench.py failed"
fi
RETENTION_HOURS="$(sed -n 's/^pub const RETENTION_HOURS: i64 = \([0-9]*\);/\1/p' "$ROOT/shared/src/store/idempotency.rs")"
RETENTION_HOURS="${RETENTION_HOURS:-24}"

# ceiling LIVEMODE -> runs pgbench; prints "tps transactions failed clients" or returns 1 (output in the log)
ceiling() {
    local livemode="$1" content hash max used clients out tps txns failed
    content="$(psql "$DATABASE_URL" -AtqX -c "SELECT content::text FROM posts
        WHERE account_id = '$ACCT' AND livemode = $livemode AND id NOT LIKE 'post_pgb%' LIMIT 1")"
    hash="$(psql "$DATABASE_URL" -AtqX -c "SELECT encode(request_hash, 'hex') FROM idempotency_keys
        WHERE account_id = '$ACCT' AND livemode = $livemode AND key NOT LIKE 'bench-pgb-%' LIMIT 1")"
    [[ -n "$content" && -n "$hash" ]] || return 1
    # Postgres's connections are shared with the API's and the worker's pools (idle, still open) and with
    # whoever else uses this server: stay below max_connections.
    max="$(psql "$DATABASE_URL" -AtqX -c 'SHOW max_connections')"
    used="$(psql "$DATABASE_URL" -AtqX -c 'SELECT count(*) FROM pg_stat_activity')"
    clients=$((CONCURRENCY < max - used - 5 ? CONCURRENCY : max - used - 5))
    ((clients >= 1)) || return 1
    # The session settings Soku's pool sets on every connection (shared/src/store/mod.rs, options()).
    PGOPTIONS="-c plan_cache_mode=force_generic_plan" \
        pgbench -n -M prepared -f "$BENCH_WORK/intake.pgbench" -c "$clients" -j "$THREADS" -T "$DURATION_S" \
            -D p2="$ACCT" -D p3="$livemode" -D p4=queued -D p5="$content" -D p9='{0,1,2}' \
            -D p10='{threads,x,linkedin}' -D p11='{NULL,NULL,NULL}' -D p14=POST -D p15=/v1/posts \
            -D p16="\\x$hash" -D p17="$RETENTION_HOURS" -D p19=60 "$DATABASE_URL" >"$BENCH_WORK/pgbench-$livemode.out" 2>&1 ||
        return 1
    out="$(cat "$BENCH_WORK/pgbench-$livemode.out")"
    tps="$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' <<<"$out")"
    txns="$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")"
    failed="$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' <<<"$out")"
    [[ -n "$tps" && -n "$txns" ]] || return 1
    echo "$tps $txns ${failed:-0} $clients"
}
pgb_posts() { # LIVEMODE -> posts pgbench stored in that mode
    psql "$DATABASE_URL" -AtqX -c "SELECT count(*) FROM posts
        WHERE account_id = '$ACCT' AND livemode = $1 AND id LIKE 'post_pgb%'" 2>/dev/null
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
    read -r before refused_before <<<"$(count_posts "$livemode")"
    full_before="$(queue_full_lines)"
    waiting_before="$(queues_waiting)"

    bench_say "$mode: measuring $DURATION at $CONCURRENCY connections"
    wrk -t"$THREADS" -c"$CONCURRENCY" -d"$DURATION" --latency -s "$BENCH_DIR/intake.lua" "$BENCH_API" -- "$key" "m$tag" \
        >"$BENCH_WORK/wrk-$mode.out" 2>&1
    wrk_rc=$?
    sleep 2 # requests still in flight when wrk stopped may still be committed
    read -r after refused_after <<<"$(count_posts "$livemode")"
    full_after="$(queue_full_lines)"
    waiting_after="$(queues_waiting)"

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
    refused="?"
    if [[ -z "$before" || -z "$after" ]]; then
        db_note="could not count posts in the database"
        verdict=FAIL
    else
        refused=$((refused_after - refused_before))
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

    # The ceiling: the same statement through pgbench, same Postgres, same connections (within what Postgres
    # has left) and duration, the API and worker idle.
    ceil_note="skipped (CEILING=0)" ratio="–" tps="–"
    if [[ "$CEILING" == 1 ]]; then
        bench_say "$mode: ceiling, pgbench for ${DURATION_S}s"
        pgb_before="$(pgb_posts "$livemode")"
        if read -r tps txns pgb_failed clients <<<"$(ceiling "$livemode")" && [[ -n "$tps" ]]; then
            pgb_stored=$(($(pgb_posts "$livemode") - pgb_before))
            ratio="$(awk -v a="$rps" -v b="$tps" 'BEGIN { printf "%.2f", a / b }')"
            tps="$(awk -v t="$tps" 'BEGIN { printf "%.1f", t }')"
            ceil_note="$tps transactions/s ($txns in ${DURATION_S}s, $pgb_failed failed, $clients clients, -j$THREADS); $pgb_stored posts stored"
            if ((pgb_failed > 0 || pgb_stored != txns)); then
                ceil_note="$ceil_note: FAIL (every transaction must store one post)"
                verdict=FAIL
            fi
        else
            ceil_note="FAIL: pgbench did not run; $(tail -n 5 "$BENCH_WORK/pgbench-$livemode.out" 2>/dev/null | tr '\n' ' ')"
            tps="–"
            verdict=FAIL
        fi
    fi
    [[ "$verdict" == ok ]] || STATUS=1

    printf '   requests/s   %s\n' "$rps"
    printf '   latency      p50 %s ms, p99 %s ms\n' "$p50" "$p99"
    printf '   responses    %s total, %s 202, %s non-2xx, %s socket errors\n' "$requests" "$s202" "$non2xx" "$sockerr"
    printf '   database     %s\n' "$db_note"
    printf '   queue full   %s posts left for the reconciler (Postgres), %s "queue full" lines in the API log; publish queues waiting %s before, %s after (cap 4,000 each)\n' \
        "$refused" "$((full_after - full_before))" "$waiting_before" "$waiting_after"
    printf '   ceiling      %s\n' "$ceil_note"
    printf '   ratio        %s of the ceiling (Soku requests/s ÷ pgbench transactions/s)\n' "$ratio"
    printf '   verdict      %s\n\n' "$verdict"

    ROWS+=("| $TODAY | \`$COMMIT\` | $mode | $CONCURRENCY | $DURATION | $WORKER | $rps | $p50 | $p99 | $non2xx | $refused | $tps | $ratio | $CPU_MODEL | $NPROC | $PG_VERSION | $REDIS_VERSION |")
done

echo "Load average $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo
echo "Markdown for docs/benchmarks.md:"
echo
echo "| date | commit | key | connections | duration | worker | requests/s | p50 ms | p99 ms | non-2xx | queue full | pgbench tps | ratio | CPU | nproc | Postgres | Redis |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${ROWS[@]}"
echo
exit "$STATUS"
