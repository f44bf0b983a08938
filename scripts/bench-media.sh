#!/usr/bin/env bash
# Media benchmark: the media half of Soku on loopback, against the release binary, `soku api` and
# `soku worker --queues media,reconcile` as two processes (so that each one's memory is measured on its own).
#
#   1. big    a ~1 GiB real MP4 (lossless H.264 of noise, 1920x1080) uploaded with `curl -F file=@…` and, in a
#             second run, ingested by URL from a loopback file server (`python3 -m http.server`): ingest MB/s and
#             the RSS growth of the API and of the worker (aim: under 64 MB each, both paths). RSS is sampled
#             from /proc/<pid>/status (VmRSS) every 50 ms from just before the request to `ready`, and VmHWM is
#             read before and after (a spike between two samples raises it).
#   2. probe  a small MP4, a 1080p MP4 and a JPEG, each uploaded PROBE_N times one after another: p50/p99 of the
#             time from the 201 to `ready` (the worker's job plus polling: GET every 20 ms).
#   3. templates  POST /v1/templates (tweetImage, a different title each request) with wrk at concurrency 1 and
#             4: renders/s, p50/p99 latency.
#
# A benchmark, not a test: it prints figures and the conditions they were measured in, and markdown rows for
# docs/benchmarks.md; it exits non-zero only when the run itself went wrong (a request refused, media failed).
#
#   scripts/bench-media.sh                                   # everything (about 3 minutes after the build)
#   PARTS="probe templates" scripts/bench-media.sh           # skip the 1 GiB runs
#   SOKU_BIN=/work/target-b/release/soku BIG_MIB=500 scripts/bench-media.sh
#
# Environment:
#   PARTS         which parts, default "big probe templates"
#   BIG_MIB       size of the big file in MiB (default 1000; it must stay under SOKU_MEDIA_MAX_BYTES, default
#                 1073741824 = 1 GiB: the script makes it ~25 MiB under BIG_MIB and checks)
#   PROBE_N       uploads per kind in the probe part (default 20)
#   TPL_DURATION  each measured wrk run (default 15s; a 3 s warm-up at concurrency 1 comes first)
#   TPL_CONCURRENCY  wrk connections, one run each (default "1 4"; one wrk thread)
#   POLL_MS       polling interval of GET /v1/media/{id} (default 20)
#   RSS_INTERVAL  RSS sampling interval in seconds (default 0.05)
#   SOKU_BIN      use this binary instead of `cargo build --release -p soku` (CARGO_TARGET_DIR is honoured)
#   SOKU_TEST_DATABASE_URL  admin URL (default $DATABASE_URL, else postgres://soku:soku@127.0.0.1:5432/postgres);
#                 a scratch database soku_bench_media_<random> is created beside it and dropped at the end
#   REDIS_URL     default redis://127.0.0.1:6379 (keys under a random SOKU_REDIS_PREFIX, deleted at the end)
#   BENCH_KEEP=1  keep the scratch directory (with the media files and logs), database and Redis keys
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/scripts/bench"
MEDIA_DIR="$BENCH_DIR/media"
# shellcheck source=scripts/bench/common.sh
source "$BENCH_DIR/common.sh"

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
PARTS="${PARTS:-big probe templates}"
BIG_MIB="${BIG_MIB:-1000}"
PROBE_N="${PROBE_N:-20}"
TPL_DURATION="${TPL_DURATION:-15s}"
TPL_CONCURRENCY="${TPL_CONCURRENCY:-1 4}"
export POLL_MS="${POLL_MS:-20}"
export RSS_INTERVAL="${RSS_INTERVAL:-0.05}"
AIM_MB=64
has_part() { [[ " $PARTS " == *" $1 "* ]]; }
for p in $PARTS; do
    case "$p" in big | probe | templates) ;; *) bench_die "PARTS: unknown part $p (big, probe, templates)" ;; esac
done
[[ "$BIG_MIB" =~ ^[0-9]+$ && "$PROBE_N" =~ ^[0-9]+$ ]] || bench_die "BIG_MIB and PROBE_N must be whole numbers"

# shellcheck disable=SC2119  # no arguments: the default tools
bench_require_tools
for t in ffmpeg ffprobe; do
    bench_have "$t" || bench_apt_install ffmpeg || true
    bench_have "$t" || bench_die "$t is required (Debian package ffmpeg)"
done
bench_build_release

# The settings the media half needs: the URL ingest fetches from a loopback file server; the cap is the
# default unless set; the rate limiter runs but never refuses (polling every 20 ms and wrk would reach it).
export SOKU_FETCH_ALLOW_PRIVATE="127.0.0.1/32"
export SOKU_MEDIA_MAX_BYTES="${SOKU_MEDIA_MAX_BYTES:-1073741824}"
export SOKU_RATE_LIMIT_BUSINESS=100000000
export SOKU_LOG="${SOKU_LOG:-warn}"

FILES_PID=""
SAMPLER_PID=""
# shellcheck disable=SC2317  # called by the EXIT trap
media_cleanup() {
    local rc=$? pid
    for pid in "$SAMPLER_PID" "$FILES_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    (exit "$rc")
    bench_cleanup
}
bench_scratch_init soku_bench_media
trap media_cleanup EXIT
trap 'exit 130' INT TERM
FILES="$BENCH_WORK/files"
mkdir -p "$FILES"
FAIL=0
fail() {
    bench_say "FAIL: $*"
    FAIL=1
}
mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }
kb_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }

# ------------------------------------------------------------------------------------------------ the files
# Made before the server starts, so that encoding shares the cores with nothing measured.
BIG="$FILES/big.mp4"
if has_part big; then
    need=$((BIG_MIB * 1048576 * 7 / 2 + 536870912)) # the file, the stored copy, the worker's copy, + 512 MiB
    avail="$(df --output=avail -B1 "$BENCH_WORK" | tail -n1 | tr -d ' ')"
    ((avail >= need)) || bench_die "$(mb "$avail") MB free under $BENCH_WORK; the big part needs $(mb "$need") MB"
    # Raw noise from /dev/urandom, lossless H.264 (ultrafast, qp 0): noise does not compress, so ~5 MB a frame
    # and ~1 GB in ~200 frames (7 s at 30 fps), made in about half a minute. -fs stops it a little past the
    # limit (the frames in flight), hence the limit 48 MiB under BIG_MIB.
    bench_say "making $BIG (~$BIG_MIB MiB, lossless H.264 of noise, 1920x1080)"
    t0="$(date +%s%3N)"
    ffmpeg -hide_banner -loglevel error -y -f rawvideo -pix_fmt yuv420p -s 1920x1080 -r 30 -i /dev/urandom \
        -frames:v 100000 -fs $(((BIG_MIB - 48) * 1048576)) -c:v libx264 -preset ultrafast -qp 0 "$BIG" ||
        bench_die "ffmpeg could not make $BIG"
    BIG_BYTES="$(stat -c %s "$BIG")"
    BIG_MADE_S="$(awk -v ms="$(($(date +%s%3N) - t0))" 'BEGIN { printf "%.1f", ms / 1000 }')"
    ((BIG_BYTES <= SOKU_MEDIA_MAX_BYTES)) ||
        bench_die "$BIG is $BIG_BYTES bytes, over SOKU_MEDIA_MAX_BYTES=$SOKU_MEDIA_MAX_BYTES: lower BIG_MIB"
    BIG_DESC="$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,profile,width,height,nb_frames \
        -show_entries format=duration,bit_rate -of json "$BIG" | jq -r '"\(.streams[0].codec_name) \(.streams[0].profile),
 \(.streams[0].width)x\(.streams[0].height), \(.streams[0].nb_frames) frames, \(.format.duration | tonumber * 100 | round / 100) s,
 \(.format.bit_rate | tonumber / 1e6 | round) Mbit/s"' | tr -d '\n')"
    bench_say "big.mp4: $BIG_BYTES bytes ($BIG_DESC), made in $BIG_MADE_S s"
fi
if has_part probe || has_part big; then
    # small.mp4 also warms up both paths before the big runs.
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi \
        -i sine=frequency=440:sample_rate=48000 -t 3 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p \
        -c:a aac -b:a 96k -movflags +faststart "$FILES/small.mp4" || bench_die "ffmpeg: small.mp4"
fi
if has_part probe; then
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=30 -f lavfi \
        -i sine=frequency=440:sample_rate=48000 -t 10 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p \
        -c:a aac -b:a 128k -movflags +faststart "$FILES/hd1080.mp4" || bench_die "ffmpeg: hd1080.mp4"
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1920x1080:rate=1 -frames:v 1 -q:v 3 \
        "$FILES/photo.jpg" || bench_die "ffmpeg: photo.jpg"
fi

# ------------------------------------------------------------------------------------------------ the server
bench_migrate
ACCT="$(bench_admin account create --name bench-media --plan business --status active | bench_jget accountId)" ||
    exit 2
KEY="$(bench_admin key create "$ACCT" --name bench-media-test --mode test | bench_jget apiKey)" || exit 2
# shellcheck disable=SC2119  # no arguments: `soku api`
bench_start_api
bench_start_worker --queues media,reconcile
FILES_PORT="$(bench_free_port)"
python3 -m http.server --bind 127.0.0.1 --directory "$FILES" "$FILES_PORT" >"$BENCH_WORK/files.log" 2>&1 &
FILES_PID=$!
wait_for_http "http://127.0.0.1:$FILES_PORT/" "$FILES_PID" "$BENCH_WORK/files.log" ||
    bench_die "the loopback file server did not come up"
FILES_URL="http://127.0.0.1:$FILES_PORT"
bench_say "file server $FILES_URL (pid $FILES_PID)"

HZ="$(getconf CLK_TCK)"
CPU_MODEL="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^model name[[:space:]]*:[[:space:]]*//')"
NPROC="$(nproc)"
MEM_GB="$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
PG_VERSION="$(psql "$DATABASE_URL" -AtqX -c 'SHOW server_version' 2>/dev/null | awk '{print $1}')"
REDIS_VERSION="$(redis-cli -u "$REDIS_URL" info server 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p')"
FFMPEG_VERSION="$(ffmpeg -version 2>/dev/null | head -n1 | awk '{print $3}')"
WRK_VERSION="$(wrk --version 2>&1 | head -n1 | awk '{print $2}')"
CURL_VERSION="$(curl --version | head -n1 | awk '{print $2}')"
PY_VERSION="$(python3 -c 'import platform; print(platform.python_version())')"
COMMIT="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
FS_TYPE="$(df --output=fstype "$BENCH_WORK" | tail -n1 | tr -d ' ')"
REPORT="$BENCH_WORK/report.txt"
ROWS="$BENCH_WORK/rows.md"
: >"$REPORT"
: >"$ROWS"
out() { printf '%s\n' "$*" | tee -a "$REPORT"; }
row() { printf '%s\n' "$*" >>"$ROWS"; }

# The machine's busy share between two reads of /proc/stat's cpu line.
cpu_stat() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
busy_pct() { # "busy0 total0" "busy1 total1"
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
        d = y[2] - x[2]; printf "%.0f", (d > 0) ? 100 * (y[1] - x[1]) / d : 0 }'
}
s2() { awk -v s="$1" 'BEGIN { printf "%.2f", s }'; }
cpu_s() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

wait_media() { # ID START_MS [SIZE]: JSON of media.py wait
    if [[ -n "${3:-}" ]]; then
        python3 "$MEDIA_DIR/media.py" wait "$BENCH_API" "$KEY" "$1" "$2" "$3" "$SOKU_DATA_DIR"
    else
        python3 "$MEDIA_DIR/media.py" wait "$BENCH_API" "$KEY" "$1" "$2"
    fi
}
delete_media() {
    curl -fsS -o /dev/null -X DELETE -H "soku-api-key: $KEY" "$BENCH_API/v1/media/$1" ||
        bench_say "warning: DELETE /v1/media/$1 failed"
}
upload_curl() { # FILE OUTJSON: prints "http_code time_total size_upload"
    curl -sS -o "$2" -w '%{http_code} %{time_total} %{size_upload}' -H "soku-api-key: $KEY" \
        -F "file=@$1;type=video/mp4" "$BENCH_API/v1/media"
}
ingest_curl() { # URL OUTJSON
    curl -sS -o "$2" -w '%{http_code} %{time_total}' -H "soku-api-key: $KEY" -H 'Content-Type: application/json' \
        -d "$(jq -nc --arg u "$1" '{url: $u}')" "$BENCH_API/v1/media"
}

out "== media benchmark ($COMMIT, $(date -u +%Y-%m-%d))"
out "   CPU          $CPU_MODEL, nproc $NPROC, ${MEM_GB} GiB RAM (the file server, curl/wrk, soku api, the worker,"
out "                ffprobe/ffmpeg, Postgres and Redis all share these cores)"
out "   load average $LOAD_START at the start (1, 5, 15 min; anything else running shares the cores)"
out "   versions     Postgres $PG_VERSION, Redis $REDIS_VERSION, ffmpeg $FFMPEG_VERSION, wrk $WRK_VERSION, curl $CURL_VERSION, python $PY_VERSION"
out "   storage      SOKU_DATA_DIR on $FS_TYPE ($BENCH_WORK)"
out "   settings     SOKU_MEDIA_MAX_BYTES=$SOKU_MEDIA_MAX_BYTES SOKU_CONCURRENCY_MEDIA=${SOKU_CONCURRENCY_MEDIA:-2 (default)} SOKU_LOG=$SOKU_LOG"
out "                SOKU_FETCH_ALLOW_PRIVATE=$SOKU_FETCH_ALLOW_PRIVATE SOKU_RATE_LIMIT_BUSINESS=$SOKU_RATE_LIMIT_BUSINESS"
out "   processes    soku api (pid $BENCH_API_PID), soku worker --queues media,reconcile (pid $BENCH_WORKER_PID), python3 -m http.server (pid $FILES_PID)"

# ------------------------------------------------------------------------------------------------ 1. big
rss_start() { # OUT: samples the API and the worker until rss_stop
    python3 "$MEDIA_DIR/media.py" rss "$1" "api=$BENCH_API_PID" "worker=$BENCH_WORKER_PID" &
    SAMPLER_PID=$!
    sleep 0.3
}
rss_stop() {
    kill "$SAMPLER_PID" 2>/dev/null
    wait "$SAMPLER_PID" 2>/dev/null
    SAMPLER_PID=""
}
rss_report() { # RSS_JSON PATH_LABEL: a line per process, a markdown row per process, the aim checked
    local json="$1" label="$2" who base peak growth hwm0 hwm1 from kids verdict anon0 anonp
    for who in api worker; do
        read -r base peak growth hwm0 hwm1 from kids anon0 anonp <<<"$(jq -r --arg w "$who" '.procs[$w] |
            "\(.baseline_rss_kb) \(.peak_kb) \(.growth_kb) \(.hwm_before_kb) \(.hwm_after_kb) \(.peak_from)
             \(.peak_children_rss_kb) \(.baseline_anon_kb) \(.peak_anon_kb)"' "$json" | tr -s '\n ' ' ')"
        if awk -v g="$growth" -v aim="$AIM_MB" 'BEGIN { exit !(g * 1024 < aim * 1e6) }'; then
            verdict=met
        else
            verdict=MISSED
        fi
        out "   $(printf '%-7s' "$who") RSS  baseline $(kb_mb "$base") MB, peak $(kb_mb "$peak") MB ($from; VmHWM $(kb_mb "$hwm0") → $(kb_mb "$hwm1") MB), growth $(kb_mb "$growth") MB: aim < $AIM_MB MB $verdict"
        out "                anonymous $(kb_mb "$anon0") → peak $(kb_mb "$anonp") MB$([[ "$who" == worker ]] && printf '; its children (ffprobe, ffmpeg) peak %s MB together' "$(kb_mb "$kids")")"
        row "| $label | \`soku $who\` | $(kb_mb "$base") | $(kb_mb "$peak") | **$(kb_mb "$growth")** | < $AIM_MB | $verdict |"
        [[ "$verdict" == met ]] || BIG_MISSED=1
    done
    out "   sampling     VmRSS every ${RSS_INTERVAL} s, $(jq -r '.procs.api.samples' "$json") samples over $(jq -r '.window_s' "$json") s"
}

if has_part big; then
    BIG_MISSED=0
    out ""
    out "-- 1. ~1 GiB file: big.mp4, $BIG_BYTES bytes ($(awk -v b="$BIG_BYTES" 'BEGIN { printf "%.1f", b / 1048576 }') MiB), $BIG_DESC"
    out "   load average $(cut -d' ' -f1-3 /proc/loadavg) at the start of the part"
    # Warm-up: one small upload and one small URL ingest through the same processes, so that the baselines
    # below are of warmed processes (pools connected, fetcher and ffprobe paths used once).
    for how in upload url; do
        if [[ "$how" == upload ]]; then
            code="$(upload_curl "$FILES/small.mp4" "$BENCH_WORK/warm.json" | awk '{print $1}')"
        else
            code="$(ingest_curl "$FILES_URL/small.mp4" "$BENCH_WORK/warm.json" | awk '{print $1}')"
        fi
        [[ "$code" == 201 ]] || bench_die "warm-up $how: HTTP $code $(head -c 300 "$BENCH_WORK/warm.json")"
        id="$(jq -r .id "$BENCH_WORK/warm.json")"
        st="$(wait_media "$id" "$(date +%s%3N)" | jq -r .status)"
        [[ "$st" == ready ]] || bench_die "warm-up $how: media $id $st"
    done
    sleep 2

    # --- direct upload
    bench_say "uploading big.mp4 with curl -F"
    rss_start "$BENCH_WORK/rss-upload.json"
    a0="$(ticks "$BENCH_API_PID")" w0="$(ticks "$BENCH_WORKER_PID")" c0="$(cpu_stat)"
    read -r code secs sent <<<"$(upload_curl "$BIG" "$BENCH_WORK/up.json")"
    secs="$(s2 "$secs")"
    t201="$(date +%s%3N)"
    a1="$(ticks "$BENCH_API_PID")" w1="$(ticks "$BENCH_WORKER_PID")" c1="$(cpu_stat)"
    if [[ "$code" != 201 ]]; then
        rss_stop
        bench_die "upload: HTTP $code $(head -c 300 "$BENCH_WORK/up.json")"
    fi
    id="$(jq -r .id "$BENCH_WORK/up.json")"
    W="$(wait_media "$id" "$t201" "$BIG_BYTES")"
    a2="$(ticks "$BENCH_API_PID")" w2="$(ticks "$BENCH_WORKER_PID")" c2="$(cpu_stat)"
    rss_stop
    [[ "$(jq -r .status <<<"$W")" == ready ]] || fail "big upload: $(jq -c . <<<"$W")"
    up_rate="$(awk -v b="$BIG_BYTES" -v s="$secs" 'BEGIN { printf "%.0f", b / 1e6 / s }')"
    ready_s="$(s2 "$(jq -r '.ready_ms / 1000' <<<"$W")")"
    tmp_s="$(s2 "$(jq -r '(.tmp_full_ms // 0) / 1000' <<<"$W")")"
    server_s="$(s2 "$(jq -r '(.server_ms // 0) / 1000' <<<"$W")")"
    proc_rate="$(awk -v b="$BIG_BYTES" -v s="$ready_s" 'BEGIN { printf "%.0f", b / 1e6 / s }')"
    out ""
    out "   direct upload (curl -F file=@big.mp4 → 201: stored, row written, job handed over)"
    out "   upload       $sent bytes sent in $secs s = $up_rate MB/s; soku api $(cpu_s $((a1 - a0))) CPU-s, machine $(busy_pct "$c0" "$c1") % busy"
    out "   processing   201 → ready $ready_s s (polled every $POLL_MS ms; readyAt − createdAt $server_s s) = $proc_rate MB/s:"
    out "                the worker's copy from storage into tmp complete at ${tmp_s} s, then sniff, ffprobe, poster frame, settle"
    out "                worker $(cpu_s $((w2 - w1))) CPU-s (plus its children's), machine $(busy_pct "$c1" "$c2") % busy"
    out "   result       $(jq -r '"\(.status) \(.mimeType) \(.width)x\(.height) \(.durationSeconds) s, platform-safe rendition made: \(.rendition)"' <<<"$W")"
    rss_report "$BENCH_WORK/rss-upload.json" "direct upload"
    row "| ROWTP | direct upload | $sent bytes | curl → 201 $secs s = **$up_rate MB/s** | 201 → ready $ready_s s (into tmp ${tmp_s} s) | $(cpu_s $((a1 - a0))) CPU-s API |"
    delete_media "$id"

    sleep 2
    # --- URL ingest
    bench_say "URL ingest of $FILES_URL/big.mp4"
    rss_start "$BENCH_WORK/rss-url.json"
    a0="$(ticks "$BENCH_API_PID")" w0="$(ticks "$BENCH_WORKER_PID")" f0="$(ticks "$FILES_PID")" c0="$(cpu_stat)"
    t0="$(date +%s%3N)"
    read -r code secs <<<"$(ingest_curl "$FILES_URL/big.mp4" "$BENCH_WORK/url.json")"
    secs="$(s2 "$secs")"
    t201="$(date +%s%3N)"
    if [[ "$code" != 201 ]]; then
        rss_stop
        bench_die "URL ingest: HTTP $code $(head -c 300 "$BENCH_WORK/url.json")"
    fi
    id="$(jq -r .id "$BENCH_WORK/url.json")"
    W="$(wait_media "$id" "$t201" "$BIG_BYTES")"
    a2="$(ticks "$BENCH_API_PID")" w2="$(ticks "$BENCH_WORKER_PID")" f2="$(ticks "$FILES_PID")" c2="$(cpu_stat)"
    rss_stop
    [[ "$(jq -r .status <<<"$W")" == ready ]] || fail "big URL ingest: $(jq -c . <<<"$W")"
    ready_s="$(s2 "$(jq -r '.ready_ms / 1000' <<<"$W")")"
    tmp_s="$(s2 "$(jq -r '(.tmp_full_ms // 0) / 1000' <<<"$W")")"
    server_s="$(s2 "$(jq -r '(.server_ms // 0) / 1000' <<<"$W")")"
    url_rate="$(awk -v b="$BIG_BYTES" -v s="$ready_s" 'BEGIN { printf "%.0f", b / 1e6 / s }')"
    fetch_rate="$(awk -v b="$BIG_BYTES" -v s="$tmp_s" 'BEGIN { if (s > 0) printf "%.0f", b / 1e6 / s; else print "?" }')"
    after_s="$(awk -v r="$ready_s" -v t="$tmp_s" 'BEGIN { printf "%.2f", r - t }')"
    sstart_s="$(s2 "$(jq -r '(.store_start_ms // 0) / 1000' <<<"$W")")"
    sdone_s="$(s2 "$(jq -r '(.store_done_ms // 0) / 1000' <<<"$W")")"
    # tmp complete → storing begins: sniff, ffprobe, poster; storing; stored → ready: hash, settle.
    split="$(awk -v t="$tmp_s" -v a="$sstart_s" -v b="$sdone_s" -v r="$ready_s" 'BEGIN {
        if (a > 0 && b > 0) printf "%.2f s sniff + ffprobe + poster, %.2f s storing the original, %.2f s hash + settle", a - t, b - a, r - b;
        else printf "(the split was not seen)" }')"
    out ""
    out "   URL ingest (POST {\"url\"} → 201 in $secs s; the worker fetches from python3 -m http.server on loopback)"
    out "   ingest       201 → ready $ready_s s (polled every $POLL_MS ms; readyAt − createdAt $server_s s) = $url_rate MB/s"
    out "   of which     fetch into tmp complete at ${tmp_s} s ($fetch_rate MB/s); then $after_s s: sniff, ffprobe, poster, store the original, hash, settle"
    out "                = $split (from watching SOKU_DATA_DIR at the polling granularity)"
    out "   CPU          worker $(cpu_s $((w2 - w0))) CPU-s (plus its children's), file server $(cpu_s $((f2 - f0))) CPU-s, API $(cpu_s $((a2 - a0))) CPU-s; machine $(busy_pct "$c0" "$c2") % busy"
    out "   result       $(jq -r '"\(.status) \(.mimeType) \(.width)x\(.height) \(.durationSeconds) s, platform-safe rendition made: \(.rendition)"' <<<"$W")"
    rss_report "$BENCH_WORK/rss-url.json" "URL ingest"
    row "| ROWTP | URL ingest | $BIG_BYTES bytes | 201 → ready $ready_s s = **$url_rate MB/s** | fetch into tmp ${tmp_s} s ($fetch_rate MB/s); then $split | $(cpu_s $((w2 - w0))) CPU-s worker |"
    delete_media "$id"
    rm -f "$BIG"
    out ""
    if [[ "$BIG_MISSED" == 0 ]]; then
        out "   aim          RSS growth < $AIM_MB MB (10^6 bytes) for the API and the worker, both paths: met"
    else
        out "   aim          RSS growth < $AIM_MB MB (10^6 bytes) for the API and the worker, both paths: MISSED (see above)"
    fi
fi

# ------------------------------------------------------------------------------------------------ 2. probe
if has_part probe; then
    out ""
    out "-- 2. probe: $PROBE_N uploads per kind, one at a time; 201 → ready polled every $POLL_MS ms"
    out "   load average $(cut -d' ' -f1-3 /proc/loadavg) at the start of the part"
    out "   $(printf '%-12s %-10s %-26s %9s %9s %9s %13s %13s %11s' kind bytes what 'p50 ms' 'p99 ms' 'min ms' 'server p50' 'server p99' 'upload p50')"
    for f in small.mp4 hd1080.mp4 photo.jpg; do
        if ! P="$(python3 "$MEDIA_DIR/media.py" probe "$BENCH_API" "$KEY" "$FILES/$f" "$PROBE_N")"; then
            fail "probe $f"
            continue
        fi
        what="$(jq -r '"\(.mimeType) \(.width)x\(.height)" + (if .durationSeconds then " \(.durationSeconds)s" else "" end)' <<<"$P")"
        [[ "$(jq -r .renditions <<<"$P")" == 0 ]] || what="$what, $(jq -r .renditions <<<"$P") renditions made"
        read -r bytes p50 p99 pmin s50 s99 u50 <<<"$(jq -r '"\(.bytes) \(.ready_p50_ms) \(.ready_p99_ms) \(.ready_min_ms)
            \(.server_p50_ms) \(.server_p99_ms) \(.upload_p50_ms)"' <<<"$P" | tr -s '\n ' ' ')"
        out "   $(printf '%-12s %-10s %-26s %9s %9s %9s %13s %13s %11s' "$f" "$bytes" "$what" "$p50" "$p99" "$pmin" "$s50" "$s99" "$u50")"
        row "| ROWPROBE | $f | $bytes | $what | $PROBE_N | **$p50** | **$p99** | $s50 | $s99 | $u50 |"
    done
    out "   (p99 of $PROBE_N is nearest rank: the largest but none; server = readyAt − createdAt, no polling in it)"
fi

# ------------------------------------------------------------------------------------------------ 3. templates
if has_part templates; then
    out ""
    out "-- 3. templates: POST /v1/templates tweetImage (a different title each request), wrk -t1, $TPL_DURATION each"
    out "   load average $(cut -d' ' -f1-3 /proc/loadavg) at the start of the part"
    get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
    wrk -t1 -c1 -d3s -s "$MEDIA_DIR/templates.lua" "$BENCH_API" -- "$KEY" >"$BENCH_WORK/wrk-warm.out" 2>&1
    for c in $TPL_CONCURRENCY; do
        a0="$(ticks "$BENCH_API_PID")" c0="$(cpu_stat)"
        wrk -t1 -c"$c" -d"$TPL_DURATION" --latency -s "$MEDIA_DIR/templates.lua" "$BENCH_API" -- "$KEY" \
            >"$BENCH_WORK/wrk-c$c.out" 2>&1
        a1="$(ticks "$BENCH_API_PID")" c1="$(cpu_stat)"
        line="$(grep '^BENCH_RESULT' "$BENCH_WORK/wrk-c$c.out")" || {
            cat "$BENCH_WORK/wrk-c$c.out" >&2
            fail "wrk -c$c printed no result"
            continue
        }
        reqs="$(get requests)" rps="$(get rps)" p50="$(get p50_ms)" p99="$(get p99_ms)" non="$(get non_2xx)"
        errs="$(get socket_errors)"
        per="$(awk -v t=$((a1 - a0)) -v hz="$HZ" -v n="$reqs" 'BEGIN { printf "%.1f", n ? 1000 * t / hz / n : 0 }')"
        out "   concurrency $c: $reqs renders, $rps/s, p50 $p50 ms, p99 $p99 ms, non-2xx $non, socket errors $errs;"
        out "                soku api $(cpu_s $((a1 - a0))) CPU-s = $per CPU-ms per render; machine $(busy_pct "$c0" "$c1") % busy"
        grep -E '^BENCH_(STATUS|BODY)' "$BENCH_WORK/wrk-c$c.out" | sed 's/^/                /' | tee -a "$REPORT"
        row "| ROWTPL | $c | $reqs | **$rps** | **$p50** | **$p99** | $non | $per |"
        [[ "$non" == 0 && "$errs" == 0 ]] || fail "templates at concurrency $c: $non non-2xx, $errs socket errors"
    done
fi

for pid in "$BENCH_API_PID" "$BENCH_WORKER_PID"; do
    kill -0 "$pid" 2>/dev/null || fail "process $pid exited during the run"
done
out ""
out "   load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
if [[ -s "$ROWS" ]]; then
    out ""
    out "-- markdown rows for docs/benchmarks.md"
    D="$(date -u +%Y-%m-%d)"
    if grep -q '^| ROWTP ' "$ROWS"; then
        out "| date | path | size | ingest | processing | CPU |"
        out "|---|---|---|---|---|---|"
        sed -n "s/^| ROWTP /| $D /p" "$ROWS" | tee -a "$REPORT"
        out ""
        out "| path | process | baseline MB | peak MB | growth MB | aim MB | |"
        out "|---|---|---|---|---|---|---|"
        grep -E '^\| (direct upload|URL ingest) ' "$ROWS" | tee -a "$REPORT"
        out ""
    fi
    if grep -q '^| ROWPROBE ' "$ROWS"; then
        out "| date | file | bytes | what | n | 201 → ready p50 ms | p99 ms | readyAt − createdAt p50 ms | p99 ms | upload p50 ms |"
        out "|---|---|---|---|---|---|---|---|---|---|"
        sed -n "s/^| ROWPROBE /| $D /p" "$ROWS" | tee -a "$REPORT"
        out ""
    fi
    if grep -q '^| ROWTPL ' "$ROWS"; then
        out "| date | concurrency | renders | renders/s | p50 ms | p99 ms | non-2xx | API CPU-ms per render |"
        out "|---|---|---|---|---|---|---|---|"
        sed -n "s/^| ROWTPL /| $D /p" "$ROWS" | tee -a "$REPORT"
    fi
fi
if [[ "$FAIL" != 0 ]]; then
    out "FAIL (see the lines above)"
    exit 1
fi
exit 0
