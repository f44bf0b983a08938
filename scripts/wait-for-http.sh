# shellcheck shell=bash
# wait_for_http URL PID LOG: waits up to 30 s for URL to answer 2xx while process PID lives. On failure prints the
# last lines of LOG and why on stderr, and returns 1. Sourced by tests/scratch.sh and scripts/bench/common.sh.
wait_for_http() {
    local url="$1" pid="$2" log="$3" _
    for _ in $(seq 1 150); do
        curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 40 "$log" >&2
            printf 'the process exited before %s answered\n' "$url" >&2
            return 1
        fi
        sleep 0.2
    done
    tail -n 40 "$log" >&2
    printf 'no answer from %s within 30 s\n' "$url" >&2
    return 1
}
