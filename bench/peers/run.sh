#!/bin/sh
# The request path against its peers, in one run (docs/benchmarks/sidecar.md, issue 20):
#   warden sidecar + bearer middleware | nginx proxy_pass (no auth at all, the reference) |
#   HAProxy 2.6 jwt_verify + claim checks | Apache 2.4 + mod_auth_openidc
# every proxy with 2 workers in front of the same upstream (hello-server, 2 workers), driven by
# `wrk -t2 -c50`, with RS256 access tokens minted at run time whose key set is served over HTTPS:
#   "one token"      the same token on every request (the verified-token cache answers);
#   "distinct"       40,000 tokens in turn, so every request verifies a signature: each wrk
#                    thread starts at its own offset, so a token comes back after TOKENS /
#                    THREADS requests, more than warden's default cache holds (8 MiB / 512 B per
#                    slot = 16,384; since its entries are ~0.4 KB the slots, not the bytes, are
#                    the bound, and 20,000 tokens gave a third of the requests cache hits).
# ROUNDS interleaved rounds; in each, every proxy runs each workload for SECONDS, in an order
# that rotates from round to round. Prints requests/s, the ratio to nginx in the same round
# (median and range), the CPU time each proxy spent per request (all its processes, from /proc:
# steadier than requests/s on a shared machine), the sidecar's token-cache hits and misses per
# workload and its RSS. Every server runs in the foreground in this script's session (see the
# autogroup note below) and is checked first: a valid token passes, none and a forged one don't.
#
# Usage: bench/peers/run.sh BIN [SECONDS] [ROUNDS]     BIN: a Release build's bin folder
#   (warden, hello-server, wdn-mint). Needs root for bench/peers/setup.sh on the first run.
#   PEERS="nginx warden haproxy apache" picks proxies (nginx is always run: ratios need it);
#   TOKENS=40000 sets the number of distinct tokens; CONNS=50, THREADS=2 the load.
#   PROFILE=perf|callgrind|strace OUT=DIR profiles the sidecar under both workloads instead
#   (below).
set -u
BIN=$(cd "$1" && pwd)
SECS=${2:-10}
ROUNDS=${3:-3}
TOKENS=${TOKENS:-40000}
CONNS=${CONNS:-50}
THREADS=${THREADS:-2}
PEERS=${PEERS:-"nginx warden haproxy apache"}
if [ -n "${PROFILE:-}" ]; then
    PEERS="nginx warden"
    OUT=$(mkdir -p "${OUT:-profile}" && cd "${OUT:-profile}" && pwd)
fi
case " $PEERS " in *" nginx "*) ;; *) PEERS="nginx $PEERS" ;; esac
SRC=$(cd "$(dirname "$0")/../.." && pwd)
want_peer() { case " $PEERS " in *" $1 "*) return 0 ;; esac; return 1; }

"$SRC/bench/peers/setup.sh" || exit 1
for t in nginx haproxy apache2 wrk openssl curl node; do
    command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || {
        echo "bench/peers: $t is missing (bench/peers/setup.sh, scripts/bootstrap)" >&2
        exit 1
    }
done
for b in warden hello-server wdn-mint; do
    [ -x "$BIN/$b" ] || { echo "bench/peers: $BIN/$b is missing (run make)" >&2; exit 1; }
done

. "$SRC/bench/lib.sh"
CLEANUP_WAIT=0.5
bench_tmp peers
# nginx and Apache workers run as unprivileged users and read their files from here.
chmod 755 "$TMP"
wait_for() { # CMD...: polls up to 20 s
    i=0
    while [ $i -lt 200 ] && ! "$@" >/dev/null 2>&1; do sleep 0.1; i=$((i + 1)); done
}
status_of() { # URL [HEADER]
    if [ $# -ge 2 ]; then curl -s -o /dev/null -w '%{http_code}' -H "$2" "$1"
    else curl -s -o /dev/null -w '%{http_code}' "$1"; fi
}
is_200() { [ "$(status_of "$@")" = 200 ]; }
rss() { echo "RSS $(rss_of "$1")"; } # PID: RSS, private (USS) and PSS of the process

APP=$(free_port); JW=$(free_port); NG=$(free_port); HP=$(free_port); AP=$(free_port)
ISS="https://127.0.0.1:$JW/"
AUD="https://api.bench"

# ---- Keys, tokens, and the key set over HTTPS ---------------------------------------------
mkdir -p "$TMP/pki" "$TMP/www" "$TMP/jw/logs"
(
    cd "$TMP/pki" || exit 1
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
        -subj /CN=bench-ca -keyout ca.key -out ca.crt
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
        -keyout jwks.key -out jwks.csr
    printf 'subjectAltName=IP:127.0.0.1\n' > jwks.ext
    openssl x509 -req -in jwks.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
        -extfile jwks.ext -out jwks.crt
) >/dev/null 2>&1
chmod 644 "$TMP"/pki/*
t0=$(date +%s)
"$BIN/wdn-mint" --jwks "$TMP/www/jwks.json" --tokens "$TMP/distinct.txt" --issuer "$ISS" \
    --audience "$AUD" -n "$TOKENS" --ttl 14400 || exit 1
head -1 "$TMP/distinct.txt" > "$TMP/one.txt"
chmod 644 "$TMP/www/jwks.json"
echo "minted $TOKENS RS256 tokens in $(($(date +%s) - t0)) s ($(head -1 "$TMP/one.txt" | wc -c) bytes each)"
TOK=$(cat "$TMP/one.txt")
# A token whose signature does not match (one character inside the signature changed).
BAD=$(printf '%s' "$TOK" | awk '{n = length($0) - 10; c = substr($0, n, 1) == "A" ? "B" : "A";
                                  print substr($0, 1, n - 1) c substr($0, n + 1)}')

cat > "$TMP/jw.conf" <<NGINX
worker_processes 1;
pid $TMP/jw.pid;
error_log $TMP/jw/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    server {
        listen 127.0.0.1:$JW ssl;
        ssl_certificate $TMP/pki/jwks.crt;
        ssl_certificate_key $TMP/pki/jwks.key;
        root $TMP/www;
        default_type application/json;
        location = /jwks.json { add_header Cache-Control "max-age=3600"; }
    }
}
NGINX
nginx -c "$TMP/jw.conf" -p "$TMP/jw" -g 'daemon off;' &
PIDS="$PIDS $!"
wait_for curl -sf --cacert "$TMP/pki/ca.crt" "https://127.0.0.1:$JW/jwks.json"

# ---- The upstream -----------------------------------------------------------------------------
timeout 3600 "$BIN/hello-server" --listen "127.0.0.1:$APP" --workers 2 &
PIDS="$PIDS $!"
wait_for is_200 "http://127.0.0.1:$APP/mcp"

# ---- nginx proxy_pass, no authentication ------------------------------------------------------
mkdir -p "$TMP/nginx/logs"
cat > "$TMP/nginx.conf" <<NGINX
worker_processes 2;
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
nginx -c "$TMP/nginx.conf" -p "$TMP/nginx" -g 'daemon off;' &
PIDS="$PIDS $!"
ROOT_nginx=$!

# ---- warden sidecar, bearer middleware (jwksURL over HTTPS) ---------------------------------
mkdir -p "$TMP/res"
bench_bearer_yaml "$ISS" "$AUD" jwksURL "https://127.0.0.1:$JW/jwks.json" > "$TMP/res/bearer.yaml"
VG=""
if [ "${PROFILE:-}" = callgrind ]; then
    VG="valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=$OUT/callgrind.out.%p"
fi
WARDEN_CA_FILE="$TMP/pki/ca.crt" timeout 3600 $VG "$BIN/warden" sidecar --app-id app \
    --app-port "$APP" --http-port 0 --metrics-port 0 --workers 2 --resources-path "$TMP/res" \
    --config auth --ca-dir "$TMP/ca" --log-level warn >"$TMP/sc.out" 2>"$TMP/sc.err" &
PIDS="$PIDS $!"
SCW=$!
i=0
while [ $i -lt 600 ] && ! grep -q 'ready:' "$TMP/sc.out" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
SCPID=$(pgrep -P "$SCW" | head -1)
ROOT_warden=$SCPID
WH=$(sed -n 's/.* http-port=\([0-9]*\).*/\1/p' "$TMP/sc.out")
WM=$(sed -n 's/.* metrics-port=\([0-9]*\).*/\1/p' "$TMP/sc.out")

# ---- HAProxy 2.6: jwt_verify + claim checks ----------------------------------------------------
# HAProxy 2.6 reads a PEM public key, not a JWKS: the key set is fetched over HTTPS and its key
# converted, as an HAProxy user would do.
curl -sf --cacert "$TMP/pki/ca.crt" "https://127.0.0.1:$JW/jwks.json" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{
        const k=JSON.parse(s).keys[0];
        process.stdout.write(require("crypto").createPublicKey({key:k,format:"jwk"})
            .export({type:"spki",format:"pem"}));})' > "$TMP/pki/jwt-pub.pem"
cat > "$TMP/haproxy.cfg" <<HAPROXY
global
    nbthread 2
    maxconn 4096
    log stderr format raw local0 emerg
defaults
    mode http
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout http-keep-alive 60s
    option http-keep-alive
frontend fe
    bind 127.0.0.1:$HP
    http-request deny deny_status 401 unless { req.hdr(authorization) -m found }
    http-request set-var(txn.bearer) http_auth_bearer
    http-request set-var(txn.jwt_alg) var(txn.bearer),jwt_header_query('\$.alg')
    http-request set-var(txn.jwt_iss) var(txn.bearer),jwt_payload_query('\$.iss')
    http-request set-var(txn.jwt_aud) var(txn.bearer),jwt_payload_query('\$.aud')
    http-request set-var(txn.jwt_exp) var(txn.bearer),jwt_payload_query('\$.exp','int')
    http-request set-var(txn.now) date()
    http-request deny deny_status 401 unless { var(txn.jwt_alg) -m str RS256 }
    http-request deny deny_status 401 unless { var(txn.jwt_iss) -m str $ISS }
    http-request deny deny_status 401 unless { var(txn.jwt_aud) -m str $AUD }
    http-request deny deny_status 401 unless { var(txn.bearer),jwt_verify(txn.jwt_alg,"$TMP/pki/jwt-pub.pem") -m int 1 }
    http-request deny deny_status 401 if { var(txn.jwt_exp),sub(txn.now) -m int lt 0 }
    default_backend app
backend app
    http-reuse always
    server s1 127.0.0.1:$APP
HAPROXY
if want_peer haproxy; then
    haproxy -f "$TMP/haproxy.cfg" -db >"$TMP/haproxy.log" 2>&1 &
    PIDS="$PIDS $!"
    ROOT_haproxy=$!
fi

# ---- Apache 2.4 + mod_auth_openidc (OAuth 2.0 resource server, JWKS over HTTPS) -------------
M=/usr/lib/apache2/modules
mkdir -p "$TMP/apache"
chmod 777 "$TMP/apache"
cat > "$TMP/apache.conf" <<APACHE
ServerRoot $TMP/apache
ServerName 127.0.0.1
Listen 127.0.0.1:$AP
PidFile $TMP/apache/httpd.pid
ErrorLog $TMP/apache/error.log
LogLevel warn
DefaultRuntimeDir $TMP/apache
Mutex file:$TMP/apache default
User www-data
Group www-data
LoadModule mpm_event_module $M/mod_mpm_event.so
LoadModule authn_core_module $M/mod_authn_core.so
LoadModule authz_core_module $M/mod_authz_core.so
LoadModule authz_user_module $M/mod_authz_user.so
LoadModule proxy_module $M/mod_proxy.so
LoadModule proxy_http_module $M/mod_proxy_http.so
LoadModule auth_openidc_module $M/mod_auth_openidc.so
StartServers 2
ServerLimit 2
ThreadLimit 64
ThreadsPerChild 64
MinSpareThreads 16
MaxSpareThreads 128
MaxRequestWorkers 128
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
OIDCOAuthVerifyJwksUri https://127.0.0.1:$JW/jwks.json
OIDCOAuthSSLValidateServer On
OIDCCABundlePath $TMP/pki/ca.crt
OIDCCacheType shm
<Location />
    AuthType oauth20
    <RequireAll>
        Require claim iss:$ISS
        Require claim aud:$AUD
    </RequireAll>
</Location>
ProxyPass / http://127.0.0.1:$APP/
APACHE
if want_peer apache; then
    apache2 -f "$TMP/apache.conf" -DFOREGROUND >"$TMP/apache.log" 2>&1 &
    PIDS="$PIDS $!"
    ROOT_apache=$!
fi

# ---- Every proxy answers a valid token and refuses a missing or forged one --------------------
url_of() {
    case $1 in
    nginx) echo "http://127.0.0.1:$NG/mcp" ;;
    warden) echo "http://127.0.0.1:$WH/v1.0/invoke/app/method/mcp" ;;
    haproxy) echo "http://127.0.0.1:$HP/mcp" ;;
    apache) echo "http://127.0.0.1:$AP/mcp" ;;
    esac
}
ok=1
for p in $PEERS; do
    u=$(url_of "$p")
    wait_for is_200 "$u" "Authorization: Bearer $TOK"
    good=$(status_of "$u" "Authorization: Bearer $TOK")
    none=$(status_of "$u")
    forged=$(status_of "$u" "Authorization: Bearer $BAD")
    echo "check $p: valid token $good, no token $none, forged signature $forged"
    [ "$good" = 200 ] || ok=0
    if [ "$p" != nginx ]; then
        case $none in 401 | 403) ;; *) ok=0 ;; esac
        case $forged in 401 | 403) ;; *) ok=0 ;; esac
    fi
done
[ "$ok" = 1 ] || { echo "bench/peers: a proxy failed its checks; no measurement"; exit 1; }

# Every server runs in the foreground, in this script's session: with the kernel's autogroup
# scheduling (sched_autogroup_enabled), a daemon that calls setsid() gets a CPU share of its
# own against the rest of the machine, which on a loaded machine swings its throughput 2-4x
# against the processes left in the script's group (wrk, the upstream, the other proxies).
mine=$(cat /proc/$$/autogroup 2>/dev/null)
for w in $PIDS; do
    for q in $w $(pgrep -P "$w") $(pgrep -P "$(pgrep -P "$w" | tr '\n' ',' | sed 's/,$//')" 2>/dev/null); do
        g=$(cat "/proc/$q/autogroup" 2>/dev/null) || continue
        [ "$g" = "$mine" ] || echo "warning: $(cat "/proc/$q/comm") ($q) runs in another scheduling group ($g)"
    done
done

# ---- Load ---------------------------------------------------------------------------------
# Requests are formatted once per token in init(); each thread starts at its own offset, and
# every run starts where the previous one stopped (the cursor), so a run never begins with the
# tokens the last one just verified (the sidecar's cache would answer them).
cat > "$TMP/tokens.lua" <<'LUA'
local counter = 0
function setup(thread)
    thread:set("tid", counter)
    counter = counter + 1
end
local reqs = {}
local i = 0
function init(args)
    for line in io.lines(args[1]) do
        reqs[#reqs + 1] = wrk.format(nil, nil, {["Authorization"] = "Bearer " .. line})
    end
    i = (tonumber(args[3]) + math.floor(#reqs * (tid or 0) / tonumber(args[2]))) % #reqs
end
function request()
    i = i % #reqs + 1
    return reqs[i]
end
LUA
cpu_ticks() { # PROXY: utime + stime of all its processes so far, in clock ticks
    eval "root=\${ROOT_$1:-}"
    [ -n "$root" ] || { echo 0; return; }
    kids=$(pgrep -P "$root" | tr '\n' ' ')
    for q in $root $kids; do cat "/proc/$q/stat" 2>/dev/null; done |
        awk '{sub(/^.*\) /, ""); t += $12 + $13} END {print t + 0}'
}
HZ=$(getconf CLK_TCK)
run_wrk() { # PROXY TOKEN-FILE SECONDS -> "rps non2xx errors cpu-us-per-request"
    t0=$(cpu_ticks "$1")
    cur=$(cat "$TMP/cursor" 2>/dev/null || echo 0)
    wrk -t"$THREADS" -c"$CONNS" -d"$3s" -s "$TMP/tokens.lua" "$(url_of "$1")" -- "$2" "$THREADS" \
        "$cur" > "$TMP/wrk.out"
    t1=$(cpu_ticks "$1")
    awk -v c="$cur" -v t="$THREADS" -v n="$TOKENS" '/ requests in / {c = (c + int($1 / t)) % n}
        END {print c}' "$TMP/wrk.out" > "$TMP/cursor"
    awk -v t="$((t1 - t0))" -v hz="$HZ" '/Requests\/sec/ {r=$2} /Non-2xx/ {n=$NF} /Socket errors/ {e=$0}
        / requests in / {q=$1}
        END {gsub(/[^0-9 ]/, "", e); split(e, a, " ");
             printf "%s %d %d %.1f\n", r, n, a[1]+a[2]+a[3]+a[4], q ? t / hz * 1e6 / q : 0}' "$TMP/wrk.out"
}
cache_counts() { # "hits misses" of the sidecar's bearer cache so far
    curl -s "http://127.0.0.1:$WM/metrics" |
        awk '/^warden_token_cache_total/ && /result="hit"/ {h+=$NF}
             /^warden_token_cache_total/ && /result="miss"/ {m+=$NF} END {printf "%d %d\n", h, m}'
}
for p in $PEERS; do run_wrk "$p" "$TMP/distinct.txt" 2 >/dev/null; done # warm-up

# ---- Profiles of the sidecar instead of the comparison ----------------------------------------
# PROFILE=perf: perf record -g on the sidecar under each workload, then perf report summaries
#   (by shared object and by symbol, self time). PROFILE=strace: system calls per request
#   (strace -c; the counts, not the times, are what to read: strace slows every call). PROFILE=callgrind: the sidecar ran under
#   callgrind (instrumentation off); it is switched on for each workload, and the instructions per
#   request are the dump's total over the requests the sidecar's token cache counted.
if [ -n "${PROFILE:-}" ]; then
    for w in one distinct; do
        case $PROFILE in
        perf)
            run_wrk warden "$TMP/$w.txt" "$SECS" > "$OUT/wrk-$w.txt" &
            wp=$!
            sleep 1
            perf record -q -g -p "$SCPID" -o "$OUT/perf-$w.data" -- sleep $((SECS - 2)) 2>/dev/null
            wait "$wp"
            perf report -i "$OUT/perf-$w.data" --no-children --sort dso --stdio -g none 2>/dev/null |
                grep -v '^#' | grep -v '^$' | head -12 > "$OUT/perf-$w-dso.txt"
            perf report -i "$OUT/perf-$w.data" --no-children --sort dso,symbol --stdio -g none \
                2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 > "$OUT/perf-$w-sym.txt"
            echo "== perf, $w ($(cat "$OUT/wrk-$w.txt" | cut -d' ' -f1) req/s while recording)"
            cat "$OUT/perf-$w-dso.txt"
            ;;
        strace)
            c0=$(cache_counts)
            strace -c -f -p "$SCPID" -o "$OUT/strace-$w.txt" 2>/dev/null &
            sp=$!
            sleep 1
            run_wrk warden "$TMP/$w.txt" "$SECS" > "$OUT/wrk-$w.txt"
            kill -INT "$sp" 2>/dev/null
            wait "$sp" 2>/dev/null
            c1=$(cache_counts)
            n=$(echo "$c0 $c1" | awk '{print $3 + $4 - $1 - $2}')
            echo "== strace, $w: system calls per request ($n requests)"
            awk -v n="$n" '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ && n > 0 {
                printf "  %-16s %6.2f\n", $NF, $4 / n }' "$OUT/strace-$w.txt" | sort -k2 -n -r | head -12
            ;;
        callgrind)
            c0=$(cache_counts)
            callgrind_control -i on "$SCPID" >/dev/null
            run_wrk warden "$TMP/$w.txt" "$SECS" > "$OUT/wrk-$w.txt"
            callgrind_control -i off "$SCPID" >/dev/null
            c1=$(cache_counts)
            n=$(echo "$c0 $c1" | awk '{print $3 + $4 - $1 - $2}')
            before=$(ls "$OUT"/callgrind.out.* 2>/dev/null | wc -l)
            callgrind_control -d "$w" "$SCPID" >/dev/null
            i=0
            while [ $i -lt 100 ] && [ "$(ls "$OUT"/callgrind.out.* | wc -l)" -le "$before" ]; do sleep 0.1; i=$((i + 1)); done
            f=$(ls -t "$OUT"/callgrind.out.* | head -1)
            mv "$f" "$OUT/callgrind-$w.out"
            callgrind_annotate --inclusive=yes "$OUT/callgrind-$w.out" 2>/dev/null | head -60 > "$OUT/callgrind-$w-incl.txt"
            callgrind_annotate "$OUT/callgrind-$w.out" 2>/dev/null | head -50 > "$OUT/callgrind-$w-self.txt"
            tot=$(awk '/^totals:/ {t = $2} END {print t + 0}' "$OUT/callgrind-$w.out")
            echo "== callgrind, $w: $n requests ($(echo "$c0 $c1" | awk '{print $4 - $2}') verified), $tot instructions, $(echo "$tot $n" | awk '{printf "%.0f", $1 / $2}') per request"
            # Heap allocations per request: the calls to malloc, calloc and realloc the dump
            # records (function names are compressed: "(id) name" the first time, "(id)" after).
            awk -v n="$n" '
                /^c?fn=\(/ { id = $0; sub(/^c?fn=/, "", id); nm = id; sub(/\).*/, ")", id)
                             sub(/^\([0-9]+\) ?/, "", nm); if (nm != "") name[id] = nm
                             if ($0 ~ /^cfn=/) callee = name[id] }
                /^calls=/ { c = $0; sub(/^calls=/, "", c); split(c, a, " ")
                            if (callee ~ /^(malloc|calloc|realloc)$/) k[callee] += a[1] }
                END { printf "   allocations per request:"
                      for (f in k) printf " %s %.2f", f, k[f] / n; printf "\n" }' "$OUT/callgrind-$w.out"
            ;;
        esac
    done
    exit 0
fi

echo "load: $(uptime | sed 's/.*load average/load average/') (before the rounds)"
: > "$TMP/results"
: > "$TMP/cache"
order="$PEERS"
r=1
while [ $r -le "$ROUNDS" ]; do
    for w in one distinct; do
        for p in $order; do
            [ "$p" = warden ] && c0=$(cache_counts)
            res=$(run_wrk "$p" "$TMP/$w.txt" "$SECS")
            if [ "$p" = warden ]; then
                c1=$(cache_counts)
                echo "$w $c0 $c1" | awk '{print $1, $4 - $2, $5 - $3}' >> "$TMP/cache"
            fi
            echo "$w $p $r $res" >> "$TMP/results"
            echo "round $r $w $p: $res" | awk '{printf "round %s %-8s %-7s %8.0f req/s  %6.1f us CPU/req  non-2xx %s  socket errors %s\n", $2, $3, $4, $5, $8, $6, $7}'
        done
    done
    # The next round starts with the next proxy.
    order="$(echo "$order" | cut -d' ' -f2-) $(echo "$order" | cut -d' ' -f1)"
    r=$((r + 1))
done
echo "load: $(uptime | sed 's/.*load average/load average/') (after the rounds)"

# ---- Table ----------------------------------------------------------------------------------
echo
echo "Throughput: ratio to nginx proxy_pass in the same round, median (range) of $ROUNDS rounds, and the"
echo "median requests/s; CPU: microseconds of CPU time (all the proxy's processes) per request, median."
awk -v rounds="$ROUNDS" -v ntok="$TOKENS" '
    { rps[$1, $2, $3] = $4; cpu[$1, $2, $3] = $7; bad[$1, $2] += $5 + $6; seen[$2] = 1 }
    function median(a, n,   i, j, t) {
        for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
        return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function cell(w, p,   i, n, x, q, c, lo, hi) {
        n = 0; lo = 1e9; hi = 0
        for (i = 1; i <= rounds; i++) {
            if (rps[w, "nginx", i] == 0) continue
            n++; q[n] = rps[w, p, i] / rps[w, "nginx", i]; x[n] = rps[w, p, i]; c[n] = cpu[w, p, i]
            if (q[n] < lo) lo = q[n]; if (q[n] > hi) hi = q[n]
        }
        if (n == 0) return "-"
        return sprintf("%.2fx (%.2f-%.2f) %6.0f/s %5.1f us%s", median(q, n), lo, hi, median(x, n),
                       median(c, n), bad[w, p] ? sprintf(" [%d non-2xx/errors]", bad[w, p]) : "")
    }
    END {
        printf "| %-26s | %-36s | %-36s |\n", "proxy", "one token, reused",
               sprintf("%d distinct tokens", ntok)
        printf "|%s|%s|%s|\n", "----------------------------", "--------------------------------------",
               "--------------------------------------"
        split("nginx warden haproxy apache", order, " ")
        name["nginx"] = "nginx proxy_pass, no auth"; name["warden"] = "warden sidecar, bearer"
        name["haproxy"] = "HAProxy 2.6 jwt_verify"; name["apache"] = "Apache 2.4 mod_auth_openidc"
        for (k = 1; k <= 4; k++) {
            p = order[k]; if (!seen[p]) continue
            printf "| %-26s | %-36s | %-36s |\n", name[p], cell("one", p), cell("distinct", p)
        }
    }' "$TMP/results"
if want_peer warden; then
    awk '{h[$1] += $2; m[$1] += $3}
         END {printf "warden token cache: one token %d hits / %d misses; distinct tokens %d hits / %d misses\n",
                     h["one"], m["one"], h["distinct"], m["distinct"]}' "$TMP/cache"
    echo "warden sidecar after the load (2 workers): $(rss "$SCPID")"
fi
