#!/usr/bin/env bash
# The cost of an idle installation: `soku serve` (API, workers and reconciler in one process) over a database
# holding POSTS posts scheduled DAYS days ahead (4 platforms each), nothing due. Prints the CPU used by
# `soku serve` and by Postgres (all backends) over IDLE_SECS, as a share of one core.
#
#   scripts/bench-idle.sh                      # 200,000 posts 30 days ahead, 60 s
#   POSTS=50000 IDLE_SECS=30 scripts/bench-idle.sh
#
# One post is created through the API; the rest are copies of its rows made in SQL (200,000 posts through
# the API would take minutes and measure intake, not idleness), each with its own id and scheduled second.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=scripts/bench/common.sh
source "$ROOT/scripts/bench/common.sh"

POSTS="${POSTS:-200000}"
DAYS="${DAYS:-30}"
IDLE_SECS="${IDLE_SECS:-60}"

bench_require_tools
bench_build_release
bench_scratch_init soku_bench_idle
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
sql() { psql "$DATABASE_URL" -AtqX -v ON_ERROR_STOP=1 -c "$1"; }
HZ="$(getconf CLK_TCK)"

bench_migrate
ACCT="$(bench_admin account create --name idle --plan pro --status active | bench_jget accountId)"
KEY="$(bench_admin key create "$ACCT" --name idle-test --mode test | bench_jget apiKey)"

SOKU_LOG="${SOKU_LOG:-warn}" bench_start_api serve

AT="$(date -u -d "+$DAYS days" +%Y-%m-%dT%H:%M:%SZ)"
BODY="$(jq -nc --arg at "$AT" '{post: {content: {text: "idle", mediaType: "text",
    platform: ["x", "threads", "linkedin", "facebook"]}}, scheduledTime: $at}')"
ID="$(curl -fsS -X POST "$BENCH_API/v1/posts" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "$BODY" | jq -er .postSubmissionId)" || bench_die "creating the template post failed"
bench_say "copying post $ID into $POSTS posts scheduled from $AT on"
sql "
INSERT INTO posts
SELECT (jsonb_populate_record(p, jsonb_build_object('id', p.id || '_' || g,
        'scheduled_time', p.scheduled_time + make_interval(secs => g)))).*
FROM posts p, generate_series(1, $POSTS - 1) g WHERE p.id = '$ID';
INSERT INTO post_targets
SELECT (jsonb_populate_record(t, jsonb_build_object('id', t.id || '_' || g, 'post_id', t.post_id || '_' || g,
        'handoff_at', t.handoff_at + make_interval(secs => g)))).*
FROM post_targets t, generate_series(1, $POSTS - 1) g WHERE t.post_id = '$ID';"
sql "VACUUM ANALYZE posts"
sql "VACUUM ANALYZE post_targets"
read -r SCHED TARGETS <<<"$(sql "SELECT (SELECT count(*) FROM posts WHERE status = 'scheduled'),
    (SELECT count(*) FROM post_targets WHERE status = 'pending')" | tr '|' ' ')"

sleep 5 # past the first reconciler passes over the new rows
s0="$(ticks "$BENCH_API_PID")" p0="$(pg_ticks)" t0="$(date +%s%3N)"
sleep "$IDLE_SECS"
s1="$(ticks "$BENCH_API_PID")" p1="$(pg_ticks)" t1="$(date +%s%3N)"
kill -0 "$BENCH_API_PID" 2>/dev/null || bench_die "soku serve exited: $(tail -5 "$BENCH_WORK/api.log")"

awk -v s="$((s1 - s0))" -v p="$((p1 - p0))" -v ms="$((t1 - t0))" -v hz="$HZ" -v posts="$SCHED" \
    -v targets="$TARGETS" -v load="$(cut -d' ' -f1-3 /proc/loadavg)" -v commit="$(git -C "$ROOT" describe --always --dirty)" '
BEGIN {
    wall = ms / 1000
    printf "== idle soku serve (%s, %s)\n", commit, strftime("%Y-%m-%d")
    printf "   rows         %d posts scheduled, %d targets pending, nothing due\n", posts, targets
    printf "   soku serve   %.2f CPU s over %.1f s = %.2f %% of a core\n", s / hz, wall, 100 * s / hz / wall
    printf "   postgres     %.2f CPU s over %.1f s = %.2f %% of a core (all backends, anything else on this Postgres included)\n", p / hz, wall, 100 * p / hz / wall
    printf "   load avg     %s at the end\n", load
}'
