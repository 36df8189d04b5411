# `warden dev run` when things go wrong: a malformed run file, a port already taken, an app
# that exits at start, a second dev run of the same project, Ctrl+C during start-up. Each gives
# a clear message and leaves no process and no registry entry behind.
. "$(dirname "$0")/../lib.sh"
W="$1/warden"
PATH="$1:$PATH"
D=$E2E_TMP/run
mkdir -p "$D"
PROJ=e2e-$$
$W project create "$PROJ" >/dev/null

no_leftovers() { # no sidecar of this test's project still running, no registry entry
    sleep 0.3
    left=$(pgrep -f -- "--project $PROJ" | wc -l)
    reg=$(ls "$WARDEN_HOME/projects/$PROJ/registry" 2>/dev/null | wc -l)
    expect_eq "$1: nothing left behind" "$left/$reg" "0/0"
}

cat > "$D/bad.yaml" <<'YAML'
version: 1
apps:
  - appID: a
    appPort: 80000
    comand: ["x"]
YAML
out=$($W dev run -f "$D/bad.yaml" --project "$PROJ" 2>&1); rc=$?
expect_eq "malformed run file fails" "$rc" "1"
expect_contains "bad field named with line and column" "$out" "bad.yaml:5:5:"
expect_contains "bad port named with line and column" "$out" "bad.yaml:4:"
no_leftovers "malformed run file"

# A port already taken: hold one with a listener.
PORT=$(free_port)
node -e "require('net').createServer().listen($PORT,'127.0.0.1',()=>require('fs').writeFileSync('$E2E_TMP/held',''))" & HOLD=$!
E2E_PIDS="$E2E_PIDS $HOLD"
i=0; while [ ! -e "$E2E_TMP/held" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
cat > "$D/taken.yaml" <<YAML
version: 1
apps:
  - appID: svc
    appDirPath: .
    appPort: $PORT
    command: ["hello-server", "--listen", "127.0.0.1:$PORT"]
YAML
out=$($W dev run -f "$D/taken.yaml" --project "$PROJ" 2>&1); rc=$?
expect_eq "port in use fails" "$rc" "1"
expect_contains "port in use is named" "$out" "port $PORT of app 'svc' (appPort) is already in use"
no_leftovers "port in use"
kill $HOLD 2>/dev/null

# An app that exits at start.
cat > "$D/exits.yaml" <<'YAML'
version: 1
apps:
  - appID: quitter
    appDirPath: .
    command: ["sh", "-c", "echo giving up; exit 3"]
YAML
out=$(timeout 60 $W dev run -f "$D/exits.yaml" --project "$PROJ" 2>&1); rc=$?
expect_eq "app exiting makes dev run fail" "$rc" "1"
expect_contains "exit status reported" "$out" "app 'quitter' exited with status 3"
expect_contains "app output prefixed" "$out" "== APP - quitter == giving up"
no_leftovers "app exits at start"

# A second dev run of the same project, while the first runs.
P2=$(free_port)
cat > "$D/long.yaml" <<YAML
version: 1
apps:
  - appID: svc
    appDirPath: .
    appPort: $P2
    command: ["hello-server", "--listen", "127.0.0.1:$P2"]
YAML
$W dev run -f "$D/long.yaml" --project "$PROJ" > "$E2E_TMP/first.log" 2>&1 & FIRST=$!
E2E_PIDS="$E2E_PIDS $FIRST"
wait_http "http://127.0.0.1:$P2/" 30
out=$($W dev run -f "$D/long.yaml" --project "$PROJ" 2>&1); rc=$?
expect_eq "second dev run refused" "$rc" "1"
expect_contains "second dev run names the first" "$out" "is already running (pid $FIRST)"
reg=$(ls "$WARDEN_HOME/projects/$PROJ/registry" | tr '\n' ' ')
expect_eq "first run registered its sidecar" "$reg" "svc.json "
kill -INT $FIRST; wait $FIRST; rc=$?
expect_eq "Ctrl+C stops dev run cleanly" "$rc" "0"
expect_contains "apps stopped before sidecars" "$(cat "$E2E_TMP/first.log")" "stopping apps, then sidecars"
no_leftovers "second dev run"

# The Dapr variables reach the app once each (issue 14 finding 7: APP_PORT came twice when the
# run file's env set it too, and the file's copy won); dev run's value wins, with a note.
P3=$(free_port)
cat > "$D/env.yaml" <<YAML
version: 1
apps:
  - appID: envcheck
    appDirPath: .
    appPort: $P3
    env:
      APP_PORT: "1"
      DAPR_HTTP_PORT: "2"
      DAPR_GRPC_PORT: "50001"
      OTHER: "kept"
    command: ["env"]
YAML
# env(1) itself prints its environment, duplicates included (a shell would fold them).
out=$(timeout 60 $W dev run -f "$D/env.yaml" --project "$PROJ" 2>&1); rc=$?
expect_eq "env app runs" "$rc" "0"
got=$(echo "$out" | grep -E '^== APP - envcheck == (APP_PORT|DAPR_HTTP_PORT|DAPR_GRPC_PORT|OTHER)=' | sed 's/^== APP - envcheck == //; s/^DAPR_HTTP_PORT=.*/DAPR_HTTP_PORT=set/' | sort | tr '\n' ' ')
expect_eq "APP_PORT once, from appPort; DAPR_HTTP_PORT once; the file's other env kept" "$got" "APP_PORT=$P3 DAPR_GRPC_PORT=50001 DAPR_HTTP_PORT=set OTHER=kept "
expect_contains "a replaced run-file variable is noted" "$out" "app 'envcheck': env APP_PORT from the run file is replaced by the value dev run sets"
no_leftovers "env app"

# dev run says in its terminal what each sidecar's reloads came to (issue 14: a refused change
# was only in the sidecar's log file). The sidecar's own resources folder already has a
# Component "dup"; applying another "dup" to the project is refused by that sidecar only.
X=$E2E_TMP/extra; mkdir -p "$X"
printf 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: dup\nspec:\n  type: state.in-memory\n  version: v1\n' > "$X/dup.yaml"
P4=$(free_port)
cat > "$D/reload.yaml" <<YAML
version: 1
apps:
  - appID: svc
    appDirPath: .
    appPort: $P4
    resourcesPaths: ["$X"]
    command: ["hello-server", "--listen", "127.0.0.1:$P4"]
YAML
$W dev run -f "$D/reload.yaml" --project "$PROJ" > "$E2E_TMP/reload.log" 2>&1 & RL=$!
E2E_PIDS="$E2E_PIDS $RL"
wait_http "http://127.0.0.1:$P4/" 30
wait_log() { i=0; until grep -q "$1" "$E2E_TMP/reload.log" || [ $i -gt 300 ]; do sleep 0.1; i=$((i + 1)); done; }
sed 's/in-memory/redis/' "$X/dup.yaml" > "$E2E_TMP/dup2.yaml"
WARDEN_WAIT_TIMEOUT=60 $W apply -f "$E2E_TMP/dup2.yaml" --project "$PROJ" >/dev/null 2>&1
wait_log "refused a configuration change"
expect_contains "dev run shows a refused reload" "$(cat "$E2E_TMP/reload.log")" "== warden == sidecar of 'svc' refused a configuration change: $X/dup.yaml:1:1: a second Component named \"dup\""
WARDEN_WAIT_TIMEOUT=60 $W component delete dup --project "$PROJ" --yes >/dev/null 2>&1
wait_log "sidecar of 'svc' applied configuration generation"
expect_contains "dev run shows the next good reload" "$(cat "$E2E_TMP/reload.log")" "== warden == sidecar of 'svc' applied configuration generation"
kill -INT $RL; wait $RL
no_leftovers "reload reports"

# Ctrl+C during start-up: as soon as the sidecar process exists, before the app starts.
$W dev run -f "$D/long.yaml" --project "$PROJ" > "$E2E_TMP/early.log" 2>&1 & EARLY=$!
E2E_PIDS="$E2E_PIDS $EARLY"
i=0; until pgrep -f -- "sidecar --app-id svc .*--project $PROJ" >/dev/null || [ $i -gt 200 ]; do sleep 0.02; i=$((i + 1)); done
kill -INT $EARLY; wait $EARLY
expect_contains "Ctrl+C during start-up is handled" "$(cat "$E2E_TMP/early.log")" "received SIGINT"
no_leftovers "Ctrl+C during start-up"
e2e_done
