# shellcheck shell=bash
# A real browser for the dashboard's browser test (tests/browser/). Sourced by scripts/lib.sh (it uses lib.sh's log,
# die, have, _apt_update_once, _apt_get and _pkg_installed); don't run it.
#
#   ensure_browser      install Debian's chromium when it is missing, and the test driver's Node packages
#                       (tests/browser: playwright-core, pinned in its package-lock.json) with `npm ci` when
#                       node_modules is missing or package-lock.json changed since the last install; exports
#                       SOKU_TEST_BROWSER (the Chromium binary the test launches)
#   run_browser_test    run tests/browser/dashboard.test.mjs (it reads SOKU_BASE_URL, SOKU_EMAIL, SOKU_PASSWORD,
#                       SOKU_SCREENSHOTS; arguments are passed on, e.g. --mock)
#
# No browser is ever downloaded: playwright-core drives Debian's Chromium (executablePath), and `npm ci` runs with
# PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1. chromium-driver (ChromeDriver) is not needed: playwright-core speaks the
# DevTools protocol to Chromium itself.
#
# Knobs (environment):
#   SOKU_SKIP_APT=1      never call apt-get (fail if chromium is missing)
#   SOKU_TEST_BROWSER    the Chromium binary (default /usr/bin/chromium, Debian's)

if [[ -n "${SOKU_BROWSER_LOADED:-}" ]]; then
    return 0
fi
SOKU_BROWSER_LOADED=1

SOKU_BROWSER_DIR="$SOKU_ROOT/tests/browser"
# Debian's Chromium follows the security archive (old builds are removed from it), so it is not pinned to a build;
# playwright-core, which is, supports this major and later. Tested with 156.0.8078.114-1~deb12u1.
SOKU_BROWSER_MIN_MAJOR=120

_browser_major() {
    local version
    version="$("$1" --version 2>/dev/null)" || return 1
    # "Chromium 156.0.8078.114 built on Debian GNU/Linux 12 (bookworm)"
    version="${version#Chromium }"
    version="${version%%.*}"
    [[ "$version" =~ ^[0-9]+$ ]] || return 1
    printf '%s\n' "$version"
}

# The stamp names the lock file's hash and the Node version the packages were installed with.
_browser_stamp_value() {
    printf '%s node-%s\n' "$(sha256sum "$SOKU_BROWSER_DIR/package-lock.json" | cut -d' ' -f1)" "$(node --version)"
}

ensure_browser() {
    export SOKU_TEST_BROWSER="${SOKU_TEST_BROWSER:-/usr/bin/chromium}"

    if [[ ! -x "$SOKU_TEST_BROWSER" ]]; then
        [[ "$SOKU_TEST_BROWSER" == /usr/bin/chromium ]] ||
            die "SOKU_TEST_BROWSER=$SOKU_TEST_BROWSER is not an executable"
        [[ -z "${SOKU_SKIP_APT:-}" ]] || die "chromium is missing and SOKU_SKIP_APT is set: install chromium"
        have apt-get || die "apt-get not found: install Debian's chromium yourself"
        log "installing chromium"
        _apt_update_once || die "apt-get update failed"
        local apt_log
        apt_log="$(mktemp /tmp/soku-apt.XXXXXX)"
        if ! _apt_get install -y -q --no-install-recommends chromium >"$apt_log" 2>&1; then
            tail -n 40 "$apt_log" >&2
            die "apt-get install chromium failed (full log: $apt_log)"
        fi
        rm -f "$apt_log"
        _pkg_installed chromium || die "chromium installed but dpkg does not list it"
    fi
    local major
    major="$(_browser_major "$SOKU_TEST_BROWSER")" || die "$SOKU_TEST_BROWSER --version does not answer"
    ((major >= SOKU_BROWSER_MIN_MAJOR)) ||
        die "$SOKU_TEST_BROWSER is Chromium $major; the browser test needs $SOKU_BROWSER_MIN_MAJOR or later"
    log "chromium $major present ($SOKU_TEST_BROWSER)"

    have node || die "node not installed (run ensure_packages)"
    have npm || die "npm not installed: install Debian's npm or Node.js with npm"
    local stamp="$SOKU_BROWSER_DIR/node_modules/.soku-npm-ci"
    if [[ -d "$SOKU_BROWSER_DIR/node_modules/playwright-core" && -f "$stamp" &&
        "$(cat "$stamp")" == "$(_browser_stamp_value)" ]]; then
        log "browser test packages present ($SOKU_BROWSER_DIR/node_modules)"
    else
        log "npm ci in $SOKU_BROWSER_DIR"
        (cd "$SOKU_BROWSER_DIR" &&
            PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >&2) ||
            die "npm ci failed in $SOKU_BROWSER_DIR"
        _browser_stamp_value >"$stamp"
    fi
}

run_browser_test() {
    ensure_browser
    (cd "$SOKU_BROWSER_DIR" && node dashboard.test.mjs "$@")
}
