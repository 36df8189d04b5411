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

out=$(AUTH0_DOMAIN=127.0.0.1:9444 AUTH0_AUDIENCE=https://api.example/ envsubst < "$R/resources.yaml" | $W apply -f - --dry-run 2>/dev/null)
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
out=$($W component delete bearer --yes 2>&1); rc=$?
expect_eq "component delete refused while a pipeline names it (exit 1)" "$rc" "1"
expect_contains "refusal says which configuration" "$out" "mcp-server-oauth.yaml:11:7: Configuration \"mcp-server-oauth\" appHttpPipeline.handlers[0]: no Component named \"bearer\""
$W configuration delete mcp-server-oauth --yes >/dev/null
out=$($W component delete bearer --yes); expect_eq "component delete --yes" "$out" "component/bearer deleted"
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

# ---- One validator (issue 14 finding 1): apply, check and the sidecar refuse the same files
# with the same file:line:col messages.
T=$E2E_TMP/v; mkdir -p "$T"
cat > "$T/aud.yaml" <<'YAML'
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: bearer
spec:
  type: middleware.http.bearer
  version: v1
  metadata:
  - name: issuer
    value: "https://127.0.0.1:9443/"
  - name: audiance
    value: "https://api.example/"
YAML
want="$T/aud.yaml:11:5: component 'bearer' (middleware.http.bearer): unknown metadata field audiance (did you mean audience?"
out=$($W apply -f "$T/aud.yaml" 2>&1); rc=$?
expect_eq "apply refuses an unknown bearer field (exit 1)" "$rc" "1"
expect_contains "apply names the field with file:line:col" "$out" "$want"
expect_contains "apply stores nothing" "$out" "nothing applied (1 error)"
[ ! -e "$WARDEN_HOME/projects/mcp-access-qs/resources/component/bearer.yaml" ]; expect_eq "refused component not stored" "$?" "0"
apply_line=$(echo "$out" | head -1)
check_line=$($W check -f "$T/aud.yaml" 2>&1 | head -1)
expect_eq "check says exactly what apply says" "$check_line" "$apply_line"
sc_out=$(timeout 60 $W sidecar --app-id x --http-port 0 --resources-path "$T/aud.yaml" 2>&1); rc=$?
expect_eq "the sidecar refuses the same file" "$rc" "1"
expect_contains "the sidecar says the same thing" "$sc_out" "$apply_line"
out=$($W apply -f "$R/resources.yaml" 2>&1); rc=$?
expect_eq "apply refuses unexpanded \${VAR} (exit 1)" "$rc" "1"
expect_contains "unexpanded variable named with its place" "$out" 'resources.yaml:9:5: spec.metadata[0]: value of "issuer" contains "${AUTH0_DOMAIN}": variables are not expanded by warden'
# A component scoped away from the app bound to the configuration that names it.
AUTH0_DOMAIN=127.0.0.1:9443 AUTH0_AUDIENCE=https://api.example/ envsubst < "$R/resources.yaml" | $W apply -f - >/dev/null
$W appid update mcp-server --app-config mcp-server-oauth >/dev/null
sed 's/^- mcp-server$/- other-app/' "$R/resources.yaml" | AUTH0_DOMAIN=127.0.0.1:9443 AUTH0_AUDIENCE=https://api.example/ envsubst > "$T/scoped.yaml"
out=$($W apply -f "$T/scoped.yaml" 2>&1); rc=$?
expect_eq "apply refuses scoping a component away from its bound app" "$rc" "1"
expect_contains "scope refusal names the app" "$out" 'Component "bearer" is scoped away from app "mcp-server"'
$W configuration create empty --default-action allow >/dev/null
cat > "$T/cfg-missing.yaml" <<'YAML'
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: needs-missing
spec:
  appHttpPipeline:
    handlers:
    - name: nothere
      type: middleware.http.bearer
YAML
out=$($W apply -f "$T/cfg-missing.yaml" 2>&1); rc=$?
expect_eq "apply refuses a handler naming no component" "$rc" "1"
expect_contains "missing component named" "$out" 'cfg-missing.yaml:8:7: Configuration "needs-missing" appHttpPipeline.handlers[0]: no Component named "nothere"'
out=$($W configuration delete mcp-server-oauth --yes 2>&1); rc=$?
expect_eq "configuration delete refused while bound" "$rc:$out" "1:warden configuration: configuration 'mcp-server-oauth' is bound to app ID mcp-server; bind it to another configuration first (warden appid update APP --app-config NAME)"

# ---- The CLI papercuts (issue 14 finding 7).
out=$($W project list -o json | tr -d ' \n')
expect_eq "project list -o json: default is a boolean" "$out" '[{"name":"mcp-access-qs","default":true}]'
out=$($W project get -o json | tr -d ' \n')
expect_contains "project get -o json: counts are numbers" "$out" '"appIds":1,"components":1,"configurations":3,"runningSidecars":0'
out=$($W configuration get mcp-server-deny -o json)
parsed=$(printf '%s' "$out" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s);console.log(j.kind+" "+j.spec.accessControl.defaultAction+" "+j.spec.accessControl.policies[0].appId)})' 2>&1)
expect_eq "configuration get -o json prints JSON" "$parsed" "Configuration deny mcp-client"
out=$($W component get bearer -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).spec.metadata[0].value))' 2>&1)
expect_eq "component get -o json" "$out" "https://127.0.0.1:9443/"
out=$($W configuration frob x 2>&1); rc=$?
expect_eq "unknown subcommand names the word (exit 2)" "$rc:$out" "2:warden configuration: unknown subcommand 'frob': use get, list, delete or create (see 'warden configuration --help')"
out=$($W appid list extra 2>&1); rc=$?
expect_eq "extra argument named (exit 2)" "$rc:$out" "2:warden appid: unexpected argument 'extra' (see 'warden appid --help')"
out=$($W project 2>&1); rc=$?
expect_eq "missing subcommand named (exit 2)" "$rc:$out" "2:warden project: missing subcommand: create, use, get, list or delete (see 'warden project --help')"
out=$($W mcpserver access frob x 2>&1); rc=$?
expect_eq "mcpserver access: unknown subcommand named" "$rc:$out" "2:warden mcpserver access: unknown subcommand 'frob': use grant, revoke, get, list or test (see 'warden mcpserver access --help')"
out=$($W dev run 2>&1); rc=$?
expect_eq "dev run without -f says -f is required" "$rc:$out" "2:warden dev run: -f RUNFILE is required (see 'warden dev run --help')"
out=$($W dev run -f x --bogus 2>&1); rc=$?
expect_eq "dev run errors name 'warden dev run'" "$rc:$out" "2:warden dev run: unknown option '--bogus' (see 'warden dev run --help')"
out=$($W sidecar --help | head -1)
expect_eq "sidecar help starts with Usage:" "$out" "Usage: warden sidecar --app-id ID [--app-port N] [options]"
for c in "project list" "appid list" "configuration list" "component list" "mcpserver access list"; do
    trailing=$($W $c | grep -c ' $')
    expect_eq "$c: no line ends with a space" "$trailing" "0"
done

# ---- Reload acknowledged (issue 14 finding 1's other half): commands that change a project
# wait for each running sidecar they affect and print what it runs, or its error (exit 1).
export WARDEN_WAIT_TIMEOUT=60 # generous: the machine may be loaded; the wait ends when answered
$W project create rel >/dev/null
X=$E2E_TMP/extra; mkdir -p "$X"
cat > "$X/dup.yaml" <<'YAML'
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: dup
spec:
  type: state.in-memory
  version: v1
YAML
start_sidecar() { # APP [--resources-path DIR]: a project-mode sidecar, registered when this returns
    $W sidecar --app-id "$1" --project rel --http-port 0 ${2:+--resources-path "$2"} \
        > "$E2E_TMP/sc-$1.log" 2>&1 &
    E2E_PIDS="$E2E_PIDS $!"
    eval "SC_$(echo "$1" | tr - _)=$!"
    i=0; until grep -q "sidecar ready" "$E2E_TMP/sc-$1.log" || [ $i -gt 300 ]; do sleep 0.1; i=$((i + 1)); done
}
start_sidecar svc-a "$X"
gens() { sed -E 's/\(generation [0-9]+\)/(generation N)/g'; } # reload counts vary with timing
out=$($W configuration create c1 --project rel --default-action allow 2>&1); rc=$?
expect_eq "configuration create waits and says what the sidecar runs" "$rc:$(echo "$out" | gens)" "0:configuration/c1 created
applied to svc-a (generation N)"
out=$($W appid update svc-a --project rel --app-config c1 2>&1); rc=$?
expect_eq "appid update: applied to its sidecar" "$rc:$(echo "$out" | gens)" "0:appid/svc-a created (config c1)
applied to svc-a (generation N)"
gen=$(echo "$out" | sed -n 's/^applied to svc-a (generation \([0-9]*\))$/\1/p')
out=$($W status --project rel -o json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const a=JSON.parse(s)[0];console.log([a.appId,a.running,typeof a.pid,typeof a.httpPort,a.config,a.generation,a.lastError,a.current].join(" "))})')
expect_eq "status -o json: app, sidecar, config, generation, no error" "$out" "svc-a true number number c1 $gen  true"
# A change the CLI cannot see is wrong but the sidecar refuses: a name its own
# --resources-path already uses. The error comes back from the sidecar, with its place.
sed 's/state.in-memory/state.redis/' "$X/dup.yaml" > "$E2E_TMP/dup2.yaml"
out=$($W apply -f "$E2E_TMP/dup2.yaml" --project rel 2>&1); rc=$?
expect_eq "apply: a sidecar's refusal is exit 1" "$rc" "1"
expect_contains "apply prints the sidecar's error and what it keeps running" "$out" "warden apply: svc-a refused the change: $X/dup.yaml:1:1: a second Component named \"dup\""
expect_contains "... and the generation it keeps" "$out" "(it keeps running generation "
out=$($W status --project rel)
expect_contains "status shows the last error" "$out" "a second Component named \"dup\""
expect_eq "status table: no trailing blanks" "$(echo "$out" | grep -c ' $')" "0"
out=$($W component delete dup --project rel --yes 2>&1); rc=$?
expect_eq "component delete: the sidecar recovers" "$rc:$(echo "$out" | gens)" "0:component/dup deleted
applied to svc-a (generation N)"
out=$($W configuration create c2 --project rel --default-action deny --no-wait 2>&1); rc=$?
expect_eq "--no-wait does not wait" "$rc:$out" "0:configuration/c2 created"
start_sidecar svc-b
out=$($W appid update svc-b --project rel --app-config c1 2>&1); rc=$?
expect_eq "appid update waits only for that app's sidecar" "$rc:$(echo "$out" | gens)" "0:appid/svc-b created (config c1)
applied to svc-b (generation N)"
out=$($W mcpserver access grant srv --project rel --caller svc-a --allow-tools add --app-id svc-b 2>&1); rc=$?
expect_eq "mcpserver grant waits for every sidecar" "$rc:$(echo "$out" | gens)" "0:mcpserver/srv: svc-a may call add
applied to svc-a (generation N)
applied to svc-b (generation N)"
# A sidecar that does not answer (stopped with SIGSTOP): the wait ends, exit 1, said so.
kill -STOP $SC_svc_b
out=$(WARDEN_WAIT_TIMEOUT=1 $W configuration create c3 --project rel --default-action deny 2>&1); rc=$?
kill -CONT $SC_svc_b
expect_eq "an unanswering sidecar: exit 1" "$rc" "1"
expect_contains "... and it is named" "$out" "warden configuration: svc-b did not apply the change within 1.0 s (it runs generation "
unset WARDEN_WAIT_TIMEOUT
out=$($W project delete rel --yes 2>&1)
expect_contains "project delete stops the sidecars" "$out" "stopping sidecar svc-a"

# ---- project delete stops the project's issuer (issue 14 finding 3), and only a live one.
$W project create iss >/dev/null
$W issuer --project iss --port 0 > "$E2E_TMP/iss.out" 2>&1 & ISS=$!
E2E_PIDS="$E2E_PIDS $ISS"
i=0; until grep -q '^export AUTH0_DOMAIN=' "$E2E_TMP/iss.out" || [ $i -gt 300 ]; do sleep 0.1; i=$((i + 1)); done
expect_eq "issuer records its pid" "$(cat "$WARDEN_HOME/projects/iss/issuer/issuer.pid" 2>&1)" "$ISS"
out=$($W project delete iss --yes 2>&1); rc=$?
expect_eq "project delete with a running issuer" "$rc" "0"
expect_contains "project delete says it stops the issuer" "$out" "stopping 'warden issuer' (pid $ISS)"
i=0; while kill -0 $ISS 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
kill -0 $ISS 2>/dev/null; expect_eq "the issuer is gone" "$?" "1"
wait $ISS 2>/dev/null
# A pid file nobody's lock backs (left by a crash; the pid reused) names nobody: nothing killed.
$W project create stale >/dev/null
sleep 60 & SLEEPER=$!
E2E_PIDS="$E2E_PIDS $SLEEPER"
mkdir -p "$WARDEN_HOME/projects/stale/issuer"
echo $SLEEPER > "$WARDEN_HOME/projects/stale/issuer/issuer.pid"
: > "$WARDEN_HOME/projects/stale/issuer/issuer.lock"
echo $SLEEPER > "$WARDEN_HOME/projects/stale/run.pid"
out=$($W project delete stale --yes 2>&1)
expect_eq "stale pid files: nothing stopped" "$out" "project/stale deleted"
kill -0 $SLEEPER 2>/dev/null; expect_eq "the process a stale pid file names still runs" "$?" "0"
kill $SLEEPER

out=$(WARDEN_PROJECT= $W project delete mcp-access-qs </dev/null); expect_eq "project delete" "$out" "project/mcp-access-qs deleted"
$W appid list >/dev/null 2>&1; expect_eq "no default project after delete" "$?" "1"
e2e_done
