#!/usr/bin/env bash
# Workers benchmark: the publishing pipeline end to end (intake API → per-platform publish queues and workers →
# sandbox sink), then the same publish job on BullMQ (same Redis, same Postgres, same sink) as a reference.
# A benchmark, not a test: it prints figures and the conditions they were measured in, and a markdown block for
# docs/benchmarks.md; it exits non-zero only when a run itself is wrong (targets lost or duplicated, setup failed).
#
#   scripts/bench-workers.sh
#   TARGETS=8000 SCHEDULED=4000 SINGLE=100 SUSTAIN_SECS=30 BULLMQ=0 scripts/bench-workers.sh   # shorter
#
# Phases (all on one scratch database, one Redis prefix, one sink process):
#   1 throughput  TARGETS targets = TARGETS/4 test-mode posts to x, threads, linkedin, facebook, POSTed by CONCURRENCY
#                 connections while the workers run; from the first POST to the sink's last delivery.
#   2 latency     SINGLE posts one at a time (4 targets each): accept → first lease (Postgres, and the worker's
#                 soku_pickup_latency_seconds histogram), and POST → first / last delivery at the sink.
#   3 schedule    SCHEDULED posts (one platform each, in turn) all due at one whole second, created before it:
#                 lateness of release (posts.dispatched_at), of the publish attempt's start and of publication
#                 (post_targets.published_at), each minus scheduled_time.
#   4 memory      Redis memory before, during and after SUSTAIN_SECS of steady load (SUSTAIN_RATE posts/s)
#                 (a job leaves Redis when a worker takes it: nothing to trim).
#   5 bullmq      scripts/bench/workers/bullmq/bench.mjs: TARGETS jobs (throughput), SCHEDULED delayed jobs due at
#                 one instant (lateness), SINGLE jobs one at a time; Soku's API and worker are stopped first.
#
# Environment:
#   TARGETS (20000)  SCHEDULED (10000)  SINGLE (200)  SUSTAIN_SECS (60)  CONCURRENCY (32, load connections)
#   SUSTAIN_RATE     posts/s in phase 4 (default: half of what phase 1 delivered, in posts of 4 targets)
#   PHASES           which phases to run (default "1 2 3 4 5"); BULLMQ=0 is the same as leaving 5 out. Phase 5
#                    runs `npm ci` in scripts/bench/workers/bullmq when its node_modules is missing or older than
#                    package-lock.json; node and npm are installed with apt-get (as root) when missing
#   SOKU_BIN, SOKU_SINK_BIN  binaries to use instead of `cargo build --release -p soku -p soku-tests`
#                    (CARGO_TARGET_DIR is honoured)
#   SOKU_LOG         default warn (e.g. warn,apalis_core=debug with BENCH_KEEP=1 to keep a detailed worker log)
#   SOKU_TEST_DATABASE_URL, REDIS_URL, BENCH_KEEP=1: as scripts/bench-intake.sh (see scripts/bench/README.md)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/scripts/bench"
WDIR="$BENCH_DIR/workers"
# shellcheck source=scripts/bench/common.sh
source "$BENCH_DIR/common.sh"

TARGETS="${TARGETS:-20000}"
SCHEDULED="${SCHEDULED:-10000}"
SINGLE="${SINGLE:-200}"
SUSTAIN_SECS="${SUSTAIN_SECS:-60}"
SUSTAIN_RATE="${SUSTAIN_RATE:-}"
CONCURRENCY="${CONCURRENCY:-32}"
BULLMQ="${BULLMQ:-1}"
PHASES="${PHASES:-1 2 3 4 5}"
[[ "$BULLMQ" == 1 ]] || PHASES="${PHASES//5/}"
phase() { [[ " $PHASES " == *" $1 "* ]]; }
PLATFORMS="x,threads,linkedin,facebook"
NPLAT=4
POSTS=$((TARGETS / NPLAT))
TARGETS=$((POSTS * NPLAT))
BENCH_T0="$(date +%s)"

bench_require_tools
# node runs the load generator; npm (phase 5) installs BullMQ from the lock file. Debian splits them into two packages.
for tool in node npm; do
    bench_have "$tool" && continue
    [[ "$tool" == npm ]] && ! phase 5 && continue
    pkg=nodejs
    [[ "$tool" == npm ]] && pkg=npm
    bench_say "installing $pkg"
    bench_apt_install "$pkg" || true
    bench_have "$tool" || bench_die "$tool is required (Debian package $pkg)"
done

# ---------------------------------------------------------------- binaries
if [[ -z "${SOKU_BIN:-}" || -z "${SOKU_SINK_BIN:-}" ]]; then
    bench_say "cargo build --release -p soku -p soku-tests"
    (cd "$ROOT" && cargo build --release -q -p soku -p soku-tests) ||
        bench_die "cargo build --release -p soku -p soku-tests failed"
    SOKU_BIN="${SOKU_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/soku}"
    SOKU_SINK_BIN="${SOKU_SINK_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/soku-sink}"
fi
[[ -x "$SOKU_BIN" ]] || bench_die "$SOKU_BIN is not an executable"
[[ -x "$SOKU_SINK_BIN" ]] || bench_die "$SOKU_SINK_BIN is not an executable"
SOKU_BIN="$(cd "$(dirname "$SOKU_BIN")" && pwd)/$(basename "$SOKU_BIN")"
SOKU_SINK_BIN="$(cd "$(dirname "$SOKU_SINK_BIN")" && pwd)/$(basename "$SOKU_SINK_BIN")"

# npm ci, not npm install: exactly the versions of package-lock.json (which lists the optional platform packages
# of msgpackr-extract for every platform: npm 11 refuses a lock file without them). Redone when the lock file
# changed since the last install.
if phase 5 && { [[ ! -f "$WDIR/bullmq/node_modules/.package-lock.json" ]] ||
    [[ "$WDIR/bullmq/package-lock.json" -nt "$WDIR/bullmq/node_modules/.package-lock.json" ]]; }; then
    bench_say "npm ci in scripts/bench/workers/bullmq (npm $(npm --version 2>/dev/null))"
    (cd "$WDIR/bullmq" && npm ci --no-audit --no-fund --loglevel=error >&2) || bench_die "npm ci failed"
fi

# ---------------------------------------------------------------- scratch state and processes
bench_scratch_init soku_bench_w
BULL_DB="${BENCH_DB}_bull"
BULL_PREFIX="bullmq_$(bench_rand_hex 6)"
base="${DATABASE_URL%%\?*}"
BULL_DATABASE_URL="${base%/*}/${BULL_DB}${DATABASE_URL#"$base"}"
SINK_PID="" WORKER_PID="" BULL_DB_CREATED=""

stop_pid() { # PID: SIGTERM, wait up to 10 s, then SIGKILL
    local pid="$1" _
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    return 0
}

workers_cleanup() {
    local rc=$?
    stop_pid "$WORKER_PID"
    for pid in $EXTRA_WORKER_PIDS; do stop_pid "$pid"; done
    stop_pid "$SINK_PID"
    if [[ "${BENCH_KEEP:-}" != 1 ]]; then
        if [[ -n "$BULL_DB_CREATED" ]]; then
            psql "$BENCH_ADMIN_URL" -qX -c "DROP DATABASE IF EXISTS $BULL_DB WITH (FORCE)" >/dev/null 2>&1
        fi
        redis-cli -u "$REDIS_URL" --scan --pattern "${BULL_PREFIX}:*" 2>/dev/null |
            xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1
    fi
    (exit "$rc")
    bench_cleanup
}
trap workers_cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
sql() { psql "$DATABASE_URL" -AtqX -v ON_ERROR_STOP=1 -F ' ' -c "$1"; }
now_ms() { date +%s%3N; }
jq_r() { jq -r "$1" <<<"$2"; }

bench_migrate
ACCT="$(bench_admin account create --name bench --plan pro --status active | bench_jget accountId)" || exit 2
KEY="$(bench_admin key create "$ACCT" --name bench-test --mode test | bench_jget apiKey)" || exit 2

SINK_PORT="$(free_port)"
"$SOKU_SINK_BIN" "127.0.0.1:$SINK_PORT" >"$BENCH_WORK/sink.out" 2>"$BENCH_WORK/sink.err" &
SINK_PID=$!
SINK="http://127.0.0.1:$SINK_PORT"
for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$SINK/stats" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null "$SINK/stats" || bench_die "soku-sink did not answer on $SINK"
sink_stats() { curl -fsS "$SINK/stats"; }
sink_reset() { curl -fsS -X DELETE -o /dev/null "$SINK/deliveries"; }

export SOKU_RATE_LIMIT_PRO=100000000 SOKU_LOG="${SOKU_LOG:-warn}" SOKU_SANDBOX_SINK_URL="$SINK"
if [[ "${SERVE:-0}" == 1 ]]; then
    # One `soku serve` process: the API and every worker (its CPU is reported as the API's; its /metrics carries
    # the workers' counters).
    bench_start_api serve
    METRICS="$BENCH_API/metrics"
else
    bench_start_api
    METRICS_PORT="$(free_port)"
    METRICS="http://127.0.0.1:$METRICS_PORT/metrics"
    SOKU_WORKER_METRICS_LISTEN="127.0.0.1:$METRICS_PORT" "$SOKU_BIN" worker >"$BENCH_WORK/worker.log" 2>&1 &
    WORKER_PID=$!
    wait_for_http "http://127.0.0.1:$METRICS_PORT/healthz" "$WORKER_PID" "$BENCH_WORK/worker.log" ||
        bench_die "soku worker did not come up"
    bench_say "soku worker up (pid $WORKER_PID, metrics $METRICS), sink $SINK (pid $SINK_PID)"
fi
# WORKERS=N: N - 1 more `soku worker` processes (their CPU counts as the worker's; /metrics is the first's).
EXTRA_WORKER_PIDS=""
for n in $(seq 2 "${WORKERS:-1}"); do
    port="$(free_port)"
    SOKU_WORKER_METRICS_LISTEN="127.0.0.1:$port" "$SOKU_BIN" worker >"$BENCH_WORK/worker-$n.log" 2>&1 &
    pid=$!
    wait_for_http "http://127.0.0.1:$port/healthz" "$pid" "$BENCH_WORK/worker-$n.log" ||
        bench_die "soku worker $n did not come up"
    EXTRA_WORKER_PIDS="$EXTRA_WORKER_PIDS $pid"
    bench_say "soku worker $n up (pid $pid)"
done

# ---------------------------------------------------------------- measuring helpers
REDIS_PID="$(redis-cli -u "$REDIS_URL" info server | tr -d '\r' | sed -n 's/^process_id://p')"
CLK_TCK="$(getconf CLK_TCK)"
sys_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; } # busy, whole machine
worker_ticks() { # every soku worker process of this run (none under SERVE=1)
    local sum=0 pid
    [[ -n "$WORKER_PID" ]] && sum="$(ticks "$WORKER_PID")"
    for pid in $EXTRA_WORKER_PIDS; do sum=$((sum + $(ticks "$pid"))); done
    echo "$sum"
}
cpu_snap() { echo "$(ticks "$BENCH_API_PID") $(worker_ticks) $(pg_ticks) $(ticks "$REDIS_PID") $(ticks "$SINK_PID") $(now_ms) $(sys_ticks)"; }
cpu_report() { # BEFORE AFTER [LOAD_CPU_SECONDS] -> one line: CPU seconds per process over the interval
    read -r a0 w0 p0 r0 s0 t0 y0 <<<"$1"
    read -r a1 w1 p1 r1 s1 t1 y1 <<<"$2"
    awk -v a=$((a1 - a0)) -v w=$((w1 - w0)) -v p=$((p1 - p0)) -v r=$((r1 - r0)) -v s=$((s1 - s0)) -v y=$((y1 - y0)) \
        -v ms=$((t1 - t0)) -v hz="$CLK_TCK" -v l="${3:-}" -v n="$(nproc)" 'BEGIN {
        cap = ms / 1000 * n; other = (y - a - w - p - r - s) / hz - l
        printf "CPU s over %.1f s wall (%d cores = %.1f CPU s): worker %.1f, postgres %.1f (all backends), api %.1f, redis %.1f, sink %.1f%s, anything else %.1f; machine busy %.0f%%\n",
            ms / 1000, n, cap, w / hz, p / hz, a / hz, r / hz, s / hz, (l == "" ? "" : sprintf(", load generator %.1f", l)), (other > 0 ? other : 0), 100 * y / hz / cap }'
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
redis_used() { redis-cli -u "$REDIS_URL" info memory | tr -d '\r' | sed -n 's/^used_memory://p'; }
redis_prefix() { # PATTERN -> "keys bytes" (MEMORY USAGE ... SAMPLES 0 of every key matching)
    redis-cli -u "$REDIS_URL" --scan --pattern "$1" 2>/dev/null | awk '{ print "MEMORY USAGE " $0 " SAMPLES 0" }' |
        redis-cli -u "$REDIS_URL" 2>/dev/null | awk '{ n++; b += $1 } END { printf "%d %d\n", n, b }'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }
mem_line() { # LABEL -> prints and records "label used prefixkeys prefixbytes"
    local used keys bytes
    used="$(redis_used)"
    read -r keys bytes <<<"$(redis_prefix "${SOKU_REDIS_PREFIX}:*")"
    printf '   %-34s used_memory %s (whole server); Soku prefix: %s keys, %s\n' "$1" "$(mib "$used")" "$keys" "$(mib "$bytes")"
    MEM_ROWS+=("$1|$used|$keys|$bytes")
}
wait_sink() { # WANT TIMEOUT_S -> final stats JSON; waits until the sink saw WANT distinct targets. The sink keeps
    # its own clock (firstAtMs, lastAtMs), so how often this looks changes nothing but its own cost.
    local want="$1" deadline=$(($(date +%s) + $2)) st
    while :; do
        st="$(sink_stats)"
        if [[ "$st" =~ \"targets\":([0-9]+) ]] && ((BASH_REMATCH[1] >= want)) || (($(date +%s) >= deadline)); then
            echo "$st"
            return
        fi
        sleep 0.25
    done
}
hist_text() { # hist.py JSON -> "p50 ≈ X ms (bucket lo–hi ms), p99 ≈ Y ms (bucket lo–hi ms), N observations"
    jq -r 'def ms: if . == null then "∞" else (. * 1000 | round | tostring) end;
        if .count == 0 then "no observations" else
        "p50 ≈ \(.p50 | ms) ms (bucket \(.p50_bucket[0] | ms)–\(.p50_bucket[1] | ms) ms), p99 ≈ \(.p99 | ms) ms (bucket \(.p99_bucket[0] | ms)–\(.p99_bucket[1] | ms) ms), \(.count) observations" end' <<<"$1" 2>/dev/null || echo "?"
}
pg_now() { sql "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"; }
scrape() { curl -fsS "$METRICS" >"$1" || : >"$1"; }
STATUS=0
fail() {
    echo "   FAIL: $*"
    STATUS=1
}
MEM_ROWS=()

# ---------------------------------------------------------------- conditions
CPU_MODEL="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^model name[[:space:]]*:[[:space:]]*//')"
CPU_MODEL="${CPU_MODEL:-$(uname -m)}"
NPROC="$(nproc)"
MEM_TOTAL="$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
PG_VERSION="$(sql 'SHOW server_version' | awk '{ print $1 }')"
REDIS_VERSION="$(redis-cli -u "$REDIS_URL" info server | tr -d '\r' | sed -n 's/^redis_version://p')"
NODE_VERSION="$(node --version)"
BULLMQ_VERSION="$(jq -r .version "$WDIR/bullmq/node_modules/bullmq/package.json" 2>/dev/null || echo '?')"
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo none)"
if [[ "$COMMIT" != none ]] && ! git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null; then
    COMMIT="$COMMIT-dirty"
fi
TODAY="$(date -u +%F)"
OS="$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
LOAD_START="$(loadavg)"

cat <<EOF

== Soku workers benchmark: intake → publish queues → publish (sandbox) → sink, and BullMQ on the same Redis
   commit       $COMMIT    date $TODAY
   machine      $CPU_MODEL, nproc $NPROC, $MEM_TOTAL, $OS
   load average $LOAD_START at start (1, 5, 15 min; anything else running shares the cores)
   versions     Postgres $PG_VERSION, Redis $REDIS_VERSION, node $NODE_VERSION, BullMQ $BULLMQ_VERSION
   Soku         $([[ "${SERVE:-0}" == 1 ]] && echo "soku serve (API and workers in one process; its CPU is the api's)" || echo "soku api + ${WORKERS:-1} soku worker process(es) (release, separate processes)"), SOKU_LOG=$SOKU_LOG, test-mode key, rate limit
                out of the way, worker defaults: publish concurrency 32 per platform queue (7 queues), wake-ups by
                blocking pop (idle fallback 1 s), reconciler every 200 ms, DB pool 32 per process; sandbox → soku-sink over HTTP
                settings overridden here: $(env | grep -E '^SOKU_(CONCURRENCY|POLL|RECONCILE|DB_POOL|LEASE|REQUEUE|RETRY|PUBLISH)' | tr '\n' ' ' | sed 's/ $//;s/^$/none/')
   load         node scripts/bench/workers/soku-load.mjs, $CONCURRENCY keep-alive connections, loopback;
                posts to [$PLATFORMS] unless said otherwise
   all of it (load generator, API, worker, sink, Postgres, Redis, BullMQ) on the same $NPROC cores

EOF

# ---------------------------------------------------------------- 0: warm-up
bench_say "warm-up: 100 posts"
node "$WDIR/soku-load.mjs" burst --api "$BENCH_API" --key "$KEY" --posts 100 --concurrency 8 \
    --platforms "$PLATFORMS" --tag warm >"$BENCH_WORK/warm.json" || bench_die "warm-up failed"
wait_sink 400 60 >/dev/null
sleep 1
sink_reset

# ---------------------------------------------------------------- 1: throughput
P1_TPS="" P1_INTAKE=""
if phase 1; then
bench_say "1 throughput: $POSTS posts × $NPLAT platforms = $TARGETS targets (load $(loadavg))"
P1_LOAD="$(loadavg)"
P1_SINCE="$(pg_now)"
c0="$(cpu_snap)"
node "$WDIR/soku-load.mjs" burst --api "$BENCH_API" --key "$KEY" --posts "$POSTS" --concurrency "$CONCURRENCY" \
    --platforms "$PLATFORMS" --tag thr >"$BENCH_WORK/p1.json"
P1="$(cat "$BENCH_WORK/p1.json")"
P1_ST="$(wait_sink "$TARGETS" 300)"
c1="$(cpu_snap)"
p1_start="$(jq_r .startMs "$P1")"
p1_secs="$(awk -v a="$p1_start" -v b="$(jq_r .lastAtMs "$P1_ST")" 'BEGIN { printf "%.2f", (b - a) / 1000 }')"
P1_TPS="$(awk -v n="$(jq_r .targets "$P1_ST")" -v s="$p1_secs" 'BEGIN { printf "%d", n / s }')"
P1_INTAKE="$(jq_r .postsPerSec "$P1")"
read -r p1_pub p1_posts p1_att <<<"$(sql "SELECT
    (SELECT count(*) FROM post_targets t JOIN posts p ON p.id = t.post_id WHERE p.created_at >= '$P1_SINCE' AND t.status = 'published'),
    (SELECT count(*) FROM posts WHERE created_at >= '$P1_SINCE' AND status = 'published'),
    (SELECT count(*) FROM publish_attempts a JOIN post_targets t ON t.id = a.target_id JOIN posts p ON p.id = t.post_id WHERE p.created_at >= '$P1_SINCE')")"
p1_full="$(grep -c 'queue full' "$BENCH_WORK/api.log" || true)"
cat <<EOF
--- 1. throughput: $POSTS posts × $NPLAT targets, $CONCURRENCY connections, workers running
   targets/s    $P1_TPS  ($(jq_r .targets "$P1_ST") targets delivered in $p1_secs s, first POST → last delivery at the sink)
   intake       $P1_INTAKE posts/s while the workers ran (POST p50 $(jq_r .postMs.p50 "$P1") ms, p99 $(jq_r .postMs.p99 "$P1") ms); statuses $(jq -c .statuses <<<"$P1")
   sink         $(jq_r .deliveries "$P1_ST") deliveries, $(jq_r .targets "$P1_ST") targets, $(jq_r .duplicates "$P1_ST") duplicates
   Postgres     $p1_pub targets published, $p1_posts of $POSTS posts published, $p1_att publish attempts
   API          $p1_full pushes refused by a capped queue (handed over later by the reconciler; logged at debug)
   load avg     $P1_LOAD before; $(cpu_report "$c0" "$c1" "$(jq_r .cpuSeconds "$P1")")
EOF
(($(jq_r .targets "$P1_ST") == TARGETS)) || fail "$(jq_r .targets "$P1_ST") of $TARGETS targets delivered"
(($(jq_r .duplicates "$P1_ST") == 0)) || fail "duplicate deliveries"
((p1_pub == TARGETS)) || fail "$p1_pub of $TARGETS targets published in Postgres"
echo
fi

# ---------------------------------------------------------------- 2: latency of single posts
P2_PG="–" P2_HIST="–" P2_FIRST="–" P2_LAST="–"
if phase 2; then
sleep 6 # let phase 1 settle, so that nothing else runs during the single posts
bench_say "2 latency: $SINGLE single posts, one at a time (load $(loadavg))"
P2_LOAD="$(loadavg)"
scrape "$BENCH_WORK/m2a.txt"
P2_SINCE="$(pg_now)"
node "$WDIR/soku-load.mjs" single --api "$BENCH_API" --key "$KEY" --sink "$SINK" --posts "$SINGLE" \
    --platforms "$PLATFORMS" --tag one >"$BENCH_WORK/p2.json"
P2="$(cat "$BENCH_WORK/p2.json")"
scrape "$BENCH_WORK/m2b.txt"
P2_H="$(python3 "$WDIR/hist.py" soku_pickup_latency_seconds "$BENCH_WORK/m2a.txt" "$BENCH_WORK/m2b.txt")"
read -r p2_n p2_p50 p2_p99 p2_max p2_pub50 p2_pub99 <<<"$(sql "SELECT count(*),
    round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - created_at)) * 1000)::numeric, 1),
    round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM dispatched_at - created_at)) * 1000)::numeric, 1),
    round((max(extract(epoch FROM dispatched_at - created_at)) * 1000)::numeric, 1),
    (SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM t.published_at - p.created_at)) * 1000)::numeric, 1)
       FROM post_targets t JOIN posts p ON p.id = t.post_id WHERE p.created_at >= '$P2_SINCE'),
    (SELECT round((percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM t.published_at - p.created_at)) * 1000)::numeric, 1)
       FROM post_targets t JOIN posts p ON p.id = t.post_id WHERE p.created_at >= '$P2_SINCE')
    FROM posts WHERE created_at >= '$P2_SINCE'")"
P2_FIRST="$(jq_r '"\(.firstDeliveryMs.p50) / \(.firstDeliveryMs.p99)"' "$P2")"
P2_LAST="$(jq_r '"\(.lastDeliveryMs.p50) / \(.lastDeliveryMs.p99)"' "$P2")"
P2_PG="$p2_p50 / $p2_p99"
P2_HIST="$(jq_r '"\(.p50 * 1000 | round) / \(.p99 * 1000 | round)"' "$P2_H" 2>/dev/null || echo '? / ?')"
P2_HIST="$P2_HIST (buckets $(jq_r '"\(.p50_bucket | map(. * 1000 | round) | join("–")) / \(.p99_bucket | map(. * 1000 | round) | join("–"))"' "$P2_H" 2>/dev/null))"
cat <<EOF
--- 2. latency of single posts ($SINGLE posts sent one at a time, 4 targets each, a random 0–100 ms pause between)
   pick-up      accept → first lease (posts.dispatched_at - created_at): p50 $p2_p50 ms, p99 $p2_p99 ms, max $p2_max ms ($p2_n posts)
                soku_pickup_latency_seconds on /metrics over the same posts: $(hist_text "$P2_H")
   delivery     POST → first target at the sink: p50 / p99 $P2_FIRST ms;  → all 4 targets: $P2_LAST ms (max $(jq_r .lastDeliveryMs.max "$P2") ms)
                created_at → post_targets.published_at: p50 $p2_pub50 ms, p99 $p2_pub99 ms
   POST         202 in p50 $(jq_r .postMs.p50 "$P2") ms, p99 $(jq_r .postMs.p99 "$P2") ms; $(jq_r .delivered "$P2") of $SINGLE delivered; load avg $P2_LOAD before
EOF
(($(jq_r .delivered "$P2") == SINGLE)) || fail "$(jq_r .delivered "$P2") of $SINGLE single posts delivered"
echo
fi

# ---------------------------------------------------------------- 3: scheduled posts all due at one second
P3_DRAIN="–" d50="–" d99="–" s50="–" s99="–" u50="–" u99="–" lead=10
if phase 3; then
sink_reset
# Far enough ahead that creating every post ends first: phase 1's intake rate (with the workers busy) plus slack.
lead="$(awk -v n="$SCHEDULED" -v r="${P1_INTAKE:-0}" 'BEGIN { l = n / (r > 0 ? r : 500) * 1.5 + 4; if (l < 10) l = 10; printf "%d", l }')"
DUE_S=$(($(date +%s) + lead + 1))
DUE_ISO="$(date -u -d "@$DUE_S" +%Y-%m-%dT%H:%M:%S.000Z)"
bench_say "3 schedule: $SCHEDULED posts due at $DUE_ISO (in ${lead}+ s) (load $(loadavg))"
P3_LOAD="$(loadavg)"
scrape "$BENCH_WORK/m3a.txt"
c0="$(cpu_snap)"
node "$WDIR/soku-load.mjs" burst --api "$BENCH_API" --key "$KEY" --posts "$SCHEDULED" --concurrency "$CONCURRENCY" \
    --platforms "$PLATFORMS" --rotate --scheduled "$DUE_ISO" --tag sch >"$BENCH_WORK/p3.json"
P3="$(cat "$BENCH_WORK/p3.json")"
ahead_ms=$((DUE_S * 1000 - $(jq_r .endMs "$P3")))
n_sched="$(sql "SELECT count(*) FROM posts WHERE scheduled_time = '$DUE_ISO' AND status = 'scheduled'")"
c1="$(cpu_snap)"
while (($(now_ms) < DUE_S * 1000)); do sleep 0.05; done
c2="$(cpu_snap)"
P3_ST="$(wait_sink "$SCHEDULED" 300)"
c3="$(cpu_snap)"
scrape "$BENCH_WORK/m3b.txt"
P3_H="$(python3 "$WDIR/hist.py" soku_scheduling_lateness_seconds "$BENCH_WORK/m3a.txt" "$BENCH_WORK/m3b.txt")"
lat_sql() { # EXPR(timestamp) -> "p50 p99 max min" in ms of EXPR - scheduled_time over the phase's targets
    sql "SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY x) * 1000)::numeric, 1),
                round((percentile_cont(0.99) WITHIN GROUP (ORDER BY x) * 1000)::numeric, 1),
                round((max(x) * 1000)::numeric, 1), round((min(x) * 1000)::numeric, 1)
           FROM (SELECT extract(epoch FROM $1 - p.scheduled_time) AS x
                   FROM posts p JOIN post_targets t ON t.post_id = p.id
                   LEFT JOIN publish_attempts a ON a.target_id = t.id AND a.attempt = 1
                  WHERE p.scheduled_time = '$DUE_ISO') l"
}
read -r d50 d99 dmax dmin <<<"$(lat_sql p.dispatched_at)"
read -r s50 s99 smax smin <<<"$(lat_sql a.started_at)"
read -r u50 u99 umax umin <<<"$(lat_sql t.published_at)"
p3_last=$(($(jq_r .lastAtMs "$P3_ST") - DUE_S * 1000))
P3_DRAIN="$(awk -v n="$(jq_r .targets "$P3_ST")" -v ms="$p3_last" 'BEGIN { printf "%d", n / (ms / 1000) }')"
p3_pub="$(sql "SELECT count(*) FROM post_targets t JOIN posts p ON p.id = t.post_id WHERE p.scheduled_time = '$DUE_ISO' AND t.status = 'published'")"
cat <<EOF
--- 3. scheduling lateness: $SCHEDULED posts (1 target each: x, threads, linkedin, facebook in turn) due at $DUE_ISO
   created      at $(jq_r .postsPerSec "$P3") posts/s, the last one ${ahead_ms} ms before the due second; $n_sched posts were 'scheduled' at the end of creation
   release      posts.dispatched_at - scheduled_time:          p50 $d50 ms, p99 $d99 ms, max $dmax ms (min $dmin)
   publish      publish_attempts.started_at - scheduled_time:  p50 $s50 ms, p99 $s99 ms, max $smax ms (the job leasing the target)
   published    post_targets.published_at - scheduled_time:    p50 $u50 ms, p99 $u99 ms, max $umax ms
   sink         last delivery $p3_last ms after the due second → $P3_DRAIN targets/s drained; $(jq_r .targets "$P3_ST") targets, $(jq_r .duplicates "$P3_ST") duplicates; $p3_pub published in Postgres
   /metrics     soku_scheduling_lateness_seconds: $(hist_text "$P3_H")
   load avg     $P3_LOAD before creation
   creation     $(cpu_report "$c0" "$c1" "$(jq_r .cpuSeconds "$P3")")
   waiting      $(cpu_report "$c1" "$c2") (nothing due yet)
   due → done   $(cpu_report "$c2" "$c3")
EOF
((ahead_ms > 0)) || fail "creation ended ${ahead_ms#-} ms after the due second: lateness is not meaningful"
(($(jq_r .targets "$P3_ST") == SCHEDULED)) || fail "$(jq_r .targets "$P3_ST") of $SCHEDULED scheduled targets delivered"
(($(jq_r .duplicates "$P3_ST") == 0)) || fail "duplicate deliveries"
echo
fi

# ---------------------------------------------------------------- 4: Redis memory under sustained load
if phase 4; then
sleep 5 # let phase 3 settle
if [[ -z "$SUSTAIN_RATE" ]]; then
    SUSTAIN_RATE="$(awk -v t="${P1_TPS:-800}" -v n="$NPLAT" 'BEGIN { r = int(t / n / 2); if (r < 10) r = 10; print r }')"
fi
bench_say "4 memory: $SUSTAIN_SECS s at $SUSTAIN_RATE posts/s ($((SUSTAIN_RATE * NPLAT)) targets/s) (load $(loadavg))"
P4_LOAD="$(loadavg)"
sink_reset
echo "--- 4. Redis memory: $SUSTAIN_SECS s of steady load, $SUSTAIN_RATE posts/s × $NPLAT targets"
mem_line "before the load"
c0="$(cpu_snap)"
node "$WDIR/soku-load.mjs" steady --api "$BENCH_API" --key "$KEY" --rate "$SUSTAIN_RATE" --seconds "$SUSTAIN_SECS" \
    --concurrency "$CONCURRENCY" --platforms "$PLATFORMS" --tag sus >"$BENCH_WORK/p4.json" &
LOAD_PID=$!
i=0
while kill -0 "$LOAD_PID" 2>/dev/null; do
    sleep 1
    i=$((i + 1))
    if ((i % 15 == 0)) && kill -0 "$LOAD_PID" 2>/dev/null; then
        depth="$(curl -fsS "$METRICS" | awk '/^soku_queue_depth/ { s += $2 } END { print s + 0 }')"
        mem_line "${i} s into the load (queued $depth)"
    fi
done
wait "$LOAD_PID"
P4="$(cat "$BENCH_WORK/p4.json")"
mem_line "load stopped"
want=$(($(jq -r '.statuses["202"] // 0' <<<"$P4") * NPLAT))
P4_ST="$(wait_sink "$want" 300)"
c1="$(cpu_snap)"
mem_line "all delivered"
sleep 11
mem_line "11 s later"
sus_secs="$(awk -v a="$(jq_r .startMs "$P4")" -v b="$(jq_r .lastAtMs "$P4_ST")" 'BEGIN { printf "%.1f", (b - a) / 1000 }')"
cat <<EOF
   load         $(jq_r .postsPerSec "$P4") posts/s achieved ($(jq -c .statuses <<<"$P4"), at most $(jq_r .maxBehindMs "$P4") ms behind schedule); POST p50 $(jq_r .postMs.p50 "$P4") ms, p99 $(jq_r .postMs.p99 "$P4") ms
   delivered    $(jq_r .targets "$P4_ST") of $want targets, $(jq_r .duplicates "$P4_ST") duplicates, last one $sus_secs s after the load began
   load avg     $P4_LOAD before; $(cpu_report "$c0" "$c1" "$(jq_r .cpuSeconds "$P4")")
EOF
(($(jq_r .targets "$P4_ST") == want)) || fail "$(jq_r .targets "$P4_ST") of $want targets delivered"
echo
fi

# ---------------------------------------------------------------- 5: BullMQ
if phase 5; then
    bench_say "5 bullmq: stopping Soku's API and worker; $TARGETS jobs, $SCHEDULED delayed, $SINGLE single (load $(loadavg))"
    stop_pid "$WORKER_PID"
    for pid in $EXTRA_WORKER_PIDS; do stop_pid "$pid"; done
    WORKER_PID="" EXTRA_WORKER_PIDS=""
    stop_pid "$BENCH_API_PID"
    BENCH_API_PID=""
    psql "$BENCH_ADMIN_URL" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $BULL_DB" >/dev/null ||
        bench_die "cannot create database $BULL_DB"
    BULL_DB_CREATED=1
    sleep 2
    P5_LOAD="$(loadavg)"
    bull_mem0="$(redis_used)"
    b0="$(pg_ticks) $(ticks "$REDIS_PID") $(ticks "$SINK_PID") $(now_ms) $(sys_ticks)"
    node "$WDIR/bullmq/bench.mjs" --redis "$REDIS_URL" --prefix "$BULL_PREFIX" --pg "$BULL_DATABASE_URL" \
        --sink "$SINK" --targets "$TARGETS" --delayed "$SCHEDULED" --single "$SINGLE" --concurrency 32 \
        --lead-ms "$((lead * 1000))" >"$BENCH_WORK/p5.json" 2>"$BENCH_WORK/p5.err"
    b_rc=$?
    b1="$(pg_ticks) $(ticks "$REDIS_PID") $(ticks "$SINK_PID") $(now_ms) $(sys_ticks)"
    read -r bull_keys bull_bytes <<<"$(redis_prefix "${BULL_PREFIX}:*")"
    P5="$(tail -n1 "$BENCH_WORK/p5.json")"
    if ((b_rc != 0)) || ! jq -e .throughput <<<"$P5" >/dev/null 2>&1; then
        sed 's/^/   /' "$BENCH_WORK/p5.err"
        fail "the BullMQ run failed (exit $b_rc)"
        P5=""
    else
        read -r bp0 br0 bs0 bt0 by0 <<<"$b0"
        read -r bp1 br1 bs1 bt1 by1 <<<"$b1"
        b_cpu="$(awk -v p=$((bp1 - bp0)) -v r=$((br1 - br0)) -v s=$((bs1 - bs0)) -v y=$((by1 - by0)) -v ms=$((bt1 - bt0)) \
            -v hz="$CLK_TCK" -v n="$(nproc)" 'BEGIN { printf "whole BullMQ run: postgres %.1f, redis %.1f, sink %.1f CPU s over %.1f s wall, machine busy %.0f%%",
                p / hz, r / hz, s / hz, ms / 1000, 100 * y / hz / (ms / 1000 * n) }')"
        cat <<EOF
--- 5. BullMQ $(jq_r .versions.bullmq "$P5") reference (ioredis $(jq_r .versions.ioredis "$P5"), node $(jq_r .versions.node "$P5")): 7 queues (one per platform, jobs on 4), a Worker of concurrency 32 each, one node process (producer too)
   job          UPDATE pending → publishing (conditional, lease) → POST sink → UPDATE publishing → published; removeOnComplete
   targets/s    $(jq_r .throughput.targetsPerSec "$P5")  ($TARGETS jobs, addBulk while the workers run, first add → last delivery: $(jq_r .throughput.seconds "$P5") s; adding took $(jq_r .throughput.addSeconds "$P5") s)
                $(jq_r .throughput.delivered "$P5") delivered, $(jq_r .throughput.duplicates "$P5") duplicates, $(jq_r .throughput.published "$P5") published in Postgres; node CPU $(jq_r .throughput.nodeCpuSeconds "$P5") s
   lateness     $SCHEDULED delayed jobs due at one second (added $(jq_r .delayed.addedAheadMs "$P5") ms ahead):
                job start (the pending → publishing UPDATE) - due: p50 $(jq_r .delayed.startLatenessMs.p50 "$P5") ms, p99 $(jq_r .delayed.startLatenessMs.p99 "$P5") ms, max $(jq_r .delayed.startLatenessMs.max "$P5") ms
                published_at - due:                                p50 $(jq_r .delayed.publishedLatenessMs.p50 "$P5") ms, p99 $(jq_r .delayed.publishedLatenessMs.p99 "$P5") ms, max $(jq_r .delayed.publishedLatenessMs.max "$P5") ms
                last delivery $(jq_r .delayed.sinkLastMinusDueMs "$P5") ms after the due second → $(jq_r .delayed.drainTargetsPerSec "$P5") targets/s drained; $(jq_r .delayed.delivered "$P5") delivered, $(jq_r .delayed.duplicates "$P5") duplicates
   single       $SINGLE jobs one at a time, add → delivery at the sink: p50 $(jq_r .single.deliveryMs.p50 "$P5") ms, p99 $(jq_r .single.deliveryMs.p99 "$P5") ms
   Redis        used_memory $(mib "$bull_mem0") before, BullMQ prefix after the run: $bull_keys keys, $(mib "$bull_bytes")
   load avg     $P5_LOAD before; $b_cpu; failed jobs $(jq_r .failedJobs "$P5")
EOF
        (($(jq_r .throughput.delivered "$P5") == TARGETS)) || fail "BullMQ delivered $(jq_r .throughput.delivered "$P5") of $TARGETS"
        (($(jq_r .throughput.duplicates "$P5") == 0 && $(jq_r .delayed.duplicates "$P5") == 0)) || fail "BullMQ duplicates"
    fi
    echo
fi

# ---------------------------------------------------------------- summary
LOAD_END="$(loadavg)"
mem_of() { # LABEL-PREFIX -> "used / prefix" of the first memory row starting with it
    local row
    for row in "${MEM_ROWS[@]}"; do
        if [[ "$row" == "$1"* ]]; then
            IFS='|' read -r _ used keys bytes <<<"$row"
            echo "$(mib "$bytes") ($keys keys)"
            return
        fi
    done
}
mem_peak() {
    local row best=0
    for row in "${MEM_ROWS[@]}"; do
        IFS='|' read -r _ _ _ bytes <<<"$row"
        ((bytes > best)) && best=$bytes
    done
    mib "$best"
}
B() { if [[ -n "${P5:-}" ]]; then jq_r "$1" "$P5"; else echo "–"; fi; }
echo "Total run time $(($(date +%s) - BENCH_T0)) s; load average $LOAD_END at the end."
echo
echo "Markdown for docs/benchmarks.md:"
echo
cat <<EOF
| figure ($TODAY, \`$COMMIT\`) | Soku | BullMQ $BULLMQ_VERSION |
|---|---|---|
| end-to-end targets/s, $TARGETS targets ($POSTS posts × 4) | $P1_TPS (intake API → sink; intake $P1_INTAKE posts/s) | $(B .throughput.targetsPerSec) (addBulk → sink) |
| drain targets/s, $SCHEDULED due at one second | $P3_DRAIN | $(B .delayed.drainTargetsPerSec) |
| lateness p50 / p99 ms, $SCHEDULED due at one second: release / job start | $d50 / $d99 (release), $s50 / $s99 (publish start) | $(B .delayed.startLatenessMs.p50) / $(B .delayed.startLatenessMs.p99) (job start) |
| lateness p50 / p99 ms: published | $u50 / $u99 | $(B .delayed.publishedLatenessMs.p50) / $(B .delayed.publishedLatenessMs.p99) |
| pick-up p50 / p99 ms, single posts (accept → first lease) | $P2_PG (Postgres), $P2_HIST (histogram) | – |
| POST → sink delivery p50 / p99 ms, single posts | $P2_FIRST (first target), $P2_LAST (all 4) | $(B .single.deliveryMs.p50) / $(B .single.deliveryMs.p99) (add → delivery, 1 target) |
| Redis (Soku prefix): before / peak / load stopped / 11 s later | $(mem_of "before") / $(mem_peak) / $(mem_of "load stopped") / $(mem_of "11 s later") | ${bull_bytes:+$(mib "$bull_bytes") ($bull_keys keys) after its run} |
EOF
echo
echo "Conditions: $CPU_MODEL, nproc $NPROC, $MEM_TOTAL; Postgres $PG_VERSION, Redis $REDIS_VERSION, node $NODE_VERSION; load average $LOAD_START at start, $LOAD_END at the end."
exit "$STATUS"
