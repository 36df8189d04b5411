# The sidecar in files-only mode with the tutorial's two YAML files (bearer-component.yaml after
# envsubst, mcp-server-oauth.yaml verbatim) and a local HTTPS test issuer: the API token, 401s
# with RFC 6750 challenges, 200 with a valid token, 503 until the key set loads, metadata and
# metrics, configurations the sidecar must refuse at start (file and line named), RFC 9728
# metadata and step-up (403 insufficient_scope) with real tokens.
BIN=$1
. "$WDN_SOURCE_DIR/tests/e2e/lib.sh"
. "$WDN_SOURCE_DIR/tests/e2e/sidecar-support/common.sh"
VEC="$WDN_SOURCE_DIR/tests/vectors/resources"
cd "$E2E_TMP"

# An HTTPS issuer, as in the tutorial (https://${AUTH0_DOMAIN}/), trusted through WARDEN_CA_FILE.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout iss.key -out iss.crt 2>/dev/null
timeout 300 node "$SUPPORT/issuer.js" iss.port --https iss.crt iss.key &
E2E_PIDS="$E2E_PIDS $!"
wait_file iss.port 15 || { echo "issuer did not start"; exit 1; }
IPORT=$(cat iss.port)
export WARDEN_CA_FILE="$E2E_TMP/iss.crt"
ISS="https://127.0.0.1:$IPORT"
token() { curl -s --cacert iss.crt "$ISS/token?$1"; }

start_app app
APORT=$PORT_app
mkdir res
AUTH0_DOMAIN="127.0.0.1:$IPORT" AUTH0_AUDIENCE="https://api.test/" \
    envsubst < "$VEC/bearer-component.yaml" > res/bearer-component.yaml
cp "$VEC/mcp-server-oauth.yaml" res/

DAPR_API_TOKEN=api-secret APP_API_TOKEN=app-secret start_sidecar sc --app-id mcp-server \
    --app-port "$APORT" --http-port 0 --metrics-port 0 --resources-path res \
    --config mcp-server-oauth --ca-dir "$E2E_TMP/ca" || exit 1
H=$(sc_port sc http)
M=$(sc_port sc metrics)
U="http://127.0.0.1:$H/v1.0/invoke/mcp-server/method/mcp"
A="dapr-api-token: api-secret"
# The key set loads in the background; wait for it (the 503 case is tested below), and for
# healthz, which says 204 once the keys are in (the sidecar looks every 20 ms).
for i in $(seq 150); do curl -s "http://127.0.0.1:$M/metrics" | grep -q 'warden_jwks_loaded{component="bearer"} 1' &&
    [ "$(status "http://127.0.0.1:$H/v1.0/healthz")" = 204 ] && break; sleep 0.1; done

expect_eq "healthz without the API token" "$(status "http://127.0.0.1:$H/v1.0/healthz")" 204
expect_eq "healthz/outbound" "$(status "http://127.0.0.1:$H/v1.0/healthz/outbound")" 204
expect_eq "no dapr-api-token -> 401" "$(status "$U" -X POST)" 401
expect_eq "wrong dapr-api-token -> 401" "$(status "$U" -X POST -H 'dapr-api-token: nope')" 401
body=$(curl -s -X POST "$U" -H 'dapr-api-token: nope')
expect_eq "API token refusal body (Dapr's)" "$body" "invalid api token"

hdrs=$(curl -s -D - -o body.txt -X POST "$U" -H "$A" -d '{}')
expect_contains "no bearer token -> 401" "$hdrs" "HTTP/1.1 401"
expect_contains "401 carries WWW-Authenticate: Bearer" "$hdrs" "WWW-Authenticate: Bearer"
expect_not_contains "no error= without a token (RFC 6750 3.1)" "$hdrs" 'error="invalid_token"'
expect_eq "401 body is Unauthorized" "$(cat body.txt)" "Unauthorized"

TOK=$(token "aud=https://api.test/")
out=$(curl -s -X POST "$U?x=1&y=%2F" -H "$A" -H "Authorization: Bearer $TOK" \
    -H 'dapr-caller-app-id: spoofed' -H 'traceparent: 00-0123456789abcdef0123456789abcdef-0123456789abcdef-01' -d '{"a":1}')
expect_contains "valid token reaches the app" "$out" '"url":"/mcp?x=1&y=%2F"'
expect_contains "body streamed to the app" "$out" '"body":"{\"a\":1}"'
expect_contains "APP_API_TOKEN sent to the app" "$out" '"dapr-api-token":"app-secret"'
expect_not_contains "DAPR_API_TOKEN never forwarded" "$out" 'api-secret'
expect_contains "caller app id set by the sidecar" "$out" '"dapr-caller-app-id":"mcp-server"'
expect_not_contains "spoofed caller header dropped" "$out" 'spoofed'
# W3C trace context: a valid traceparent is continued (same trace, this sidecar's span as the
# parent), never passed on as it came; one that does not parse starts a new trace.
expect_contains "incoming trace continued" "$out" '"traceparent":"00-0123456789abcdef0123456789abcdef-'
expect_not_contains "parent ID replaced" "$out" '0123456789abcdef0123456789abcdef-0123456789abcdef'
expect_contains "Authorization forwarded (Dapr's default)" "$out" '"authorization":"Bearer '
out3=$(curl -s -X POST "$U" -H "$A" -H "Authorization: Bearer $TOK" \
    -H 'traceparent: 00-0123456789ABCDEF0123456789ABCDEF-0123456789abcdef-01' -d '{}')
expect_not_contains "invalid traceparent not passed on" "$out3" '0123456789ABCDEF'
expect_contains "traceparent set" "$out3" '"traceparent":"00-'
out2=$(curl -s -H "$A" -H "Authorization: Bearer $TOK" -H 'dapr-app-id: mcp-server' \
    "http://127.0.0.1:$H/mcp/tools?z=2")
expect_contains "dapr-app-id header form" "$out2" '"url":"/mcp/tools?z=2"'

hdrs=$(curl -s -D - -o /dev/null -X POST "$U" -H "$A" -H "Authorization: Bearer $(token 'aud=https://other/')")
expect_contains "wrong audience -> 401" "$hdrs" "HTTP/1.1 401"
expect_contains "invalid_token challenge" "$hdrs" 'error="invalid_token", error_description="the token is not meant for this audience"'
expect_eq "expired token -> 401" "$(status "$U" -X POST -H "$A" -H "Authorization: Bearer $(token 'aud=https://api.test/&exp=-3600')")" 401
expect_eq "wrong issuer -> 401" "$(status "$U" -X POST -H "$A" -H "Authorization: Bearer $(token 'aud=https://api.test/&iss=https://evil/')")" 401
expect_eq "signed by an untrusted key -> 401" "$(status "$U" -X POST -H "$A" -H "Authorization: Bearer $(token 'aud=https://api.test/&untrusted=1')")" 401
expect_eq "unknown kid -> 401" "$(status "$U" -X POST -H "$A" -H "Authorization: Bearer $(token 'aud=https://api.test/&kid=other')")" 401
expect_eq "garbage token -> 401" "$(status "$U" -X POST -H "$A" -H "Authorization: Bearer not.a.jwt-at-all")" 401
expect_eq "Basic scheme -> 401" "$(status "$U" -X POST -H "$A" -H "Authorization: Basic dXNlcjpwYXNz")" 401
hdrs=$(curl -s -D - -o /dev/null -X POST "$U?access_token=$TOK" -H "$A" -H "Authorization: Bearer $TOK")
expect_contains "token in the query string refused" "$hdrs" 'error="invalid_request"'
expect_eq "valid token again (cached) -> 200" "$(status "$U" -X POST -H "$A" -H "Authorization: Bearer $TOK")" 200

meta=$(curl -s -H "$A" "http://127.0.0.1:$H/v1.0/metadata")
expect_contains "metadata id" "$meta" '"id":"mcp-server"'
expect_contains "metadata components" "$meta" '"components":[{"name":"bearer","type":"middleware.http.bearer","version":"v1"'
expect_contains "metadata configuration" "$meta" '"configuration":"mcp-server-oauth"'

met=$(curl -s "http://127.0.0.1:$M/metrics")
expect_contains "metrics: 401s counted" "$met" 'warden_requests_total{port="api",code="401"}'
expect_contains "metrics: missing_token" "$met" 'warden_auth_failures_total{reason="missing_token"} 1'
expect_contains "metrics: wrong_audience" "$met" 'warden_auth_failures_total{reason="wrong_audience"} 1'
expect_contains "metrics: jwks loaded" "$met" 'warden_jwks_loaded{component="bearer"} 1'
expect_contains "metrics: cache hit" "$met" 'warden_token_cache_total{component="bearer",result="hit"}'
expect_contains "metrics: histogram" "$met" 'warden_request_duration_seconds_bucket{port="api",le="+Inf"}'
expect_not_contains "no token in the logs" "$(cat sc.err)" "$TOK"
expect_contains "one log line per decision" "$(cat sc.err)" 'decision=deny req='

# 503 until the first key set is loaded, then 200.
curl -s --cacert iss.crt "$ISS/admin/jwks-off" >/dev/null
sed 's/name: bearer$/name: bearer2/' res/bearer-component.yaml > res2.yaml
sed 's/name: bearer$/name: bearer2/; s/mcp-server-oauth/cfg2/' "$VEC/mcp-server-oauth.yaml" >> res2.yaml.cfg
mkdir res2 && mv res2.yaml res2/c.yaml && mv res2.yaml.cfg res2/cfg.yaml
start_sidecar sc2 --app-id mcp-server --app-port "$APORT" --http-port 0 --resources-path res2 \
    --config cfg2 --ca-dir "$E2E_TMP/ca" || exit 1
H2=$(sc_port sc2 http)
hdrs=$(curl -s -D - -o body.txt -X POST "http://127.0.0.1:$H2/v1.0/invoke/mcp-server/method/mcp" -H "Authorization: Bearer $TOK")
expect_contains "key set not loaded -> 503" "$hdrs" "HTTP/1.1 503"
expect_contains "503 says why" "$(cat body.txt)" "key set has not been loaded"
curl -s --cacert iss.crt "$ISS/admin/jwks-on" >/dev/null
st=0
for i in $(seq 100); do
    st=$(status "http://127.0.0.1:$H2/v1.0/invoke/mcp-server/method/mcp" -X POST -H "Authorization: Bearer $TOK")
    [ "$st" = 200 ] && break
    sleep 0.1
done
expect_eq "200 once the key set loads" "$st" 200
kill "$PID_sc2"

# Refused at start: a handler without its component (file and line named), the component
# without envsubst, and the component scoped away from the app.
mkdir bad1
cp "$VEC/mcp-server-oauth.yaml" bad1/
"$BIN/warden" sidecar --app-id mcp-server --http-port 0 --resources-path bad1 \
    --config mcp-server-oauth --ca-dir "$E2E_TMP/ca" >/dev/null 2>bad1.err
expect_eq "missing handler: non-zero exit" "$?" 1
expect_contains "missing handler: file and line" "$(cat bad1.err)" "bad1/mcp-server-oauth.yaml:10:"
mkdir bad2
cp "$VEC/mcp-server-oauth.yaml" "$VEC/bearer-component.yaml" bad2/
"$BIN/warden" sidecar --app-id mcp-server --http-port 0 --resources-path bad2 \
    --config mcp-server-oauth --ca-dir "$E2E_TMP/ca" >/dev/null 2>bad2.err
expect_eq "unexpanded variable: non-zero exit" "$?" 1
expect_contains "unexpanded variable: file and line" "$(cat bad2.err)" "bad2/bearer-component.yaml:9:"
"$BIN/warden" sidecar --app-id mcp-client --http-port 0 --resources-path res \
    --config mcp-server-oauth --ca-dir "$E2E_TMP/ca" >/dev/null 2>bad3.err
expect_eq "scoped away: non-zero exit" "$?" 1
expect_contains "scoped away: named" "$(cat bad3.err)" "mcp-server-oauth.yaml:10:"
"$BIN/warden" sidecar --app-id mcp-server --http-port 0 --resources-path res \
    --config nope --ca-dir "$E2E_TMP/ca" >/dev/null 2>bad4.err
expect_eq "unknown configuration: non-zero exit" "$?" 1

# RFC 9728 (issue 11): the document describes the bearer, with resource from the listen address
# whatever the Host header says, public and readable cross-origin; the 401 points at it.
P="http://127.0.0.1:$H/.well-known/oauth-protected-resource/v1.0/invoke/mcp-server/method/mcp"
doc=$(curl -s -D prm.h "$P" -H 'Host: evil.example')
expect_contains "metadata: resource from the listen address" "$doc" \
    "\"resource\":\"http://127.0.0.1:$H/v1.0/invoke/mcp-server/method/mcp\""
expect_contains "metadata: authorization_servers" "$doc" "\"authorization_servers\":[\"$ISS/\"]"
expect_contains "metadata: bearer_methods_supported" "$doc" '"bearer_methods_supported":["header"]'
expect_not_contains "metadata: a spoofed Host changes nothing" "$doc" "evil"
expect_contains "metadata: CORS" "$(cat prm.h)" "Access-Control-Allow-Origin: *"
expect_eq "metadata: no API token needed" "$(status "$P")" 200
hdrs=$(curl -s -D - -o /dev/null -X POST "$U" -H "$A" -d '{}')
expect_contains "401 points at the metadata" "$hdrs" "resource_metadata=\"$P\""

# Step-up: an MCPServer asks weather:read for get_weather_alert (applied live). A token without
# the scope gets 403 insufficient_scope naming it; a token with it gets through.
cat > res/mcpserver.yaml <<YAML
apiVersion: warden.dev/v1alpha1
kind: MCPServer
metadata: {name: mcp-server}
spec:
  appId: mcp-server
  rules:
  - {callers: [mcp-server], tools: [add], action: allow}
  - {callers: [mcp-server], tools: [get_weather_alert], action: allow, requireScopes: [weather:read]}
YAML
for i in $(seq 100); do
    curl -s "http://127.0.0.1:$M/metrics" | grep -q '^warden_config_generation 2' && break
    sleep 0.1
done
call_tool() { # TOKEN TOOL
    curl -s -D - -X POST "$U" -H "$A" -H "Authorization: Bearer $1" \
        -H 'Content-Type: application/json' \
        -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"$2\"}}"
}
out=$(call_tool "$TOK" get_weather_alert)
expect_contains "step-up: 403" "$out" "HTTP/1.1 403"
expect_contains "step-up: the challenge names the scope and the metadata" "$out" \
    "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"weather:read\", resource_metadata=\"$P\""
out=$(call_tool "$(token 'aud=https://api.test/&scope=weather:read')" get_weather_alert)
expect_contains "step-up: a token with the scope -> 200" "$out" "HTTP/1.1 200"
expect_contains "step-up: other tools unaffected" "$(call_tool "$TOK" add)" "HTTP/1.1 200"
expect_contains "metadata: scopes_supported from the MCPServer" "$(curl -s "$P")" \
    '"scopes_supported":["weather:read"]'
# The bearer requires a scope of its own too (requiredScopes, applied live): the step-up names
# the union of what the route needs (the bearer's scopes, then the tool's), so a client asking
# for exactly that list is not refused by the bearer next; scopes_supported lists the union.
sed '/^scopes:/i\  - name: requiredScopes\n    value: "mcp:tools"' res/bearer-component.yaml > bearer.new
mv bearer.new res/bearer-component.yaml
for i in $(seq 100); do
    curl -s "http://127.0.0.1:$M/metrics" | grep -q '^warden_config_generation 3' && break
    sleep 0.1
done
expect_contains "requiredScopes applied" "$(curl -s "http://127.0.0.1:$M/metrics")" \
    'warden_config_generation 3'
out=$(call_tool "$(token 'aud=https://api.test/&scope=mcp:tools')" get_weather_alert)
expect_contains "step-up union: 403" "$out" "HTTP/1.1 403"
expect_contains "step-up union: the challenge names the bearer's and the tool's scopes" "$out" \
    "WWW-Authenticate: Bearer error=\"insufficient_scope\", scope=\"mcp:tools weather:read\", resource_metadata=\"$P\""
out=$(call_tool "$(token 'aud=https://api.test/&scope=mcp:tools%20weather:read')" get_weather_alert)
expect_contains "step-up union: a token with the union -> 200" "$out" "HTTP/1.1 200"
out=$(call_tool "$(token 'aud=https://api.test/&scope=weather:read')" get_weather_alert)
expect_contains "step-up union: without the bearer's scope -> the bearer's 403" "$out" \
    'WWW-Authenticate: Bearer error="insufficient_scope"'
expect_contains "step-up union: the bearer's 403 names its scope" "$out" 'scope="mcp:tools",'
expect_contains "metadata: scopes_supported is the union" "$(curl -s "$P")" \
    '"scopes_supported":["mcp:tools","weather:read"]'

# RFC 8707 audience binding to the resource the client reached (requireResourceAudience, no
# `resource` configured): the sidecar derives it from its listen address and the route, never
# from the Host header, and a caller's sidecar hands its own to the app's sidecar over mTLS.
mkdir res3
cat > res3/bound.yaml <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: bound}
spec:
  type: middleware.http.bearer
  version: v1
  metadata:
  - {name: issuer, value: "$ISS/"}
  - {name: requireResourceAudience, value: "true"}
---
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: bound}
spec:
  appHttpPipeline:
    handlers:
    - {name: bound, type: middleware.http.bearer}
YAML
start_sidecar rb --app-id rbound --app-port "$APORT" --http-port 0 --resources-path res3 \
    --config bound --ca-dir "$E2E_TMP/ca" || exit 1
HB=$(sc_port rb http)
printf 'rbound 127.0.0.1:%s\n' "$(sc_port rb internal)" > peers3
start_sidecar rc --app-id caller --http-port 0 --peers peers3 --ca-dir "$E2E_TMP/ca" || exit 1
HC=$(sc_port rc http)
UB="http://127.0.0.1:$HB/v1.0/invoke/rbound/method/x"
UC="http://127.0.0.1:$HC/v1.0/invoke/rbound/method/x"
TB=$(token "aud=$UB")
st=0
for i in $(seq 100); do
    st=$(status "$UB" -H "Authorization: Bearer $TB")
    [ "$st" = 503 ] || break
    sleep 0.1
done
expect_eq "resource-bound: a token for this route -> 200" "$st" 200
expect_eq "resource-bound: a spoofed Host changes nothing" \
    "$(status "$UB" -H "Authorization: Bearer $TB" -H 'Host: evil.example')" 200
expect_eq "resource-bound: a token for another resource -> 401" \
    "$(status "$UB" -H "Authorization: Bearer $(token 'aud=https://api.test/')")" 401
expect_eq "resource-bound: a client cannot name the resource itself" \
    "$(status "$UB" -H "Authorization: Bearer $(token 'aud=https://evil/')" -H 'warden-resource: https://evil/')" 401
expect_eq "resource-bound via a caller's sidecar: its route -> 200" \
    "$(status "$UC" -H "Authorization: Bearer $(token "aud=$UC")")" 200
expect_eq "resource-bound via a caller's sidecar: the callee's own route -> 401" \
    "$(status "$UC" -H "Authorization: Bearer $TB")" 401
expect_eq "resource-bound via a caller's sidecar: a forged resource header is replaced" \
    "$(status "$UC" -H "Authorization: Bearer $(token 'aud=https://evil/')" -H 'warden-resource: https://evil/')" 401
expect_contains "resource-bound: the metadata names the same resource" \
    "$(curl -s "http://127.0.0.1:$HC/.well-known/oauth-protected-resource/v1.0/invoke/rbound/method/x")" \
    "\"resource\":\"$UC\""
kill "$PID_rc" "$PID_rb"

# Clean shutdown on SIGTERM.
kill -TERM "$PID_sc"
wait "$PID_sc"
expect_eq "SIGTERM: exit 0" "$?" 0
e2e_done
