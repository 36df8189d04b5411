#!/bin/sh
# The mTLS hop between two sidecars at a fixed rate, looked at closely (docs/benchmarks/sidecar.md,
# issue 20). Usage: [MODE=cpu|callgrind] bench/sidecar/hop.sh BIN [BIN...]
# Each BIN is a Release build's bin folder (warden; hello-server and wdn-fixedrate are taken from
# the first): give two to compare a change with its base in the same run.
#   MODE=cpu (default): one app; per BIN a caller and a callee sidecar (--workers 1, mTLS between
#     them, as in run.sh part 2); ROUNDS (3) rounds of SECS (5) seconds at RATE (1000) req/s with
#     16 connections, the BINs in turn within each round. Per sidecar: CPU per request from the
#     scheduler's accounting (/proc/PID/task/*/schedstat) and, when perf is there, system calls
#     and context switches per request (perf stat tracepoints: counts, cheap, no ptrace).
#   MODE=callgrind: per BIN, both sidecars under callgrind; a warm-up fills the connection pool
#     (so no handshake falls in the measured window), then 1,000 requests at 100 req/s are
#     counted: instructions per request and calls per request of the TLS record layer and malloc.
set -u
MODE=${MODE:-cpu}
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
RATE=${RATE:-1000}
FIRST=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/bench/lib.sh"
bench_tmp hop
cpu_ns() { # PID: CPU time of every thread, in ns
    cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{t += $1} END {printf "%.0f", t}'
}
FR="$FIRST/wdn-fixedrate"
VG=""
[ "$MODE" = callgrind ] && VG="valgrind --tool=callgrind --instr-atstart=no"

APP=$(free_port)
"$FIRST/hello-server" --listen "127.0.0.1:$APP" --workers 1 &
PIDS="$PIDS $!"
# One pair per BIN: TMP/pN/{url,caller,callee,name}
n=0
for b in "$@"; do
    B=$(cd "$b" && pwd)
    D="$TMP/p$n"
    mkdir -p "$D"
    pa=$(free_port)
    pb=$(free_port)
    printf 'caller 127.0.0.1:%s\ncallee 127.0.0.1:%s\n' "$pa" "$pb" > "$D/peers"
    vg() { [ -n "$VG" ] && echo "$VG --callgrind-out-file=$D/$1.cg"; }
    $(vg callee) "$B/warden" sidecar --app-id callee \
        --app-port "$APP" --http-port 0 --internal-port "$pb" --workers 1 --peers "$D/peers" \
        --ca-dir "$D/ca" --log-level warn >"$D/b.out" 2>"$D/b.err" &
    PIDS="$PIDS $!"
    echo $! > "$D/callee"
    $(vg caller) "$B/warden" sidecar --app-id caller --http-port 0 \
        --internal-port "$pa" --workers 1 --peers "$D/peers" --ca-dir "$D/ca" --log-level warn \
        >"$D/a.out" 2>"$D/a.err" &
    PIDS="$PIDS $!"
    echo $! > "$D/caller"
    wait_ready "$D/a.out" 60 # under callgrind
    wait_ready "$D/b.out" 60
    h=$(port_of "$D/a.out" http)
    echo "http://127.0.0.1:$h/v1.0/invoke/callee/method/mcp" > "$D/url"
    echo "$b" > "$D/name"
    code=$(curl -s -o /dev/null -w '%{http_code}' "$(cat "$D/url")")
    [ "$code" = 200 ] || echo "warning: $b: invocation through two sidecars answered $code"
    n=$((n + 1))
done

if [ "$MODE" = callgrind ]; then
    # Calls per request into the functions named: the callers' "(Nx)" lines above each.
    calls() { # FILE REGEX
        callgrind_annotate --inclusive=yes --tree=caller "$1" 2>/dev/null | awk -v re="$2" '
            /%\) +< / { if (match($0, /\([0-9,]+x\)/)) { c = substr($0, RSTART + 1, RLENGTH - 3)
                          gsub(",", "", c); sum += c }; next }
            /\*  / { if ($0 ~ re) { f = $0; sub(/.*\*  /, "", f); sub(/ \[.*/, "", f)
                     sub(/.*[:\/]/, "", f); printf " %s %.2f", f, sum / 1000 } sum = 0; next }
            { sum = 0 }'
    }
    i=0
    while [ $i -lt $n ]; do
        D="$TMP/p$i"
        U=$(cat "$D/url")
        "$FR" -u "$U" -r 2000 -c 16 -d 2 >/dev/null # every connection of the pool made
        "$FR" -u "$U" -r 100 -c 16 -d 2 >/dev/null
        for w in caller callee; do
            callgrind_control -z "$(cat "$D/$w")" >/dev/null 2>&1
            callgrind_control -i on "$(cat "$D/$w")" >/dev/null 2>&1
        done
        "$FR" -u "$U" -r 100 -c 16 -d 10 >/dev/null
        for w in caller callee; do
            callgrind_control -d "$(cat "$D/$w")" >/dev/null 2>&1
            callgrind_control -i off "$(cat "$D/$w")" >/dev/null 2>&1
            f=$(ls "$D/$w.cg".* | head -1)
            ir=$(callgrind_annotate "$f" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
            echo "$(cat "$D/name") $w: $((ir / 1000)) instructions per request; calls per request:$(calls "$f" 'SSL_read_ex|SSL_write_ex|ERR_clear_error|malloc.c:malloc |CRYPTO_malloc|SSL_do_handshake')"
        done
        i=$((i + 1))
    done
    exit 0
fi

EV=""
command -v perf >/dev/null 2>&1 &&
    EV=syscalls:sys_enter_epoll_wait,syscalls:sys_enter_epoll_ctl,syscalls:sys_enter_read,syscalls:sys_enter_write,syscalls:sys_enter_writev,syscalls:sys_enter_connect,syscalls:sys_enter_accept4,context-switches
i=0
while [ $i -lt $n ]; do "$FR" -u "$(cat "$TMP/p$i/url")" -r "$RATE" -c 16 -d 2 >/dev/null; i=$((i + 1)); done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
r=1
while [ $r -le "$ROUNDS" ]; do
    i=0
    while [ $i -lt $n ]; do
        D="$TMP/p$i"
        A=$(cat "$D/caller")
        B=$(cat "$D/callee")
        if [ -n "$EV" ]; then
            perf stat -e "$EV" -p "$A" -o "$D/pa" -- sleep $((SECS + 1)) 2>/dev/null &
            s1=$!
            perf stat -e "$EV" -p "$B" -o "$D/pb" -- sleep $((SECS + 1)) 2>/dev/null &
            s2=$!
            sleep 0.3
        fi
        a0=$(cpu_ns "$A")
        b0=$(cpu_ns "$B")
        res=$("$FR" -u "$(cat "$D/url")" -r "$RATE" -c 16 -d "$SECS")
        a1=$(cpu_ns "$A")
        b1=$(cpu_ns "$B")
        nreq=$(echo "$res" | sed -n 's/.*requests=\([0-9]*\).*/\1/p')
        echo "round $r $(cat "$D/name"): $res"
        echo "$a0 $a1 $b0 $b1 $nreq $SECS" | awk '{printf "  CPU: caller %.3f cores %.1f us/req, callee %.3f cores %.1f us/req\n",
            ($2 - $1) / 1e9 / $6, ($2 - $1) / 1e3 / $5, ($4 - $3) / 1e9 / $6, ($4 - $3) / 1e3 / $5}'
        if [ -n "$EV" ]; then
            wait $s1 $s2
            for w in a b; do
                awk -v n="$nreq" -v who="$([ $w = a ] && echo caller || echo callee)" '
                    $1 ~ /^[0-9,.]+$/ && NF >= 2 { v = $1; gsub(",", "", v); k = $2
                        sub("syscalls:sys_enter_", "", k); if (v > 0 && k != "seconds") s = s sprintf(" %s %.2f", k, v / n) }
                    END { print "  per request, " who ":" s }' "$D/p$w"
            done
        fi
        i=$((i + 1))
    done
    r=$((r + 1))
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
