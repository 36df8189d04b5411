#!/bin/sh
# Runs hello-server and hello-proxy on free ports, sends a request through each, then stops them
# with SIGTERM and SIGINT and checks that both exit cleanly (under ASan: without leaks).
# Usage: smoke.sh HELLO_SERVER HELLO_PROXY
set -eu
server=$1
proxy=$2
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ps=$(port)
pp=$(port)
"$server" --listen "127.0.0.1:$ps" --workers 2 &
spid=$!
"$proxy" --listen "127.0.0.1:$pp" --upstream "127.0.0.1:$ps" --workers 2 &
ppid=$!
trap 'kill -KILL $spid $ppid 2>/dev/null || true' EXIT
# Both up: the server answers, and the proxy answers with the server's 200 (curl -f: a 502 from a
# proxy whose upstream is not listening yet is not "up"). Bounded by time, not tries.
ok=0
end=$(($(date +%s) + 30))
while [ "$(date +%s)" -lt "$end" ]; do
    if curl -sf -m 2 "http://127.0.0.1:$ps/x" >/dev/null 2>&1 &&
        curl -sf -m 2 "http://127.0.0.1:$pp/x" >/dev/null 2>&1; then ok=1; break; fi
    sleep 0.05
done
[ "$ok" = 1 ] || { echo "smoke: servers did not come up in 30 s" >&2; exit 1; }
direct=$(curl -s -m 5 "http://127.0.0.1:$ps/a") || echo "smoke: direct request failed ($?)" >&2
proxied=$(curl -s -m 5 -d 'body' "http://127.0.0.1:$pp/b") || echo "smoke: proxied request failed ($?)" >&2
[ "$direct" = '{"message":"hello"}' ] || { echo "smoke: direct: $direct" >&2; exit 1; }
[ "$proxied" = '{"message":"hello"}' ] || { echo "smoke: proxied: $proxied" >&2; exit 1; }
kill -TERM "$ppid"
kill -INT "$spid"
rc=0
wait "$ppid" || rc=$?
[ "$rc" = 0 ] || { echo "smoke: hello-proxy exited with $rc" >&2; exit 1; }
wait "$spid" || rc=$?
[ "$rc" = 0 ] || { echo "smoke: hello-server exited with $rc" >&2; exit 1; }
trap - EXIT
echo "smoke: ok"
