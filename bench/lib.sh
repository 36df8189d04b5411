# bench/lib.sh: the setup every benchmark script shares, in one place (POSIX sh, sourced):
#   SRC=$(cd "$(dirname "$0")/../.." && pwd)
#   . "$SRC/bench/lib.sh"
#   bench_tmp NAME        # TMP, PIDS, the exit trap, WARDEN_HOME
# Nothing here runs on its own; each function says what it sets or prints.

# Makes TMP (/tmp/wdn-bench-NAME-XXXXXX) and an empty PIDS, and sets a trap that, on exit or a
# signal (HUP, INT, PIPE, TERM), kills every pid in PIDS and in the files named in PIDFILES (a server that writes its
# own, like nginx), waits CLEANUP_WAIT seconds (0.3) for them to go and removes TMP. WARDEN_HOME
# points into TMP so that no run touches the user's own.
bench_tmp() { # NAME
    TMP=$(mktemp -d "/tmp/wdn-bench-$1-XXXXXX")
    PIDS=""
    PIDFILES=""
    # A signal ends the script (its EXIT trap cleans up once); SIGPIPE too: a run piped into
    # `head` left its servers behind before.
    trap bench_cleanup EXIT
    trap 'exit 1' HUP INT PIPE TERM
    export WARDEN_HOME="$TMP/home"
}
bench_cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    for f in $PIDFILES; do
        [ -f "$f" ] && kill "$(cat "$f" 2>/dev/null)" 2>/dev/null
    done
    sleep "${CLEANUP_WAIT:-0.3}"
    rm -rf "$TMP"
}

# Prints a TCP port that was free on 127.0.0.1 a moment ago (the kernel's pick for port 0).
free_port() {
    node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Waits until a sidecar's stdout (FILE) has its `ready:` line, at most SECONDS (10): a sidecar
# under valgrind needs more. Returns at the bound either way; the run that follows says why.
wait_ready() { # FILE [SECONDS]
    i=0
    while [ $i -lt $((${2:-10} * 10)) ] && ! grep -q 'ready:' "$1" 2>/dev/null; do
        sleep 0.1
        i=$((i + 1))
    done
}

# Prints the port a sidecar's `ready:` line in FILE names for KIND (http, metrics, internal).
port_of() { sed -n "s/.* $2-port=\([0-9-]*\).*/\1/p" "$1"; }

# Prints "R kB (private U kB, PSS P kB)" for process PID: resident, private (USS), proportional.
rss_of() { # PID
    awk '/^Rss:/ {r=$2} /^Pss:/ {p=$2} /^Private_(Clean|Dirty):/ {u+=$2}
         END {printf "%d kB (private %d kB, PSS %d kB)", r, u, p}' "/proc/$1/smaps_rollup"
}

# Sets JWKS and TOK: the fuzz seeds' fixed ES256 key set and a token it verifies (iss
# https://issuer.test/, aud fuzz, valid until 2100). The C string literal of the key set may span
# several lines (clang-format): join its pieces, then unescape.
# shellcheck disable=SC2034 # set for the script that sources this file
bench_fuzz_keys() {
    JWKS=$(awk '/const char \*jwks =/ {f=1; next} f {print; if (/;[[:space:]]*$/) exit}' \
            "$SRC/fuzz/fuzz_pipeline_bearer.c" | sed -e 's/^[[:space:]]*"//' -e 's/";*[[:space:]]*$//' |
        tr -d '\n' | sed 's/\\"/"/g')
    TOK=$(sed -n 's/^Bearer \(.*\)$/\1/p' "$SRC/fuzz/corpus/pipeline_bearer/valid")
}

# Prints a bearer middleware Component (issuer ISS, audience AUD, its key set as KEY: `jwks` with
# the set itself as VALUE, or `jwksURL` with a URL) and the Configuration `auth` that runs it on
# the app pipeline: `--resources-path DIR --config auth` with the output saved in DIR. The last
# line is the handler's, so a caller may append more of spec (tracing) at two spaces.
bench_bearer_yaml() { # ISS AUD KEY VALUE
    cat <<YAML
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: bearer
spec:
  type: middleware.http.bearer
  version: v1
  metadata:
  - name: issuer
    value: "$1"
  - name: audience
    value: "$2"
  - name: $3
    value: '$4'
---
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: auth
spec:
  appHttpPipeline:
    handlers:
    - name: bearer
      type: middleware.http.bearer
YAML
}
