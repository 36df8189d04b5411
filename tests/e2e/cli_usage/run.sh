#!/bin/sh
# Usage errors and refusals of the CLI that scripts and people meet first, each with its exit
# status (2: usage, fix the command line; 1: the command ran and failed) and the one line on
# stderr that says what to fix: `warden issuer` and its user/client/rotate subcommands, the
# shared option parser (missing value, a value given to a flag, extra arguments, unknown
# options), `warden token`, `warden appid`, `warden apply` and `warden dev`. No daemon is started.
. "$(dirname "$0")/../lib.sh"
W="$1/warden"
S="$E2E_TMP/state"

# run NAME WANT_RC WANT_STDERR CMD...: runs CMD (10 s at most), checks its status and that its
# stderr holds WANT_STDERR (and that a usage error printed nothing on stdout).
run() {
    name=$1 want_rc=$2 want_err=$3
    shift 3
    timeout 10 "$@" >"$E2E_TMP/out" 2>"$E2E_TMP/err"
    rc=$?
    err=$(cat "$E2E_TMP/err")
    if [ "$rc" = "$want_rc" ]; then
        case "$err" in
        *"$want_err"*) ok "$name" ;;
        *) not_ok "$name" "stderr expected to contain: $want_err" "stderr: $err" ;;
        esac
    else
        not_ok "$name" "exit status expected $want_rc, got $rc" "stderr: $err"
    fi
}

# ---- warden issuer: the server's flags (refused before anything is started) ----
run "issuer --port out of range" 2 "warden issuer: --port wants a number 0..65535, not '70000'" \
    "$W" issuer --port 70000 --state "$S"
run "issuer --typ other than at+jwt/JWT" 2 "warden issuer: --typ must be at+jwt or JWT" \
    "$W" issuer --port 0 --typ jwt --state "$S"
run "issuer --path without a leading slash" 2 \
    "--path wants /NAME (letters, digits, - . _ ~ and inner /), not 'tenant'" \
    "$W" issuer --port 0 --path tenant --state "$S"
run "issuer --path with a trailing slash" 2 "not '/a/'" "$W" issuer --port 0 --path /a/ --state "$S"
run "issuer --path with a space" 2 "not '/a b'" "$W" issuer --port 0 --path "/a b" --state "$S"
run "issuer --path of one slash" 2 "not '/'" "$W" issuer --port 0 --path / --state "$S"
run "issuer --lifetime 0" 2 "--lifetime wants a positive number of seconds, not '0'" \
    "$W" issuer --port 0 --lifetime 0 --state "$S"
run "issuer --refresh-lifetime not a number" 2 \
    "--refresh-lifetime wants a positive number of seconds, not 'x'" \
    "$W" issuer --port 0 --refresh-lifetime x --state "$S"
run "issuer --refresh-max over ten years" 2 "--refresh-max wants a positive number of seconds" \
    "$W" issuer --port 0 --refresh-max 999999999999 --state "$S"
run "issuer --client without an id" 2 "--client wants ID:SECRET" \
    "$W" issuer --port 0 --client :secret --state "$S"
run "issuer --client without a secret after the colon" 2 "--client wants ID:SECRET" \
    "$W" issuer --port 0 --client id: --state "$S"
run "issuer --address that is not an IPv4 address" 2 \
    "warden issuer: --address wants an IPv4 address, not 'localhost'" \
    "$W" issuer --port 0 --address localhost --state "$S"
run "issuer --host starting with '-'" 2 \
    "warden issuer: --host wants a DNS name or an IPv4 address, not '-bad'" \
    "$W" issuer --port 0 --host -bad --state "$S"
run "issuer --host with '_'" 2 "not 'a_b'" "$W" issuer --port 0 --host a_b --state "$S"
run "issuer --host ending with '.'" 2 "not 'a.'" "$W" issuer --port 0 --host a. --state "$S"
printf 'clients:\n  - {id: a}\n' >"$E2E_TMP/clients.yaml"
run "issuer --clients: the file's error with file:line:col" 1 \
    "clients.yaml:2:5: a client needs id, secret and at least one audience" \
    "$W" issuer --port 0 --clients "$E2E_TMP/clients.yaml" --state "$S"
run "issuer --clients of a missing file" 1 "cannot read /nonexistent/clients.yaml" \
    "$W" issuer --port 0 --clients /nonexistent/clients.yaml --state "$S"
expect_eq "issuer: nothing was created by refused commands" "$(ls "$S" 2>/dev/null | wc -l)" "0"

# ---- warden issuer rotate / user / client: forms and refusals ----
run "issuer rotate --alg HS256" 2 "warden issuer: --alg must be RS256, ES256 or EdDSA, not 'HS256'" \
    "$W" issuer rotate --state "$S" --alg HS256
run "issuer rotate --overlap 0" 2 "--overlap wants a positive number of seconds, not '0'" \
    "$W" issuer rotate --state "$S" --overlap 0
run "issuer rotate --delay not a number" 2 "--delay wants a positive number of seconds, not 'abc'" \
    "$W" issuer rotate --state "$S" --delay abc
run "issuer rotate: unknown option names the subcommand" 2 \
    "warden issuer rotate: unknown option '--bogus' (see 'warden issuer rotate --help')" \
    "$W" issuer rotate --bogus
run "issuer user: no verb" 2 "warden issuer: user: give \`add NAME\`, \`remove NAME\` or \`list\`" \
    "$W" issuer user
run "issuer user: unknown verb" 2 "user: give \`add NAME\`" "$W" issuer user frob x --state "$S"
run "issuer user add without a name" 2 "user: give" "$W" issuer user add --state "$S"
run "issuer user remove of an unknown user" 1 "warden issuer: user: no user 'nobody'" \
    "$W" issuer user remove nobody --state "$S"
run "issuer user add: a bad name is a usage error" 2 "user name 'a b'" \
    sh -c "echo 'long enough password' | '$W' issuer user add 'a b' --password-stdin --state '$S'"
run "issuer user add: no password on stdin" 1 "user add: no password read" \
    sh -c "'$W' issuer user add carol --password-stdin --state '$S' </dev/null"
echo "long enough password" | "$W" issuer user add carol --password-stdin --state "$S" >"$E2E_TMP/out" 2>&1
expect_contains "issuer user add" "$(cat "$E2E_TMP/out")" "user carol added in $S"
run "issuer user add of an existing user" 1 "user 'carol' exists (give --replace to set a new password)" \
    sh -c "echo 'another password' | '$W' issuer user add carol --password-stdin --state '$S'"
echo "another password" | "$W" issuer user add carol --password-stdin --replace --state "$S" >"$E2E_TMP/out" 2>&1
expect_contains "issuer user add --replace" "$(cat "$E2E_TMP/out")" "user carol saved in $S"
expect_eq "issuer user remove" "$("$W" issuer user remove carol --state "$S" 2>&1)" "user carol removed"
expect_eq "issuer user list after remove" "$("$W" issuer user list --state "$S" 2>&1)" ""
run "issuer client: no verb" 2 \
    "warden issuer: client: give \`add ID --redirect-uri URI\`, \`remove ID\` or \`list\`" \
    "$W" issuer client
run "issuer client add without --redirect-uri" 2 \
    "client add: --redirect-uri is required (repeatable)" "$W" issuer client add x --state "$S"
run "issuer client add with a CIMD URL as id" 2 "Client ID Metadata Document id" \
    "$W" issuer client add https://client.example/meta.json --redirect-uri https://a.example/cb \
    --state "$S"
run "issuer client add with a bad scope" 2 "the scope must be scope tokens separated by spaces" \
    "$W" issuer client add x --redirect-uri https://a.example/cb --scope 'a "b' --state "$S"
run "issuer client remove of an unknown client" 1 "client: no registered client 'nobody'" \
    "$W" issuer client remove nobody --state "$S"
"$W" issuer client add tool --public --redirect-uri http://127.0.0.1/cb --state "$S" >/dev/null 2>&1
expect_eq "issuer client remove" "$("$W" issuer client remove tool --state "$S" 2>&1)" \
    "client tool removed"
for sub in rotate user client; do
    out=$("$W" issuer $sub --help 2>&1); rc=$?
    expect_eq "issuer $sub --help exits 0" "$rc" "0"
    expect_contains "issuer $sub --help prints the usage" "$out" "warden issuer $sub"
done

# ---- the shared option parser (src/cli/args.c) ----
run "an option without its value" 2 "warden issuer user: --state needs a value" \
    "$W" issuer user list --state
run "a flag given a value" 2 "warden issuer user: --password-stdin takes no value" \
    "$W" issuer user list --password-stdin=yes --state "$S"
run "one positional too many" 2 "warden issuer user: unexpected argument 'more'" \
    "$W" issuer user list extra more --state "$S"
run "unknown option" 2 "warden status: unknown option '--bogus' (see 'warden status --help')" \
    "$W" status --bogus
run "apply: unknown option" 2 "warden apply: unknown option '--bogus'" "$W" apply --bogus

# ---- warden token ----
run "token: unexpected argument" 2 "warden token: unexpected argument 'extra'" "$W" token extra
run "token: unknown option prints the usage" 2 "Usage: warden token" "$W" token --bogus
run "token: --token-url without client credentials" 2 \
    "warden token: --client-id and --client-secret are required with --token-url" \
    "$W" token --token-url http://127.0.0.1:1/t
run "token: unknown --auth-method" 2 \
    "warden token: --auth-method must be client_secret_basic, client_secret_post or json" \
    "$W" token --token-url http://127.0.0.1:1/t --client-id x --client-secret y --auth-method foo
out=$("$W" token --help 2>/dev/null); rc=$?
expect_eq "token --help exits 0" "$rc" "0"
expect_contains "token --help prints the usage" "$out" "Usage: warden token"

# ---- warden appid, apply, dev ----
"$W" project create p1 >/dev/null 2>&1
run "appid: no subcommand" 2 "warden appid: missing subcommand: create, update, get, list or delete" \
    "$W" appid
run "appid: unknown subcommand" 2 "warden appid: unknown subcommand 'frob'" \
    "$W" appid frob --project p1
run "appid create: invalid id" 2 \
    "warden appid: invalid app ID 'bad id!': use letters, digits, '-' and '_'" \
    "$W" appid create 'bad id!' --project p1
run "appid update without --app-config" 2 "warden appid: update needs --app-config NAME" \
    "$W" appid update x --project p1
run "appid get of an unknown id" 1 "warden appid: app ID 'nope' not found in project 'p1'" \
    "$W" appid get nope --project p1
run "appid delete of an unknown id" 1 "warden appid: app ID 'nope' not found in project 'p1'" \
    "$W" appid delete nope --project p1
"$W" appid create svc --project p1 >/dev/null 2>&1
expect_eq "appid delete (not a terminal: no question)" "$("$W" appid delete svc --project p1 2>&1)" \
    "appid/svc deleted"
run "apply: no such file" 1 "warden apply: /nonexistent: no such file or folder" \
    "$W" apply -f /nonexistent --project p1
mkdir -p "$E2E_TMP/empty"
run "apply: an empty folder" 1 "warden apply: no resources found in the input" \
    "$W" apply -f "$E2E_TMP/empty" --project p1
run "apply: no -f" 2 "Usage: warden apply" "$W" apply --project p1
run "dev: no subcommand" 2 "warden dev: missing subcommand: run (see 'warden dev --help')" "$W" dev
run "dev: unknown subcommand" 2 "warden dev: unknown subcommand 'frob': use run" "$W" dev frob
out=$("$W" dev --help 2>/dev/null); rc=$?
expect_eq "dev --help exits 0" "$rc" "0"
expect_contains "dev --help prints the usage" "$out" "Usage: warden dev run -f RUNFILE"

# ---- warden check, status, the resource commands ----
run "check -f with an empty value" 2 "warden check: -f needs a file, a folder or '-'" \
    "$W" check -f ""
run "check --file= of a missing file" 1 "/nonexistent: cannot read: No such file or directory" \
    "$W" check --file=/nonexistent
run "status -o of an unknown format" 2 "warden status: -o must be table, json or yaml, not 'xml'" \
    "$W" status -o xml --project p1
run "status of a missing project" 1 \
    "warden status: project 'nope' does not exist (create it with 'warden project create nope')" \
    "$W" status --project nope
expect_eq "status -o json of a project without apps" "$("$W" status --project p1 -o json 2>&1)" "[]"
run "component get of an unknown name" 1 "warden component: component 'nope' not found in project 'p1'" \
    "$W" component get nope --project p1
run "component delete of an unknown name" 1 "component 'nope' not found in project 'p1'" \
    "$W" component delete nope --project p1 --yes
run "configuration get of an unknown name" 1 \
    "warden configuration: configuration 'nope' not found in project 'p1'" \
    "$W" configuration get nope --project p1
run "component: no subcommand" 2 "warden component: missing subcommand: get, list or delete" \
    "$W" component
run "component: unknown subcommand" 2 "warden component: unknown subcommand 'frob'" \
    "$W" component frob
run "project use without a name" 2 "warden project: use needs a NAME" "$W" project use
run "an argument after -- is still counted" 2 "warden appid: unexpected argument 'extra'" \
    "$W" appid list --project p1 -- extra

e2e_done
