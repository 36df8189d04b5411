# Helpers shared by the sidecar end-to-end tests (sourced after ../lib.sh): start the Node test
# app and issuer, start a sidecar and read its ports, and small HTTP probes.
SUPPORT="$WDN_SOURCE_DIR/tests/e2e/sidecar-support"

# wait_file FILE [SECONDS]: until FILE exists and is not empty
wait_file() {
    i=0
    while [ $i -lt $((${2:-10} * 10)) ]; do
        [ -s "$1" ] && return 0
        sleep 0.1; i=$((i + 1))
    done
    return 1
}

# start_app NAME: starts app.js; sets PORT_<NAME> and PID_<NAME>. Never call it inside $(...):
# lib.sh's EXIT trap would run in that subshell and remove the test folder.
start_app() {
    rm -f "$E2E_TMP/$1.port"
    timeout 300 node "$SUPPORT/app.js" "$E2E_TMP/$1.port" &
    E2E_PIDS="$E2E_PIDS $!"
    eval "PID_$1=$!"
    wait_file "$E2E_TMP/$1.port" 15 || { echo "app $1 did not start"; exit 1; }
    eval "PORT_$1=$(cat "$E2E_TMP/$1.port")"
}

# start_sidecar NAME ARGS...: runs warden sidecar in the background, output in
# $E2E_TMP/NAME.out/.err; waits for its ready line; the ports are then read with sc_port.
start_sidecar() {
    name=$1; shift
    timeout 300 "$BIN/warden" sidecar "$@" >"$E2E_TMP/$name.out" 2>"$E2E_TMP/$name.err" &
    E2E_PIDS="$E2E_PIDS $!"
    eval "PID_$name=$!"
    i=0
    while [ $i -lt 150 ]; do
        grep -q 'ready:' "$E2E_TMP/$name.out" 2>/dev/null && return 0
        sleep 0.1; i=$((i + 1))
    done
    echo "sidecar $name did not start:"; cat "$E2E_TMP/$name.err"
    return 1
}

# sc_port NAME http|internal|metrics
sc_port() {
    sed -n "s/.* $2-port=\([0-9-]*\).*/\1/p" "$E2E_TMP/$1.out"
}

# status URL [curl args...]: the HTTP status only
status() {
    u=$1; shift
    curl -s -m 10 -o /dev/null -w '%{http_code}' "$@" "$u"
}
