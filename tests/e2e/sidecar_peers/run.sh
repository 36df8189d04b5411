# Two sidecars in files-only mode resolving each other through a static map (--peers), sharing
# a CA folder (--ca-dir): invocation over mTLS, access control from a --config file, a sidecar
# with another CA refused, the --config file reloaded live when it changes, and the workload
# certificates rotated every 100 ms (WARDEN_SIDECAR_ROTATE_MS) under load without a failed
# request.
BIN=$1
. "$WDN_SOURCE_DIR/tests/e2e/lib.sh"
. "$WDN_SOURCE_DIR/tests/e2e/sidecar-support/common.sh"
cd "$E2E_TMP"

start_app b
export WARDEN_SIDECAR_ROTATE_MS=100
PA=$(free_port)
PB=$(free_port)
PC=$(free_port)
printf '# app-id host:port\na 127.0.0.1:%s\nb 127.0.0.1:%s\nstranger 127.0.0.1:%s\n' "$PA" "$PB" "$PC" > peers
cat > acl.yaml <<'YAML'
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: acl
spec:
  accessControl:
    defaultAction: deny
    trustDomain: public
    policies:
    - appId: a
      defaultAction: deny
      trustDomain: public
      namespace: default
      operations:
      - name: /api/**
        httpVerb: [GET]
        action: allow
YAML
start_sidecar b --app-id b --app-port "$PORT_b" --http-port 0 --internal-port "$PB" \
    --peers peers --ca-dir "$E2E_TMP/ca" --config "$E2E_TMP/acl.yaml" || exit 1
start_sidecar a --app-id a --http-port 0 --internal-port "$PA" --peers peers \
    --ca-dir "$E2E_TMP/ca" || exit 1
start_sidecar stranger --app-id stranger --http-port 0 --internal-port "$PC" --peers peers \
    --ca-dir "$E2E_TMP/other-ca" || exit 1
A=$(sc_port a http)
S=$(sc_port stranger http)

expect_eq "allowed operation (GET /api/**)" "$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/api/v1/items")" 200
out=$(curl -s -m 10 "http://127.0.0.1:$A/v1.0/invoke/b/method/api/x")
expect_contains "caller identity" "$out" '"dapr-caller-app-id":"a"'
expect_eq "verb not allowed (POST)" "$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/api/x" -X POST)" 403
expect_eq "operation not allowed" "$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/admin")" 403
expect_eq "dot segments cannot escape the rule" "$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/api/../admin" --path-as-is)" 403
expect_eq "encoded slash refused" "$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/api%2F..%2Fadmin")" 403
st=$(status "http://127.0.0.1:$S/v1.0/invoke/b/method/api/x")
expect_eq "a sidecar of another CA cannot call (TLS fails -> 502)" "$st" 502

# The --config file changes: applied live.
sed 's/httpVerb: \[GET\]/httpVerb: [GET, POST]/' acl.yaml > acl.new && mv acl.new acl.yaml
st=0
for i in $(seq 40); do st=$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/api/x" -X POST); [ "$st" = 200 ] && break; sleep 0.05; done
expect_eq "--config file reloaded live" "$st" 200

# Certificates rotate under load: every request succeeds, old and new listeners overlap.
timeout 60 node "$SUPPORT/load.js" "http://127.0.0.1:$A/v1.0/invoke/b/method/api/x" 8 3 > load.txt
res=$(cat load.txt)
expect_contains "requests under rotation ($res)" "$res" "200="
expect_eq "no failure under rotation" "$(echo "$res" | tr ' ' '\n' | grep -v '^200=' | wc -l)" 0
n=$(grep -c 'workload certificate rotated' b.err)
if [ "$n" -ge 4 ]; then ok "callee rotated $n times"; else not_ok "callee rotated" "$n times"; fi
n=$(grep -c 'workload certificate rotated' a.err)
if [ "$n" -ge 4 ]; then ok "caller rotated $n times"; else not_ok "caller rotated" "$n times"; fi
kill -TERM "$PID_b"
wait "$PID_b"
expect_eq "clean exit after rotations" "$?" 0
e2e_done
