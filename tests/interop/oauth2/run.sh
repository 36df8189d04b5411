# Interop of `warden issuer` with independent implementations from npm (openid-client as the
# client, jose as the verifier), over HTTPS with the issuer's CA. Exits 77 (skipped) when the
# npm packages could not be installed (setup.sh runs `npm ci` first as a ctest fixture).
D=$(cd "$(dirname "$0")" && pwd)
if [ ! -f "$D/node_modules/openid-client/package.json" ] || [ ! -f "$D/node_modules/jose/package.json" ]; then
    echo "SKIP: $D/node_modules is missing: the npm registry was unreachable for npm ci"
    exit 77
fi
. "$D/../../e2e/lib.sh"
BIN=$1
W="$BIN/warden"
S="$E2E_TMP/state"
SECRET="interop-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"

timeout 200 "$W" issuer --port 0 --state "$S" --client "m2m:$SECRET" \
    --audience https://warden.local/api/ --scope "read:weather tools:call" >"$E2E_TMP/out" 2>"$E2E_TMP/err" &
E2E_PIDS="$E2E_PIDS $!"
i=0
while [ $i -lt 300 ] && ! grep -q '^export WARDEN_CA_FILE' "$E2E_TMP/out" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
PORT=$(sed -n 's/^export AUTH0_DOMAIN=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$E2E_TMP/out")
CA=$(sed -n 's/^export WARDEN_CA_FILE=\([^ ]*\).*/\1/p' "$E2E_TMP/out")
expect_contains "issuer started over HTTPS" "$(cat "$E2E_TMP/out")" "https://127.0.0.1:$PORT/"

NODE_EXTRA_CA_CERTS="$CA" timeout 120 node "$D/verify_issuer.mjs" "https://127.0.0.1:$PORT/" m2m "$SECRET" \
    https://warden.local/api/ "$W" "$S" >"$E2E_TMP/node" 2>&1
rc=$?
cat "$E2E_TMP/node"
expect_eq "openid-client and jose agree with warden issuer" "$rc" "0"
e2e_done
