# The control-plane commands: projects, apply (stdin, files, errors, idempotence, dry run),
# configurations, app IDs, components, and exit codes 0/1/2.
. "$(dirname "$0")/../lib.sh"
BIN=$1
W="$BIN/warden"
R="$WDN_SOURCE_DIR/tests/e2e/cli"

out=$($W project create mcp-access-qs --use 2>&1); expect_eq "project create" "$out" "project/mcp-access-qs created (now the default)"
$W project create mcp-access-qs >/dev/null 2>&1; expect_eq "project create twice fails" "$?" "1"
$W project create Bad_Name >/dev/null 2>&1; expect_eq "bad project name is a usage error" "$?" "2"
$W frobnicate >/dev/null 2>&1; expect_eq "unknown command exits 2" "$?" "2"
$W apply --bogus >/dev/null 2>&1; expect_eq "unknown option exits 2" "$?" "2"

out=$(AUTH0_DOMAIN=127.0.0.1:9443 AUTH0_AUDIENCE=https://api.example/ envsubst < "$R/resources.yaml" | $W apply -f - 2>&1)
expect_eq "apply from stdin" "$out" "component/bearer created
configuration/mcp-server-oauth created"
stored=$(cat "$WARDEN_HOME/projects/mcp-access-qs/resources/component/bearer.yaml")
expect_contains "stored text is what was applied" "$stored" 'value: "https://127.0.0.1:9443/"'
out=$(AUTH0_DOMAIN=127.0.0.1:9443 AUTH0_AUDIENCE=https://api.example/ envsubst < "$R/resources.yaml" | $W apply -f - --approve 2>/dev/null)
expect_eq "apply is idempotent" "$out" "component/bearer unchanged
configuration/mcp-server-oauth unchanged"
err=$($W apply -f - --approve 2>&1 </dev/null >/dev/null)
expect_contains "cloud flags are noted" "$err" "--approve is a managed-cloud option"

out=$($W apply -f "$R/bad.yaml" 2>&1); rc=$?
expect_eq "invalid file fails" "$rc" "1"
expect_contains "error has file:line:col" "$out" "bad.yaml:6:3:"
expect_contains "nothing applied" "$out" "nothing applied"
[ ! -e "$WARDEN_HOME/projects/mcp-access-qs/resources/component/good.yaml" ]; expect_eq "valid document of a bad file not stored" "$?" "0"

out=$($W apply -f "$R/resources.yaml" --dry-run 2>/dev/null)
expect_contains "dry run says what would change" "$out" "component/bearer configured (dry run)"
stored2=$(cat "$WARDEN_HOME/projects/mcp-access-qs/resources/component/bearer.yaml")
expect_eq "dry run stores nothing" "$stored2" "$stored"

out=$($W configuration create mcp-server-deny --project mcp-access-qs --default-action deny --policy mcp-client:deny)
expect_eq "configuration create" "$out" "configuration/mcp-server-deny created"
y=$($W configuration get mcp-server-deny)
expect_contains "configuration has the policy" "$y" "- appId: mcp-client"
$W configuration create x --default-action maybe >/dev/null 2>&1; expect_eq "bad default action exits 2" "$?" "2"
$W configuration create x --default-action deny --policy nocolon >/dev/null 2>&1; expect_eq "bad policy exits 2" "$?" "2"
out=$($W configuration list -o json | tr -d ' \n')
expect_contains "configuration list json" "$out" '{"name":"mcp-server-deny","detail":"deny"}'

out=$($W appid update mcp-server --project mcp-access-qs --app-config mcp-server-oauth)
expect_eq "appid update binds" "$out" "appid/mcp-server created (config mcp-server-oauth)"
out=$($W appid update mcp-server --app-config mcp-server-deny)
expect_eq "appid update rebinds" "$out" "appid/mcp-server configured (config mcp-server-deny)"
$W appid update mcp-server --app-config missing >/dev/null 2>&1; expect_eq "unknown configuration refused" "$?" "1"
out=$($W appid get mcp-server -o json | tr -d ' \n')
expect_eq "appid get json" "$out" '{"appId":"mcp-server","appConfig":"mcp-server-deny"}'
$W appid create mcp-server >/dev/null 2>&1; expect_eq "appid create of an existing app fails" "$?" "1"

out=$($W component list)
expect_contains "component list" "$out" "middleware.http.bearer"
out=$($W component delete bearer); expect_eq "component delete" "$out" "component/bearer deleted"
$W component get bearer >/dev/null 2>&1; expect_eq "deleted component is gone" "$?" "1"

out=$($W mcpserver access grant mcp-server --caller mcp-client --allow-tools add,echo)
expect_eq "mcpserver grant" "$out" "mcpserver/mcp-server: mcp-client may call add,echo"
out=$($W mcpserver access test mcp-server --caller mcp-client --tool echo); rc=$?
expect_eq "granted tool allowed (exit 0)" "$rc:$(echo "$out" | cut -d: -f1)" "0:ALLOWED"
out=$($W mcpserver access test mcp-server --caller mcp-client --tool get_weather_alert); rc=$?
expect_eq "ungranted tool denied (exit 1)" "$rc:$(echo "$out" | cut -d: -f1)" "1:DENIED"
out=$($W mcpserver access test mcp-server --caller weather-service --tool add); rc=$?
expect_eq "other caller denied" "$rc" "1"
$W mcpserver access revoke mcp-server --caller mcp-client --allow-tools echo --yes >/dev/null
$W mcpserver access test mcp-server --caller mcp-client --tool echo >/dev/null; expect_eq "revoked tool denied" "$?" "1"
$W mcpserver access test mcp-server --caller mcp-client --tool add >/dev/null; expect_eq "other grant kept" "$?" "0"
$W mcpserver access grant mcp-server --caller 'bad id!' --allow-tools add >/dev/null 2>&1; expect_eq "bad caller is a usage error" "$?" "2"

out=$(WARDEN_PROJECT= $W project delete mcp-access-qs </dev/null); expect_eq "project delete" "$out" "project/mcp-access-qs deleted"
$W appid list >/dev/null 2>&1; expect_eq "no default project after delete" "$?" "1"
e2e_done
