# The MCP conformance suite (client mode) against warden's C client-credentials client
# (conformance_client.c): the scenarios that apply to a client-credentials client. Exits 77
# (skipped) when the npm packages could not be installed.
D=$(cd "$(dirname "$0")" && pwd)
CLIENT=$1
SUITE="$D/node_modules/@modelcontextprotocol/conformance/dist/index.js"
if [ ! -f "$SUITE" ]; then
    echo "SKIP: $SUITE is missing: the npm registry was unreachable for npm ci"
    exit 77
fi
fail=0
for s in auth/client-credentials-basic; do
    out=$(timeout 120 node "$SUITE" client --command "$CLIENT" --scenario "$s" --timeout 60000 2>&1)
    rc=$?
    echo "$out" | tail -25
    if [ $rc -eq 0 ]; then echo "ok - $s"; else echo "not ok - $s (exit $rc)"; fail=1; fi
done
exit $fail
