# `warden mcpserver access` and `warden project`: the refusals and the answers a script relies on
# that tests/e2e/cli does not reach (wrong or missing options, servers that are missing or do not
# load, revokes that find nothing, rules with conditions kept apart from plain grants, and the
# project commands' errors). Each refusal is checked by exit code and message.
. "$(dirname "$0")/../lib.sh"
BIN=$1
W="$BIN/warden"

$W project create acc --use >/dev/null

# ---- grant: what it needs
out=$($W mcpserver access grant srv --caller a 2>&1); rc=$?
expect_eq "grant without --allow-tools: usage error" "$rc:$out" "2:warden mcpserver: access grant needs --allow-tools"
out=$($W mcpserver access grant srv --caller a --allow-tools , 2>&1); rc=$?
expect_eq "grant of an empty tool list: usage error" "$rc:$out" "2:warden mcpserver: --allow-tools needs at least one tool name or '*'"
out=$($W mcpserver access grant srv --allow-tools add 2>&1); rc=$?
expect_eq "grant without --caller: usage error" "$rc:$out" "2:warden mcpserver: --caller must be an app ID or '*'"
out=$($W mcpserver access grant my.srv --caller a --allow-tools add 2>&1); rc=$?
expect_eq "a new server named like no app ID needs --app-id" "$rc:$out" "2:warden mcpserver: invalid app ID 'my.srv' (use --app-id)"
$W mcpserver access get my.srv >/dev/null 2>&1; expect_eq "nothing stored for the refused grant" "$?" "1"
out=$($W mcpserver access grant Bad_Server --caller a --allow-tools add 2>&1); rc=$?
expect_eq "a server name that is not a DNS name is refused" "$rc" "1"
expect_contains "the refusal says why" "$out" 'metadata.name: "Bad_Server" may contain only lower-case letters'
$W mcpserver access get Bad_Server >/dev/null 2>&1; expect_eq "nothing stored for it" "$?" "1"

# ---- grant, twice, for everyone, then a server with a URL and conditions applied by hand
out=$($W mcpserver access grant srv --caller a --allow-tools add,echo --no-wait)
expect_eq "grant creates the server" "$out" "mcpserver/srv: a may call add,echo"
out=$($W mcpserver access grant srv --caller a --allow-tools echo,sum --no-wait)
expect_eq "a second grant to the same caller" "$out" "mcpserver/srv: a may call echo,sum"
y=$($W mcpserver access get srv)
expect_contains "one rule holds the caller's tools, each once" "$y" 'tools: ["add", "echo", "sum"]'
out=$($W mcpserver access grant srv --caller '*' --allow-tools ping --no-wait)
expect_eq "grant to every caller" "$out" "mcpserver/srv: * may call ping"
out=$($W mcpserver access test srv --caller zed --tool ping); rc=$?
expect_eq "'*' grant allows any caller" "$rc:$out" "0:ALLOWED: zed calling tool ping on srv (rule 2: allowed by rule)"
out=$($W mcpserver access test srv --caller zed --tool add); rc=$?
expect_eq "no rule: the default action denies" "$rc:$(echo "$out" | cut -d'(' -f2)" "1:default action: no rule grants it: denied)"

# ---- test: what it needs, and a server that is missing
out=$($W mcpserver access test srv --caller a 2>&1); rc=$?
expect_eq "test without --tool: usage error" "$rc:$out" "2:warden mcpserver: access test needs --caller and --tool"
out=$($W mcpserver access test nope --caller a --tool add 2>&1); rc=$?
expect_eq "test of a missing server" "$rc:$out" "1:warden mcpserver: mcpserver 'nope' not found in project 'acc'"
out=$($W mcpserver access get nope 2>&1); rc=$?
expect_eq "get of a missing server" "$rc:$out" "1:warden mcpserver: mcpserver 'nope' not found in project 'acc'"

# ---- revoke: what it needs, what it finds
out=$($W mcpserver access revoke nope --caller a --all --yes 2>&1); rc=$?
expect_eq "revoke on a missing server" "$rc:$out" "1:warden mcpserver: mcpserver 'nope' not found in project 'acc'"
out=$($W mcpserver access revoke srv --caller a --yes 2>&1); rc=$?
expect_eq "revoke without --allow-tools or --all: usage error" "$rc:$out" "2:warden mcpserver: access revoke needs --allow-tools or --all"
# Without --yes on a terminal the command asks; anything but y keeps the grants. (Without a
# terminal it does not ask: scripts pass --yes or pipe nothing.)
out=$(printf 'n\n' | script -qec "$W mcpserver access revoke srv --caller a --all" /dev/null 2>&1); rc=$?
expect_eq "revoke answered no: refused" "$rc" "1"
expect_contains "revoke asks" "$out" "Revoke a's grants on srv? [y/N]"
expect_contains "revoke refused says so" "$out" "nothing revoked"
$W mcpserver access test srv --caller a --tool add >/dev/null; expect_eq "the refused revoke kept the grant" "$?" "0"
out=$($W mcpserver access revoke srv --caller b --all --yes --no-wait); rc=$?
expect_eq "revoke of a caller without grants" "$rc:$out" "0:mcpserver/srv: nothing to revoke for b"
out=$($W mcpserver access revoke srv --caller a --allow-tools nosuch --yes --no-wait); rc=$?
expect_eq "revoke of a tool never granted" "$rc:$out" "0:mcpserver/srv: nothing to revoke for a"
out=$($W mcpserver access revoke srv --caller a --all --yes --no-wait); rc=$?
expect_eq "revoke --all counts the grants" "$rc:$out" "0:mcpserver/srv: revoked 3 grants of a"
$W mcpserver access test srv --caller a --tool echo >/dev/null; expect_eq "revoked: denied" "$?" "1"
y=$($W mcpserver access get srv)
expect_not_contains "the emptied rule is gone" "$y" 'callers: ["a"]'
out=$($W mcpserver access revoke srv --caller '*' --allow-tools ping --yes --no-wait)
expect_eq "revoke of one grant" "$out" "mcpserver/srv: revoked 1 grant of *"
y=$($W mcpserver access get srv)
expect_contains "no rules left" "$y" "rules: []"

# ---- a server applied with a URL, a deny rule and conditions: grants edit only plain allow rules
cat > "$E2E_TMP/m.yaml" <<'YAML'
apiVersion: warden.dev/v1alpha1
kind: MCPServer
metadata:
  name: cond
spec:
  appId: cond-app
  defaultAction: deny
  endpoint:
    streamableHTTP:
      url: "http://127.0.0.1:9/mcp"
  rules:
  - callers: ["a"]
    tools: ["admin"]
    action: deny
  - callers: ["a"]
    tools: ["read"]
    action: allow
    requireScopes: ["files:read"]
    requireClaims: {"tier": "gold"}
YAML
$W apply -f "$E2E_TMP/m.yaml" >/dev/null 2>&1; expect_eq "apply of a server with conditions" "$?" "0"
out=$($W mcpserver access grant cond --caller a --allow-tools list --no-wait)
expect_eq "grant beside conditional rules" "$out" "mcpserver/cond: a may call list"
y=$($W mcpserver access get cond)
expect_contains "the URL is kept" "$y" 'url: "http://127.0.0.1:9/mcp"'
expect_contains "the scope condition is kept" "$y" 'requireScopes: ["files:read"]'
expect_contains "the claim condition is kept" "$y" 'requireClaims: {"tier":"gold"}'
expect_contains "the deny rule is kept" "$y" "action: deny"
expect_contains "the grant is a rule of its own" "$y" '- callers: ["a"]
    tools: ["list"]
    action: allow'
out=$($W mcpserver access test cond --caller a --tool read --scope files:read); rc=$?
expect_eq "conditional rule: a claim is missing" "$rc" "1"
out=$($W mcpserver access test cond --caller a --tool admin); rc=$?
expect_eq "deny rule" "$rc:$(echo "$out" | cut -d: -f1)" "1:DENIED"
out=$($W mcpserver access revoke cond --caller a --all --yes --no-wait)
expect_eq "revoke --all removes allow grants only" "$out" "mcpserver/cond: revoked 2 grants of a"
y=$($W mcpserver access get cond)
expect_contains "deny rule survives revoke --all" "$y" 'tools: ["admin"]'
out=$($W mcpserver access list -o json | tr -d ' \n')
expect_contains "list: app ID and rule count" "$out" '{"name":"cond","appId":"cond-app","defaultAction":"deny","rules":"1"}'

# ---- a stored server that no longer loads is not edited
printf 'apiVersion: warden.dev/v1alpha1\nkind: MCPServer\nmetadata:\n  name: broken\nspec:\n  rules: 7\n' \
    > "$WARDEN_HOME/projects/acc/resources/mcpserver/broken.yaml"
out=$($W mcpserver access grant broken --caller a --allow-tools add 2>&1); rc=$?
expect_eq "grant on a server that does not load" "$rc:$out" "1:warden mcpserver: mcpserver 'broken' does not load; fix it with 'warden apply'"
out=$($W mcpserver access test broken --caller a --tool add 2>&1); rc=$?
expect_eq "test on a server that does not load" "$rc:$out" "1:warden mcpserver: mcpserver 'broken' does not load"

# ---- project: errors a script sees
out=$($W project use nosuch 2>&1); rc=$?
expect_eq "project use of a missing project" "$rc" "1"
expect_contains "project use says which" "$out" "nosuch"
out=$($W project get nosuch 2>&1); rc=$?
expect_eq "project get of a missing project" "$rc" "1"
out=$($W project delete nosuch --yes 2>&1); rc=$?
expect_eq "project delete of a missing project" "$rc:$out" "1:warden project: project 'nosuch' does not exist"
out=$(printf 'n\n' | script -qec "$W project delete acc" /dev/null 2>&1); rc=$?
expect_eq "project delete answered no: refused" "$rc" "1"
expect_contains "refused delete says so" "$out" "not deleted"
[ -d "$WARDEN_HOME/projects/acc" ]; expect_eq "the project is still there" "$?" "0"
out=$($W project get acc -o yaml)
expect_contains "project get -o yaml" "$out" 'name: "acc"'
out=$($W project bogus 2>&1); rc=$?
expect_eq "unknown project verb: usage error" "$rc" "2"
out=$($W project list -o xml 2>&1); rc=$?
expect_eq "unknown output format: usage error" "$rc" "2"
out=$($W project --help); rc=$?
expect_contains "project --help" "$rc:$out" "0:Usage: warden project"
out=$($W mcpserver --help); rc=$?
expect_contains "mcpserver --help" "$rc:$out" "0:Usage: warden mcpserver access"
e2e_done
