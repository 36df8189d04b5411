#!/bin/sh
# `warden token` against a running `warden issuer` (plain HTTP, a flag client): the token alone
# on stdout, --decode's header and claims (the scope, audience and resource asked for), the
# variables the command reads instead of flags, and the refusals a user meets (a wrong secret: the
# server's error on stderr, exit 1; nothing on stdout).
. "$(dirname "$0")/../lib.sh"
W="$1/warden"
S="$E2E_TMP/state"

"$W" issuer --port 0 --http --client c1:s3cret --audience https://api.test/ \
    --audience https://other.test/ --scope "read write" --state "$S" >"$E2E_TMP/iss" 2>&1 &
IPID=$!
E2E_PIDS="$E2E_PIDS $IPID"
i=0
while [ $i -lt 600 ] && ! grep -q '^export AUTH0_DOMAIN' "$E2E_TMP/iss"; do sleep 0.1; i=$((i + 1)); done
PORT=$(sed -n 's/^export AUTH0_DOMAIN=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$E2E_TMP/iss")
[ -n "$PORT" ] || { echo "issuer did not start:"; cat "$E2E_TMP/iss"; exit 1; }
U="http://127.0.0.1:$PORT/oauth/token"

# --decode: the token, then its header and claims as JSON.
"$W" token --token-url "$U" --client-id c1 --client-secret s3cret --audience https://other.test/ \
    --scope read --decode >"$E2E_TMP/out" 2>"$E2E_TMP/err"
expect_eq "token --decode exits 0" "$?" "0"
expect_eq "the token comes first, alone on its line" \
    "$(head -n 1 "$E2E_TMP/out" | tr -cd '.' | wc -c)" "2"
sed 1d "$E2E_TMP/out" >"$E2E_TMP/json"
expect_eq "the header is printed" "$(jq -s -r '.[0].typ' "$E2E_TMP/json")" "at+jwt"
expect_eq "the claims: audience asked for" "$(jq -s -r '.[1].aud' "$E2E_TMP/json")" \
    "https://other.test/"
expect_eq "the claims: scope asked for" "$(jq -s -r '.[1].scope' "$E2E_TMP/json")" "read"
expect_eq "the claims: the client" "$(jq -s -r '.[1].sub' "$E2E_TMP/json")" "c1@clients"

# RFC 8707 resource instead of audience; the OAUTH2_* variables instead of flags.
t=$(OAUTH2_TOKEN_URL="$U" OAUTH2_CLIENT_ID=c1 OAUTH2_CLIENT_SECRET=s3cret \
    OAUTH2_RESOURCE=https://other.test/ OAUTH2_SCOPE="read write" "$W" token --decode 2>&1)
expect_eq "OAUTH2_* variables and --resource" \
    "$(printf '%s\n' "$t" | sed 1d | jq -s -r '.[1].aud + " " + .[1].scope')" \
    "https://other.test/ read write"
t=$("$W" token --token-url "$U" --client-id c1 --client-secret s3cret \
    --resource https://api.test/ --auth-method client_secret_post 2>&1)
expect_eq "--auth-method client_secret_post and --resource" "$(printf '%s' "$t" | tr -cd '.' | wc -c)" "2"

# Refusals: the server's error and description on stderr, nothing on stdout.
"$W" token --token-url "$U" --client-id c1 --client-secret wrong >"$E2E_TMP/out" 2>"$E2E_TMP/err"
expect_eq "a wrong secret exits 1" "$?" "1"
expect_contains "a wrong secret: the server's answer" "$(cat "$E2E_TMP/err")" \
    "token endpoint answered HTTP 401: invalid_client: client authentication failed"
expect_eq "a wrong secret: nothing on stdout" "$(cat "$E2E_TMP/out")" ""
"$W" token --token-url "$U" --client-id c1 --client-secret s3cret --scope admin \
    >"$E2E_TMP/out" 2>"$E2E_TMP/err"
expect_eq "a scope the client may not have exits 1" "$?" "1"
expect_contains "a scope the client may not have: invalid_scope" "$(cat "$E2E_TMP/err")" "invalid_scope"
"$W" token --token-url "http://127.0.0.1:1/oauth/token" --client-id c1 --client-secret s3cret \
    >"$E2E_TMP/out" 2>"$E2E_TMP/err"
expect_eq "an endpoint that does not answer exits 1" "$?" "1"
expect_eq "an endpoint that does not answer: nothing on stdout" "$(cat "$E2E_TMP/out")" ""

kill -TERM "$IPID" 2>/dev/null
wait "$IPID"
expect_eq "the issuer stops cleanly" "$?" "0"
e2e_done
