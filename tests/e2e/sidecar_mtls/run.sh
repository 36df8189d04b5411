# Two sidecars in project mode: invocation over mTLS between them (name resolution through the
# project's registry), access control at the callee from the certificate's SPIFFE ID (a
# spoofed dapr-caller-app-id changes nothing), the internal port refusing plain TCP and TLS
# without a client certificate, an SSE stream proxied event by event, live configuration swaps
# under load without a failed request, and a down app answered with a clean error.
BIN=$1
. "$WDN_SOURCE_DIR/tests/e2e/lib.sh"
. "$WDN_SOURCE_DIR/tests/e2e/sidecar-support/common.sh"
cd "$E2E_TMP"
W="$BIN/warden"

"$W" project create p >/dev/null || exit 1
"$W" appid create server --project p >/dev/null
"$W" appid create client --project p >/dev/null
"$W" configuration create allow-a --project p --default-action allow >/dev/null
"$W" configuration create allow-b --project p --default-action deny --policy client:allow >/dev/null
"$W" configuration create deny-client --project p --default-action allow --policy client:deny >/dev/null

start_app srv
start_sidecar server --app-id server --app-port "$PORT_srv" --http-port 0 --project p || exit 1
start_sidecar client --app-id client --http-port 0 --project p --metrics-port 0 || exit 1
C=$(sc_port client http)
SI=$(sc_port server internal)
U="http://127.0.0.1:$C/v1.0/invoke/server/method"

out=$(curl -s -m 10 "$U/hello/world?q=1&r=%20" -H 'dapr-caller-app-id: admin' -H 'dapr-callee-app-id: x')
expect_contains "invocation across two sidecars" "$out" '"url":"/hello/world?q=1&r=%20"'
expect_contains "caller from the certificate" "$out" '"dapr-caller-app-id":"client"'
expect_contains "callee set" "$out" '"dapr-callee-app-id":"server"'
expect_not_contains "spoofed header dropped" "$out" 'admin'
out=$(curl -s -m 10 "http://127.0.0.1:$C/v1.0/invoke/server.default/method/hello")
expect_contains "app.namespace form (own namespace)" "$out" '"url":"/hello"'
out=$(curl -s -m 10 -w ' %{http_code}' "http://127.0.0.1:$C/v1.0/invoke/server.prod/method/hello")
expect_eq "another namespace refused clearly" "$out" '{"errorCode":"ERR_DIRECT_INVOKE","message":"invalid app id: invoking an app in another namespace is not supported"} 400'
out=$(curl -s -m 10 -X PUT "$U/upload" --data-binary @"$BIN/warden" -o /dev/null -w '%{http_code}')
expect_eq "large request body streams through" "$out" 200
out=$(curl -s -m 10 -X POST "$U/echo" -H 'Transfer-Encoding: chunked' -d 'chunked-body')
expect_contains "chunked request body" "$out" '"body":"chunked-body"'

# Deny the client at the callee, live (the binding changes while both sidecars run).
"$W" appid update server --project p --app-config deny-client >/dev/null
st=0
for i in $(seq 30); do st=$(status "$U/hello"); [ "$st" = 403 ] && break; sleep 0.05; done
expect_eq "ACL deny applied live -> 403" "$st" 403
body=$(curl -s -m 10 "$U/mcp" -X POST -H 'dapr-caller-app-id: server')
expect_eq "Dapr's deny body" "$body" '{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: server, err: rpc error: code = PermissionDenied desc = access control policy has denied access to id: spiffe://public/ns/default/client operation: mcp verb: POST"}'
expect_eq "spoofed dapr-caller-app-id still denied" "$(status "$U/x" -H 'dapr-caller-app-id: server')" 403
expect_eq "dapr-app-id header form denied too" "$(status "http://127.0.0.1:$C/x" -H 'dapr-app-id: server')" 403

# The internal port: plain HTTP gets no HTTP answer; TLS without a client certificate fails.
out=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SI/v1.0/invoke/server/method/hello")
expect_eq "plain TCP to the internal port refused" "$out" "000"
out=$(curl -s -m 5 -k -o /dev/null -w '%{http_code}' "https://127.0.0.1:$SI/v1.0/invoke/server/method/hello")
expect_eq "TLS without a client certificate refused" "$out" "000"
out=$(printf 'GET /v1.0/invoke/server/method/hello HTTP/1.1\r\nHost: x\r\ndapr-caller-app-id: client\r\n\r\n' |
    timeout 5 node -e 'const s=require("net").connect(process.argv[1],"127.0.0.1");process.stdin.pipe(s);let d="";s.on("data",(c)=>d+=c);s.on("close",()=>{console.log(d.includes("HTTP/1.1 200")?"answered":"refused")});s.on("error",()=>console.log("refused"))' "$SI")
expect_eq "raw TCP request with a spoofed header refused" "$out" "refused"

# Configuration swaps under load: no in-flight request fails.
"$W" appid update server --project p --app-config allow-a >/dev/null
for i in $(seq 30); do [ "$(status "$U/hello")" = 200 ] && break; sleep 0.05; done
timeout 60 node "$SUPPORT/load.js" "$U/slow?ms=20" 16 4 > load.txt &
LOADPID=$!
for i in 1 2 3 4 5 6; do
    sleep 0.5
    if [ $((i % 2)) = 1 ]; then cfg=allow-b; else cfg=allow-a; fi
    "$W" appid update server --project p --app-config $cfg >/dev/null
done
wait $LOADPID
res=$(cat load.txt)
expect_contains "requests completed under load ($res)" "$res" "200="
expect_not_contains "no failed request across 6 swaps" "$res" "error"
expect_not_contains "no non-200 across 6 swaps" "$(echo "$res" | tr ' ' '\n' | grep -v '^200=')" "="
gens=$(grep -c 'configuration reloaded' server.err)
if [ "$gens" -ge 6 ]; then ok "swaps applied ($gens reloads)"; else not_ok "swaps applied" "reloads: $gens"; fi

# A broken Configuration file keeps the last good one.
printf 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: allow-a\nspec:\n  bogus: 1\n' \
    > "$WARDEN_HOME/projects/p/resources/configuration/allow-a.yaml"
sleep 0.5
expect_contains "broken file logged with file:line:col" "$(cat server.err)" "allow-a.yaml:6:3"
expect_eq "last good configuration kept" "$(status "$U/hello")" 200

# The MCP tool policy (kind MCPServer) at the callee: tools/call of granted tools only.
"$W" configuration create allow-a --project p --default-action allow >/dev/null
"$W" mcpserver access grant srv-mcp --caller client --allow-tools add,echo --app-id server \
    --project p >/dev/null || not_ok "mcpserver access grant"
call() { # PATH TOOL [BASE]
    curl -s -m 10 -o mcp.out -w '%{http_code}' -X POST "${3:-$U}/$1" -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\",\"arguments\":{}}}"
}
st=0
for i in $(seq 40); do st=$(call mcp admin); [ "$st" = 403 ] && break; sleep 0.05; done
expect_eq "ungranted tool -> 403" "$st" 403
expect_contains "JSON-RPC error for the denied tool" "$(cat mcp.out)" '"id":7,"error":{"code":-32003'
expect_eq "granted tool -> 200" "$(call mcp add)" 200
expect_contains "granted call reaches the app unchanged" "$(cat mcp.out)" '\"name\":\"add\"'
expect_eq "path variant /MCP guarded" "$(call MCP admin)" 403
expect_eq "path variant /mcp/ guarded" "$(call mcp/ admin)" 403
expect_eq "path variant /./mcp guarded" "$(call ./mcp admin)" 403
expect_eq "path variant %6Dcp guarded" "$(call %6Dcp admin)" 403
st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST "$U/mcp" \
    -d '[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"drop_db"}}]')
expect_eq "batch with one ungranted tool -> 403" "$st" 403
out=$(curl -s -m 10 -X POST "$U/mcp" -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}')
expect_eq "tools/list filtered to the granted tools (JSON)" "$out" '{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"add","description":"Add"},{"name":"echo"}]}}'
out=$(curl -s -m 10 -X POST "$U/mcp?sse=1" -d '{"jsonrpc":"2.0","id":2,"method":"tools/list"}')
expect_eq "tools/list filtered (SSE)" "$out" "$(printf 'event: message\nid: 1\ndata: {"jsonrpc":"2.0","id":2,"result":{"tools":[{"name":"add","description":"Add"},{"name":"echo"}]}}')"
expect_eq "unparseable body refused" "$(curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST "$U/mcp" -d '{not json')" 400
expect_eq "other paths unaffected" "$(status "$U/hello")" 200
# The MCP proxy endpoint /v1.0/mcp/<name>: the same call, addressed by the MCPServer's name.
M="http://127.0.0.1:$C/v1.0/mcp"
expect_eq "MCP endpoint: ungranted tool -> 403" "$(call srv-mcp admin "$M")" 403
expect_eq "MCP endpoint: granted tool -> 200" "$(call srv-mcp add "$M")" 200
expect_contains "MCP endpoint reaches the server app's /mcp" "$(cat mcp.out)" '"url":"/mcp"'
expect_contains "MCP endpoint: caller from the certificate" "$(cat mcp.out)" '"dapr-caller-app-id":"client"'
st=$(curl -s -m 10 -o mcp.out -w '%{http_code}' -X POST "$M/nope" -d '{}')
expect_eq "unknown MCP server -> 404" "$st" 404
expect_eq "unknown MCP server -> error body" "$(cat mcp.out)" '{"errorCode":"ERR_MCP_SERVER_NOT_FOUND","message":"no MCP server named '"'nope'"'"}'
st=$(curl -s -m 10 -o mcp.out -w '%{http_code}' -X POST "$M/srv-mcp/x" -d '{}')
expect_eq "MCP endpoint with a sub-path -> 404" "$st" 404
"$W" mcpserver access revoke srv-mcp --caller client --all --yes --project p >/dev/null
st=0
for i in $(seq 40); do st=$(call mcp add); [ "$st" = 404 ] && break; sleep 0.05; done
expect_eq "caller without any grant -> 404" "$st" 404
rm -f "$WARDEN_HOME/projects/p/resources/mcpserver/srv-mcp.yaml"
for i in $(seq 40); do [ "$(call mcp add)" = 200 ] && break; sleep 0.05; done
expect_eq "policy removed -> 200" "$(call mcp admin)" 200

# Server-sent events through two sidecars, one by one (events are 400 ms apart).
sse=$(timeout 20 node "$SUPPORT/sse_client.js" "$U/sse")
expect_contains "SSE status and count" "$sse" "status=200 events=3"
t1=$(echo "$sse" | sed -n 's/.*times=\([0-9]*\),.*/\1/p')
t3=$(echo "$sse" | sed -n 's/.*,\([0-9]*\)$/\1/p')
if [ -n "$t1" ] && [ -n "$t3" ] && [ $((t3 - t1)) -ge 600 ]; then
    ok "SSE events arrive as sent ($sse)"
else
    not_ok "SSE events arrive as sent" "$sse"
fi

met=$(curl -s "http://127.0.0.1:$(sc_port client metrics)/metrics")
expect_contains "client metrics count 403s" "$met" 'warden_requests_total{port="api",code="403"}'

# The app goes down: a clean error in Dapr's shape, not a hang.
kill "$PID_srv"
sleep 0.2
hdrs=$(curl -s -m 15 -D - "$U/hello")
expect_contains "app down -> 502" "$hdrs" "HTTP/1.1 502"
expect_contains "app down -> Dapr's error shape" "$hdrs" '{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: server, err: app channel:'

# The callee's sidecar goes down: the caller answers 500 (its registry entry is gone).
kill -TERM "$PID_server"
wait "$PID_server"
expect_eq "server sidecar: clean exit" "$?" 0
expect_eq "registry entry removed on exit" "$(ls "$WARDEN_HOME/projects/p/registry/" | grep -c server)" 0
# 502 while the caller still holds the address (cached for a second), then 500 (not registered).
st=$(status "$U/hello")
case "$st" in 500|502) ok "callee sidecar down -> $st" ;; *) not_ok "callee sidecar down" "status $st" ;; esac
body=$(curl -s -m 10 "$U/hello")
expect_contains "callee sidecar down -> Dapr's error shape" "$body" '{"errorCode":"ERR_DIRECT_INVOKE","message":"failed to invoke, id: server, err: '
sleep 1.1
expect_eq "unregistered callee -> 500" "$(status "$U/hello")" 500
e2e_done
