# Beyond one machine, for real: every app and its sidecar in a network namespace of its own,
# joined by veth pairs to a bridge (in a namespace of its own too, so the host's network is
# never touched); peers found through a real DNS server on that network (dnsmasq) under
# Kubernetes-style names with --peer-dns; certificates from --cert-dir made by an outside CA
# (the openssl CLI). Every sidecar uses the same ports (3500, 50002), as pods do.
#
#   ns a  (10.231.0.10): load client -> sidecar a --mTLS--> b-warden.default.svc.cluster.local
#   ns b1 (10.231.0.11): sidecar b, app b1         (two addresses for the name, two replicas)
#   ns b2 (10.231.0.12): sidecar b, app b2
#   ns dns(10.231.0.2):  dnsmasq
#
# Under load: a certificate rotation of every sidecar (new leaves in their --cert-dir) loses no
# request; a graceful failover (b1 leaves DNS, then stops, as a pod does in a rolling update)
# loses none either; when b1 comes back, a stays on b2 (the replica it uses, still listed);
# after a crash (b2's sidecar killed while its address is still in DNS, then the address gone
# from the network) traffic keeps flowing to b1 and at most the requests that were in flight on
# b2 fail. Needs root and iproute2; skipped (ctest code 77) with a message where network
# namespaces cannot be made.
BIN=$1
. "$WDN_SOURCE_DIR/tests/e2e/lib.sh"
HERE="$WDN_SOURCE_DIR/tests/e2e/sidecar_netns"
cd "$E2E_TMP"

skip() {
    echo "SKIP: $1"
    exit 77
}
[ "$(id -u)" = 0 ] || skip "network namespaces need root (CI runs as root)"
for c in ip openssl dnsmasq node curl; do
    command -v "$c" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin"
    command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (scripts/bootstrap installs it)"
done

# Names unique to this run: several test runs may share the machine.
ID="w$$"
SW="${ID}sw" NA="${ID}a" NB1="${ID}b1" NB2="${ID}b2" ND="${ID}dns"
NSES="$NA $NB1 $NB2 $ND $SW"
netns_cleanup() {
    for p in $E2E_PIDS; do kill "$p" 2>/dev/null; done
    # shellcheck disable=SC2086
    e2e_wait_gone 10 $E2E_PIDS
    for n in $NSES; do
        for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
    done
    sleep 0.2
    for n in $NSES; do
        ip netns del "$n" 2>/dev/null
        rm -rf "/etc/netns/$n"
    done
    e2e_cleanup
}
trap netns_cleanup EXIT INT TERM

ip netns add "$SW" 2>/dev/null || skip "cannot create a network namespace (ip netns add)"
ip netns exec "$SW" true 2>/dev/null || skip "cannot enter a network namespace (ip netns exec)"
ip -n "$SW" link add br0 type bridge && ip -n "$SW" link set br0 up ||
    skip "cannot create a bridge in a network namespace"

# host NS LAST_OCTET: a namespace on the bridge at 10.231.0.LAST_OCTET, resolving through dnsmasq
# (ip netns exec mounts /etc/netns/NS/resolv.conf over /etc/resolv.conf).
host() {
    ip netns add "$1" &&
        ip -n "$SW" link add "v$2" type veth peer name eth0 netns "$1" &&
        ip -n "$SW" link set "v$2" master br0 up &&
        ip -n "$1" addr add "10.231.0.$2/24" dev eth0 &&
        ip -n "$1" link set eth0 up &&
        ip -n "$1" link set lo up || return 1
    mkdir -p "/etc/netns/$1"
    echo "nameserver 10.231.0.2" >"/etc/netns/$1/resolv.conf"
}
host "$ND" 2 && host "$NA" 10 && host "$NB1" 11 && host "$NB2" 12 ||
    skip "cannot connect network namespaces with veth pairs"
in_ns() {
    n=$1
    shift
    ip netns exec "$n" "$@"
}

# ---- DNS: a real server on that network, Kubernetes-style names ---------------------------
B_NAME=b-warden.default.svc.cluster.local
dns_records() { # dns_records ADDRESS...: b's name points at these (a headless Service)
    : >dns.hosts.new
    echo "10.231.0.10 a-warden.default.svc.cluster.local" >>dns.hosts.new
    for a in "$@"; do echo "$a $B_NAME" >>dns.hosts.new; done
    mv dns.hosts.new dns.hosts
}
dns_records 10.231.0.11 10.231.0.12
ip netns exec "$ND" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
    --addn-hosts="$E2E_TMP/dns.hosts" --listen-address=10.231.0.2 --bind-interfaces \
    --user=root --pid-file= --log-facility="$E2E_TMP/dnsmasq.log" --log-queries 2>dnsmasq.err &
DNS_PID=$!
E2E_PIDS="$E2E_PIDS $DNS_PID"
n=0
for i in $(seq 100); do
    n=$(in_ns "$NA" getent ahostsv4 "$B_NAME" 2>/dev/null | awk '{print $1}' | sort -u | wc -l)
    [ "$n" = 2 ] && break
    sleep 0.1
done
expect_eq "dnsmasq answers $B_NAME with both replicas" "$n" 2

# ---- Certificates from an outside CA (the openssl CLI) ------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt \
    -subj "/CN=netns test CA" -days 2 -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
# leaf DIR APP_ID SERIAL: tls.crt, tls.key, ca.crt in DIR, each replaced by a rename
leaf() {
    mkdir -p "$1"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=URI:spiffe://public/ns/default/%s,DNS:%s\n' "$2" "$2" >"$1.ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1/key.new" \
        -subj "/CN=$2" -out "$1.csr" 2>/dev/null &&
        openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "$3" -days 1 \
            -extfile "$1.ext" -out "$1/crt.new" 2>/dev/null || return 1
    cp ca.crt "$1/ca.crt"
    mv "$1/key.new" "$1/tls.key"
    mv "$1/crt.new" "$1/tls.crt"
}
leaf certs/a a 0xA1 && leaf certs/b1 b 0xB1 && leaf certs/b2 b 0xB2
expect_eq "openssl made the certificates" "$(ls certs/*/tls.crt | wc -l)" 3

# ---- Apps and sidecars, the same ports in every namespace ---------------------------------
# sidecar NS NAME APP_ID [ARGS...]: the sidecar in NS, logs in NAME.out/.err, waits for ready
sidecar() {
    ns=$1 name=$2 app=$3
    shift 3
    ip netns exec "$ns" timeout 300 "$BIN/warden" sidecar --app-id "$app" --http-port 3500 \
        --internal-address 0.0.0.0 --internal-port 50002 --cert-dir "$E2E_TMP/certs/$name" \
        --peer-dns '{app-id}-warden.{namespace}.svc.cluster.local:50002' "$@" \
        >"$name.out" 2>"$name.err" &
    E2E_PIDS="$E2E_PIDS $!"
    eval "PID_$name=$!"
    for i in $(seq 300); do
        grep -q 'ready:' "$name.out" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "sidecar $name did not start:"
    cat "$name.err"
    return 1
}
for b in b1 b2; do
    ns=$NB1
    [ $b = b2 ] && ns=$NB2
    ip netns exec "$ns" timeout 300 node "$HERE/app.js" "$b" 8000 >"app-$b.out" 2>&1 &
    E2E_PIDS="$E2E_PIDS $!"
done
sidecar "$NB1" b1 b --app-port 8000 || exit 1
sidecar "$NB2" b2 b --app-port 8000 || exit 1
sidecar "$NA" a a || exit 1
URL=http://127.0.0.1:3500/v1.0/invoke/b/method/who
for i in $(seq 100); do
    out=$(in_ns "$NA" curl -s -m 10 "$URL")
    case "$out" in *'"instance":"b'*) break ;; esac
    sleep 0.1
done
expect_contains "a reaches b by its DNS name over mTLS" "$out" '"instance":"b'
expect_contains "b saw a's SPIFFE identity" "$out" '"caller":"a"'
expect_contains "the name was looked up in dnsmasq" "$(cat dnsmasq.log)" "query[A] $B_NAME"

# load STOPFILE: starts the load client in ns a (8 requests in flight) until STOPFILE exists
load() {
    rm -f "$1"
    ip netns exec "$NA" timeout 200 node "$HERE/load.js" "$URL" 8 "$E2E_TMP/$1" >"$1.txt" 2>&1 &
    LOAD_PID=$!
    E2E_PIDS="$E2E_PIDS $LOAD_PID"
}
# load_end STOPFILE: stops the load client; its counts in RES
load_end() {
    touch "$1"
    wait "$LOAD_PID"
    rc=$?
    RES=$(cat "$1.txt")
    [ -n "$RES" ] || echo "    load client ended with $rc and printed nothing"
}
# reloads NAME: how many times NAME's sidecar installed a new certificate
reloads() { grep -c 'workload certificate reloaded' "$1.err"; }
wait_reload() { # wait_reload NAME COUNT
    for i in $(seq 300); do
        [ "$(reloads "$1")" -ge "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# flowing: a request through a succeeds now (polls up to 30 s); prints the instance
flowing() {
    for i in $(seq 300); do
        out=$(in_ns "$NA" curl -s -m 10 "$URL")
        case "$out" in *'"instance":"b'*)
            echo "$out" | sed 's/.*"instance":"\(b[0-9]\)".*/\1/'
            return 0
            ;;
        esac
        sleep 0.1
    done
    return 1
}

# ---- 1. Certificate rotation under load ---------------------------------------------------
load stop1
sleep 1
leaf certs/a a 0xA2 && leaf certs/b1 b 0xB12 && leaf certs/b2 b 0xB22
ok=1
for s in a b1 b2; do wait_reload "$s" 1 || ok=0; done
expect_eq "every sidecar reloaded its new certificate" "$ok" 1
sleep 1
load_end stop1
res=$RES
expect_contains "requests through the rotation ($res)" "$res" "200="
expect_eq "no failed request through the rotation" \
    "$(echo "$res" | tr ' ' '\n' | grep -v -e '^200=' -e '^b[12]=' | wc -l)" 0
expect_contains "b1's sidecar serves its new certificate" "$(cat b1.err)" "serial=0B12"

# ---- 2. Graceful failover: b1 leaves DNS, then stops (a rolling update) -------------------
load stop2
sleep 1
dns_records 10.231.0.12
kill -HUP "$DNS_PID"
# a reuses looked-up addresses for 10 s (WDN_DNS_TTL_MS), then asks again.
sleep 12
kill -TERM "$PID_b1"
wait "$PID_b1"
expect_eq "b1's sidecar stopped cleanly" "$?" 0
sleep 1
load_end stop2
res=$RES
expect_contains "requests through the graceful failover ($res)" "$res" "b2="
expect_eq "no failed request through the graceful failover" \
    "$(echo "$res" | tr ' ' '\n' | grep -v -e '^200=' -e '^b[12]=' | wc -l)" 0

# ---- 3. Crash: b1 comes back, then b2's sidecar dies (still in DNS) -----------------------
# a's lookups of b's name (its sidecar is the only one asking, from 10.231.0.10)
lookups() { grep -c "query\[A\] $B_NAME from 10.231.0.10" dnsmasq.log; }
sidecar "$NB1" b1 b --app-port 8000 || exit 1
n0=$(lookups)
dns_records 10.231.0.11 10.231.0.12
kill -HUP "$DNS_PID"
# a looks the name up again within 10 s (WDN_DNS_TTL_MS) and keeps b2: the address it
# uses is still listed (a refresh never moves traffic back to the first address).
for i in $(seq 300); do
    [ "$(lookups)" -gt "$n0" ] && break
    flowing >/dev/null
    sleep 0.1
done
expect_eq "a looked b's name up again" "$([ "$(lookups)" -gt "$n0" ] && echo yes)" yes
sleep 1
kept=""
for i in $(seq 5); do kept="$kept$(flowing)"; done
expect_eq "a keeps b2, the replica it uses, when b1 is listed again" "$kept" "b2b2b2b2b2"
load stop3
sleep 1
# The sidecar itself (timeout(1) runs it) dies at once, as in a crash.
kill -KILL $(pgrep -P "$PID_b2") "$PID_b2"
t0=$(date +%s)
who=$(flowing)
expect_eq "traffic flows on after b2 crashed, served by b1" "$who" b1
t1=$(date +%s)
sleep 2
load_end stop3
echo "    crash: traffic back on b1 after $((t1 - t0)) s; requests: $RES"
expect_contains "requests went on after the crash ($RES)" "$RES" "b1="
# Only the 8 requests in flight on b2 may fail (a refused connection goes to b1 at once).
failed=$(echo "$RES" | tr ' ' '\n' | grep -v -e '^200=' -e '^b[12]=' | awk -F= '{n += $2} END {print n + 0}')
expect_eq "at most the 8 requests in flight failed in the crash (failed=$failed)" \
    "$([ "$failed" -le 8 ] && echo yes)" yes
# Its address vanishes from the network too: the next lookups still name it.
ip -n "$NB2" link set eth0 down
last=""
for i in $(seq 10); do last="$last$(flowing)"; done
expect_eq "then b1 answers every request" "$last" "b1b1b1b1b1b1b1b1b1b1"
e2e_done
