#!/bin/sh
# tools/call round trips per second: warden's C mcp_server vs a TypeScript SDK server, same run.
# Usage: tests/interop/mcp/bench.sh BIN_DIR [SECONDS] [CONNECTIONS]
# BIN_DIR should hold a Release build of mcp_server. Needs wrk, node and `npm ci` done here.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=$1
secs=${2:-10}
conns=${3:-16}
port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
c_port=$(port)
ts_port=$(port)
"$bin/mcp_server" --port "$c_port" 2>/dev/null &
c_pid=$!
(cd "$here" && exec node bench-ts-server.mjs "$ts_port") >/dev/null &
ts_pid=$!
trap 'kill $c_pid $ts_pid 2>/dev/null' EXIT
sleep 1.5
for target in "C mcp_server:$c_port" "TypeScript SDK:$ts_port"; do
    name=${target%:*}
    p=${target##*:}
    echo "== $name (wrk -t1 -c$conns -d${secs}s)"
    wrk -t1 -c"$conns" -d"${secs}s" -s "$here/bench-tools-call.lua" "http://127.0.0.1:$p/mcp" |
        grep -E "Requests/sec|Latency|bad_responses"
done
