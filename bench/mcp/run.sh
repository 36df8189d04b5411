#!/bin/sh
# MCP tools/call benchmark (docs/benchmarks/mcp.md): `add {a:2,b:3}` as a stateless 2025-06-18
# client sends it, with a bearer token, at CONNECTIONS keep-alive connections:
#   C:          wrk -> warden sidecar (bearer middleware, the token served from its verified-token
#               cache) -> mcp_server (the quickstart's C MCP server);
#   TypeScript: wrk -> the official TypeScript SDK server (stateless, JSON responses) that
#               verifies the same token with jose on every request (bench-ts-server.mjs).
# Rounds alternate between the two (C, TS, C, TS ...) so that both see the same machine; every
# answer is checked ("text":"5"). Afterwards: RSS of the sidecar and of mcp_server (and of the
# TS server, for reference). The whole run is niced: the machine is shared.
# Usage: bench/mcp/run.sh BIN [SECONDS] [CONNECTIONS] [ROUNDS]
#   BIN: a Release build's bin folder (warden, mcp_server, hello-server); needs wrk, node and `npm ci` in
#   tests/interop/mcp (the interop-mcp-setup test does it).
set -u
BIN=$(cd "$1" && pwd)
SECS=${2:-10}
CONNS=${3:-50}
ROUNDS=${4:-3}
UPPER=${UPPER:-1}
# The sidecars' HTTP worker threads: 1 as in every recorded run (the sidecar's own default is one
# per core; SIDECAR_WORKERS=2 measures that on this 2-core machine).
SIDECAR_WORKERS=${SIDECAR_WORKERS:-1}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
NODE_DIR="$SRC/tests/interop/mcp"
# The TypeScript server needs the SDK and jose from npm: without them every TypeScript round
# would print an empty rate and the ratios 0.0x (as a fresh clone did).
if [ ! -d "$NODE_DIR/node_modules/@modelcontextprotocol" ] || [ ! -d "$NODE_DIR/node_modules/jose" ]; then
    echo "bench/mcp: run \`(cd tests/interop/mcp && npm ci)\` first (or \`make check\`, whose interop-mcp-setup test does it)" >&2
    exit 1
fi
. "$SRC/bench/lib.sh"
bench_tmp mcp
renice -n 10 $$ >/dev/null 2>&1 || true
wait_port() { # PORT
    i=0
    while [ $i -lt 100 ] && ! node -e "require('net').connect($1,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
}
rss_kb() { awk '/^Rss:/ {print $2}' "/proc/$1/smaps_rollup"; }

# The fixed ES256 key set and token of the fuzz seeds (iss https://issuer.test/, aud fuzz, valid
# until 2100), as bench/sidecar/run.sh uses them.
bench_fuzz_keys

APP=$(free_port)
# APP_ACCESS_LOG=0: no access-log line (a write to stderr) per request, as the TS server logs none.
APP_ACCESS_LOG=0 "$BIN/mcp_server" --port "$APP" 2>/dev/null &
MCP_PID=$!
PIDS="$PIDS $MCP_PID"

mkdir -p "$TMP/res"
bench_bearer_yaml https://issuer.test/ fuzz jwks "$JWKS" > "$TMP/res/bearer.yaml"
"$BIN/warden" sidecar --app-id mcp-server --app-port "$APP" --http-port 0 --workers "$SIDECAR_WORKERS" \
    --resources-path "$TMP/res" --config auth --ca-dir "$TMP/ca" --log-level warn \
    >"$TMP/sidecar.out" 2>"$TMP/sidecar.err" &
SC_PID=$!
PIDS="$PIDS $SC_PID"

if [ "$UPPER" = 1 ]; then
    HELLO=$(free_port)
    "$BIN/hello-server" --listen "127.0.0.1:$HELLO" --workers 1 >/dev/null 2>&1 &
    PIDS="$PIDS $!"
    "$BIN/warden" sidecar --app-id hello --app-port "$HELLO" --http-port 0 --workers "$SIDECAR_WORKERS" \
        --resources-path "$TMP/res" --config auth --ca-dir "$TMP/ca2" --log-level warn \
        >"$TMP/sidecar2.out" 2>"$TMP/sidecar2.err" &
    PIDS="$PIDS $!"
fi

TS=$(free_port)
(cd "$NODE_DIR" && BENCH_JWKS="$JWKS" BENCH_ISSUER="https://issuer.test/" BENCH_AUDIENCE=fuzz \
    exec node bench-ts-server.mjs "$TS") >/dev/null 2>&1 &
TS_PID=$!
PIDS="$PIDS $TS_PID"

wait_ready "$TMP/sidecar.out"
H=$(port_of "$TMP/sidecar.out" http)
wait_port "$APP"
wait_port "$TS"
C_URL="http://127.0.0.1:$H/v1.0/invoke/mcp-server/method/mcp"
if [ "$UPPER" = 1 ]; then
    wait_ready "$TMP/sidecar2.out"
    wait_port "$HELLO"
    U_URL="http://127.0.0.1:$(port_of "$TMP/sidecar2.out" http)/v1.0/invoke/hello/method/mcp"
fi
TS_URL="http://127.0.0.1:$TS/mcp"
BODY='{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}'
probe() { # URL [TOKEN]: prints the HTTP status of one tools/call
    if [ $# -ge 2 ]; then auth="Authorization: Bearer $2"; else auth="X-None: 1"; fi
    curl -s -o /dev/null -w '%{http_code}' -H "$auth" -H 'Content-Type: application/json' \
        -H 'Accept: application/json, text/event-stream' -H 'MCP-Protocol-Version: 2025-06-18' \
        --data "$BODY" "$1"
}
for u in "$C_URL" "$TS_URL" ${U_URL:-}; do
    [ "$(probe "$u" "$TOK")" = 200 ] || echo "warning: $u refused the token"
    [ "$(probe "$u")" = 401 ] || echo "warning: $u answered a request without a token"
done

echo "== tools/call, wrk -t1 -c$CONNS -d${SECS}s --latency, $ROUNDS rounds each, interleaved, niced, sidecar --workers $SIDECAR_WORKERS"
echo "   load before: $(cut -d' ' -f1-3 /proc/loadavg)"
run() { # NAME URL
    wrk -t1 -c"$CONNS" -d"${SECS}s" --latency -s "$NODE_DIR/bench-tools-call.lua" \
        -H "Authorization: Bearer $TOK" "$2" > "$TMP/wrk.out" 2>&1
    rate=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk.out")
    p50=$(awk '$1 == "50%" {print $2}' "$TMP/wrk.out")
    p99=$(awk '$1 == "99%" {print $2}' "$TMP/wrk.out")
    bad=$(sed -n 's/^bad_responses=//p' "$TMP/wrk.out")
    errs=$(awk '/Non-2xx|Socket errors/ {print}' "$TMP/wrk.out" | tr '\n' ' ')
    echo "$1 rate=$rate p50=$p50 p99=$p99 bad=$bad $errs"
}
r=1
while [ $r -le "$ROUNDS" ]; do
    run "C-sidecar+mcp_server" "$C_URL"
    c=$rate
    run "TypeScript-SDK+jose " "$TS_URL"
    t=$rate
    line="round $r: C/TS $(awk -v a="$c" -v b="$t" 'BEGIN {printf "%.1fx", (b > 0 ? a / b : 0)}')"
    if [ "$UPPER" = 1 ]; then
        run "upper-bound:sidecar+hello-server (bad= counts the non-MCP answers)" "$U_URL"
        line="$line, upper bound/TS $(awk -v a="$rate" -v b="$t" 'BEGIN {printf "%.1fx", (b > 0 ? a / b : 0)}')"
    fi
    ratios="${ratios:-}$line
"
    r=$((r + 1))
done
printf '%s' "$ratios"
echo "   load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "RSS after the load: sidecar $(rss_of $SC_PID); mcp_server $(rss_of $MCP_PID)"
echo "RSS sidecar + mcp_server: $(($(rss_kb $SC_PID) + $(rss_kb $MCP_PID))) kB"
echo "RSS of the TypeScript server (reference): $(rss_of $TS_PID)"
