# Shared helpers for end-to-end tests: assertions that count and report, temp state, cleanup.
# Source it from a run.sh; call e2e_done at the end.
set -u
E2E_PASS=0
E2E_FAIL=0
E2E_TMP=$(mktemp -d /tmp/wdn-e2e-XXXXXX)
export WARDEN_HOME="$E2E_TMP/home"
unset WARDEN_PROJECT AUTH0_DOMAIN AUTH0_CLIENT_ID AUTH0_CLIENT_SECRET AUTH0_AUDIENCE
E2E_PIDS=""

# e2e_wait_gone SECONDS PID...: polls until none of the processes is alive (or time is up).
# Daemons stop gracefully on SIGTERM; a coverage build writes its counters as it exits, so a
# SIGKILL sent too early would lose them (or leave a half-written counter file).
e2e_wait_gone() {
    _w=$(($1 * 10)); shift
    while [ $_w -gt 0 ]; do
        _alive=0
        for _p in "$@"; do kill -0 "$_p" 2>/dev/null && _alive=1; done
        [ $_alive = 0 ] && return 0
        sleep 0.1; _w=$((_w - 1))
    done
    return 1
}
e2e_cleanup() {
    for p in $E2E_PIDS; do kill "$p" 2>/dev/null; done
    # shellcheck disable=SC2086
    e2e_wait_gone 10 $E2E_PIDS
    # A process started through timeout(1) is its child: SIGKILL does not reach it through the
    # wrapper, so the children go first (a sanitizer build hung in its exit-time leak check was
    # left running for good).
    for p in $E2E_PIDS; do pkill -9 -P "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    rm -rf "$E2E_TMP"
}
trap e2e_cleanup EXIT INT TERM

ok() { E2E_PASS=$((E2E_PASS + 1)); echo "ok - $1"; }
not_ok() { E2E_FAIL=$((E2E_FAIL + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "    $l"; done; }

# expect_eq NAME ACTUAL EXPECTED
expect_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $3" "actual:   $2"; fi
}
# expect_contains NAME HAYSTACK NEEDLE
expect_contains() {
    case "$2" in *"$3"*) ok "$1" ;; *) not_ok "$1" "expected to contain: $3" "actual: $2" ;; esac
}
# expect_not_contains NAME HAYSTACK NEEDLE
expect_not_contains() {
    case "$2" in *"$3"*) not_ok "$1" "expected not to contain: $3" "actual: $2" ;; *) ok "$1" ;; esac
}
# free_port: a free TCP port on 127.0.0.1, below the ephemeral range (free-port.js says why)
free_port() {
    node "${WDN_SOURCE_DIR:?the tests set WDN_SOURCE_DIR}/tests/e2e/free-port.js"
}
# wait_http URL [SECONDS]: until the URL answers at all
wait_http() {
    i=0
    while [ $i -lt $((${2:-10} * 10)) ]; do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}
e2e_done() {
    echo "$E2E_PASS passed, $E2E_FAIL failed"
    [ "$E2E_FAIL" -eq 0 ]
}
