# Sidecars set up as they would be across machines: certificates issued elsewhere (--cert-dir,
# made here with openssl: a CA and one leaf per app with its SPIFFE URI SAN) and peers named by
# DNS (--peers with host names, --peer-dns template). Invocation over a host name, the ACL
# seeing the SPIFFE ID (namespace and trust domain from the flags), an app ID that is not a DNS
# label and a name that does not resolve answered in Dapr's shape, certificates that are not
# the sidecar's own refused at start, a replaced certificate picked up by new connections (its
# serial read with openssl s_client) and a broken replacement ignored.
BIN=$1
. "$WDN_SOURCE_DIR/tests/e2e/lib.sh"
. "$WDN_SOURCE_DIR/tests/e2e/sidecar-support/common.sh"
cd "$E2E_TMP"

TD=example.org
NS=prod
# make_ca DIR: a P-256 CA in DIR/ca.crt, DIR/ca.key
make_ca() {
    mkdir -p "$1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/ca.key" \
        -out "$1/ca.crt" -subj "/CN=test CA $1" -days 2 \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
# make_leaf CA_DIR OUT_DIR APP_ID SERIAL: tls.crt, tls.key and ca.crt in OUT_DIR
make_leaf() {
    mkdir -p "$2"
    cat > "$2.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=URI:spiffe://$TD/ns/$NS/$3,DNS:$3
EOF
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$2/tls.key.new" \
        -subj "/CN=$3" -out "$2.csr" 2>/dev/null
    openssl x509 -req -in "$2.csr" -CA "$1/ca.crt" -CAkey "$1/ca.key" -set_serial "$4" -days 1 \
        -extfile "$2.ext" -out "$2/tls.crt.new" 2>/dev/null
    cp "$1/ca.crt" "$2/ca.crt"
    mv "$2/tls.crt.new" "$2/tls.crt"
    mv "$2/tls.key.new" "$2/tls.key"
}
# serial_of PORT: the serial of the certificate served on PORT (client certificate of a)
serial_of() {
    timeout 10 openssl s_client -connect "127.0.0.1:$1" -cert certs/a/tls.crt -key certs/a/tls.key \
        -CAfile ca/ca.crt </dev/null 2>/dev/null | openssl x509 -noout -serial 2>/dev/null
}

make_ca ca
make_ca other-ca
make_leaf ca certs/a a 0x0A01
make_leaf ca certs/b b 0x0B01
# The callee "localhost" gets the layout of a mounted Kubernetes Secret: the files are symlinks
# into ..data, itself a symlink to a timestamped folder, swapped atomically on update.
make_leaf ca certs/lk/..v1 localhost 0x0C01
ln -s ..v1 certs/lk/..data
for f in tls.crt tls.key ca.crt; do ln -s "..data/$f" "certs/lk/$f"; done
make_leaf other-ca certs/b-other b 0x0B99
expect_eq "openssl made the certificates" "$(ls certs/a certs/b | grep -c tls.crt)" 2

start_app b
start_app l
PA=$(free_port)
PB=$(free_port)
PL=$(free_port)
cat > peers <<EOF
# app-id host:port (host names resolve off the event loop)
b localhost:$PB
nowhere nothing.invalid:$PB
EOF
cat > acl.yaml <<YAML
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: acl
spec:
  accessControl:
    defaultAction: deny
    trustDomain: $TD
    policies:
    - appId: a
      defaultAction: deny
      trustDomain: $TD
      namespace: $NS
      operations:
      - name: /api/**
        httpVerb: [GET]
        action: allow
YAML
# Its resources come the way a mounted ConfigMap brings them (the same symlink layout).
lk_config() { # lk_config DIR ACTION
    mkdir -p "res-lk/$1"
    printf 'apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: lk\nspec:\n  accessControl:\n    defaultAction: %s\n    trustDomain: %s\n' "$2" "$TD" > "res-lk/$1/lk.yaml"
}
lk_config ..v1 allow
ln -s ..v1 res-lk/..data
ln -s ..data/lk.yaml res-lk/lk.yaml
COMMON="--namespace $NS --trust-domain $TD --http-port 0"
start_sidecar b --app-id b --app-port "$PORT_b" --internal-port "$PB" $COMMON \
    --cert-dir "$E2E_TMP/certs/b" --config "$E2E_TMP/acl.yaml" || exit 1
start_sidecar l --app-id localhost --app-port "$PORT_l" --internal-port "$PL" $COMMON \
    --cert-dir "$E2E_TMP/certs/lk" --resources-path "$E2E_TMP/res-lk" --config lk || exit 1
start_sidecar a --app-id a --internal-port "$PA" $COMMON --cert-dir "$E2E_TMP/certs/a" \
    --peers peers --peer-dns "{app-id}:$PL" || exit 1
A=$(sc_port a http)
expect_contains "certificate loaded from --cert-dir" "$(cat b.err)" "spiffe_id=spiffe://$TD/ns/$NS/b serial=0B01"

# A host name in --peers: the first request goes by name, the next ones by cached address.
st=""
for i in 1 2 3 4 5; do st="$st$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/api/items")"; sleep 0.1; done
expect_eq "invocation through a host name in --peers (5 requests)" "$st" "200200200200200"
out=$(curl -s -m 10 "http://127.0.0.1:$A/v1.0/invoke/b/method/api/x")
expect_contains "the ACL saw the caller's SPIFFE ID" "$out" '"dapr-caller-app-id":"a"'
expect_eq "ACL: verb not allowed (POST)" "$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/api/x" -X POST)" 403

# The template names any other app ID.
out=$(curl -s -m 10 "http://127.0.0.1:$A/v1.0/invoke/localhost/method/hello")
expect_contains "invocation through --peer-dns" "$out" '"dapr-callee-app-id":"localhost"'
expect_contains "callee saw the caller" "$out" '"dapr-caller-app-id":"a"'

# The ConfigMap changes (symlink swap): applied within a second.
lk_config ..v2 deny
ln -s ..v2 res-lk/..data_tmp && mv -T res-lk/..data_tmp res-lk/..data
st=0
for i in $(seq 20); do st=$(status "http://127.0.0.1:$A/v1.0/invoke/localhost/method/hello"); [ "$st" = 403 ] && break; sleep 0.05; done
expect_eq "ConfigMap update (symlink swap) applied" "$st" 403
lk_config ..v3 allow
ln -s ..v3 res-lk/..data_tmp && mv -T res-lk/..data_tmp res-lk/..data
for i in $(seq 20); do st=$(status "http://127.0.0.1:$A/v1.0/invoke/localhost/method/hello"); [ "$st" = 200 ] && break; sleep 0.05; done
expect_eq "ConfigMap update back" "$st" 200

# Not a DNS label: refused clearly, no DNS query.
out=$(curl -s -m 10 -w ' %{http_code}' "http://127.0.0.1:$A/v1.0/invoke/my_app/method/x")
expect_contains "app ID with '_' -> 500" "$out" " 500"
expect_contains "app ID with '_' -> Dapr error" "$out" '"errorCode":"ERR_DIRECT_INVOKE"'
expect_contains "app ID with '_' -> logged why" "$(cat a.err)" "app_id=my_app: not a DNS label"

# Names that do not resolve: a Dapr-shaped error, quickly.
t0=$(date +%s)
out=$(curl -s -m 20 -w ' %{http_code}' "http://127.0.0.1:$A/v1.0/invoke/nowhere/method/x")
t1=$(date +%s)
expect_contains "unresolvable --peers name -> 502" "$out" " 502"
expect_contains "unresolvable --peers name -> message" "$out" '"message":"failed to invoke, id: nowhere, err: name resolution failed"'
out=$(curl -s -m 20 -w ' %{http_code}' "http://127.0.0.1:$A/v1.0/invoke/ghost/method/x")
expect_contains "unresolvable template name -> 502 ERR_DIRECT_INVOKE" "$out" '"errorCode":"ERR_DIRECT_INVOKE"'
if [ $((t1 - t0)) -le 6 ]; then ok "no hang on a name that does not resolve ($((t1 - t0)) s)"; else not_ok "no hang" "$((t1 - t0)) s"; fi

# Certificates that are not this sidecar's own, and bad flags: refused at start.
refused() {
    timeout 20 "$BIN/warden" sidecar --http-port 0 --namespace $NS --trust-domain $TD "$@" >/dev/null 2>refused.err
    echo "$? $(cat refused.err)"
}
out=$(refused --app-id b --cert-dir "$E2E_TMP/certs/a")
expect_contains "a leaf naming another app ID -> exit 1" "$out" "1 "
expect_contains "a leaf naming another app ID -> says both" "$out" "tls.crt names spiffe://$TD/ns/$NS/a, but this sidecar is spiffe://$TD/ns/$NS/b"
cp ca/ca.crt certs/b-other/ca.crt
out=$(refused --app-id b --cert-dir "$E2E_TMP/certs/b-other")
expect_contains "a leaf of another CA -> refused" "$out" "tls.crt does not verify against ca.crt"
out=$(refused --app-id b --cert-dir "$E2E_TMP/certs/b" --ca-dir "$E2E_TMP/x")
expect_contains "--cert-dir with --ca-dir -> refused" "$out" "--cert-dir and --ca-dir cannot be used together"
out=$(refused --app-id b --cert-dir "$E2E_TMP/certs/b" --peer-dns 'peers.local:50002')
expect_contains "template without {app-id} -> refused" "$out" "--peer-dns 'peers.local:50002': it must contain {app-id}"
out=$(refused --app-id b --cert-dir "$E2E_TMP/certs/b" --peer-dns '{app_id}.svc:1')
expect_contains "unknown placeholder -> refused" "$out" "unknown placeholder"
out=$(refused --app-id b --cert-dir "$E2E_TMP/certs/nothing")
expect_contains "missing --cert-dir -> refused" "$out" "cannot read"

# The certificate is replaced on disk: new connections present the new one.
expect_eq "serving the first certificate" "$(serial_of "$PB")" "serial=0B01"
make_leaf ca certs/b b 0x0B02
s=""
for i in $(seq 50); do s=$(serial_of "$PB"); [ "$s" = "serial=0B02" ] && break; sleep 0.1; done
expect_eq "replaced certificate picked up" "$s" "serial=0B02"
expect_contains "reload logged" "$(cat b.err)" "workload certificate reloaded app_id=b"
expect_eq "invocation after the reload" "$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/api/items")" 200

# The Kubernetes way: a new folder, then the ..data symlink swapped in one rename.
expect_eq "serving the first certificate (Secret layout)" "$(serial_of "$PL")" "serial=0C01"
make_leaf ca certs/lk/..v2 localhost 0x0C02
ln -s ..v2 certs/lk/..data_tmp && mv -T certs/lk/..data_tmp certs/lk/..data
s=""
for i in $(seq 50); do s=$(serial_of "$PL"); [ "$s" = "serial=0C02" ] && break; sleep 0.1; done
expect_eq "Secret update (symlink swap) picked up" "$s" "serial=0C02"
expect_contains "invocation after the Secret update" "$(curl -s -m 10 "http://127.0.0.1:$A/v1.0/invoke/localhost/method/x")" '"dapr-caller-app-id":"a"'
expect_not_contains "no refused set on the way (the swap is atomic)" "$(cat l.err)" "refused"

# A broken replacement (a leaf of another app) is refused; the current certificate stays.
cp certs/a/tls.crt certs/b/tls.crt.new && cp certs/a/tls.key certs/b/tls.key.new
mv certs/b/tls.crt.new certs/b/tls.crt && mv certs/b/tls.key.new certs/b/tls.key
# The two files are replaced one after the other: a reload may first see the new tls.crt with
# the old tls.key (refused as a mismatch) before the complete set. Wait for the line that names
# the set as a whole, past one --cert-dir poll (10 s) in case an inotify event was missed.
want="certificate reload refused (the current certificate stays): --cert-dir: tls.crt names spiffe://$TD/ns/$NS/a"
for i in $(seq 150); do grep -qF "$want" b.err && break; sleep 0.1; done
expect_contains "broken replacement logged" "$(cat b.err)" "$want"
expect_eq "still serving the good certificate" "$(serial_of "$PB")" "serial=0B02"
printf 'garbage\n' > certs/b/tls.crt
sleep 0.5
expect_eq "garbage ignored too" "$(serial_of "$PB")" "serial=0B02"
expect_eq "invocation with the kept certificate" "$(status "http://127.0.0.1:$A/v1.0/invoke/b/method/api/items")" 200

# An intermediate CA: tls.crt holds the leaf then the intermediate, ca.crt only the root; the
# server sends the chain (verified by openssl against the root alone).
mkdir -p inter
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter/ca.key \
    -subj "/CN=test intermediate" -out inter.csr 2>/dev/null
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' > inter.ext
openssl x509 -req -in inter.csr -CA ca/ca.crt -CAkey ca/ca.key -set_serial 0x1001 -days 1 \
    -extfile inter.ext -out inter/ca.crt 2>/dev/null
make_leaf inter certs/m m 0x0E01
cat inter/ca.crt >> certs/m/tls.crt
cp ca/ca.crt certs/m/ca.crt
start_sidecar m --app-id m --internal-port 0 $COMMON --cert-dir "$E2E_TMP/certs/m" || exit 1
PM=$(sc_port m internal)
out=$(timeout 10 openssl s_client -connect "127.0.0.1:$PM" -cert certs/a/tls.crt -key certs/a/tls.key \
    -CAfile ca/ca.crt -verify_return_error </dev/null 2>&1)
expect_contains "leaf + intermediate verify against the root" "$out" "Verify return code: 0 (ok)"
kill -TERM "$PID_m"

# The flags and resources of deploy/kubernetes/ start a sidecar (namespace from env NAMESPACE).
NS=mcp-demo TD=public make_leaf ca certs/k8s mcp-server 0x0D01
NAMESPACE=mcp-demo start_sidecar k8s --app-id=mcp-server --app-port=8000 --http-port=0 \
    --internal-port=0 --resources-path="$WDN_SOURCE_DIR/deploy/kubernetes/resources" \
    --config=mcp-server --cert-dir="$E2E_TMP/certs/k8s" \
    --peer-dns='{app-id}-warden.{namespace}.svc.cluster.local:50002' --log-as-json
expect_contains "deploy/kubernetes sidecar flags work" "$(cat k8s.out)" "ready: app-id=mcp-server"
expect_contains "its SPIFFE ID" "$(cat k8s.err)" "spiffe://public/ns/mcp-demo/mcp-server"
kill -TERM "$PID_k8s"

kill -TERM "$PID_b" "$PID_a" "$PID_l"
wait "$PID_b"
expect_eq "clean exit after reloads" "$?" 0
wait "$PID_a"
expect_eq "clean exit of the caller" "$?" 0
e2e_done
