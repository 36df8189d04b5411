# End to end: the official TypeScript MCP SDK's OAuth client, with the sign-in and consent pages
# driven in headless Chromium (Debian's chromium, puppeteer-core from npm), gets tokens from
# `warden issuer` by authorization code + PKCE for a CIMD client, a DCR client and a
# pre-registered public client, and calls the C MCP server (examples/mcp-quickstart) through a
# warden sidecar whose bearer middleware checks them; then a refresh after the access token
# expires. Exits 77 (skipped) when the npm packages or Chromium are missing.
#
# WDN_SCREENSHOT_DIR=docs/img sh run.sh build/bin  also writes the pages' screenshots there.
D=$(cd "$(dirname "$0")" && pwd)
BIN=$1
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -f "$D/node_modules/puppeteer-core/package.json" ] || [ ! -f "$D/node_modules/@modelcontextprotocol/sdk/package.json" ]; then
    echo "SKIP: $D/node_modules is missing: the npm registry was unreachable for npm ci"
    exit 77
fi
if [ ! -x "$CHROMIUM" ]; then
    echo "SKIP: $CHROMIUM is missing (scripts/bootstrap installs Debian's chromium)"
    exit 77
fi
. "$D/../../../e2e/lib.sh"
. "$D/../../../e2e/sidecar-support/common.sh"
W="$BIN/warden"
S="$E2E_TMP/issuer"
cd "$E2E_TMP" || exit 1

# Ports chosen first: the MCP URL (the token audience) names the sidecar's port.
H=$(free_port)
MCP_URL="http://127.0.0.1:$H/v1.0/invoke/mcp-server/method/mcp"

# The issuer: users and a pre-registered public client, CIMD documents allowed from this
# machine (the test serves one on 127.0.0.1 with its own certificate), DCR on, short tokens.
echo "interop password 1" | "$W" issuer user add alice --state "$S" --password-stdin >/dev/null
"$W" issuer client add interop-pre --public --name "Interop pre-registered Client" \
    --redirect-uri http://127.0.0.1/callback --state "$S" >/dev/null
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 -keyout cimd.key -out cimd.crt 2>/dev/null
WARDEN_CA_FILE="$E2E_TMP/cimd.crt" timeout 600 "$W" issuer --port 0 --state "$S" \
    --resource "$MCP_URL" --scope "mcp:tools" --allow-local-cimd --dcr --lifetime 6 \
    >issuer.out 2>issuer.err &
E2E_PIDS="$E2E_PIDS $!"
i=0
while [ $i -lt 300 ] && ! grep -q '^export WARDEN_CA_FILE' issuer.out 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
IPORT=$(sed -n 's/^export AUTH0_DOMAIN=127\.0\.0\.1:\([0-9]*\) .*/\1/p' issuer.out)
[ -n "$IPORT" ] || { echo "issuer did not start"; cat issuer.err; exit 1; }
ISS="https://127.0.0.1:$IPORT/"

# The C MCP server and its sidecar with the bearer middleware: issuer and audience as the
# tutorial sets them, the scope it requires (which the sidecar's RFC 9728 document then lists),
# and no clock skew, so the expiry is seen at once.
timeout 600 "$BIN/mcp_server" --port "$(free_port)" >app.out 2>app.err &
E2E_PIDS="$E2E_PIDS $!"
APORT=""
i=0
while [ $i -lt 100 ] && [ -z "$APORT" ]; do
    APORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' app.err); sleep 0.1; i=$((i + 1))
done
mkdir res
cat >res/bearer.yaml <<EOF
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: bearer
spec:
  type: middleware.http.bearer
  version: v1
  metadata:
  - name: issuer
    value: "$ISS"
  - name: audience
    value: "$MCP_URL"
  - name: clockSkew
    value: "0s"
  - name: requiredScopes
    value: "mcp:tools"
scopes:
- mcp-server
EOF
cp "$WDN_SOURCE_DIR/tests/vectors/resources/mcp-server-oauth.yaml" res/
WARDEN_CA_FILE="$S/ca/ca.crt" start_sidecar sc --app-id mcp-server --app-port "$APORT" \
    --http-port "$H" --metrics-port 0 --resources-path res --config mcp-server-oauth \
    --ca-dir "$E2E_TMP/ca" || exit 1
M=$(sc_port sc metrics)
for i in $(seq 100); do curl -s "http://127.0.0.1:$M/metrics" | grep -q 'warden_jwks_loaded{component="bearer"} 1' && break; sleep 0.1; done

cat >config.json <<EOF
{"issuer":"$ISS","mcpUrl":"$MCP_URL","cimdCert":"$E2E_TMP/cimd.crt",
 "cimdKey":"$E2E_TMP/cimd.key","preRegistered":"interop-pre","user":"alice",
 "password":"interop password 1","chromium":"$CHROMIUM","screenshotDir":"${WDN_SCREENSHOT_DIR:-}"}
EOF
# Chromium aborts page loads (ERR_NETWORK_CHANGED) when host interfaces appear or go; the image
# test holds this lock exclusively while it makes them (coord: host_netif), so share it here.
NODE_EXTRA_CA_CERTS="$S/ca/ca.crt" timeout 400 flock -s /tmp/warden-host-netif.lock \
    node "$D/authcode.mjs" config.json >node.out 2>&1
rc=$?
cat node.out
expect_eq "the TypeScript SDK's OAuth client and Chromium against warden issuer" "$rc" "0"
expect_not_contains "the issuer's log holds no password" "$(cat "$S/issuer.log")" "interop password"
expect_contains "the issuer logged the three sign-ins" "$(grep -c 'event=sign-in.*status=200.*user=alice' "$S/issuer.log")" "3"
if [ "$rc" != 0 ]; then
    echo "--- issuer log"; tail -30 "$S/issuer.log"; echo "--- sidecar"; tail -20 sc.err
fi
e2e_done
