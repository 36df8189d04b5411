#!/bin/sh
# The container images and deploy/kubernetes, run for real on a container engine (`make
# check-images`; .ci/run runs it). No registry is needed:
#   1. a Debian 12 base image from Debian's packages (scripts/base-image: debootstrap, podman
#      import), kept between runs under a name that changes when the recipe does;
#   2. both images built from Containerfile on it by scripts/image (what `make image` runs),
#      then checked: OCI labels, `warden version`, non-root user, every library found;
#   3. the manifests played with `podman kube play`, each pod on the network wdn-kube-test under
#      the name of its headless Service (so --peer-dns works unchanged), the files of the
#      cert-manager Secrets made with the openssl CLI (same SPIFFE URI and DNS SANs), the
#      ConfigMap as kustomize makes it, the OAuth2 part of the README with `warden issuer` in a
#      pod of its own; tests/images/kube.py names every edit and why podman needs it;
#   4. POST /run on the MCP client answers with the tutorial's JSON; a request without a token,
#      or with a bad one, is 401 at the MCP server's sidecar; the access policy refuses
#      mcp-client -> weather-service (403); the MCP server's pod replaced by a new one (what a
#      Deployment does when a pod dies) and /run answers again.
# Exit 77 (ctest's skip code) with the reason when this machine cannot run the engine (not
# root, podman missing, no storage driver or runtime); every later failure fails the test.
# Usage: tests/images/run.sh   (root; about 10 minutes on a fresh machine, 3 with the caches)
set -eu
SRC=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$SRC/tests/images
NET=wdn-kube-test
NS=mcp-demo
TAG=kube-test
WARDEN_IMAGE=localhost/warden:$TAG
EXAMPLES_IMAGE=localhost/warden-examples:$TAG
ISSUER_HOST=issuer.$NS.svc.cluster.local
ISSUER_URL=https://$ISSUER_HOST:9443/
AUDIENCE=https://warden.local/api/
APPS="weather-service mcp-server mcp-client"
PY=/usr/bin/python3
T0=$(date +%s)

skip() {
    echo "SKIPPED: $*"
    exit 77
}
say() {
    echo "images: [$(($(date +%s) - T0)) s] $*"
}

[ "$(id -u)" = 0 ] || skip "runs rootful podman and enters pods' network namespaces: run as root"
for tool in podman runc debootstrap openssl curl jq nsenter "$PY"; do
    command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed (scripts/bootstrap installs it)"
done
"$PY" -c 'import yaml' 2>/dev/null || skip "python3-yaml is not installed (scripts/bootstrap installs it)"
export CONTAINERS_CONF=$HERE/containers.conf
if ! podman info >/dev/null 2>/tmp/wdn-images-info.$$; then
    reason=$(tail -3 /tmp/wdn-images-info.$$)
    rm -f /tmp/wdn-images-info.$$
    skip "podman cannot run on this machine: $reason"
fi
rm -f /tmp/wdn-images-info.$$

# Pods and the network have machine-wide names: one run at a time.
exec 9>/tmp/warden-images-test.lock
if ! flock -n 9; then
    say "another image test is running on this machine; waiting for it (up to 30 min)"
    flock -w 1800 9 || { echo "FAIL: the other image test did not finish" >&2; exit 1; }
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/wdn-images.XXXXXX")
chmod 755 "$WORK" # the pods' user (65532) reads the certificates from here
teardown() {
    for f in "$WORK"/play/*.yaml; do
        [ ! -f "$f" ] || podman kube down "$f" >/dev/null 2>&1 || true
    done
    for p in issuer $APPS; do podman pod rm -f "$p-pod-0" >/dev/null 2>&1 || true; done
    podman network rm -f "$NET" >/dev/null 2>&1 || true
}
cleanup() {
    rc=$?
    if [ "$rc" != 0 ] && [ "$rc" != 77 ]; then
        [ ! -f "$WORK/run.code" ] || echo "---- last POST /run: HTTP $(cat "$WORK/run.code") $(cat "$WORK/run.json" 2>/dev/null)"
        for p in issuer $APPS; do
            for c in $(podman ps -a --filter "pod=$p-pod-0" --format '{{.Names}}' 2>/dev/null); do
                case "$c" in *-infra) continue ;; esac
                echo "---- logs of $c (last 25 lines)"
                podman logs --tail 25 "$c" 2>&1 | grep -v 'failed to connect to syslog' || true
            done
        done
    fi
    teardown
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() {
    echo "FAIL: $*" >&2
    exit 1
}
# wait_for SECONDS WHAT CMD...: polls CMD once a second until it succeeds.
wait_for() {
    limit=$1 what=$2
    shift 2
    end=$(($(date +%s) + limit))
    until "$@"; do
        [ "$(date +%s)" -lt "$end" ] || fail "$what: not within $limit s"
        sleep 1
    done
}

# ---- 1. the base image --------------------------------------------------------------------
recipe=$(sha256sum "$SRC/scripts/base-image" | cut -c1-12)
BASE=localhost/warden-base:bookworm-$recipe
say "base image $BASE"
"$SRC/scripts/base-image" "$BASE"
# Containers that need no network run with --network=none, and the build uses the host's:
# neither adds an interface to the host (see the lock below).
if ! podman run --rm --network=none "$BASE" true >"$WORK/probe" 2>&1; then
    skip "the engine cannot run a container here: $(tail -3 "$WORK/probe")"
fi

# ---- 2. the images, as `make image` builds them -------------------------------------------
say "building $WARDEN_IMAGE and $EXAMPLES_IMAGE (scripts/image)"
# The build's RUN steps fetch Debian packages over the host's network (scripts/image's default
# for podman: on some machines a container on netavark's default network cannot reach the
# host's DNS resolver). The build stage is named too, so that the next run's compile step
# starts from its cache, and the images this run replaces are removed (one copy of each).
BUILD_STAGE=localhost/warden-build:$TAG
old_ids=$(podman image inspect --format '{{.Id}}' "$BUILD_STAGE" "$WARDEN_IMAGE" \
    "$EXAMPLES_IMAGE" 2>/dev/null || true)
ENGINE=podman BASE_IMAGE=$BASE IMAGE_TAG=$TAG IMAGE_BUILD_STAGE=$BUILD_STAGE \
    "$SRC/scripts/image" >"$WORK/build.log" 2>&1 ||
    { tail -40 "$WORK/build.log"; fail "scripts/image failed"; }
new_ids=$(podman image inspect --format '{{.Id}}' "$BUILD_STAGE" "$WARDEN_IMAGE" "$EXAMPLES_IMAGE")
for id in $old_ids; do
    case "$new_ids" in *"$id"*) ;; *) podman rmi "$id" >/dev/null 2>&1 || true ;; esac
done
version=$(sed -n 's/^project(warden VERSION \([0-9A-Za-z.+-]*\).*/\1/p' "$SRC/CMakeLists.txt")
commit=$(git -C "$SRC" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
# expect_label IMAGE KEY ERE: the label org.opencontainers.image.KEY is all of ERE.
expect_label() {
    v=$(podman image inspect --format "{{index .Labels \"org.opencontainers.image.$2\"}}" "$1")
    echo "$v" | grep -Eqx "$3" || fail "$1: label org.opencontainers.image.$2 is '$v', not $3"
}
version_re=$(echo "$version" | sed 's/[.+]/\\&/g')
for img in $WARDEN_IMAGE $EXAMPLES_IMAGE; do
    expect_label "$img" version "$version_re"
    expect_label "$img" revision "$commit(-dirty)?"
    expect_label "$img" created '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z'
    expect_label "$img" base.name "$BASE"
    user=$(podman image inspect --format '{{.Config.User}}' "$img")
    [ "$user" = "65532:65532" ] || fail "$img: user '$user', not 65532:65532"
done
expect_label "$WARDEN_IMAGE" title warden
expect_label "$EXAMPLES_IMAGE" title warden-examples
created=$(podman image inspect --format '{{index .Labels "org.opencontainers.image.created"}}' \
    "$WARDEN_IMAGE")
podman run --rm --network=none "$WARDEN_IMAGE" --version >"$WORK/version"
head -1 "$WORK/version" | grep -qx "warden $version_re" &&
    grep -Eqx "commit $commit(-dirty)?" "$WORK/version" &&
    grep -qx "built $created" "$WORK/version" ||
    fail "warden --version: '$(cat "$WORK/version")', not $version, $commit, $created"
examples_built=$(podman run --rm --network=none --entrypoint cat "$EXAMPLES_IMAGE" \
    /usr/local/share/warden/version)
[ "$examples_built" = "$(cat "$WORK/version")" ] ||
    fail "the examples' /usr/local/share/warden/version is not warden's: $examples_built"
[ "$(podman run --rm --network=none --entrypoint id "$WARDEN_IMAGE" -u)" = 65532 ] || fail "warden runs as root"
podman run --rm --network=none --entrypoint sh "$EXAMPLES_IMAGE" -c 'ldd /usr/local/bin/*' >"$WORK/ldd"
podman run --rm --network=none --entrypoint ldd "$WARDEN_IMAGE" /usr/local/bin/warden >>"$WORK/ldd"
! grep -q "not found" "$WORK/ldd" || fail "a library is missing: $(grep 'not found' "$WORK/ldd")"
mb() {
    awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1e6 }'
}
base_size=$(podman image inspect --format '{{.Size}}' "$BASE")
for img in $WARDEN_IMAGE $EXAMPLES_IMAGE; do
    size=$(podman image inspect --format '{{.Size}}' "$img")
    say "$img: $(mb "$size") = base $(mb "$base_size") + $(mb $((size - base_size)))"
done
grep -q "image: warden:$version " "$SRC/deploy/kubernetes/mcp-server.yaml" ||
    fail "deploy/kubernetes names another warden version than $version (CMakeLists.txt)"

# ---- 3. certificates, ConfigMap, manifests ------------------------------------------------
say "certificates (openssl), ConfigMap, manifests"
mkdir -p "$WORK/pki" "$WORK/play" "$WORK/secrets/issuer-ca"
cd "$WORK/pki"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=warden $NS CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    -out ca.crt 2>/dev/null
for app in $APPS; do
    # What the Certificate <app>-warden asks cert-manager for: one URI SAN (the SPIFFE ID),
    # the DNS names, client and server auth, 24 h.
    openssl ecparam -name prime256v1 -genkey -noout -out "$app.key" 2>/dev/null
    openssl req -new -key "$app.key" -subj "/CN=$app" -out "$app.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=critical,CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth" \
        "subjectAltName=URI:spiffe://public/ns/$NS/$app,DNS:$app,DNS:$app-warden.$NS.svc.cluster.local" \
        >"$app.ext"
    openssl x509 -req -in "$app.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -sha256 \
        -extfile "$app.ext" -out "$app.crt" 2>/dev/null
    # The Secret <app>-warden-tls as its volume shows it (files 0644, the default mode).
    d=$WORK/secrets/$app-warden-tls
    mkdir -p "$d"
    cp "$app.crt" "$d/tls.crt"
    cp "$app.key" "$d/tls.key"
    cp ca.crt "$d/ca.crt"
    chmod 644 "$d"/*
done
chmod -R a+rX "$WORK/secrets"
cd "$SRC"
client_id=mcp-client
client_secret=$(openssl rand -hex 16)
"$PY" "$HERE/kube.py" configmap "$SRC/deploy/kubernetes" "$ISSUER_URL" "$AUDIENCE" >"$WORK/configmap.yaml"
"$PY" "$HERE/kube.py" apps "$SRC/deploy/kubernetes" "$WORK/play" "$WORK/secrets" "$WARDEN_IMAGE" \
    "$EXAMPLES_IMAGE" "$ISSUER_URL" "$AUDIENCE" "$client_id" "$client_secret"
"$PY" "$HERE/kube.py" issuer "$WARDEN_IMAGE" "$ISSUER_HOST" 9443 "$client_id" "$client_secret" \
    "$AUDIENCE" >"$WORK/play/issuer.yaml"

# play NAME ALIAS [--replace]: one file of $WORK/play, its pod named ALIAS on the network.
play() {
    podman kube play ${3:-} --network "$NET:alias=$2" --configmap "$WORK/configmap.yaml" \
        "$WORK/play/$1.yaml" >"$WORK/play-$1.log" 2>&1 || { cat "$WORK/play-$1.log"; fail "kube play $1"; }
}
running() {
    [ "$(podman ps --filter "pod=$1-pod-0" --filter status=running --format '{{.Names}}' | grep -vc -- -infra)" = "$2" ]
}
# in_pod POD CMD...: CMD in the pod's network namespace (as kubectl port-forward reaches it).
in_pod() {
    pod=$1
    shift
    infra=$(podman pod inspect --format '{{.InfraContainerID}}' "$pod-pod-0")
    pid=$(podman inspect --format '{{.State.Pid}}' "$infra")
    nsenter --net="/proc/$pid/ns/net" "$@"
}

# From here on the pods add interfaces to the host (the network's bridge, a veth per pod),
# which makes Chromium abort page loads (ERR_NETWORK_CHANGED). Tests that drive Chromium hold
# /tmp/warden-host-netif.lock shared while they run; this part holds it exclusively.
exec 8>/tmp/warden-host-netif.lock
if ! flock -x -n 8; then
    say "waiting for the Chromium tests running on this machine (host-netif lock, up to 15 min)"
    flock -x -w 900 8 || fail "the host-netif lock stayed taken for 15 minutes"
fi
teardown # what a killed run may have left
podman network create "$NET" >/dev/null

# ---- 4. the issuer, then the apps ---------------------------------------------------------
say "issuer pod ($ISSUER_URL)"
play issuer "$ISSUER_HOST"
wait_for 120 "the issuer's CA" podman exec issuer-pod-0-issuer test -s /state/ca/ca.crt
podman exec issuer-pod-0-issuer cat /state/ca/ca.crt >"$WORK/secrets/issuer-ca/ca.crt"
chmod 644 "$WORK/secrets/issuer-ca/ca.crt"

for app in $APPS; do
    say "pod $app"
    play "$app" "$app-warden.$NS.svc.cluster.local"
done
for app in $APPS; do
    wait_for 120 "both containers of $app running" running "$app" 2
done

run() {
    in_pod mcp-client curl -s -m 30 -o "$WORK/run.json" -w '%{http_code}' -X POST \
        http://127.0.0.1:5001/run >"$WORK/run.code" 2>/dev/null || true
}
EXPECTED='{"tools":[{"name":"add","description":"Add two numbers together."},{"name":"get_weather_alert","description":"Get a weather alert for a given city."},{"name":"echo","description":"Echo back a message."}],"add_result":"5","weather_alert":"Severe thunderstorm warning until 6 PM CDT","errors":[]}'
run_ok() {
    run
    [ "$(cat "$WORK/run.code")" = 200 ] &&
        [ "$(jq -cS . "$WORK/run.json" 2>/dev/null)" = "$(echo "$EXPECTED" | jq -cS .)" ]
}
say "POST /run on mcp-client (until the sidecars have found each other)"
wait_for 180 "POST /run answering the tutorial's JSON" run_ok
say "POST /run: 200 $(cat "$WORK/run.json")"

# Without a token, and with a bad one: 401 from the MCP server's sidecar, through the client's.
mcp() {
    in_pod mcp-client curl -s -m 30 -D "$WORK/mcp.h" -o "$WORK/mcp.body" -w '%{http_code}' \
        -X POST "$@" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        --data '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' \
        http://127.0.0.1:3500/v1.0/invoke/mcp-server/method/mcp
}
code=$(mcp)
[ "$code" = 401 ] || fail "no token: HTTP $code, not 401 ($(cat "$WORK/mcp.body"))"
grep -qi '^www-authenticate: Bearer' "$WORK/mcp.h" || fail "no token: no WWW-Authenticate: Bearer"
code=$(mcp -H 'Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')
[ "$code" = 401 ] || fail "bad token: HTTP $code, not 401"
grep -qi 'error="invalid_token"' "$WORK/mcp.h" || fail "bad token: no error=\"invalid_token\""
say "no token: 401, bad token: 401 invalid_token"
# The identity in the certificate is what the access policy sees: weather-service only lets
# mcp-server in.
code=$(in_pod mcp-client curl -s -m 30 -o "$WORK/deny.body" -w '%{http_code}' -X POST \
    -d '{"city":"chicago"}' http://127.0.0.1:3500/v1.0/invoke/weather-service/method/weather-alert)
[ "$code" = 403 ] || fail "mcp-client -> weather-service: HTTP $code, not 403 ($(cat "$WORK/deny.body"))"
say "mcp-client -> weather-service: 403 (access policy)"

# ---- 5. a new pod for the MCP server ------------------------------------------------------
ip() {
    podman inspect --format "{{(index .NetworkSettings.Networks \"$NET\").IPAddress}}" \
        "$(podman pod inspect --format '{{.InfraContainerID}}' "$1-pod-0")"
}
old_ip=$(ip mcp-server)
say "replacing the mcp-server pod ($old_ip)"
play mcp-server "mcp-server-warden.$NS.svc.cluster.local" --replace
wait_for 120 "both containers of the new mcp-server running" running mcp-server 2
new_ip=$(ip mcp-server)
wait_for 180 "POST /run after the restart" run_ok
say "POST /run after the restart: 200, the tutorial's JSON (mcp-server $old_ip -> $new_ip)"
say "PASS"
