#!/bin/sh
# Sidecar benchmarks (docs/benchmarks/sidecar.md). Usage: [PARTS=123] bench/sidecar/run.sh BIN [SECONDS]
# where BIN is a Release build's bin folder (warden, hello-server, wdn-fixedrate).
#  1. requests/s through one sidecar with the bearer middleware (a valid, cached token) against
#     nginx proxy_pass (no auth) to the same hello-server, and the hello-server alone;
#  2. latency added by two sidecars with mTLS at 1000 req/s (open loop) against the app alone;
#  3. the sidecar's idle RSS.
set -u
BIN=$(cd "$1" && pwd)
SECS=${2:-10}
PARTS=${PARTS:-123} # PARTS=2 runs only the latency part
want() { case "$PARTS" in *"$1"*) return 0 ;; esac; return 1; }
SRC=$(cd "$(dirname "$0")/../.." && pwd)
. "$SRC/bench/lib.sh"
bench_tmp sc
PIDFILES="$TMP/nginx.pid $TMP/nga.pid $TMP/ngb.pid"
cpu_ns() { # PID...: CPU time of these processes and their children (every thread), in ns, from
    # the scheduler's own accounting (/proc/PID/task/TID/schedstat), finer than clock ticks
    for p in "$@"; do for c in $p $(pgrep -P "$p"); do cat /proc/"$c"/task/*/schedstat; done; done \
        2>/dev/null | awk '{t += $1} END {printf "%.0f", t}'
}
cores() { # NS0 NS1: cores used over the SECS of a run
    echo "$1 $2 $SECS" | awk '{printf "%.3f", ($2 - $1) / 1e9 / $3}'
}
rss() { # PID of the `timeout` wrapper: the sidecar is its child. RSS, private (USS) and PSS.
    echo "RSS $(rss_of "$(pgrep -P "$1" | head -1)")"
}

# A fixed ES256 key set and a token valid until 2100 (the fuzz seeds' key, iss/aud below).
bench_fuzz_keys

APP=$(free_port)
timeout 900 "$BIN/hello-server" --listen "127.0.0.1:$APP" --workers 1 &
PIDS="$PIDS $!"

mkdir -p "$TMP/res"
bench_bearer_yaml https://issuer.test/ fuzz jwks "$JWKS" > "$TMP/res/bearer.yaml"

if want 1; then
echo "== 1. throughput, wrk -t1 -c32 -d${SECS}s, every server with one worker"
timeout 900 "$BIN/warden" sidecar --app-id app --app-port "$APP" --http-port 0 --workers 1 \
    --resources-path "$TMP/res" --config auth --ca-dir "$TMP/ca" --log-level warn \
    >"$TMP/s1.out" 2>"$TMP/s1.err" &
PIDS="$PIDS $!"
S1PID=$!
wait_ready "$TMP/s1.out"
H=$(port_of "$TMP/s1.out" http)
NG=$(free_port)
mkdir -p "$TMP/nginx/logs"
cat > "$TMP/nginx.conf" <<NGINX
worker_processes 1;
pid $TMP/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    upstream app { server 127.0.0.1:$APP; keepalive 64; }
    server {
        listen 127.0.0.1:$NG;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGINX
# In the foreground of this script's session, like the sidecars: `daemon on` calls setsid(), and
# with the kernel's autogroup scheduling (on here) that gives nginx a CPU share of its own.
nginx -c "$TMP/nginx.conf" -p "$TMP/nginx" -g 'daemon off;' 2>/dev/null &
sleep 0.3
[ -s "$TMP/nginx.pid" ] || { sleep 1; [ -s "$TMP/nginx.pid" ] || echo "nginx failed to start"; }
U="http://127.0.0.1:$H/v1.0/invoke/app/method/mcp"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOK" "$U")
[ "$code" = 200 ] || echo "warning: the token was refused ($code)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$U")
[ "$code" = 401 ] || echo "warning: no token was not refused ($code)"
run_wrk() { # NAME URL [HEADER]
    if [ $# -ge 3 ]; then r=$(wrk -t1 -c32 -d"${SECS}s" -H "$3" "$2" | awk '/Requests\/sec/ {print $2}')
    else r=$(wrk -t1 -c32 -d"${SECS}s" "$2" | awk '/Requests\/sec/ {print $2}'); fi
    echo "$1 $r"
}
for round in 1 2; do
    run_wrk "hello-server-direct" "http://127.0.0.1:$APP/mcp"
    run_wrk "nginx-proxy_pass" "http://127.0.0.1:$NG/mcp"
    run_wrk "sidecar-bearer" "$U" "Authorization: Bearer $TOK"
done
echo "RSS of the sidecar after the load: $(rss $S1PID)"
kill "$(cat "$TMP/nginx.pid")" 2>/dev/null
kill "$S1PID"

fi

if want 2; then
echo "== 2. latency at 1000 req/s, 16 connections, ${SECS}s, open loop (wdn-fixedrate)"
PA=$(free_port)
PB=$(free_port)
printf 'caller 127.0.0.1:%s\ncallee 127.0.0.1:%s\n' "$PA" "$PB" > "$TMP/peers"
timeout 900 "$BIN/warden" sidecar --app-id callee --app-port "$APP" --http-port 0 \
    --internal-port "$PB" --workers 1 --peers "$TMP/peers" --ca-dir "$TMP/ca" --log-level warn \
    >"$TMP/b.out" 2>"$TMP/b.err" &
PIDS="$PIDS $!"
BPID=$!
timeout 900 "$BIN/warden" sidecar --app-id caller --http-port 0 --internal-port "$PA" \
    --workers 1 --peers "$TMP/peers" --ca-dir "$TMP/ca" --log-level warn \
    >"$TMP/a.out" 2>"$TMP/a.err" &
PIDS="$PIDS $!"
APID=$!
wait_ready "$TMP/a.out"
wait_ready "$TMP/b.out"
HA=$(port_of "$TMP/a.out" http)
V="http://127.0.0.1:$HA/v1.0/invoke/callee/method/mcp"
code=$(curl -s -o /dev/null -w '%{http_code}' "$V")
[ "$code" = 200 ] || echo "warning: invocation through two sidecars answered $code"
echo "idle RSS of a sidecar before load: $(rss $APID)"

# The peer for the same path: two nginx (one worker each) with mutual TLS between them,
# nginx A (plain HTTP in) -> TLS 1.3, P-256 client and server certificates -> nginx B -> app,
# keep-alive upstreams on both hops.
mkdir -p "$TMP/pki" "$TMP/nga/logs" "$TMP/ngb/logs"
(
    cd "$TMP/pki" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj /CN=bench-ca -keyout ca.key -out ca.crt
    for n in server client; do
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$n" \
            -keyout $n.key -out $n.csr
        printf 'subjectAltName=DNS:peer.bench\n' > $n.ext
        openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
            -extfile $n.ext -out $n.crt
    done
) >/dev/null 2>&1
NA=$(free_port)
NB=$(free_port)
cat > "$TMP/ngb.conf" <<NGINX
worker_processes 1;
pid $TMP/ngb.pid;
error_log $TMP/ngb/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    upstream app { server 127.0.0.1:$APP; keepalive 64; }
    server {
        listen 127.0.0.1:$NB ssl;
        ssl_protocols TLSv1.3;
        ssl_certificate $TMP/pki/server.crt;
        ssl_certificate_key $TMP/pki/server.key;
        ssl_client_certificate $TMP/pki/ca.crt;
        ssl_verify_client on;
        location / {
            proxy_pass http://app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGINX
cat > "$TMP/nga.conf" <<NGINX
worker_processes 1;
pid $TMP/nga.pid;
error_log $TMP/nga/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    upstream peer { server 127.0.0.1:$NB; keepalive 64; }
    server {
        listen 127.0.0.1:$NA;
        location / {
            proxy_pass https://peer;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_protocols TLSv1.3;
            proxy_ssl_certificate $TMP/pki/client.crt;
            proxy_ssl_certificate_key $TMP/pki/client.key;
            proxy_ssl_trusted_certificate $TMP/pki/ca.crt;
            proxy_ssl_verify on;
            proxy_ssl_name peer.bench;
            proxy_ssl_session_reuse on;
        }
    }
}
NGINX
nginx -c "$TMP/ngb.conf" -p "$TMP/ngb" -g 'daemon off;' &
nginx -c "$TMP/nga.conf" -p "$TMP/nga" -g 'daemon off;' &
sleep 0.3
for f in nga ngb; do
    [ -s "$TMP/$f.pid" ] || { sleep 1; [ -s "$TMP/$f.pid" ] || echo "nginx $f failed to start"; }
done
N="http://127.0.0.1:$NA/mcp"
code=$(curl -s -o /dev/null -w '%{http_code}' "$N")
[ "$code" = 200 ] || echo "warning: invocation through two nginx answered $code"

# Pins every process of the path (app, sidecars, nginx) to the CPUs in $1; "0-" = all again.
pin_all() {
    cpus=$1
    [ "$cpus" = "0-" ] && cpus="0-$(($(nproc) - 1))"
    for w in $PIDS; do
        for p in $w $(pgrep -P "$w"); do taskset -a -p -c "$cpus" "$p" >/dev/null 2>&1; done
    done
    for f in "$TMP/nga.pid" "$TMP/ngb.pid"; do
        m=$(cat "$f")
        for p in $m $(pgrep -P "$m"); do taskset -a -p -c "$cpus" "$p" >/dev/null 2>&1; done
    done
}
# Warm-up: connections and TLS sessions are set up once, as in steady state.
"$BIN/wdn-fixedrate" -u "$V" -r 1000 -c 16 -d 2 >/dev/null
"$BIN/wdn-fixedrate" -u "$N" -r 1000 -c 16 -d 2 >/dev/null
NGA=$(cat "$TMP/nga.pid")
NGB=$(cat "$TMP/ngb.pid")
latency_rounds() { # LABEL TASKSET-PREFIX...
    label=$1
    shift
    for round in 1 2 3; do
        echo "[$label] direct:        $("$@" "$BIN/wdn-fixedrate" -u "http://127.0.0.1:$APP/mcp" -r 1000 -c 16 -d "$SECS")"
        na0=$(cpu_ns $NGA); nb0=$(cpu_ns $NGB)
        echo "[$label] two nginx:     $("$@" "$BIN/wdn-fixedrate" -u "$N" -r 1000 -c 16 -d "$SECS")"
        na1=$(cpu_ns $NGA); nb1=$(cpu_ns $NGB)
        a0=$(cpu_ns $APID); b0=$(cpu_ns $BPID)
        echo "[$label] two sidecars:  $("$@" "$BIN/wdn-fixedrate" -u "$V" -r 1000 -c 16 -d "$SECS")"
        a1=$(cpu_ns $APID); b1=$(cpu_ns $BPID)
        echo "  CPU per sidecar at 1000 req/s: caller $(cores $a0 $a1) cores, callee $(cores $b0 $b1) cores"
        echo "  CPU per nginx at 1000 req/s (same round): A $(cores $na0 $na1) cores, B $(cores $nb0 $nb1) cores"
    done
}
latency_rounds "any CPU" env
# The same with every process, the load generator included, on one CPU: on this 2-vCPU VM
# (Firecracker, no cpuidle driver) a wake-up on the other vCPU costs an IPI and a VM exit,
# which is the hypervisor's tail, not the proxy's.
pin_all 1
latency_rounds "one CPU" taskset -c 1
pin_all 0-
for f in "$TMP/nga.pid" "$TMP/ngb.pid"; do [ -f "$f" ] && kill "$(cat "$f" 2>/dev/null)" 2>/dev/null; done

fi

if want 3; then
echo "== 3. idle RSS"
timeout 900 "$BIN/warden" sidecar --app-id idle --app-port "$APP" --http-port 0 \
    --resources-path "$TMP/res" --config auth --ca-dir "$TMP/ca" --log-level warn \
    >"$TMP/i.out" 2>"$TMP/i.err" &
PIDS="$PIDS $!"
IPID=$!
wait_ready "$TMP/i.out"
sleep 2
echo "sidecar (bearer configuration, default workers) VmRSS: $(rss $IPID)"
fi
