#!/bin/sh
# `warden audit verify|query` through the real binary, on a chain built here with sha256sum: the
# chain's definition (each record's "prev" is the SHA-256 of the line before it, without its
# newline; the first's is 64 zeros) is checked independently of the C code that writes it.
# Usage: audit_cli.sh WARDEN
set -u
W=$1
T=$(mktemp -d /tmp/wdn-audit-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# record SEQ TIME BODY: appends a record chained to the file's last line to $T/log.
prev=0000000000000000000000000000000000000000000000000000000000000000
record() {
    line="{\"seq\":$1,\"time\":\"$2\",\"app_id\":\"mcp-server\",$3,\"prev\":\"$prev\"}"
    printf '%s\n' "$line" >> "$T/log"
    prev=$(printf '%s' "$line" | sha256sum | cut -c1-64)
}
record 1 2026-11-01T09:00:00.000000Z '"kind":"start","decision":"none"'
record 2 2026-11-01T10:00:00.000000Z '"kind":"tool_policy","decision":"deny","reason":"tool_not_granted","status":403,"caller":"spiffe://public/ns/default/mcp-client","tool":"add"'
record 3 2026-11-01T11:00:00.000000Z '"kind":"tool_policy","decision":"allow","reason":"granted","caller":"spiffe://public/ns/default/mcp-client","tool":"echo"'
record 4 2026-11-02T10:00:00.000000Z '"kind":"bearer","decision":"deny","reason":"missing_token","status":401'

out=$("$W" audit verify "$T/log"); rc=$?
[ $rc -eq 0 ] || fail "verify: exit $rc: $out"
[ "$out" = "OK: 4 records in 1 file (seq 1..4), last hash $prev" ] || fail "verify: '$out'"

# Query filters, and the lines come out unchanged.
n=$("$W" audit query "$T/log" --decision deny | wc -l)
[ "$n" -eq 2 ] || fail "query --decision deny: $n lines"
out=$("$W" audit query "$T/log" --tool add --decision deny)
[ "$out" = "$(sed -n 2p "$T/log")" ] || fail "query --tool add: '$out'"
n=$("$W" audit query "$T/log" --since 2026-11-01T10:30:00Z --until 2026-11-02 | wc -l)
[ "$n" -eq 1 ] || fail "query --since --until: $n lines"
n=$("$W" audit query "$T/log" --caller mcp-client --kind tool_policy | wc -l)
[ "$n" -eq 2 ] || fail "query --caller: $n lines"
"$W" audit query "$T/log" --decision maybe >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] && grep -q "allow or deny" "$T/err" || fail "bad --decision: exit $rc"
"$W" audit query "$T/log" --since yesterday >/dev/null 2>"$T/err"; rc=$?
[ $rc -eq 2 ] || fail "bad --since: exit $rc"

# One record edited: verify names it and exits 1.
sed '3s/"decision":"allow"/"decision":"deny"/' "$T/log" > "$T/edited"
out=$("$W" audit verify "$T/edited"); rc=$?
[ $rc -eq 1 ] || fail "edited: exit $rc"
case "$out" in "BROKEN: $T/edited:3: record seq 3 was changed"*) ;; *) fail "edited: '$out'" ;; esac
# One removed, two swapped.
sed '2d' "$T/log" > "$T/removed"
out=$("$W" audit verify "$T/removed"); rc=$?
[ $rc -eq 1 ] || fail "removed: exit $rc"
case "$out" in "BROKEN: $T/removed:2: records seq 2..2 are missing"*) ;; *) fail "removed: '$out'" ;; esac
{ sed -n 1p "$T/log"; sed -n 3p "$T/log"; sed -n 2p "$T/log"; sed -n 4p "$T/log"; } > "$T/swapped"
"$W" audit verify "$T/swapped" >/dev/null; rc=$?
[ $rc -eq 1 ] || fail "swapped: exit $rc"

# A rotated pair given in glob order verifies as one chain.
head -n 2 "$T/log" > "$T/a.log.1"
tail -n 2 "$T/log" > "$T/a.log"
out=$("$W" audit verify "$T/a.log" "$T/a.log.1"); rc=$?
[ $rc -eq 0 ] || fail "rotated: exit $rc: $out"
case "$out" in "OK: 4 records in 2 files"*) ;; *) fail "rotated: '$out'" ;; esac

# Usage errors.
"$W" audit verify >/dev/null 2>&1; [ $? -eq 2 ] || fail "verify without files"
"$W" audit frob x >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown subcommand"
"$W" audit verify "$T/nonexistent" >/dev/null 2>&1; [ $? -eq 1 ] || fail "missing file"
"$W" audit --help | grep -q "warden audit verify FILE" || fail "--help"
echo "audit_cli: ok"
