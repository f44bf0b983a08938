# shellcheck shell=bash
# Helpers shared by scripts/dev-up.sh and scripts/test.sh. Source it; don't run it.
#
#   ensure_packages     apt-get update (once) and install whatever is missing
#   start_postgres      start a local PostgreSQL cluster; role + database `soku` (password `soku`)
#   start_redis         start redis-server on 127.0.0.1:6379 unless one already answers
#   ensure_moto         install moto (a local S3-compatible server), pinned, in a virtualenv of its own
#   start_moto          start moto_server on 127.0.0.1:$SOKU_MOTO_PORT unless it already answers; exports
#                       SOKU_TEST_S3_ENDPOINT for the S3 storage tests
#   need_root_or_sudo   set $SOKU_SUDO to "" (root) or "sudo"; fail if neither is possible
#
# Knobs (environment):
#   SOKU_SKIP_APT=1      never call apt-get (fail later if something is really missing)
#   SOKU_PG_PORT         port of the cluster to use or create (default 5432)
#   SOKU_REDIS_PORT      redis port (default 6379)
#   SOKU_MOTO_PORT       moto port (default 5055)
#   SOKU_MOTO_VENV       where moto is installed (default ~/.cache/soku-moto/venv-<version>)

if [[ -n "${SOKU_LIB_LOADED:-}" ]]; then
    return 0
fi
SOKU_LIB_LOADED=1

SOKU_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SOKU_PG_PORT="${SOKU_PG_PORT:-5432}"
SOKU_REDIS_PORT="${SOKU_REDIS_PORT:-6379}"
SOKU_MOTO_VERSION=5.2.5
SOKU_MOTO_PORT="${SOKU_MOTO_PORT:-5055}"
SOKU_MOTO_VENV="${SOKU_MOTO_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/soku-moto/venv-$SOKU_MOTO_VERSION}"
SOKU_APT_UPDATED="${SOKU_APT_UPDATED:-}"
SOKU_SUDO="${SOKU_SUDO:-}"

log() { printf '[soku] %s\n' "$*" >&2; }
die() {
    printf '[soku] error: %s\n' "$*" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

# Sets SOKU_SUDO so that "${SOKU_SUDO[@]}"-style calls work: empty when root, "sudo" otherwise.
need_root_or_sudo() {
    if [[ "$(id -u)" -eq 0 ]]; then
        SOKU_SUDO=""
    elif have sudo; then
        SOKU_SUDO="sudo"
    else
        die "this step needs root: run as root or install sudo"
    fi
}

# Run a command as root (directly, or through sudo).
as_root() {
    need_root_or_sudo
    if [[ -n "$SOKU_SUDO" ]]; then
        sudo "$@"
    else
        "$@"
    fi
}

# Run a command as the postgres OS user (peer authentication on the local socket).
as_postgres() {
    if [[ "$(id -un)" == "postgres" ]]; then
        "$@"
    elif [[ "$(id -u)" -eq 0 ]]; then
        if have runuser; then
            runuser -u postgres -- "$@"
        else
            su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
        fi
    elif have sudo; then
        sudo -u postgres "$@"
    else
        die "need root or sudo to act as the postgres user"
    fi
}

# Wait (up to 10 minutes) while another apt/dpkg process holds its locks.
_wait_for_apt_locks() {
    have fuser || return 0
    local lock waited=0
    for lock in /var/lib/dpkg/lock-frontend /var/lib/dpkg/lock /var/lib/apt/lists/lock /var/cache/apt/archives/lock; do
        while [[ -e "$lock" ]] && as_root fuser "$lock" >/dev/null 2>&1; do
            if ((waited == 0)); then
                log "waiting for another apt/dpkg process to release $lock"
            fi
            if ((waited >= 600)); then
                die "apt/dpkg lock $lock still held after 10 minutes"
            fi
            sleep 3
            waited=$((waited + 3))
        done
    done
}

_apt_get() {
    _wait_for_apt_locks
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

_apt_update_once() {
    if [[ -n "$SOKU_APT_UPDATED" ]]; then
        return 0
    fi
    log "apt-get update"
    local try
    for try in 1 2 3; do
        if _apt_get -qq update >/dev/null; then
            SOKU_APT_UPDATED=1
            export SOKU_APT_UPDATED
            return 0
        fi
        log "apt-get update failed (attempt $try), retrying"
        sleep 5
    done
    return 1
}

_pkg_installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == "installed" ]]
}

_postgres_server_present() {
    compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null && have pg_lsclusters && have pg_ctlcluster
}

# Installs whatever of the list below is missing. apt-get update runs at most once per run, and only when something
# must be installed or when CI=true (a fresh CI machine has no package lists).
ensure_packages() {
    local missing=()

    _postgres_server_present || missing+=(postgresql)
    # pg_isready/psql come with postgresql-client, pulled in by postgresql.
    have pg_isready || missing+=(postgresql-client)
    have redis-server || missing+=(redis-server)
    have redis-cli || missing+=(redis-tools)
    have node || missing+=(nodejs)
    # The worker probes and transcodes media with the system's ffmpeg; the end-to-end tests need it too.
    have ffmpeg || missing+=(ffmpeg)
    # Speech for the transcription tests.
    have espeak-ng || missing+=(espeak-ng)
    have wrk || missing+=(wrk)
    have jq || missing+=(jq)
    have curl || missing+=(curl)
    have openssl || missing+=(openssl)
    have fuser || missing+=(psmisc)
    _pkg_installed ca-certificates || missing+=(ca-certificates)
    _pkg_installed build-essential || missing+=(build-essential)
    have pkg-config || missing+=(pkg-config)
    # Fonts of the share-image templates (soku_shared::templates): Noto Sans and its Arabic, Hebrew, Indic, Thai,
    # symbol and other script families; Noto Sans CJK; Noto Color Emoji.
    _pkg_installed fonts-noto-core || missing+=(fonts-noto-core)
    _pkg_installed fonts-noto-cjk || missing+=(fonts-noto-cjk)
    _pkg_installed fonts-noto-color-emoji || missing+=(fonts-noto-color-emoji)

    # Python `requests` for the docs' Python examples. Debian's python3 gets the Debian package; any other python3
    # (pyenv, a venv) gets it from PyPI.
    local need_pip_requests=""
    if ! have python3; then
        missing+=(python3 python3-requests)
    elif ! python3 -c 'import requests' >/dev/null 2>&1; then
        if [[ "$(command -v python3)" == /usr/bin/python3 ]]; then
            missing+=(python3-requests)
        else
            need_pip_requests=1
        fi
    fi

    if [[ -n "${SOKU_SKIP_APT:-}" ]]; then
        if ((${#missing[@]})); then
            log "SOKU_SKIP_APT is set; not installing: ${missing[*]}"
        fi
    else
        if ((${#missing[@]})) || [[ "${CI:-}" == "true" ]]; then
            if ! have apt-get; then
                die "apt-get not found: install these yourself: ${missing[*]:-none}"
            fi
            if ! _apt_update_once; then
                if ((${#missing[@]})); then
                    die "apt-get update failed"
                fi
                log "apt-get update failed; nothing is missing, carrying on"
            fi
        fi
        if ((${#missing[@]})); then
            log "installing: ${missing[*]}"
            local apt_log
            apt_log="$(mktemp /tmp/soku-apt.XXXXXX)"
            if ! _apt_get install -y -q --no-install-recommends "${missing[@]}" >"$apt_log" 2>&1; then
                tail -n 40 "$apt_log" >&2
                die "apt-get install failed for: ${missing[*]} (full log: $apt_log)"
            fi
            rm -f "$apt_log"
        else
            log "system packages present"
        fi
    fi

    if [[ -n "$need_pip_requests" ]]; then
        log "installing python requests with pip ($(command -v python3))"
        python3 -m pip install --quiet --disable-pip-version-check requests >&2 ||
            die "pip install requests failed"
    fi
}

# Prints "VERSION NAME PORT STATUS" of the cluster to use: the one on $SOKU_PG_PORT, else nothing.
_pg_find_cluster() {
    pg_lsclusters --no-header 2>/dev/null | awk -v port="$SOKU_PG_PORT" '$3 == port { print $1, $2, $3, $4; exit }'
}

_pg_sql() {
    # Runs one statement in database $1 as the postgres superuser; prints unaligned tuples.
    local db="$1" sql="$2"
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p "$SOKU_PG_PORT" -d "$db" -tAc "$sql"
}

start_postgres() {
    _postgres_server_present || die "PostgreSQL server not installed (run ensure_packages)"

    local cluster version name port status
    cluster="$(_pg_find_cluster)"
    if [[ -z "$cluster" ]]; then
        version="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/postgres' 2>/dev/null |
            awk -F/ '{ print $5 }' | sort -n | tail -n 1)"
        [[ -n "$version" ]] || die "no PostgreSQL server binaries under /usr/lib/postgresql"
        name="main"
        if pg_lsclusters --no-header 2>/dev/null | awk -v v="$version" '$1 == v && $2 == "main" { f = 1 } END { exit !f }'; then
            name="soku"
        fi
        log "creating PostgreSQL $version cluster '$name' on port $SOKU_PG_PORT"
        as_root pg_createcluster "$version" "$name" -p "$SOKU_PG_PORT" >&2 ||
            die "pg_createcluster $version $name failed"
        cluster="$(_pg_find_cluster)"
        [[ -n "$cluster" ]] || die "cluster created but not listed by pg_lsclusters"
    fi
    read -r version name port status <<<"$cluster"

    if [[ "$status" != online* ]]; then
        log "starting PostgreSQL $version/$name on port $port"
        as_root pg_ctlcluster "$version" "$name" start >&2 || {
            log "pg_ctlcluster failed; last lines of the log:"
            tail -n 20 "/var/log/postgresql/postgresql-$version-$name.log" >&2 2>/dev/null || true
            die "could not start PostgreSQL $version/$name"
        }
    else
        log "PostgreSQL $version/$name already running on port $port"
    fi

    local i
    for ((i = 0; i < 60; i++)); do
        if pg_isready -q -h 127.0.0.1 -p "$port"; then
            break
        fi
        sleep 1
    done
    pg_isready -q -h 127.0.0.1 -p "$port" || die "PostgreSQL did not become ready on 127.0.0.1:$port"

    # Role and database, idempotently. ALTER keeps a pre-existing role usable (login, createdb, known password).
    if [[ "$(_pg_sql postgres "SELECT 1 FROM pg_roles WHERE rolname = 'soku'")" != "1" ]]; then
        log "creating role soku"
        _pg_sql postgres "CREATE ROLE soku LOGIN CREATEDB PASSWORD 'soku'" >/dev/null
    else
        _pg_sql postgres "ALTER ROLE soku LOGIN CREATEDB PASSWORD 'soku'" >/dev/null
    fi
    if [[ "$(_pg_sql postgres "SELECT 1 FROM pg_database WHERE datname = 'soku'")" != "1" ]]; then
        log "creating database soku"
        _pg_sql postgres "CREATE DATABASE soku OWNER soku" >/dev/null
    fi

    PGPASSWORD=soku psql -X -q "postgres://soku@127.0.0.1:$port/soku" -tAc 'SELECT 1' >/dev/null 2>&1 ||
        die "cannot log in as soku over TCP on 127.0.0.1:$port (check pg_hba.conf allows password auth on localhost)"
    log "PostgreSQL ready: postgres://soku:soku@127.0.0.1:$port/soku"
}

_redis_pong() {
    [[ "$(redis-cli -h 127.0.0.1 -p "$SOKU_REDIS_PORT" ping 2>/dev/null)" == "PONG" ]]
}

# Whether the running Redis takes writes. One whose data directory vanished (a Redis started from a clone that
# was deleted since) refuses every command with MISCONF; Soku loses nothing when Redis restarts empty (the
# reconciler hands everything over again from Postgres), so such a Redis is restarted.
_redis_writable() {
    local cli=(redis-cli -h 127.0.0.1 -p "$SOKU_REDIS_PORT")
    [[ "$("${cli[@]}" set soku:probe 1 ex 5 2>&1)" == "OK" ]]
}

start_redis() {
    have redis-server || die "redis-server not installed (run ensure_packages)"
    have redis-cli || die "redis-cli not installed (run ensure_packages)"

    # Outside the checkout: a Redis started from one clone must keep working when that clone is deleted.
    local dir
    dir="$(_state_dir)/redis-$SOKU_REDIS_PORT"
    mkdir -p "$dir"
    if _redis_pong || [[ "$(redis-cli -h 127.0.0.1 -p "$SOKU_REDIS_PORT" ping 2>&1)" == MISCONF* ]]; then
        if _redis_writable; then
            log "Redis already running on 127.0.0.1:$SOKU_REDIS_PORT"
            return 0
        fi
        log "Redis on 127.0.0.1:$SOKU_REDIS_PORT refuses writes (its data directory is gone?): restarting it"
        redis-cli -h 127.0.0.1 -p "$SOKU_REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        local w
        for ((w = 0; w < 30; w++)); do
            redis-cli -h 127.0.0.1 -p "$SOKU_REDIS_PORT" ping >/dev/null 2>&1 || break
            sleep 0.2
        done
    fi

    log "starting redis-server on 127.0.0.1:$SOKU_REDIS_PORT (data and log in $dir)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$SOKU_REDIS_PORT" \
        --dir "$dir" --logfile "$dir/redis.log" --pidfile "$dir/redis.pid" \
        --appendonly yes >&2 || die "redis-server failed to start (see $dir/redis.log)"

    local i
    for ((i = 0; i < 30; i++)); do
        if _redis_pong; then
            log "Redis ready: redis://127.0.0.1:$SOKU_REDIS_PORT"
            return 0
        fi
        sleep 1
    done
    tail -n 20 "$dir/redis.log" >&2 2>/dev/null || true
    die "Redis did not answer PING on 127.0.0.1:$SOKU_REDIS_PORT"
}

# The directory under which start_redis and start_moto keep their data and logs (outside the checkout: a server
# started from one clone must keep working when that clone is deleted).
_state_dir() {
    printf '%s\n' "${SOKU_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/soku}"
}

_moto_installed() {
    local version
    version="$("$SOKU_MOTO_VENV/bin/python" -c 'import moto; print(moto.__version__)' 2>/dev/null)" || return 1
    [[ -x "$SOKU_MOTO_VENV/bin/moto_server" && "$version" == "$SOKU_MOTO_VERSION" ]]
}

# moto[server] $SOKU_MOTO_VERSION in the virtualenv $SOKU_MOTO_VENV, installed from PyPI only when missing. The
# S3 storage tests run against it (shared/src/storage.rs, tests/tests/storage_s3.rs).
ensure_moto() {
    if _moto_installed; then
        log "moto $SOKU_MOTO_VERSION present ($SOKU_MOTO_VENV)"
        return 0
    fi
    have python3 || die "python3 not installed (run ensure_packages)"
    log "installing moto[server] $SOKU_MOTO_VERSION into $SOKU_MOTO_VENV"
    if [[ -e "$SOKU_MOTO_VENV" ]]; then
        # Only ever replace a virtualenv (a stale or broken one), never some other directory.
        [[ -f "$SOKU_MOTO_VENV/pyvenv.cfg" ]] || die "SOKU_MOTO_VENV=$SOKU_MOTO_VENV exists and is not a virtualenv"
        rm -rf "$SOKU_MOTO_VENV"
    fi
    mkdir -p "$(dirname "$SOKU_MOTO_VENV")"
    if ! python3 -m venv "$SOKU_MOTO_VENV" >/dev/null 2>&1; then
        # Debian's python3 keeps venv (ensurepip) in a package of its own.
        rm -rf "$SOKU_MOTO_VENV"
        if [[ -z "${SOKU_SKIP_APT:-}" ]] && have apt-get; then
            local pyver
            pyver="$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
            log "python3 -m venv failed: installing python3-venv"
            _apt_update_once || true
            _apt_get install -y -qq --no-install-recommends "python${pyver}-venv" >/dev/null 2>&1 ||
                _apt_get install -y -qq --no-install-recommends python3-venv >/dev/null 2>&1 ||
                die "could not install python3-venv"
        fi
        python3 -m venv "$SOKU_MOTO_VENV" >&2 || die "python3 -m venv $SOKU_MOTO_VENV failed (install python3-venv)"
    fi
    "$SOKU_MOTO_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        "moto[server]==$SOKU_MOTO_VERSION" >&2 || die "pip install moto[server]==$SOKU_MOTO_VERSION failed"
    _moto_installed || die "moto $SOKU_MOTO_VERSION installed but not usable from $SOKU_MOTO_VENV"
}

# Whether moto answers on 127.0.0.1:$SOKU_MOTO_PORT (its own API, so another server on the port does not count).
_moto_answers() {
    # moto's dashboard page (`/moto-api/data.json` answers 500 once some S3 objects exist, so it is no test).
    # Read whole, then matched: `curl | grep -q` fails under pipefail when grep stops reading early (SIGPIPE).
    local page
    page="$(curl -sf -m 5 "http://127.0.0.1:$SOKU_MOTO_PORT/moto-api/" 2>/dev/null)" || return 1
    [[ "${page,,}" == *moto* ]]
}

# Starts moto_server on 127.0.0.1:$SOKU_MOTO_PORT in the background (loopback only; it keeps everything in memory)
# unless it already answers, then exports SOKU_TEST_S3_ENDPOINT.
start_moto() {
    _moto_installed || die "moto not installed (run ensure_moto)"
    have curl || die "curl not installed (run ensure_packages)"
    local dir
    dir="$(_state_dir)/moto-$SOKU_MOTO_PORT"
    mkdir -p "$dir"
    if _moto_answers; then
        log "moto already running on 127.0.0.1:$SOKU_MOTO_PORT"
    else
        if curl -s -m 2 -o /dev/null "http://127.0.0.1:$SOKU_MOTO_PORT/"; then
            die "127.0.0.1:$SOKU_MOTO_PORT answers but is not moto: set SOKU_MOTO_PORT to a free port"
        fi
        log "starting moto_server on 127.0.0.1:$SOKU_MOTO_PORT (log in $dir)"
        # A session of its own, so that it outlives this script (as the daemonized Redis does).
        if have setsid; then
            setsid "$SOKU_MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$SOKU_MOTO_PORT" \
                </dev/null >"$dir/moto.log" 2>&1 &
        else
            nohup "$SOKU_MOTO_VENV/bin/moto_server" -H 127.0.0.1 -p "$SOKU_MOTO_PORT" \
                </dev/null >"$dir/moto.log" 2>&1 &
        fi
        echo "$!" >"$dir/moto.pid"
        disown "$!" 2>/dev/null || true
        local i
        for ((i = 0; i < 60; i++)); do
            _moto_answers && break
            if ! kill -0 "$(cat "$dir/moto.pid")" 2>/dev/null; then
                break
            fi
            sleep 0.5
        done
        if ! _moto_answers; then
            tail -n 20 "$dir/moto.log" >&2 2>/dev/null || true
            die "moto did not answer on 127.0.0.1:$SOKU_MOTO_PORT"
        fi
    fi
    export SOKU_TEST_S3_ENDPOINT="http://127.0.0.1:$SOKU_MOTO_PORT"
    log "moto ready: $SOKU_TEST_S3_ENDPOINT"
}

# A local OpenAI-compatible speech-to-text server (ensure_whisper, start_whisper): scripts/whisper.sh.
# shellcheck source=scripts/whisper.sh
source "$SOKU_ROOT/scripts/whisper.sh"

# Debian's Chromium and the browser test's Node packages (ensure_browser, run_browser_test): scripts/browser.sh.
# shellcheck source=scripts/browser.sh
source "$SOKU_ROOT/scripts/browser.sh"
