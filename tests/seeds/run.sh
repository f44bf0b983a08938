#!/usr/bin/env bash
# Runs the code examples of docs/examples.md against a real Soku API, taken from the page itself
# (tests/seeds/examples.py). See tests/seeds/README.md for what is checked and how the examples are adapted
# (base URL, past dates).
#
# Environment:
#   SOKU_BIN                 the soku binary (default: `cargo build -p soku`, then <target>/debug/soku)
#   SOKU_TEST_DATABASE_URL   admin URL used to create/drop the scratch database
#                            (default postgres://soku:soku@127.0.0.1:5432/postgres; DATABASE_URL is used if set
#                            and SOKU_TEST_DATABASE_URL is not)
#   REDIS_URL                default redis://127.0.0.1:6379 (keys go under a random SOKU_REDIS_PREFIX)
#   SOKU_PORT                API port (default: a free one)
#   SOKU_BASE_URL            what replaces https://api.mysoku.io in the examples (default http://127.0.0.1:$SOKU_PORT)
#   SEEDS_ONLY               regex: run only the examples whose file name matches
#   SOKU_SEEDS_DOC           the product docs' text of the page, to check docs/examples.md against (default: the
#                            Code Examples page in ../shared/seeds/ beside the repo, when it is there)
#   SEEDS_KEEP=1             keep the scratch directory, database and Redis keys (for debugging)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

ADMIN_URL="${SOKU_TEST_DATABASE_URL:-${DATABASE_URL:-postgres://soku:soku@127.0.0.1:5432/postgres}}"
REDIS_URL="${REDIS_URL:-redis://127.0.0.1:6379}"
SEEDS_ONLY="${SEEDS_ONLY:-}"
DOC_MD="$ROOT/docs/examples.md"

say() { printf '[seeds] %s\n' "$*" >&2; }
die() {
    printf '[seeds] error: %s\n' "$*" >&2
    exit 2
}
# shellcheck source=tests/scratch.sh
source "$ROOT/tests/scratch.sh"

# ---------------------------------------------------------------- prerequisites
for tool in psql curl jq python3 node redis-cli timeout; do
    if ! have "$tool"; then
        if [[ "$tool" == jq && "$(id -u)" -eq 0 ]] && have apt-get; then
            say "installing jq (the docs' curl examples use it)"
            apt-get install -y -qq jq >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq jq >/dev/null 2>&1; }
        fi
        have "$tool" || die "$tool is required"
    fi
done
if ! python3 -c 'import requests' 2>/dev/null; then
    say "installing the Python requests package"
    python3 -m pip install --quiet requests || die "pip install requests failed"
fi
node -e 'process.exit(parseInt(process.versions.node, 10) >= 18 ? 0 : 1)' || die "Node.js >= 18 is required (built-in fetch)"

scratch_soku_bin

# ---------------------------------------------------------------- scratch state and cleanup
scratch_start seeds "${SEEDS_KEEP:-}"

PLACEHOLDER_CREDS='{"accessToken":"placeholder"}'

# Main account: pro, active, every integration the examples name.
ACCT="$(admin account create --name seeds --plan pro --status active | jget accountId)" || exit 2
LIVE_KEY="$(admin key create "$ACCT" --mode live | jget apiKey)" || exit 2
for p in threads x linkedin; do
    admin integration add "$ACCT" --platform "$p" --account-id "${p}_main" --default --credentials "$PLACEHOLDER_CREDS" >/dev/null || exit 2
done
admin integration add "$ACCT" --platform instagram --account-id ig_main --credentials "$PLACEHOLDER_CREDS" >/dev/null || exit 2
admin integration add "$ACCT" --platform facebook --account-id fb_page --credentials "$PLACEHOLDER_CREDS" >/dev/null || exit 2
admin integration add "$ACCT" --platform tiktok --account-id tt_brand --credentials "$PLACEHOLDER_CREDS" >/dev/null || exit 2
admin integration add "$ACCT" --platform youtube --account-id yt_main --default --credentials "$PLACEHOLDER_CREDS" >/dev/null || exit 2

# Two trial accounts (limit 3/min through SOKU_RATE_LIMIT_TRIAL) for the retry helper meeting a real 429.
trial_key() {
    local acct
    acct="$(admin account create --name "seeds-retry-$1" --plan trial | jget accountId)" || exit 2
    admin integration add "$acct" --platform threads --account-id threads_main --default --credentials "$PLACEHOLDER_CREDS" >/dev/null || exit 2
    admin key create "$acct" --mode live | jget apiKey
}
TRIAL_KEY_JS="$(trial_key js)" || exit 2
TRIAL_KEY_PY="$(trial_key py)" || exit 2

# ---------------------------------------------------------------- start the API
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="${SOKU_PORT:-$(free_port)}"
API="http://127.0.0.1:$PORT"
BASE_URL="${SOKU_BASE_URL:-$API}"

# The video example's URL (https://example.com/videos/product-demo.mp4) becomes a real MP4 made by ffmpeg and
# served on loopback by a small file server; the server may fetch from 127.0.0.1 (SOKU_FETCH_ALLOW_PRIVATE).
FILES="$WORK/files"
mkdir -p "$FILES/videos"
ffmpeg -hide_banner -loglevel error -y -f lavfi -i testsrc=size=640x360:rate=30:duration=4 \
    -f lavfi -i sine=frequency=440:duration=4 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest \
    -movflags +faststart "$FILES/videos/product-demo.mp4" || die "ffmpeg could not make the example video"
FILES_PORT="$(free_port)"
timeout 900 python3 -m http.server "$FILES_PORT" --bind 127.0.0.1 --directory "$FILES" >"$WORK/files.log" 2>&1 &
FILES_PID=$!
VIDEO_URL="http://127.0.0.1:$FILES_PORT/videos/product-demo.mp4"
wait_for_http "$VIDEO_URL" "$FILES_PID" "$WORK/files.log" || die "the example video's file server did not come up"

# `soku serve`: the API and the workers (the media job fetches and probes the example video). The image example's
# URLs name the product's hosted storage (storage.mysoku.io), which this machine cannot reach: importing them
# would make the server resolve that name, so media import is off (SOKU_MEDIA_IMPORT) and they pass as given.
# The transcription example needs a speech-to-text server: the local Whisper server scripts/test.sh starts
# (SOKU_TEST_TRANSCRIPTION_URL), started here when this script runs on its own.
if [[ -z "${SOKU_TEST_TRANSCRIPTION_URL:-}" ]]; then
    # shellcheck source=scripts/lib.sh
    (source "$ROOT/scripts/lib.sh" && ensure_whisper && start_whisper) >&2 || die "cannot start the local Whisper server"
    SOKU_TEST_TRANSCRIPTION_URL="http://127.0.0.1:${SOKU_WHISPER_PORT:-5056}/v1"
fi
SOKU_LISTEN="127.0.0.1:$PORT" SOKU_PUBLIC_URL="$API" SOKU_RATE_LIMIT_TRIAL=3 SOKU_LOG="${SOKU_LOG:-info}" \
    SOKU_FETCH_ALLOW_PRIVATE=127.0.0.1/32 SOKU_MEDIA_IMPORT=off SOKU_WORKER_METRICS_LISTEN=127.0.0.1:0 \
    SOKU_TRANSCRIPTION_URL="$SOKU_TEST_TRANSCRIPTION_URL" \
    "$SOKU_BIN" serve >"$WORK/api.log" 2>&1 &
SCRATCH_PID=$!
wait_for_http "$API/healthz" "$SCRATCH_PID" "$WORK/api.log" || die "soku serve did not come up at $API"
say "soku serve up at $API (pid $SCRATCH_PID); examples use BASE_URL=$BASE_URL, the video $VIDEO_URL"

# ---------------------------------------------------------------- the examples, from docs/examples.md
# Each runnable file is whole code blocks of the page plus one call line; the base URL becomes ours and the
# docs' dates move forward when they have passed. The script prints what each file is made of and what is skipped.
# The transcription example names media_f7e8d9c0b3c4: it becomes a real video with speech (espeak-ng), uploaded
# to this server, and the account gets credits for it.
espeak-ng -s 150 -w "$FILES/speech.wav" "The quick brown fox jumps over the lazy dog. Please transcribe this episode." ||
    die "espeak-ng could not make the example speech"
ffmpeg -hide_banner -loglevel error -y -i "$FILES/speech.wav" -f lavfi -i color=c=black:s=160x120:r=5 -shortest \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac "$FILES/episode42.mp4" || die "ffmpeg could not make the speech video"
SPEECH_MEDIA="$(curl -s -H "soku-api-key: $LIVE_KEY" -F "file=@$FILES/episode42.mp4" "$API/v1/media" | jq -r '.id // empty')"
[[ "$SPEECH_MEDIA" == media_* ]] || die "could not upload the speech video"
for _ in $(seq 1 300); do
    [[ "$(curl -s -H "soku-api-key: $LIVE_KEY" "$API/v1/media/$SPEECH_MEDIA" | jq -r .status)" == ready ]] && break
    sleep 0.1
done
admin credits grant "$ACCT" 100 >/dev/null || exit 2

# The key-rotation example manages keys with a person's session: the account's owner logs in, and each language
# rotates a key of its own (an old key made here), which must end up revoked.
admin user add "$ACCT" --email seeds@example.com --password "seeds-password-123" --role owner >/dev/null || exit 2
FIREBASE_TOKEN="$(curl -s -X POST "$API/v1/auth/login" -H 'Content-Type: application/json' \
    -d '{"email": "seeds@example.com", "password": "seeds-password-123"}' | jq -r '.accessToken // empty')"
[[ "$FIREBASE_TOKEN" == eyJ* ]] || die "could not log in as the seeds account's owner"
export FIREBASE_TOKEN
OLD_KEY_SH="$(admin key create "$ACCT" --name old-sh | jget id)" || exit 2
OLD_KEY_MJS="$(admin key create "$ACCT" --name old-mjs | jget id)" || exit 2
OLD_KEY_PY="$(admin key create "$ACCT" --name old-py | jget id)" || exit 2

EX="$WORK/examples"
python3 "$HERE/examples.py" extract "$DOC_MD" "$EX" --base-url "$BASE_URL" --video-url "$VIDEO_URL" \
    --media-id "$SPEECH_MEDIA" --firebase-token "$FIREBASE_TOKEN" --old-key-id "$OLD_KEY_SH" --shift-dates \
    >"$WORK/extract.out" 2>&1 || {
    cat "$WORK/extract.out" >&2
    die "cannot take the examples from $DOC_MD"
}
sed 's/^/[seeds] /' "$WORK/extract.out" >&2

# ---------------------------------------------------------------- running and judging
PASSED=0
FAILED=0
SKIPPED=0
FAILED_NAMES=()
POST_IDS="$WORK/post_ids" # lines: "<id> <api key> <expected status or ->"
: >"$POST_IDS"

pass() {
    PASSED=$((PASSED + 1))
    printf 'PASS %s\n' "$1"
}
fail() {
    FAILED=$((FAILED + 1))
    FAILED_NAMES+=("$1")
    printf 'FAIL %s: %s\n' "$1" "$2"
    if [[ -n "${3:-}" && -f "$3" ]]; then
        tail -n 40 "$3" | awk '{ print "    | " $0 }'
    fi
}
selected() {
    [[ -z "$SEEDS_ONLY" || "$1" =~ $SEEDS_ONLY ]]
}
# The examples not run, each printed as SKIP with its reason.
while IFS= read -r line; do
    SKIPPED=$((SKIPPED + 1))
    printf 'SKIP %s\n' "${line#skipped: }"
done < <(grep '^skipped: ' "$WORK/extract.out")

# run_ex FILE KEY TIMEOUT -> sets RC; output (stdout+stderr) in $WORK/out/FILE.log
mkdir -p "$WORK/out"
run_ex() {
    local file="$1" key="$2" secs="$3" cmd
    case "$file" in
    *.sh) cmd=(bash "$EX/$file") ;;
    *.py) cmd=(python3 "$EX/$file") ;;
    *.mjs | *.js) cmd=(node "$EX/$file") ;;
    esac
    (cd "$EX" && SOKU_API_KEY="$key" PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 timeout "$secs" "${cmd[@]}") \
        >"$WORK/out/$file.log" 2>&1
    RC=$?
}

record_ids() { # FILE KEY STATUS
    grep -ohE 'post_[A-Za-z0-9_]+' "$WORK/out/$1.log" | sort -u | while read -r id; do
        printf '%s %s %s\n' "$id" "$2" "$3" >>"$POST_IDS"
    done
}

# Curl examples: they print the response body only; a 202 body has postSubmissionId.
check_curl_post() { # FILE EXPECTED_STATUS
    local file="$1" want="$2" log
    selected "$file" || return 0
    run_ex "$file" "$LIVE_KEY" 30
    log="$WORK/out/$file.log"
    if ((RC != 0)); then
        fail "$file" "exit code $RC" "$log"
        return
    fi
    # The JSON body is the last thing printed.
    if sed -n '/^{/,$p' "$log" | jq -es --arg want "$want" \
        'last | (.postSubmissionId | type == "string" and startswith("post_")) and (.status == $want) and ((.targets | length) > 0)' \
        >/dev/null 2>&1; then
        record_ids "$file" "$LIVE_KEY" "$want"
        pass "$file"
    else
        fail "$file" "response is not a 202 body with postSubmissionId post_… and status $want" "$log"
    fi
}

# Node/Python examples: exit 0 and print "Post submitted: post_…" / "Post scheduled: post_…".
check_client_post() { # FILE EXPECTED_STATUS
    local file="$1" want="$2" log
    selected "$file" || return 0
    run_ex "$file" "$LIVE_KEY" 60
    log="$WORK/out/$file.log"
    if ((RC != 0)); then
        fail "$file" "exit code $RC" "$log"
    elif ! grep -qE 'Post (submitted|scheduled):? post_[A-Za-z0-9_]+' "$log"; then
        fail "$file" "no 'Post submitted: post_…' line" "$log"
    else
        record_ids "$file" "$LIVE_KEY" "$want"
        pass "$file"
    fi
}

say "running the examples"
for f in text_post image_post scheduled_post; do
    want=queued
    [[ "$f" == scheduled_post ]] && want=scheduled
    check_curl_post "$f.sh" "$want"
    check_client_post "$f.py" "$want"
    check_client_post "$f.mjs" "$want"
done

# Media examples: step 1 prints the media's URL (this server's), step 2 submits the post. The video post waits for
# its media; the media must then become ready (fetched from the local file server and probed) and the rendered
# card must be a real PNG.
MEDIA_URLS="$WORK/media_urls" # lines: "<file> <url>"
: >"$MEDIA_URLS"
for f in video_post og_image; do
    case "$f" in
    video_post) line='Uploaded media:' ;;
    og_image) line='Rendered image:' ;;
    esac
    check_curl_post "$f.sh" queued
    check_client_post "$f.py" queued
    check_client_post "$f.mjs" queued
    for ext in sh py mjs; do
        url="$(grep -oE "^$line $API/media/[A-Za-z0-9]+(\.png)?" "$WORK/out/$f.$ext.log" 2>/dev/null | awk '{print $NF}' | tail -n 1)"
        [[ -n "$url" ]] && printf '%s %s\n' "$f.$ext" "$url" >>"$MEDIA_URLS"
    done
done
while read -r file url; do
    selected "$file" || continue
    want=video/mp4
    [[ "$file" == og_image.* ]] && want=image/png
    got=""
    for _ in $(seq 1 300); do
        got="$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$url")"
        [[ "$got" == "200 $want" ]] && break
        sleep 0.1
    done
    if [[ "$got" == "200 $want" ]]; then
        pass "$file: its media is served at $url as $want"
    else
        fail "$file: media" "$url answered '$got', expected '200 $want' within 30 s" "$WORK/api.log"
    fi
done <"$MEDIA_URLS"

# Transcription: the curl example prints the 202 body; Node and Python print "Transcription job started: job_…".
# Node and Python send the same Idempotency-Key and the same fields, so the second is a replay of the first: one
# job. Every job must then complete with a transcript of the speech, charged the measured length's price.
JOBS="$WORK/jobs"
: >"$JOBS"
if selected transcribe.sh; then
    run_ex transcribe.sh "$LIVE_KEY" 30
    log="$WORK/out/transcribe.sh.log"
    if ((RC == 0)) && sed -n '/^{/,$p' "$log" | jq -es \
        'last | (.jobId | startswith("job_")) and .status == "queued" and .creditsReserved == 10' >/dev/null 2>&1; then
        sed -n '/^{/,$p' "$log" | jq -rs 'last | .jobId' >>"$JOBS"
        pass transcribe.sh
    else
        fail transcribe.sh "response is not a 202 body with jobId job_…, status queued and creditsReserved 10" "$log"
    fi
fi
for f in transcribe.mjs transcribe.py; do
    selected "$f" || continue
    run_ex "$f" "$LIVE_KEY" 60
    log="$WORK/out/$f.log"
    if ((RC != 0)); then
        fail "$f" "exit code $RC" "$log"
    elif ! grep -qE '^Transcription job started: job_[A-Za-z0-9]+$' "$log"; then
        fail "$f" "no 'Transcription job started: job_…' line" "$log"
    else
        grep -oE 'job_[A-Za-z0-9]+' "$log" | tail -n 1 >>"$JOBS"
        pass "$f"
    fi
done
sort -u -o "$JOBS" "$JOBS"
while read -r job; do
    body=""
    for _ in $(seq 1 600); do
        body="$(curl -s -H "soku-api-key: $LIVE_KEY" "$API/v1/ai/transcribe/$job")"
        [[ "$(jq -r .status <<<"$body")" =~ ^(completed|failed|canceled)$ ]] && break
        sleep 0.2
    done
    if jq -e '.status == "completed" and .creditsCharged == 1 and (.transcript.text | ascii_downcase | test("fox|dog|lazy|transcribe"))' \
        <<<"$body" >/dev/null 2>&1; then
        pass "transcription $job: completed, charged 1 credit: $(jq -c .transcript.text <<<"$body")"
    else
        fail "transcription $job" "did not complete with a transcript of the speech: $body" "$WORK/api.log"
    fi
done <"$JOBS"

# Key rotation: each language makes a new key, posts with it, and revokes its old key with the session token.
key_status() { # KEY_ID -> its status as GET /v1/api-keys shows it
    curl -s "$API/v1/api-keys" -H "Authorization: Bearer $FIREBASE_TOKEN" | jq -r --arg id "$1" '.data[] | select(.id == $id) | .status'
}
for f in rotate_key.sh rotate_key.mjs rotate_key.py; do
    selected "$f" || continue
    case "$f" in
    rotate_key.sh) old="$OLD_KEY_SH" ;;
    rotate_key.mjs) old="$OLD_KEY_MJS" ;;
    rotate_key.py) old="$OLD_KEY_PY" ;;
    esac
    export OLD_KEY_ID="$old"
    run_ex "$f" "$LIVE_KEY" 60
    log="$WORK/out/$f.log"
    if ((RC != 0)); then
        fail "$f" "exit code $RC" "$log"
    elif ! grep -q '^New key created$' "$log" || ! grep -q "Old key revoked:.*$old" "$log"; then
        fail "$f" "expected 'New key created' and 'Old key revoked: $old'" "$log"
    elif [[ "$(key_status "$old")" != revoked ]]; then
        fail "$f" "the old key $old is $(key_status "$old"), not revoked" "$log"
    elif [[ "$f" != rotate_key.sh ]] && ! grep -q '^New key verified successfully$' "$log"; then
        fail "$f" "no 'New key verified successfully'" "$log"
    elif [[ "$f" == rotate_key.sh ]] && ! grep -q '"postSubmissionId":"post_' "$log"; then
        fail "$f" "the new key's post was not accepted" "$log"
    else
        pass "$f: a new key made and used, the old one ($old) revoked"
    fi
done

# Error helpers: a post to an unknown platform must surface as the helper's error.
if selected error_helper.py; then
    run_ex error_helper.py "$LIVE_KEY" 30
    log="$WORK/out/error_helper.py.log"
    if ((RC == 0)); then
        fail error_helper.py "soku_request did not raise for an unknown platform" "$log"
    elif grep -qE '^Exception: API error validation_error: .+ \(requestId: req_[A-Za-z0-9_-]+\)$' "$log"; then
        pass error_helper.py
    else
        fail error_helper.py "expected 'Exception: API error validation_error: … (requestId: req_…)'" "$log"
    fi
fi
if selected error_helper.mjs; then
    run_ex error_helper.mjs "$LIVE_KEY" 30
    log="$WORK/out/error_helper.mjs.log"
    if ((RC == 0)) && tail -n 1 "$log" | jq -e \
        '.code == "validation_error" and .status == 400 and (.message | type == "string" and length > 0) and (.requestId | startswith("req_"))' \
        >/dev/null 2>&1; then
        pass error_helper.mjs
    else
        fail error_helper.mjs "expected a thrown error with code validation_error, status 400, a message and requestId req_…" "$log"
    fi
fi

# Batch publishing (uses the retry helper; scheduled posts).
for f in batch_publish.py batch_publish.mjs; do
    selected "$f" || continue
    run_ex "$f" "$LIVE_KEY" 120
    log="$WORK/out/$f.log"
    if ((RC != 0)); then
        fail "$f" "exit code $RC" "$log"
    elif ! grep -q '^Batch complete: 3 succeeded, 0 failed$' "$log"; then
        fail "$f" "expected 'Batch complete: 3 succeeded, 0 failed'" "$log"
    else
        record_ids "$f" "$LIVE_KEY" scheduled
        pass "$f"
    fi
done

# Retry helper meeting a real 429, then succeeding: a trial account (3/min) is exhausted so that its window still
# has at least 3 s to run, and the example starts at once. Its first request meets a 429 whose Retry-After reaches
# the window's end (Redis' clock, whole seconds rounded up), so the helper's wait (Retry-After plus jitter) ends in
# a fresh window and the retry is accepted. Giving up ("Rate limit exceeded after 3 retries") is a failure. Both
# languages run at once, each on its own account, so the waits overlap.
RETRY_BODY='{"post":{"content":{"text":"exhausting the rate limit","mediaType":"text","platform":["threads"]}}}'
exhaust() { # KEY NAME -> 0 once a 429 with Retry-After >= 3 was seen; writes its headers to $WORK/out/NAME.429
    local _ code ra
    for _ in $(seq 1 40); do
        code="$(curl -s -o /dev/null -D "$WORK/out/$2.429" -w '%{http_code}' -X POST "$API/v1/posts" \
            -H 'Content-Type: application/json' -H "soku-api-key: $1" -d "$RETRY_BODY")"
        if [[ "$code" == 429 ]]; then
            ra="$(grep -i '^retry-after:' "$WORK/out/$2.429" | tr -dc '0-9')"
            [[ -z "$ra" ]] && return 0 # judged below
            ((ra >= 3)) && return 0
            sleep "$((ra + 1))" # too close to the window's end: exhaust the next window instead
        fi
    done
    return 1
}
judge_retry() { # FILE KEY
    local file="$1" log="$WORK/out/$1.log" ra
    if ! grep -q '^HTTP/[0-9.]* 429' "$WORK/out/$file.429" 2>/dev/null; then
        fail "$file" "requests on a trial account with SOKU_RATE_LIMIT_TRIAL=3 never got a 429"
        return
    fi
    ra="$(grep -i '^retry-after:' "$WORK/out/$file.429" | tr -dc '0-9')"
    if [[ -z "$ra" ]] || ((ra < 1 || ra > 60)); then
        fail "$file" "429 without a Retry-After of 1..60 s (got '${ra}')" "$WORK/out/$file.429"
        return
    fi
    if grep -qE 'SyntaxError|Unexpected token|JSONDecodeError|json\.decoder|is not valid JSON|TypeError|ReferenceError' "$log"; then
        fail "$file" "the example crashed (parse or type error)" "$log"
    elif grep -q 'Rate limit exceeded after' "$log"; then
        fail "$file" "the helper gave up on the rate limit: its retry did not land in the next window" "$log"
    elif ! grep -qE '^Rate limited\. Waiting [0-9.]+s before retry 1\.\.\.$' "$log"; then
        fail "$file" "no 'Rate limited. Waiting …' line: the 429 was not seen by the helper (RC $RC)" "$log"
    elif ! grep -qE '^Rate limit: 0/3 remaining$' "$log"; then
        fail "$file" "no 'Rate limit: 0/3 remaining' line: X-RateLimit-* headers missing on the 429" "$log"
    elif ((RC != 0)) || grep -q '^Unexpected error' "$log"; then
        fail "$file" "the example failed (RC $RC)" "$log"
    elif ! grep -qE '^Post submitted:? post_[A-Za-z0-9_]+$' "$log"; then
        fail "$file" "no 'Post submitted: post_…' line after the retry" "$log"
    else
        record_ids "$file" "$2" -
        pass "$file (429 → waited Retry-After ${ra}s → retried in the next window → submitted)"
    fi
}
RETRY_JOBS=()
for pair in "retry_429.mjs:$TRIAL_KEY_JS" "retry_429.py:$TRIAL_KEY_PY"; do
    f="${pair%%:*}"
    k="${pair#*:}"
    selected "$f" || continue
    (
        if exhaust "$k" "$f"; then
            run_ex "$f" "$k" 240
            echo "$RC" >"$WORK/out/$f.rc"
        fi
    ) &
    RETRY_JOBS+=("$f:$!:$k")
done
if ((${#RETRY_JOBS[@]} > 0)); then
    say "waiting for the retry examples (they sleep for Retry-After, up to a minute)"
fi
for job in "${RETRY_JOBS[@]}"; do
    IFS=: read -r f pid k <<<"$job"
    wait "$pid"
    RC="$(cat "$WORK/out/$f.rc" 2>/dev/null || echo 1)"
    judge_retry "$f" "$k"
done

# Everything an example reported as accepted must be readable back (durably stored before the 202).
if [[ -s "$POST_IDS" ]]; then
    bad=0
    : >"$WORK/out/readback.log"
    while read -r id key want; do
        code="$(curl -s -o "$WORK/out/get.json" -w '%{http_code}' "$API/v1/posts/$id" -H "soku-api-key: $key")"
        if [[ "$code" != 200 ]] || ! jq -e --arg id "$id" '.postSubmissionId == $id' "$WORK/out/get.json" >/dev/null 2>&1; then
            bad=$((bad + 1))
            printf 'GET /v1/posts/%s -> %s %s\n' "$id" "$code" "$(head -c 300 "$WORK/out/get.json")" >>"$WORK/out/readback.log"
        elif [[ "$want" == scheduled ]] && ! jq -e '.status == "scheduled"' "$WORK/out/get.json" >/dev/null; then
            bad=$((bad + 1))
            printf 'GET /v1/posts/%s: status %s, expected scheduled\n' "$id" "$(jq -r .status "$WORK/out/get.json")" >>"$WORK/out/readback.log"
        fi
    done <"$POST_IDS"
    n="$(wc -l <"$POST_IDS")"
    if ((bad == 0)); then
        pass "read back all $n accepted posts with GET /v1/posts/{id}"
    else
        fail "readback" "$bad of $n accepted posts not readable as expected" "$WORK/out/readback.log"
    fi
fi

# docs/examples.md must still carry the product docs' code: every block verbatim and in order in the docs' text
# (only when that text is at hand: beside the repo, or SOKU_SEEDS_DOC).
DOC="${SOKU_SEEDS_DOC:-}"
if [[ -z "$DOC" ]]; then
    for cand in "$ROOT"/../shared/seeds/004_*.txt /work/shared/seeds/004_*.txt; do
        [[ -f "$cand" ]] && DOC="$cand" && break
    done
fi
if [[ -n "$DOC" && -f "$DOC" ]]; then
    if python3 "$HERE/examples.py" check-seed "$DOC_MD" "$DOC" >"$WORK/out/check-seed.log" 2>&1; then
        pass "docs/examples.md: $(tail -n 1 "$WORK/out/check-seed.log" | sed 's/^check-seed: //') of $(basename "$DOC")"
    else
        fail check-seed "docs/examples.md differs from the product docs" "$WORK/out/check-seed.log"
    fi
    if python3 "$HERE/examples.py" selftest "$DOC_MD" "$DOC" >"$WORK/out/selftest.log" 2>&1; then
        pass "examples.py $(cat "$WORK/out/selftest.log")"
    else
        fail selftest "the checks of examples.py did not behave (see the log)" "$WORK/out/selftest.log"
    fi
else
    say "the product docs' text is not at hand (../shared/seeds/004_*.txt, or SOKU_SEEDS_DOC): check against it skipped"
fi

kill "$FILES_PID" 2>/dev/null

if ((FAILED > 0)); then
    say "failed: ${FAILED_NAMES[*]}"
    say "API log (last 30 lines):"
    tail -n 30 "$WORK/api.log" | sed 's/^/    | /' >&2
fi
echo "seeds: $PASSED passed, $FAILED failed, $SKIPPED skipped"
((FAILED == 0))
