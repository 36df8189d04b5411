# Audit records from real sidecars (docs/audit.md): a caller's sidecar and an MCP server's
# sidecar with the API token, access control, the bearer middleware and the MCP tool policy.
# Every decision kind writes its record with the verified claims, the tool and the SHA-256 of
# its arguments (never the arguments, a token or a secret); both logs verify, also across
# rotated files; the trace ID links the two sidecars' records; an edited record is found. A
# sidecar whose audit sink is a full disk, and one whose sink takes nothing (a pipe nobody
# reads), answer every request.
BIN=$1
. "$WDN_SOURCE_DIR/tests/e2e/lib.sh"
. "$WDN_SOURCE_DIR/tests/e2e/sidecar-support/common.sh"
VEC="$WDN_SOURCE_DIR/tests/vectors/resources"
cd "$E2E_TMP"

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
PS=$(free_port)
PC=$(free_port)
PF=$(free_port)
PW=$(free_port)
PI=$(free_port)
printf 'mcp-server 127.0.0.1:%s\nmcp-client 127.0.0.1:%s\nfull 127.0.0.1:%s\nslow 127.0.0.1:%s\ninres 127.0.0.1:%s\n' \
    "$PS" "$PC" "$PF" "$PW" "$PI" > peers
mkdir res audit
AUTH0_DOMAIN="127.0.0.1:$IPORT" AUTH0_AUDIENCE="https://api.test/" \
    envsubst < "$VEC/bearer-component.yaml" > res/bearer-component.yaml
sed "s|http://localhost:8000/mcp|http://127.0.0.1:$APORT/mcp|" "$VEC/mcpserver-weather.yaml" \
    > res/mcpserver.yaml
cat > res/srv.yaml <<'YAML'
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: srv
spec:
  appHttpPipeline:
    handlers:
    - name: bearer
      type: middleware.http.bearer
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
    - appId: mcp-client
      defaultAction: deny
      trustDomain: public
      namespace: default
      operations:
      - name: /mcp
        httpVerb: [POST]
        action: allow
YAML
start_sidecar srv --app-id mcp-server --app-port "$APORT" --http-port 0 --metrics-port 0 \
    --internal-port "$PS" --peers peers --resources-path res --config srv --ca-dir "$E2E_TMP/ca" \
    --audit-log "$E2E_TMP/audit/srv.log" --audit-max-size 4096 --audit-keep 100 || exit 1
DAPR_API_TOKEN=api-secret APP_API_TOKEN=app-secret start_sidecar cli --app-id mcp-client \
    --http-port 0 --internal-port "$PC" --peers peers --ca-dir "$E2E_TMP/ca" \
    --audit-log "$E2E_TMP/audit/cli.log" || exit 1
SM=$(sc_port srv metrics)
CH=$(sc_port cli http)
U="http://127.0.0.1:$CH/v1.0/invoke/mcp-server/method/mcp"
A="dapr-api-token: api-secret"
J="Content-Type: application/json"
for i in $(seq 50); do curl -s "http://127.0.0.1:$SM/metrics" | grep -q 'warden_jwks_loaded{component="bearer"} 1' && break; sleep 0.1; done

TOK=$(token "aud=https://api.test/&jti=jti-4711&client_id=quickstart-client")
BAD=$(token "aud=https://other/&jti=jti-bad")
call() { # TOOL ARGS
    printf '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"%s","arguments":%s}}' "$1" "$2"
}
expect_eq "no API token -> 401" "$(status "$U" -X POST -d '{}')" 401
expect_eq "no bearer token -> 401" "$(status "$U" -X POST -H "$A" -H "$J" -d '{}')" 401
expect_eq "invalid token -> 401" "$(status "$U" -X POST -H "$A" -H "$J" -H "Authorization: Bearer $BAD" -d '{}')" 401
expect_eq "granted tool -> 200" "$(status "$U" -X POST -H "$A" -H "$J" -H "Authorization: Bearer $TOK" -d "$(call add '{"b":3, "a":2}')")" 200
expect_eq "denied tool -> 403" "$(status "$U" -X POST -H "$A" -H "$J" -H "Authorization: Bearer $TOK" -d "$(call admin_reset '{"all":true}')")" 403
expect_eq "tool needing a scope -> 403" "$(status "$U" -X POST -H "$A" -H "$J" -H "Authorization: Bearer $TOK" -d "$(call get_weather_alert '{"city":"chicago"}')")" 403
expect_eq "access control deny -> 403" "$(status "http://127.0.0.1:$CH/v1.0/invoke/mcp-server/method/admin" -H "$A" -H "Authorization: Bearer $TOK")" 403
# Enough records to rotate the 4 KB file a few times.
for i in $(seq 12); do
    curl -s -o /dev/null -X POST "$U" -H "$A" -H "$J" -H "Authorization: Bearer $TOK" -d "$(call echo '{"message":"hi"}')"
done
# Records are written by a thread of their own: wait (bounded by time, not tries) until the
# records a check reads are there.
wait_count() { # N 'FILE-PATTERN' QUERY-ARGS... (the pattern expanded each time: files rotate)
    want=$1; pat=$2; shift 2
    end=$(($(date +%s) + 30))
    # shellcheck disable=SC2086
    while [ "$("$BIN/warden" audit query $pat "$@" 2>/dev/null | wc -l)" -lt "$want" ] &&
        [ "$(date +%s)" -lt "$end" ]; do
        sleep 0.1
    done
}
wait_count 12 'audit/srv.log*' --tool echo --kind tool_call
n=$("$BIN/warden" audit query audit/srv.log* --tool echo --kind tool_call 2>/dev/null | wc -l)
expect_eq "a tool_call record per forwarded call" "$n" 12

# A 2025-03-26 batch: one record per tools/call in it. Allowed: each call's tool_policy and
# tool_call; refused (one tool not granted): the refused call's reason, the others batch_refused.
T1=4bf92f3577b34da6a3ce929d0e0e4736
T2=5cf92f3577b34da6a3ce929d0e0e4737
batch() { # ID-BASE TOOL ARGS [TOOL ARGS]...
    b=$1; shift; sep='['
    while [ $# -ge 2 ]; do printf '%s' "$sep"; call "$1" "$2" | sed "s/\"id\":1/\"id\":$b/"; sep=','; b=$((b + 1)); shift 2; done
    printf ']'
}
expect_eq "granted batch -> 200" "$(status "$U" -X POST -H "$A" -H "$J" -H "Authorization: Bearer $TOK" \
    -H "traceparent: 00-$T1-00f067aa0ba902b7-01" -d "$(batch 10 add '{"a":1,"b":1}' echo '{"message":"batch"}')")" 200
expect_eq "refused batch -> 403" "$(status "$U" -X POST -H "$A" -H "$J" -H "Authorization: Bearer $TOK" \
    -H "traceparent: 00-$T2-00f067aa0ba902b7-01" -d "$(batch 20 add '{"a":1,"b":1}' admin_reset '{}' echo '{}')")" 403
wait_count 2 'audit/srv.log*' --trace-id "$T1" --kind tool_call
wait_count 3 'audit/srv.log*' --trace-id "$T2" --kind tool_policy
wait_count 1 audit/cli.log --kind api_token --decision allow
b1=$("$BIN/warden" audit query audit/srv.log* --trace-id "$T1" 2>/dev/null)
expect_eq "granted batch: a tool_policy record per call" "$(printf '%s\n' "$b1" | grep -c '"kind":"tool_policy","decision":"allow","reason":"granted"')" 2
expect_eq "granted batch: a tool_call record per call" "$(printf '%s\n' "$b1" | grep -c '"kind":"tool_call","decision":"allow","reason":"forwarded"')" 2
expect_contains "granted batch: add's record" "$b1" '"rpc":"tools/call","tool":"add"'
expect_contains "granted batch: echo's record" "$b1" '"rpc":"tools/call","tool":"echo"'
want=$(printf '%s' '{"message":"batch"}' | sha256sum | cut -c1-64)
expect_contains "granted batch: each call's own arguments" "$b1" "\"tool\":\"echo\",\"args_sha256\":\"$want\""
b2=$("$BIN/warden" audit query audit/srv.log* --trace-id "$T2" 2>/dev/null)
expect_eq "refused batch: a record per call" "$(printf '%s\n' "$b2" | grep -c '"kind":"tool_policy","decision":"deny"')" 3
expect_contains "refused batch: the refused call" "$b2" '"reason":"tool_not_granted","status":403'
expect_eq "refused batch: the others refused with it" "$(printf '%s\n' "$b2" | grep -c '"reason":"batch_refused","status":403')" 2
expect_not_contains "refused batch: nothing forwarded" "$b2" '"kind":"tool_call"'

Q() { "$BIN/warden" audit query "$@" 2>/dev/null; }
one() { Q "$@" | head -n 1; }
expect_contains "api_token deny" "$(one audit/cli.log --kind api_token --decision deny)" '"reason":"missing_api_token","status":401'
expect_contains "api_token allow" "$(one audit/cli.log --kind api_token --decision allow)" '"reason":"valid_api_token"'
acl=$(one audit/srv.log* --kind access_control --decision allow)
expect_contains "access_control allow" "$acl" '"reason":"operation"'
expect_contains "access_control: the caller's SPIFFE ID" "$acl" '"caller":"spiffe://public/ns/default/mcp-client"'
expect_contains "access_control deny" "$(one audit/srv.log* --kind access_control --decision deny)" '"status":403,"caller":"spiffe://public/ns/default/mcp-client"'
expect_contains "bearer deny: missing token" "$(Q audit/srv.log* --kind bearer --decision deny)" '"reason":"missing_token","status":401'
expect_contains "bearer deny: invalid token" "$(Q audit/srv.log* --kind bearer --decision deny)" '"reason":"invalid_token","status":401'
b=$(one audit/srv.log* --kind bearer --decision allow)
expect_contains "bearer allow: verified claims" "$b" "\"iss\":\"$ISS/\",\"sub\":\"test-client@clients\",\"client_id\":\"quickstart-client\",\"jti\":\"jti-4711\""
expect_not_contains "no claims from a token that failed" "$(cat audit/srv.log*)" 'jti-bad'
tp=$(one audit/srv.log* --kind tool_policy --tool add)
expect_contains "tool_policy allow" "$tp" '"decision":"allow","reason":"granted"'
expect_contains "tool_policy: tool and method" "$tp" '"rpc":"tools/call","tool":"add"'
want=$(printf '%s' '{"a":2,"b":3}' | sha256sum | cut -c1-64)
expect_contains "tool_policy: SHA-256 of the arguments (sorted keys)" "$tp" "\"args_sha256\":\"$want\""
expect_contains "tool_policy deny" "$(one audit/srv.log* --kind tool_policy --tool admin_reset)" '"decision":"deny","reason":"tool_not_granted","status":403'
expect_contains "tool_policy deny: missing scope" "$(one audit/srv.log* --kind tool_policy --tool get_weather_alert)" '"decision":"deny"'
tc=$(one audit/srv.log* --kind tool_call --tool add)
expect_contains "tool_call: the app's status" "$tc" '"decision":"allow","reason":"forwarded","status":200'
expect_contains "tool_call: generation" "$tc" '"generation":1'
# The trace ID follows the call from the caller's sidecar to the server's.
trace=$(printf '%s' "$tc" | sed -n 's/.*"trace_id":"\([0-9a-f]*\)".*/\1/p')
expect_eq "trace ID present" "${#trace}" 32
expect_contains "same trace at the caller's sidecar" "$(Q audit/cli.log --trace-id "$trace")" '"kind":"api_token"'

# Never a token, a secret or the arguments.
all=$(cat audit/*)
expect_not_contains "no access token in any record" "$all" "$TOK"
expect_not_contains "no rejected token in any record" "$all" "$BAD"
expect_not_contains "no API token in any record" "$all" "api-secret"
expect_not_contains "no app API token in any record" "$all" "app-secret"
expect_not_contains "no tool arguments in any record" "$all" '"city":"chicago"'

# The chain verifies, across the rotated files, in the shell's order.
files=$(ls audit/srv.log* | wc -l)
[ "$files" -ge 3 ] && ok "rotated into $files files" || not_ok "rotation" "files: $files"
out=$("$BIN/warden" audit verify audit/srv.log*)
expect_eq "srv chain verifies" "$?" 0
expect_contains "srv chain: every record" "$out" "OK: "
expect_eq "cli chain verifies" "$("$BIN/warden" audit verify audit/cli.log >/dev/null; echo $?)" 0
cp audit/cli.log edited.log
sed -i '3s/"decision":"[a-z]*"/"decision":"allow"/; 3s/"reason":"[a-z_]*"/"reason":"x"/' edited.log
out=$("$BIN/warden" audit verify edited.log)
expect_eq "edited record: verify fails" "$?" 1
expect_contains "edited record named" "$out" "BROKEN: edited.log:3: record seq 3 was changed"
met=$(curl -s "http://127.0.0.1:$SM/metrics")
expect_contains "metrics: records written" "$met" "warden_audit_records_total "
expect_contains "metrics: none dropped" "$met" "warden_audit_dropped_total 0"

# A full disk: every write fails, every request is still answered.
mkdir res2
cat > res2/acl.yaml <<'YAML'
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: acl
spec:
  accessControl:
    defaultAction: allow
YAML
start_sidecar full --app-id full --app-port "$APORT" --http-port 0 --metrics-port 0 \
    --internal-port "$PF" --peers peers --resources-path res2 --config acl \
    --ca-dir "$E2E_TMP/ca" --audit-log /dev/full || exit 1
codes=""
for i in $(seq 30); do codes="$codes$(status "http://127.0.0.1:$CH/v1.0/invoke/full/method/x" -H "$A")"; done
expect_eq "full disk: every request answered 200" "$codes" "$(printf '200%.0s' $(seq 30))"
# The writer takes records in batches (at most 50 ms late): wait until it has tried them all.
for i in $(seq 100); do
    met=$(curl -s "http://127.0.0.1:$(sc_port full metrics)/metrics")
    dropped=$(printf '%s\n' "$met" | sed -n 's/^warden_audit_dropped_total //p')
    [ "${dropped:-0}" -ge 30 ] && break
    sleep 0.1
done
[ "${dropped:-0}" -ge 30 ] && ok "full disk: lost records counted ($dropped)" || not_ok "full disk: dropped" "$met"
expect_not_contains "full disk: write errors counted" "$met" "warden_audit_write_errors_total 0"

# A sink that takes nothing: a pipe with a reader that never reads. The queue fills and drops;
# requests go on.
mkfifo audit.fifo
exec 7<> audit.fifo
start_sidecar slow --app-id slow --app-port "$APORT" --http-port 0 --metrics-port 0 \
    --internal-port "$PW" --peers peers --resources-path res2 --config acl \
    --ca-dir "$E2E_TMP/ca" --audit-log "$E2E_TMP/audit.fifo" --audit-queue 64 || exit 1
res=$(timeout 120 node "$SUPPORT/load.js" "http://127.0.0.1:$CH/v1.0/invoke/slow/method/x" 8 4 "$A")
case "$res" in 200=*) [ "$res" = "${res%% *}" ] && ok "slow sink: every request 200 ($res)" || not_ok "slow sink: statuses" "$res" ;;
    *) not_ok "slow sink: statuses" "$res" ;; esac
met=$(curl -s "http://127.0.0.1:$(sc_port slow metrics)/metrics")
dropped=$(printf '%s\n' "$met" | sed -n 's/^warden_audit_dropped_total //p')
[ "${dropped:-0}" -gt 0 ] && ok "slow sink: dropped records counted ($dropped)" || not_ok "slow sink: dropped" "$met"
kill -TERM "$PID_slow"
wait "$PID_slow"
expect_eq "slow sink: clean exit (the writer is given up on)" "$?" 0
exec 7<&-

# A log kept in the folder of the sidecar's resources, which the sidecar watches: the log's
# writes and rotations are no change of configuration (each batch used to make it reload).
mkdir res3
cp res2/acl.yaml res3/
start_sidecar inres --app-id inres --app-port "$APORT" --http-port 0 --metrics-port 0 \
    --internal-port "$PI" --peers peers --resources-path res3 --config acl \
    --ca-dir "$E2E_TMP/ca" --audit-log "$E2E_TMP/res3/app.log" --audit-max-size 4096 || exit 1
for i in $(seq 20); do
    curl -s -o /dev/null "http://127.0.0.1:$CH/v1.0/invoke/inres/method/x" -H "$A"
done
wait_count 20 'res3/app.log*' --kind access_control
expect_eq "log in the resources folder: every record written" \
    "$("$BIN/warden" audit query res3/app.log* --kind access_control 2>/dev/null | wc -l)" 20
[ "$(ls res3/app.log* | wc -l)" -ge 2 ] && ok "log in the resources folder: rotated" ||
    not_ok "log in the resources folder: rotated" "$(ls res3)"
sleep 1 # a reload would follow 50 ms (WDN_SIDECAR_RELOAD_DEBOUNCE_MS) after the last write
met=$(curl -s "http://127.0.0.1:$(sc_port inres metrics)/metrics")
expect_contains "log in the resources folder: no reload" "$met" 'warden_config_reloads_total{result="ok"} 0'
expect_contains "log in the resources folder: first generation" "$met" 'warden_config_generation 1'
e2e_done
