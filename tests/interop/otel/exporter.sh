#!/bin/sh
# warden's OTLP/HTTP exporter (protobuf) against a receiver built on the OpenTelemetry project's own
# packages (receiver.mjs): three spans of one trace arrive, accepted by the project's encoders,
# parent to child. Usage: exporter.sh EMIT_SPANS (the emit_spans binary)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
EMIT=$1
T=$(mktemp -d /tmp/wdn-otel-XXXXXX)
RPID=""
cleanup() { [ -n "$RPID" ] && kill "$RPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT INT TERM
fail() { echo "FAIL: $*"; [ -f "$T/spans" ] && cat "$T/spans"; exit 1; }

sh "$HERE/setup.sh" || exit $?
mkfifo "$T/in"
node "$HERE/receiver.mjs" --out "$T/spans" < "$T/in" > "$T/port" 2>"$T/err" &
RPID=$!
exec 9> "$T/in"   # the receiver exits when this closes
i=0
while [ $i -lt 200 ] && ! grep -q '^PORT ' "$T/port"; do sleep 0.05; i=$((i + 1)); done
PORT=$(sed -n 's/^PORT //p' "$T/port")
[ -n "$PORT" ] || fail "receiver did not start: $(cat "$T/err")"

out=$("$EMIT" "http://127.0.0.1:$PORT/v1/traces") || fail "emit_spans: $out"
trace=${out%% *}
grep -q rejected "$T/spans" && fail "the receiver refused warden's request"
node "$HERE/check.mjs" "$T/spans" chain "$trace" ingress forward tool_policy || fail "span chain"
echo "1 passed, 0 failed"
