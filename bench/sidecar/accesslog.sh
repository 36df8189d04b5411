#!/bin/sh
# What a log line per request costs the peer (issue 17's audit target, read against nginx).
# Usage: bench/sidecar/accesslog.sh BIN [SECONDS] [ROUNDS]   (BIN: a Release build's bin folder)
#
# Three nginx proxies in front of the same hello-server, one worker each (as observe.sh's
# sidecars), identical but for their access log: `off` (none), `each` (nginx's default: a write
# per request) and `buffered` (`buffer=256k flush=50ms`, batches as warden's audit writer makes
# them). The line is shaped like warden's audit record (~330 bytes of JSON: time, app ID, kind,
# decision, issuer, subject, method, path, a 32-hex ID and a 64-hex one) but nothing is hashed or
# chained. wrk (-t1 -c32) drives each for SECONDS in turn, ROUNDS times, each round beginning one
# proxy further on; it prints requests/s per round and the median ratio to `off`, so that audit's
# ratio in bench/sidecar/observe.sh can be read against what a plain log costs on the same machine.
set -u
BIN=$(cd "$1" && pwd)
SECS=${2:-2}
ROUNDS=${3:-30}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/bench/lib.sh"
bench_tmp alog
for t in nginx wrk node; do
    command -v $t >/dev/null || { echo "accesslog.sh needs $t" >&2; exit 2; }
done
APP=$(free_port)
timeout 3600 "$BIN/hello-server" --listen "127.0.0.1:$APP" --workers 1 &
PIDS="$PIDS $!"
chmod 755 "$TMP"
VARIANTS="off each buffered"
for v in $VARIANTS; do
    port=$(free_port)
    eval "PORT_$v=$port"
    case $v in
    off) log="access_log off;" ;;
    each) log="access_log $TMP/$v/logs/access.log audit;" ;;
    buffered) log="access_log $TMP/$v/logs/access.log audit buffer=256k flush=50ms;" ;;
    esac
    mkdir -p "$TMP/$v/logs"
    chmod 777 "$TMP/$v/logs"
    cat > "$TMP/$v.conf" <<NGINX
worker_processes 1;
pid $TMP/$v.pid;
error_log $TMP/$v/error.log warn;
events { worker_connections 1024; }
http {
    log_format audit escape=json '{"seq":\$connection_requests,"time":"\$time_iso8601","app_id":"app","kind":"bearer","decision":"allow","reason":"ok","iss":"https://issuer.test/","sub":"u","verb":"\$request_method","path":"\$uri","generation":1,"trace_id":"\$request_id","prev":"\$request_id\$request_id"}';
    $log
    upstream app { server 127.0.0.1:$APP; keepalive 64; }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGINX
    nginx -c "$TMP/$v.conf" -p "$TMP/$v" -g 'daemon off;' 2>"$TMP/$v.err" &
    PIDS="$PIDS $!"
done
sleep 0.5
for v in $VARIANTS; do
    u="http://127.0.0.1:$(eval echo "\$PORT_$v")/v1.0/invoke/app/method/mcp"
    code=$(curl -s -o /dev/null -w '%{http_code}' "$u")
    [ "$code" = 200 ] || { echo "nginx $v answered $code" >&2; cat "$TMP/$v.err" >&2; exit 1; }
    wrk -t1 -c32 -d1s "$u" > /dev/null
done
echo "== requests/s, nginx proxy_pass (one worker) by access log, wrk -t1 -c32 -d${SECS}s, $ROUNDS rounds"
echo "round: off each buffered (req/s) | each/off buffered/off"
: > "$TMP/ratios"
r=1
while [ $r -le "$ROUNDS" ]; do
    k=$(( (r - 1) % 3 ))
    order="$(echo $VARIANTS | tr ' ' '\n' | tail -n +$((k + 1)) | tr '\n' ' ')$(echo $VARIANTS | tr ' ' '\n' | head -n $k | tr '\n' ' ')"
    for v in $order; do
        u="http://127.0.0.1:$(eval echo "\$PORT_$v")/v1.0/invoke/app/method/mcp"
        eval "rps_$v=$(wrk -t1 -c32 -d"${SECS}s" "$u" | awk '/Requests\/sec/ {print $2}')"
    done
    ratios=$(awk -v o="$rps_off" -v e="$rps_each" -v b="$rps_buffered" 'BEGIN {printf "%.3f %.3f", e / o, b / o}')
    echo "$r: $rps_off $rps_each $rps_buffered | $ratios"
    echo "$ratios" >> "$TMP/ratios"
    r=$((r + 1))
done
median() { sort -n | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
echo "median throughput ratio to off: each $(cut -d' ' -f1 "$TMP/ratios" | median)," \
    "buffered $(cut -d' ' -f2 "$TMP/ratios" | median)"
for v in each buffered; do
    f="$TMP/$v/logs/access.log"
    echo "$v: $(wc -l < "$f") lines, $(($(wc -c < "$f") / $(wc -l < "$f"))) bytes a line"
done
