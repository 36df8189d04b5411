#!/bin/sh
# `warden check` end to end: exit codes 0/1/2, "configuration OK", and errors as file:line:col.
# Usage: check_cli.sh WARDEN SOURCE_DIR
set -u
W=$1
V=$2/tests/vectors/resources
T=$(mktemp -d /tmp/wdn-check-XXXXXX)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# The tutorial's files, envsubst'd, for the app that runs the bearer handler.
out=$("$W" check -f "$V/bearer-component.envsubst.yaml" -f "$V/mcp-server-oauth.yaml" \
      --app-id mcp-server 2>"$T/err"); rc=$?
[ $rc -eq 0 ] || fail "tutorial files: exit $rc: $(cat "$T/err")"
[ "$out" = "configuration OK" ] || fail "tutorial files: stdout '$out'"
[ -s "$T/err" ] && fail "tutorial files: unexpected stderr $(cat "$T/err")"

# The template through stdin without envsubst: refused as the sidecar refuses it (issue 14).
out=$("$W" check -f - < "$V/bearer-component.yaml" 2>"$T/err"); rc=$?
[ $rc -eq 1 ] && [ -z "$out" ] || fail "stdin: exit $rc, '$out'"
grep -q '^-:9:5: spec.metadata\[0\]: value of "issuer" contains "${AUTH0_DOMAIN}": variables are not expanded' "$T/err" ||
    fail "stdin: no error at -:9:5: $(cat "$T/err")"

# A bearer component with a misspelled field: refused by check, with the sidecar's message.
sed 's/- name: audience/- name: audiance/' "$V/bearer-component.envsubst.yaml" > "$T/audiance.yaml"
"$W" check -f "$T/audiance.yaml" >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "audiance: exit $rc"
grep -q "^$T/audiance.yaml:[0-9]*:5: component 'bearer' (middleware.http.bearer): unknown metadata field audiance (did you mean audience?" "$T/err" ||
    fail "audiance: $(cat "$T/err")"

# The same Configuration for an app outside the component's scopes: refused, with the place.
"$W" check -f "$V/bearer-component.envsubst.yaml" -f "$V/mcp-server-oauth.yaml" \
    --app-id mcp-client >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "scoped away: exit $rc"
grep -q "^$V/mcp-server-oauth.yaml:10:7: Configuration \"mcp-server-oauth\" appHttpPipeline.handlers\[0\]: Component \"bearer\" is scoped away from app \"mcp-client\"" "$T/err" ||
    fail "scoped away: $(cat "$T/err")"
[ -s "$T/out" ] && fail "scoped away: stdout not empty"

# Every error of a bad file, each with its line and column.
"$W" check -f "$V/bad-several.yaml" >"$T/out" 2>"$T/err"; rc=$?
[ $rc -eq 1 ] || fail "bad file: exit $rc"
for where in 4:9 10:5 9:5 11:17 19:20 25:20 21:7 29:7; do
    grep -q "^$V/bad-several.yaml:$where: " "$T/err" || fail "bad file: no error at $where"
done
grep -q "^warden check: 8 errors$" "$T/err" || fail "bad file: count: $(tail -1 "$T/err")"

# A folder, and a run file whose app folders exist.
mkdir -p "$T/run/mcp_client" "$T/run/mcp_server" "$T/run/weather_service"
cp "$V/mcp-quickstart.yaml" "$T/run/"
out=$("$W" check -f "$T/run/mcp-quickstart.yaml" 2>"$T/err"); rc=$?
[ $rc -eq 0 ] && [ "$out" = "configuration OK" ] || fail "run file: exit $rc $(cat "$T/err")"
mkdir "$T/dir" && cp "$V/bearer-component.envsubst.yaml" "$T/dir/a.yaml" &&
    cp "$V/mcp-server-oauth.yaml" "$T/dir/b.yml"
out=$("$W" check -f "$T/dir" --app-id=mcp-server 2>"$T/err"); rc=$?
[ $rc -eq 0 ] && [ "$out" = "configuration OK" ] || fail "folder: exit $rc $(cat "$T/err")"

# Usage errors exit 2; --help exits 0.
"$W" check >/dev/null 2>&1; [ $? -eq 2 ] || fail "no -f: not 2"
"$W" check -f >/dev/null 2>&1; [ $? -eq 2 ] || fail "-f without value: not 2"
"$W" check -f x --bogus >/dev/null 2>&1; [ $? -eq 2 ] || fail "unknown flag: not 2"
"$W" check -f x --app-id a.b >/dev/null 2>&1; [ $? -eq 2 ] || fail "bad app id: not 2"
"$W" check --help | grep -q "^Usage: warden check" || fail "--help"
"$W" check -f "$T/missing.yaml" >/dev/null 2>&1; [ $? -eq 1 ] || fail "missing file: not 1"
echo "check_cli: all passed"
