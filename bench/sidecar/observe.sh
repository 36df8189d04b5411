#!/bin/sh
# What tracing and audit records cost the sidecar (issue 17; docs/benchmarks/observe.md).
# Usage: bench/sidecar/observe.sh BIN [SECONDS] [ROUNDS]   (BIN: a Release build's bin folder)
#        VARIANTS="base audit" bench/sidecar/observe.sh BIN ...   only these (base always first)
#        MODE=ir bench/sidecar/observe.sh BIN [N]   instructions per request (valgrind)
#
# Four sidecars run side by side, identical but for what they record, each with one worker and
# the bearer middleware (a valid, cached token) in front of one hello-server:
#   base     nothing recorded (no spec.tracing, no --audit-log)
#   trace0   spec.tracing with samplingRate "0" and an OTLP endpoint
#   trace1   spec.tracing with samplingRate "1": ingress, bearer and forward spans for every
#            request, exported over OTLP/HTTP to a hello-server that stands in for a collector
#   audit    --audit-log FILE: a bearer "allow" record per request, hash-chained, to a file
# wrk (-t1 -c32) drives each for SECONDS in turn, ROUNDS times, so that the machine's other load
# falls on all four alike; every round prints requests/s and each variant's ratio to base in
# that round, and the end prints the median ratio. Short slots and many rounds (2 s x 30, the
# default) measure better than long ones on a VM whose speed drifts: the same base sidecar gives
# 35-57 k req/s from one 10 s slot to the next, and a pair of adjacent 2 s slots shares the drift
# (docs/benchmarks/observe.md, session 5). Each round also prints the share of time both CPUs
# were idle during each slot (/proc/stat), which is where recording's cost shows first. Beside throughput it prints the sidecar's CPU
# time per request (utime + stime of all its threads, exporter and audit writer included, from
# /proc): on a machine other work shares, that is the steadier measure of what recording costs.
# MODE=ir counts instructions instead (valgrind's callgrind, every thread of the sidecar, user
# space only): each variant serves N and 3N requests, and the difference over 2N is its
# instructions per request, the same whatever else the machine is doing. It prints them twice:
# all threads, and the request's own threads only (without the audit writer and the span
# exporter, whose work runs beside the requests on another core when one is free).
set -u
BIN=$(cd "$1" && pwd)
SECS=${2:-2}
ROUNDS=${3:-30}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/bench/lib.sh"
bench_tmp obs
[ -n "${KEEP_TMP:-}" ] && echo "tmp: $TMP" >&2

# The fixed ES256 key set and token of the fuzz seeds (as bench/sidecar/run.sh).
bench_fuzz_keys

APP=$(free_port)
SINK=$(free_port)
timeout 3600 "$BIN/hello-server" --listen "127.0.0.1:$APP" --workers 1 &
PIDS="$PIDS $!"
TAPP=$!
timeout 3600 "$BIN/hello-server" --listen "127.0.0.1:$SINK" --workers 1 &
PIDS="$PIDS $!"
TSINK=$!
# The hello-servers themselves (children of timeout(1)): their CPU time is part of the cost.
child_of() {
    i=0
    while [ $i -lt 50 ] && [ -z "$(cat "/proc/$1/task/$1/children" 2>/dev/null)" ]; do
        sleep 0.1
        i=$((i + 1))
    done
    cat "/proc/$1/task/$1/children" | awk '{print $1}'
}
PID_APP=$(child_of "$TAPP")
PID_SINK=$(child_of "$TSINK")

# config NAME [TRACING-RATE]: a Configuration with the bearer pipeline (and spec.tracing).
config() {
    mkdir -p "$TMP/$1"
    bench_bearer_yaml https://issuer.test/ fuzz jwks "$JWKS" > "$TMP/$1/res.yaml"
    if [ $# -ge 2 ]; then
        printf '  tracing:\n    samplingRate: "%s"\n    otel:\n      endpointAddress: "127.0.0.1:%s"\n      protocol: http\n' \
            "$2" "$SINK" >> "$TMP/$1/res.yaml"
    fi
}
cpu_ticks() { # PID of a sidecar: utime + stime in clock ticks
    awk '{print $14 + $15}' "/proc/$1/stat"
}
start() { # NAME [sidecar flags...]
    name=$1; shift
    "$BIN/warden" sidecar --app-id app --app-port "$APP" --http-port 0 --workers 1 \
        --metrics-port 0 --resources-path "$TMP/$name" --config auth --ca-dir "$TMP/ca" \
        --log-level warn "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" &
    PIDS="$PIDS $!"
    eval "PID_$name=$!"
    wait_ready "$TMP/$name.out"
}
VARIANTS=${VARIANTS:-base trace0 trace1 audit}
case " $VARIANTS " in
*" base "*) ;;
*) echo "VARIANTS must include base (the ratios are to it)" >&2; exit 2 ;;
esac
# A variant left out of VARIANTS shows as 0 in the ratios.
for v in base trace0 trace1 audit; do eval "rps_$v=0; us_$v=0; all_$v=0; idle_$v=0"; done
config base
config ca
config trace0 0
config trace1 1
config audit

if [ "${MODE:-}" = ir ]; then
    N=${2:-2000}
    # The first sidecar makes the CA in --ca-dir: done here, outside what is counted (it would
    # otherwise fall on the first variant's N-request run and lower its count per request).
    start ca
    kill "$PID_ca"
    wait "$PID_ca" 2>/dev/null
    # ir NAME COUNT [sidecar flags...]: instructions of a sidecar that served COUNT requests.
    ir() {
        name=$1 count=$2; shift 2
        rm -f "$TMP/cg.$name.$count"*
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$TMP/cg.$name.$count" \
            "$BIN/warden" sidecar --app-id app --app-port "$APP" --http-port 0 --workers 1 \
            --resources-path "$TMP/$name" --config auth --ca-dir "$TMP/ca" --log-level warn "$@" \
            >"$TMP/ir.out" 2>"$TMP/ir.err" &
        vpid=$!
        i=0
        while [ $i -lt 1800 ] && ! grep -q 'ready:' "$TMP/ir.out" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
        u="http://127.0.0.1:$(port_of "$TMP/ir.out" http)/v1.0/invoke/app/method/mcp"
        ok=$(node "$SRC/bench/sidecar/nreq.js" "$u" "$count" 4 "Authorization: Bearer $TOK")
        if [ "$ok" != "$count" ]; then
            echo "warning: $name: $ok of $count requests answered 200" >&2
            tail -n 5 "$TMP/ir.out" "$TMP/ir.err" >&2
        fi
        sleep 1.5 # the exporter's last batch and the audit writer's timer
        kill -TERM "$vpid"
        wait "$vpid" 2>/dev/null
        # One file per thread: "ALL REQ", instructions of every thread and of the threads that
        # are neither the audit writer (wdn__audit_line) nor the span exporter (wdn_otlp_encode).
        all=0 req=0
        for f in "$TMP/cg.$name.$count"-*; do
            t=$(awk '/^summary:/ {print $2; exit} /^totals:/ {print $2; exit}' "$f")
            all=$((all + ${t:-0}))
            grep -qE '^c?fn=\([0-9]+\) (wdn__audit_line|wdn_otlp_encode)$' "$f" || req=$((req + ${t:-0}))
        done
        echo "$all $req"
        [ -n "${KEEP_CG:-}" ] && cp "$TMP/cg.$name.$count"-* "$KEEP_CG/"
    }
    echo "== instructions per request (callgrind, all threads), $N and $((3 * N)) requests each"
    for v in $VARIANTS; do
        extra=""
        [ "$v" = audit ] && extra="--audit-log $TMP/ir-audit/$v.log"
        set -- $(ir "$v" "$N" $extra)
        a=$1 ar=$2
        rm -rf "$TMP/ir-audit"
        set -- $(ir "$v" $((3 * N)) $extra)
        b=$1 br=$2
        rm -rf "$TMP/ir-audit"
        per=$(( (b - a) / (2 * N) ))
        perq=$(( (br - ar) / (2 * N) ))
        eval "ir_$v=$per; irq_$v=$perq"
        echo "$v: $per instructions/request, $perq in the request's threads"
    done
    # A variant left out of VARIANTS shows as 0.
    awk -v b="${ir_base:-1}" -v t0="${ir_trace0:-0}" -v t1="${ir_trace1:-0}" -v a="${ir_audit:-0}" \
        -v qb="${irq_base:-1}" -v q0="${irq_trace0:-0}" -v q1="${irq_trace1:-0}" -v qa="${irq_audit:-0}" \
        'BEGIN {printf "ratio to base, all threads: trace0 %.3f, trace1 %.3f, audit %.3f\n", t0 / b, t1 / b, a / b
                printf "ratio to base, request threads: trace0 %.3f, trace1 %.3f, audit %.3f\n", q0 / qb, q1 / qb, qa / qb}'
    exit 0
fi

# start_variant NAME: that variant's sidecar. The audit log lives outside the resources folder:
# the sidecar watches that folder, and a log written there made it reload its configuration ~15
# times a second during the audit slot (each write restarted the 50 ms debounce timer; each reload
# read and checked the YAML again, rebuilt the pipeline and published a new generation, on the
# sidecar's main thread). Every round starts its own sidecars (the audit one continues the same
# log and chain) and begins one variant further on: no variant's figure depends on one process's
# luck (heap layout, where the scheduler put it) or on always following the same variant.
start_variant() {
    case $1 in
    audit) start audit --audit-log "$TMP/audit-log/app.log" ;;
    *) start "$1" ;;
    esac
    u="http://127.0.0.1:$(port_of "$TMP/$1.out" http)/v1.0/invoke/app/method/mcp"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "$u")
    [ "$code" = 200 ] || echo "warning: $1 answered $code"
    # A second of load before it is measured: its heap, queues and connections in use, as in a
    # sidecar that has been serving for a while.
    wrk -t1 -c32 -d1s -H "Authorization: Bearer $TOK" "$u" > /dev/null
}
# stop_variant NAME: adds what its sidecar counted to the run's totals, then stops it.
stop_variant() {
    pid=$(eval echo "\$PID_$1")
    curl -s "http://127.0.0.1:$(port_of "$TMP/$1.out" metrics)/metrics" |
        grep -E '^warden_(trace_spans_total|trace_export_failures_total|audit_records_total|audit_dropped_total|config_reloads_total)' |
        sed "s/^/$1: /" >> "$TMP/counters"
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
}
: > "$TMP/counters"

HZ=$(getconf CLK_TCK)
NCPU=$(getconf _NPROCESSORS_ONLN)
idle_ticks() { awk '/^cpu / {print $5; exit}' /proc/stat; }
echo "== requests/s and sidecar CPU us/request, one sidecar (bearer, cached token), wrk -t1 -c32 -d${SECS}s, $ROUNDS rounds"
echo "round: $VARIANTS (req/s) | sidecar CPU us/req | sidecar + app + collector CPU us/req" \
    "| trace0/base trace1/base audit/base (req/s) | (sidecar CPU/req) | (all CPU/req) | CPUs idle % ($VARIANTS)"
: > "$TMP/ratios"
r=1
NV=$(echo $VARIANTS | wc -w)
while [ $r -le "$ROUNDS" ]; do
    line=""
    cpus=""
    alls=""
    idles=""
    for v in $VARIANTS; do start_variant "$v"; done
    # Each round begins one variant further on, so no variant always follows the same one.
    k=$(( (r - 1) % NV ))
    order="$(echo $VARIANTS | tr ' ' '\n' | tail -n +$((k + 1)) | tr '\n' ' ')$(echo $VARIANTS | tr ' ' '\n' | head -n $k | tr '\n' ' ')"
    for v in $order; do
        u="http://127.0.0.1:$(port_of "$TMP/$v.out" http)/v1.0/invoke/app/method/mcp"
        pid=$(eval echo "\$PID_$v")
        c0=$(cpu_ticks "$pid")
        o0=$(($(cpu_ticks "$PID_APP") + $(cpu_ticks "$PID_SINK")))
        i0=$(idle_ticks)
        wrk -t1 -c32 -d"${SECS}s" -H "Authorization: Bearer $TOK" "$u" > "$TMP/wrk.out"
        c1=$(cpu_ticks "$pid")
        o1=$(($(cpu_ticks "$PID_APP") + $(cpu_ticks "$PID_SINK")))
        i1=$(idle_ticks)
        rps=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk.out")
        if grep -q 'Non-2xx' "$TMP/wrk.out"; then
            echo "warning: $v: $(grep 'Non-2xx' "$TMP/wrk.out")"
        fi
        n=$(awk '/requests in/ {print $1}' "$TMP/wrk.out")
        us=$(awk -v d=$((c1 - c0)) -v hz="$HZ" -v n="$n" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')
        all=$(awk -v d=$((c1 - c0 + o1 - o0)) -v hz="$HZ" -v n="$n" 'BEGIN {printf "%.1f", d * 1e6 / hz / n}')
        idle=$(awk -v d=$((i1 - i0)) -v hz="$HZ" -v s="$SECS" -v n="$NCPU" 'BEGIN {printf "%.0f", d * 100 / hz / s / n}')
        eval "rps_$v=$rps; us_$v=$us; all_$v=$all; idle_$v=$idle"
    done
    for v in $VARIANTS; do
        stop_variant "$v"
        line="$line $(eval echo "\$rps_$v")"
        cpus="$cpus $(eval echo "\$us_$v")"
        alls="$alls $(eval echo "\$all_$v")"
        idles="$idles $(eval echo "\$idle_$v")"
    done
    ratios=$(awk -v b="$rps_base" -v t0="$rps_trace0" -v t1="$rps_trace1" -v a="$rps_audit" \
        -v cb="$us_base" -v c0="$us_trace0" -v c1="$us_trace1" -v ca="$us_audit" \
        -v sb="$all_base" -v s0="$all_trace0" -v s1="$all_trace1" -v sa="$all_audit" \
        'BEGIN {printf "%.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f %.3f", t0 / b, t1 / b, a / b,
                c0 / cb, c1 / cb, ca / cb, s0 / sb, s1 / sb, sa / sb}')
    echo "$r:$line |$cpus |$alls | $ratios |$idles"
    echo "$ratios" >> "$TMP/ratios"
    r=$((r + 1))
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "median throughput ratio to base: trace0 $(cut -d' ' -f1 "$TMP/ratios" | median)," \
    "trace1 $(cut -d' ' -f2 "$TMP/ratios" | median), audit $(cut -d' ' -f3 "$TMP/ratios" | median)"
echo "median CPU-per-request ratio to base: trace0 $(cut -d' ' -f4 "$TMP/ratios" | median)," \
    "trace1 $(cut -d' ' -f5 "$TMP/ratios" | median), audit $(cut -d' ' -f6 "$TMP/ratios" | median)"
echo "median CPU-per-request ratio to base, sidecar + app + collector:" \
    "trace0 $(cut -d' ' -f7 "$TMP/ratios" | median)," \
    "trace1 $(cut -d' ' -f8 "$TMP/ratios" | median), audit $(cut -d' ' -f9 "$TMP/ratios" | median)"

# What the recording sidecars did meanwhile, summed over the rounds (nothing lost is part of the
# result).
grep -E '^(trace1|audit): ' "$TMP/counters" |
    awk '{v[$1 " " $2] += $3; if (!(($1 " " $2) in seen)) {seen[$1 " " $2] = 1; k[++n] = $1 " " $2}}
         END {for (i = 1; i <= n; i++) print k[i], v[k[i]]}'
"$BIN/warden" audit verify "$TMP/audit-log/app.log"* | sed 's/^/audit: /'
