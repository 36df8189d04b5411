# `warden mcp` against two of our own MCP servers without sign-in (conformance_server: tools of
# every content type, resources, prompts, progress; mcp_server: typed arguments): what each
# command prints, the exit codes 0/1/2 a script relies on, and the usage errors, each with its
# message. Signing in is tested by tests/interop/client.
. "$(dirname "$0")/../lib.sh"
BIN=$1
W="$BIN/warden"

# start_app NAME VAR: starts an example app on a free port (APP_PORT=0) and sets VAR to its MCP
# URL (not in a command substitution: that would wait for the daemon's stdout to close).
start_app() {
    APP_PORT=0 "$BIN/$1" >/dev/null 2>"$E2E_TMP/$1.err" &
    E2E_PIDS="$E2E_PIDS $!"
    i=0
    while [ $i -lt 300 ]; do
        p=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$E2E_TMP/$1.err")
        if [ -n "$p" ]; then
            eval "$2=http://127.0.0.1:$p/mcp"
            return 0
        fi
        sleep 0.1; i=$((i + 1))
    done
    not_ok "$1 started" "$(cat "$E2E_TMP/$1.err")"
    e2e_done
    exit 1
}
start_app conformance_server U
start_app mcp_server Q

# ---- tools
out=$($W mcp tools list "$U"); rc=$?
expect_eq "tools list exits 0" "$rc" "0"
expect_contains "tools list: a table of names and descriptions" "$out" "test_simple_text                             Returns simple text"
out=$($W mcp tools list "$U" -o json | tr -d ' \n')
expect_contains "tools list -o json: the tools as the server gave them" "$out" '"name":"test_error_handling"'
out=$($W mcp tools call "$U" test_simple_text); rc=$?
expect_eq "tools call prints the text" "$rc:$out" "0:This is a simple text response for testing."
out=$($W mcp tools call "$U" test_multiple_content_types); rc=$?
expect_eq "each content block on its own line" "$rc:$out" '0:Multiple content types test:
[image image/png]
{"test":"data","value":123}'
out=$($W mcp tools call "$U" test_simple_text -o json | tr -d ' \n')
expect_contains "tools call -o json: the result" "$out" '"content":[{"type":"text","text":"Thisisasimpletextresponsefortesting."}]'
out=$($W mcp tools call "$U" test_error_handling 2>&1); rc=$?
expect_eq "a tool that reports an error exits 1" "$rc:$out" "1:This tool intentionally returns an error for testing"
out=$($W mcp tools call "$U" nosuch 2>&1); rc=$?
expect_eq "an unknown tool exits 1 with the server's message" "$rc:$out" "1:warden mcp: nosuch: Unknown tool: nosuch"
err=$($W mcp tools call "$U" test_tool_with_progress 2>&1 >/dev/null); rc=$?
expect_eq "progress goes to stderr" "$rc:$err" "0:progress: 0/100
progress: 50/100
progress: 100/100"
out=$($W mcp tools call "$U" test_custom_header --arg region=eu -H 'X-Test: 1'); rc=$?
expect_eq "arguments and an extra header" "$rc:$out" "0:region=eu"

# ---- arguments typed by the tool's schema
out=$($W mcp tools call "$Q" add --arg a=2 --arg b=3); rc=$?
expect_eq "integer arguments" "$rc:$out" "0:5"
out=$($W mcp tools call "$Q" add --json '{"a":40}' --arg b=2); rc=$?
expect_eq "--json with --arg added" "$rc:$out" "0:42"
out=$($W mcp tools call "$Q" echo --arg message=42); rc=$?
expect_eq "a string argument stays text even when it looks like a number" "$rc:$out" "0:Echo: 42"
out=$($W mcp tools call "$Q" add --arg a=x --arg b=3 2>&1); rc=$?
expect_eq "an argument of the wrong type: usage error" "$rc:$out" "2:warden mcp: --arg a wants an integer, not 'x'"
out=$($W mcp tools call "$Q" add --arg a=1.5 --arg b=1 2>&1); rc=$?
expect_eq "a fraction for an integer: usage error" "$rc" "2"
out=$($W mcp tools call "$Q" add --arg novalue 2>&1); rc=$?
expect_eq "--arg without =: usage error" "$rc:$out" "2:warden mcp: --arg wants KEY=VALUE, not 'novalue'"
out=$($W mcp tools call "$Q" add --json '[1]' 2>&1); rc=$?
expect_eq "--json not an object: usage error" "$rc:$out" "2:warden mcp: --json wants a JSON object"

# ---- resources and prompts
out=$($W mcp resources list "$U"); rc=$?
expect_contains "resources list: URI and name" "$rc:$out" "0:URI                       NAME"
expect_contains "resources list: a resource" "$out" "test://static-text        static-text"
out=$($W mcp resources read "$U" test://static-text); rc=$?
expect_eq "resources read: the text" "$rc:$out" "0:This is the content of the static text resource."
out=$($W mcp resources read "$U" test://static-binary); rc=$?
expect_eq "resources read: binary is not printed raw" "$rc:$out" "0:[binary, image/png; use -o json]"
out=$($W mcp resources read "$U" test://static-binary -o json | tr -d ' \n')
expect_contains "resources read -o json: the blob" "$out" '"mimeType":"image/png","blob":"iVBOR'
out=$($W mcp resources read "$U" test://nosuch 2>&1); rc=$?
expect_eq "resources read of an unknown URI exits 1" "$rc:$out" "1:warden mcp: test://nosuch: Resource not found"
out=$($W mcp prompts list "$U"); rc=$?
expect_contains "prompts list" "$rc:$out" "0:NAME"
expect_contains "prompts list: a prompt" "$out" "test_prompt_with_arguments           A prompt with arguments"
out=$($W mcp prompts get "$U" test_prompt_with_arguments --arg arg1=a --arg arg2=b); rc=$?
expect_eq "prompts get with arguments" "$rc:$out" "0:user: Prompt with arguments: arg1='a', arg2='b'"
out=$($W mcp prompts get "$U" test_prompt_with_image); rc=$?
expect_eq "prompts get: an image message" "$rc:$out" "0:user: [image image/png]
user: Please analyze the image above."
out=$($W mcp prompts get "$U" test_prompt_with_embedded_resource --arg resourceUri=test://static-text); rc=$?
expect_eq "prompts get: an embedded resource" "$rc:$out" "0:user: Embedded resource content for testing.
user: Please process the embedded resource above."
out=$($W mcp prompts get "$U" nosuch 2>&1); rc=$?
expect_eq "prompts get of an unknown prompt exits 1" "$rc:$out" "1:warden mcp: nosuch: Unknown prompt: nosuch"

# ---- ping, logout, older protocol versions, a server that is not there
out=$($W mcp ping "$U"); rc=$?
expect_contains "ping" "$rc:$out" "0:ok (2026-07-28, "
out=$($W mcp ping "$U" -o json); rc=$?
expect_eq "ping -o json" "$rc:$out" "0:{}"
out=$($W mcp ping "$U" --protocol-version 2025-03-26); rc=$?
expect_contains "ping with an older protocol version" "$rc:$out" "0:ok (2025-03-26, "
out=$($W mcp tools list "$U" --protocol-version 2025-06-18); rc=$?
expect_contains "tools list with 2025-06-18" "$rc:$out" "0:NAME"
out=$($W mcp logout "$U"); rc=$?
expect_eq "logout" "$rc:$out" "0:forgot the tokens kept for $U"
P=$(free_port)
out=$($W mcp ping "http://127.0.0.1:$P/mcp" --timeout 5 2>&1); rc=$?
expect_eq "a server that is not there exits 1" "$rc" "1"
expect_contains "and says it cannot reach it" "$out" "cannot reach MCP server"

# ---- usage errors (exit 2) with their messages
usage() { # NAME EXPECTED-MESSAGE ARGS...
    _n=$1; _m=$2; shift 2
    _o=$($W mcp "$@" 2>&1); _rc=$?
    expect_eq "$_n" "$_rc:$_o" "2:warden mcp: $_m"
}
usage "unknown command" "unknown subcommand 'frob': use tools, resources, prompts, ping or logout (see 'warden mcp --help')" frob
usage "unknown subcommand" "unknown subcommand 'tools frob': use tools list or tools call" tools frob "$U"
usage "tools call without a name" "tools call needs a URL and a name" tools call "$U"
usage "resources read without a URI" "resources read needs a URL and a URI" resources read "$U"
usage "not an http URL" "'ftp://x' is not an http(s) URL of an MCP endpoint" tools list ftp://x
usage "-o other than json" "-o takes json" tools list "$U" -o yaml
usage "--timeout out of range" "--timeout wants seconds (1-86400)" tools list "$U" --timeout 0
usage "--token with --client-id" "--token cannot be combined with --client-id or --login" tools list "$U" --token t --client-id c
usage "--client-secret alone" "--client-secret needs --client-id" tools list "$U" --client-secret s
usage "unknown protocol version" "unsupported protocol version 1999" tools list "$U" --protocol-version 1999
usage "a header without a colon" 'extra header must be "Name: value"' tools list "$U" -H bad
out=$($W mcp --help); rc=$?
expect_contains "--help" "$rc:$out" "0:Usage: warden mcp <command> URL"
e2e_done
