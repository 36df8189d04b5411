#!/bin/bash
# The README's tutorial, pasted as a user pastes it (issue 14): every ```sh block between
# <!-- tutorial:begin --> and <!-- tutorial:end --> of README.md (or FILE), line by line, in one
# shell, in order; and the output of the last command of a block compared with the ```json block
# that follows it. The README's own instructions are followed:
#   "# paste here the lines warden issuer printed"  the export lines it printed are evaluated;
#   "# Ctrl+C ..."                                   the running `warden dev run` gets SIGINT;
#   a line ending in "&"                             runs in the background (its output logged);
#   `warden dev run ...` (the first terminal)        runs in the background; the next command
#                                                    waits for "all apps started" and for the
#                                                    port it calls, as a person would.
# Nothing else is changed, except that the files run from a copy of examples/mcp-quickstart and
# the tutorial's ports (5001, 8000, 8001, 9443) are replaced by free ones, so that two test runs
# on one machine do not meet (said on the output). WARDEN_HOME is a temporary folder.
# Usage: readme.sh BIN_DIR [README [FOLDER]]   (FOLDER: where its blocks start, from the top of
# the repository; default: the top)
set -u
BIN=$(cd "$1" && pwd)
SRC=${WDN_SOURCE_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)}
README=${2:-$SRC/README.md}
START=${3:-.}
echo "# pasting the tutorial of $README"
TMP=$(mktemp -d /tmp/wdn-readme-XXXXXX)
export WARDEN_HOME=$TMP/home
# The commands that change a project wait for running sidecars (5 s by default); this machine
# may be loaded by other tests, so give them longer: the wait ends as soon as they answer.
export WARDEN_WAIT_TIMEOUT=60
unset WARDEN_PROJECT AUTH0_DOMAIN AUTH0_CLIENT_ID AUTH0_CLIENT_SECRET AUTH0_AUDIENCE WARDEN_CA_FILE
PASS=0
FAIL=0
BG_PIDS=""
FG=""
ISSUER_OUT=""
ok() { PASS=$((PASS + 1)); echo "ok - $1"; }
not_ok() { FAIL=$((FAIL + 1)); echo "not ok - $1"; shift; for l in "$@"; do echo "    $l"; done; }

cleanup() {
    [ -n "$FG" ] && kill -INT "$FG" 2>/dev/null && wait "$FG" 2>/dev/null
    if [ "$FAIL" -gt 0 ]; then
        # What the apps and sidecars said is the only trace of why a step went wrong.
        if [ -f "$TMP/fg-earlier.log" ]; then
            echo "# the last lines of the earlier warden dev run's terminal:"
            tail -60 "$TMP/fg-earlier.log" | sed 's/^/#   /'
        fi
        echo "# the last lines of warden dev run's terminal:"
        tail -60 "$TMP/fg.log" 2>/dev/null | sed 's/^/#   /'
        for f in "$WARDEN_HOME"/projects/*/logs/*.log; do
            [ -f "$f" ] || continue
            echo "# $f:"; tail -30 "$f" | sed 's/^/#   /'
        done
    fi
    for p in $BG_PIDS; do kill "$p" 2>/dev/null; done
    # Up to 10 s to stop gracefully (a coverage build writes its counters on exit).
    i=0
    while [ $i -lt 100 ]; do
        alive=0
        for p in $BG_PIDS; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.1; i=$((i + 1))
    done
    for p in $BG_PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup EXIT

# The tree the README's paths expect: examples/mcp-quickstart (copied) and build/bin (this build).
ROOT=$TMP/root
mkdir -p "$ROOT/examples" "$ROOT/build"
cp -r "$SRC/examples/mcp-quickstart" "$ROOT/examples/"
ln -s "$BIN" "$ROOT/build/bin"

# Another `make check` may walk the same tutorial beside this one: free ports for each run, taken
# below the kernel's ephemeral range, so that no socket bound to port 0 (a sidecar's, another
# test's) can be given one of them between the choice and the bind.
port_busy() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
CHOSEN=""
pick_port() {
    while :; do
        q=$((20000 + RANDOM % 12000))
        case " $CHOSEN " in *" $q "*) continue ;; esac
        port_busy $q || break
    done
    CHOSEN="$CHOSEN $q"
}
SUBST=""
for p in 5001 8000 8001 9443; do
    pick_port
    SUBST="$SUBST -e s/\\b$p\\b/$q/g"
    sed -i "s/\\b$p\\b/$q/g" "$ROOT/examples/mcp-quickstart/mcp-quickstart.yaml"
    [ $p = 9443 ] && ISSUER_PORT=$q
done
echo "(the tutorial's ports 5001 8000 8001 9443 are replaced by free ones:$SUBST)"
subst() { if [ -n "$SUBST" ]; then printf '%s\n' "$1" | sed $SUBST; else printf '%s\n' "$1"; fi; }

# Blocks: "lang<TAB>line" records, one per line, "@@END" closing each block.
BLOCKS=$TMP/blocks
awk '/<!-- tutorial:begin -->/ {on = 1; next} /<!-- tutorial:end -->/ {on = 0}
     on && /^```/ { if (inb) { print "@@END"; inb = 0 } else { inb = 1; lang = substr($0, 4) } next }
     on && inb { print lang "\t" $0 }' "$README" > "$BLOCKS"
[ -s "$BLOCKS" ] || { echo "not ok - no tutorial blocks in $README"; exit 1; }

wait_for() { # FILE PATTERN SECONDS
    i=0
    until grep -q "$2" "$1" 2>/dev/null; do
        i=$((i + 1)); [ $i -gt $(($3 * 10)) ] && return 1; sleep 0.1
    done
}
# A person starts the next command once dev run says so and the app answers.
ready_for() { # the command about to run
    [ -n "$FG" ] || return 0
    wait_for "$TMP/fg.log" "all apps started" 60 || { not_ok "dev run started its apps" "$(tail -20 "$TMP/fg.log")"; return 1; }
    url=$(printf '%s\n' "$1" | grep -oE 'http://localhost:[0-9]+' | head -1)
    [ -n "$url" ] || return 0
    i=0; until curl -s -o /dev/null "$url/" || [ $i -gt 300 ]; do sleep 0.1; i=$((i + 1)); done
}

cd "$ROOT/$START" || exit 1
n=0
lang=""
last_out=""
last_cmd=""
while IFS= read -r rec; do
    if [ "$rec" = "@@END" ]; then
        [ "$lang" = json ] && {
            if [ "$last_out" = "$expected" ]; then ok "README: \`$last_cmd\` prints what the README shows"
            else not_ok "README: \`$last_cmd\` prints what the README shows" "expected: $expected" "actual:   $last_out"; fi
        }
        [ "$lang" = sh ] && block_done=1
        lang=""; expected=""
        continue
    fi
    lang=${rec%%	*}
    line=${rec#*	}
    if [ "$lang" = json ]; then expected="$expected$line"; continue; fi
    [ "$lang" = sh ] || continue
    line=$(subst "$line")
    case "$line" in
    "" ) continue ;;
    "# paste"*)
        echo "\$ $line"
        [ -n "$ISSUER_OUT" ] && wait_for "$ISSUER_OUT" '^export AUTH0_DOMAIN=' 60 ||
            { not_ok "warden issuer printed its export lines" "$(cat "$ISSUER_OUT" 2>/dev/null)"; continue; }
        eval "$(grep '^export ' "$ISSUER_OUT")"
        ok "pasted the export lines warden issuer printed" ;;
    "# Ctrl+C"*)
        echo "\$ $line"
        if [ -n "$FG" ]; then kill -INT "$FG"; wait "$FG"; rc=$?; FG=""
            [ $rc = 0 ] && ok "Ctrl+C stops warden dev run cleanly" || not_ok "Ctrl+C stops warden dev run cleanly" "exit $rc" "$(tail -20 "$TMP/fg.log")"
        fi ;;
    "#"*) continue ;;
    *"&")
        n=$((n + 1))
        cmd=${line%&}
        [ -n "${ISSUER_PORT:-}" ] && case "$cmd" in *"warden issuer"*) cmd="$cmd --port $ISSUER_PORT" ;; esac
        echo "\$ $line"
        eval "$cmd > $TMP/bg$n.log 2>&1 &"
        BG_PIDS="$BG_PIDS $!"
        case "$cmd" in *"warden issuer"*) ISSUER_OUT=$TMP/bg$n.log ;; esac ;;
    "warden dev run"*)
        echo "\$ $line"
        [ -f "$TMP/fg.log" ] && cat "$TMP/fg.log" >> "$TMP/fg-earlier.log" # kept for the report
        eval "$line > $TMP/fg.log 2>&1 &"
        FG=$! ;;
    *)
        ready_for "$line"
        echo "\$ $line"
        last_cmd=$line
        last_out=$(eval "$line" 2>"$TMP/err"); rc=$?
        [ -n "$last_out" ] && printf '%s\n' "$last_out"
        cat "$TMP/err"
        # Exported variables and cd must stay in this shell: run those here, not in $( ).
        case "$line" in export*|unset*|cd*) eval "$line" ;; esac
        [ $rc = 0 ] && ok "README: \`$line\` succeeds" || not_ok "README: \`$line\` succeeds" "exit $rc" ;;
    esac
done < "$BLOCKS"

# Everything the tutorial started is stopped by it (Ctrl+C, project delete).
sleep 0.5
left=""
for p in $BG_PIDS; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
[ -z "$left" ] && ok "nothing left running after the README's last step" ||
    not_ok "nothing left running after the README's last step" "still running:$left"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ] && [ "$PASS" -gt 0 ]
