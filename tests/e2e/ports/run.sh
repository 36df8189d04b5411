# Exclusive ports (#14 item 2): a port held by another process is a clear error at start, for
# a second sidecar on the same --http-port or --internal-port, a second issuer on the same
# --port, and a port held by a non-warden program; the first process keeps serving alone. The
# workers of one process still share their listener (the first sidecar runs two workers).
BIN=$1
. "$WDN_SOURCE_DIR/tests/e2e/lib.sh"
. "$WDN_SOURCE_DIR/tests/e2e/sidecar-support/common.sh"
cd "$E2E_TMP"

# run_fail NAME PORT CMD...: CMD must exit non-zero within 30 s, saying the port is taken.
run_fail() {
    name=$1; port=$2; shift 2
    timeout 30 "$@" >"$name.out" 2>"$name.err"
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; then ok "$name exits non-zero ($rc)"; else not_ok "$name exits non-zero" "rc=$rc" "$(cat "$name.err")"; fi
    expect_contains "$name says why" "$(cat "$name.err")" "port $port is in use by another process"
}

P=$(free_port)
Q=$(free_port)
start_sidecar first --app-id first --http-port "$P" --internal-port "$Q" \
     --workers 2 --ca-dir "$E2E_TMP/ca" || exit 1
expect_eq "first sidecar serves" "$(status "http://127.0.0.1:$P/v1.0/healthz")" 204

run_fail second-http "$P" "$BIN/warden" sidecar --app-id second --http-port "$P" \
    --internal-port 0 --ca-dir "$E2E_TMP/ca"
run_fail second-internal "$Q" "$BIN/warden" sidecar --app-id third --http-port 0 \
    --internal-port "$Q" --ca-dir "$E2E_TMP/ca"

# Every request still reaches the first sidecar (two sidecars sharing a port answered in turn).
n=0
for i in $(seq 20); do
    [ "$(status "http://127.0.0.1:$P/v1.0/metadata")" = 200 ] && n=$((n + 1))
done
expect_eq "the first sidecar answers every request" "$n" 20
out=$(curl -s -m 10 "http://127.0.0.1:$P/v1.0/metadata")
expect_contains "and it is the first one" "$out" '"id":"first"'

# Two issuers on one port.
I=$(free_port)
"$BIN/warden" issuer --http --port "$I" --state "$E2E_TMP/is1" >is1.out 2>is1.err &
IPID=$!
E2E_PIDS="$E2E_PIDS $IPID"
wait_http "http://127.0.0.1:$I/.well-known/jwks.json" 30 || { echo "issuer did not start"; cat is1.err; }
run_fail second-issuer "$I" "$BIN/warden" issuer --http --port "$I" --state "$E2E_TMP/is2"
expect_eq "the first issuer still serves" \
    "$(status "http://127.0.0.1:$I/.well-known/jwks.json")" 200

# A port held by a program that is not warden.
N=$(free_port)
node -e 'const s = require("net").createServer();
s.listen(Number(process.argv[1]), "127.0.0.1", () => require("fs").writeFileSync(process.argv[2], "up"))' \
    "$N" "$E2E_TMP/node.up" &
E2E_PIDS="$E2E_PIDS $!"
wait_file "$E2E_TMP/node.up" 15 || echo "the node listener did not start"
run_fail other-program "$N" "$BIN/warden" sidecar --app-id fourth --http-port "$N" \
    --internal-port 0 --ca-dir "$E2E_TMP/ca"
e2e_done
