# warden issuer over real sockets with curl: every endpoint and error of the token endpoint,
# discovery, JWKS, `warden token` against it (each auth method), HTTPS with the project CA and
# the printed export lines (pasted whole, as the README says), a generated client kept across
# restarts, rotation while running (publish first, sign later; --now), the pid and log files,
# one issuer per state folder, and a clean stop on SIGTERM.
. "$(dirname "$0")/../lib.sh"
BIN=$1
W="$BIN/warden"
S="$E2E_TMP/state"

# start_issuer OUTFILE ARGS...: starts the issuer in the background, waits for its export
# lines, sets IPID and PORT.
start_issuer() {
    out=$1; shift
    "$W" issuer --port 0 "$@" >"$out" 2>"$out.err" &
    IPID=$!
    E2E_PIDS="$E2E_PIDS $IPID"
    i=0
    while [ $i -lt 300 ] && ! grep -q '^export AUTH0_DOMAIN' "$out"; do sleep 0.1; i=$((i + 1)); done
    PORT=$(sed -n 's/^export AUTH0_DOMAIN=127\.0\.0\.1:\([0-9]*\) .*/\1/p' "$out")
}
stop_issuer() {
    kill -TERM "$IPID" 2>/dev/null
    wait "$IPID"
    STOP_RC=$?
}
# post ARGS...: POST to the token endpoint; prints "STATUS BODY"
post() {
    curl -s -m 10 -o "$E2E_TMP/body" -w '%{http_code}' "$U/oauth/token" "$@" >"$E2E_TMP/code"
    echo "$(cat "$E2E_TMP/code") $(cat "$E2E_TMP/body")"
}
err_of() { printf '%s' "$1" | cut -d' ' -f2- | jq -r .error; }
code_of() { printf '%s' "$1" | cut -d' ' -f1; }
# expect_err NAME RESULT STATUS ERROR
expect_err() { expect_eq "$1" "$(code_of "$2") $(err_of "$2")" "$3 $4"; }
jwt_part() { printf '%s' "$1" | cut -d. -f"$2" | tr '_-' '/+' | { b=$(cat); while [ $((${#b} % 4)) -ne 0 ]; do b="$b="; done; printf '%s' "$b"; } | base64 -d; }

# ---- plain HTTP, flag clients --------------------------------------------------------------
start_issuer "$E2E_TMP/o1" --http --client c1:s3cret --client 'c 2:p+w&d' --audience https://api/ \
    --audience https://other/ --scope "read write" --state "$S"
expect_contains "prints the export line" "$(cat "$E2E_TMP/o1")" "export AUTH0_DOMAIN=127.0.0.1:$PORT AUTH0_CLIENT_ID=c1 AUTH0_CLIENT_SECRET=s3cret AUTH0_AUDIENCE=https://api/"
expect_not_contains "prints no OAUTH2_* fallback" "$(cat "$E2E_TMP/o1")" "OAUTH2_"
expect_not_contains "plain HTTP prints no CA line" "$(cat "$E2E_TMP/o1")" "CA_FILE"
expect_eq "pid file names the running issuer" "$(cat "$S/issuer.pid")" "$IPID"
"$W" issuer --port 0 --http --state "$S" >"$E2E_TMP/o1b" 2>&1; rc=$?
expect_eq "a second issuer on the same state folder fails" "$rc" "1"
expect_contains "and names the running one" "$(cat "$E2E_TMP/o1b")" "another warden issuer is running on $S (pid $IPID)"
U="http://127.0.0.1:$PORT"

r=$(post -u c1:s3cret -d grant_type=client_credentials)
expect_eq "basic: 200" "$(code_of "$r")" "200"
TOK=$(printf '%s' "$r" | cut -d' ' -f2- | jq -r .access_token)
expect_eq "basic: token_type" "$(printf '%s' "$r" | cut -d' ' -f2- | jq -r .token_type)" "Bearer"
expect_eq "basic: expires_in" "$(printf '%s' "$r" | cut -d' ' -f2- | jq -r .expires_in)" "3600"
expect_eq "basic: scope" "$(printf '%s' "$r" | cut -d' ' -f2- | jq -r .scope)" "read write"
claims=$(jwt_part "$TOK" 2)
expect_eq "claims: iss" "$(printf '%s' "$claims" | jq -r .iss)" "http://127.0.0.1:$PORT/"
expect_eq "claims: sub" "$(printf '%s' "$claims" | jq -r .sub)" "c1@clients"
expect_eq "claims: aud" "$(printf '%s' "$claims" | jq -r .aud)" "https://api/"
expect_eq "claims: client_id" "$(printf '%s' "$claims" | jq -r .client_id)" "c1"
expect_eq "claims: lifetime" "$(printf '%s' "$claims" | jq -r '.exp - .iat')" "3600"
expect_eq "header: typ" "$(jwt_part "$TOK" 1 | jq -r .typ)" "at+jwt"
KID1=$(jwt_part "$TOK" 1 | jq -r .kid)

hdrs=$(curl -s -m 10 -D - -o /dev/null "$U/oauth/token" -u c1:s3cret -d grant_type=client_credentials | tr -d '\r')
expect_contains "token: Cache-Control no-store" "$hdrs" "Cache-Control: no-store"
expect_contains "token: Pragma no-cache" "$hdrs" "Pragma: no-cache"
expect_contains "token: JSON" "$hdrs" "Content-Type: application/json"

r=$(post -u 'c%202:p%2Bw%26d' -d grant_type=client_credentials)
expect_eq "basic with form-encoded id and secret" "$(code_of "$r")" "200"
r=$(post -d grant_type=client_credentials -d client_id=c1 -d client_secret=s3cret -d scope=read \
    --data-urlencode resource=https://other/)
expect_eq "post: 200" "$(code_of "$r")" "200"
expect_eq "post: resource becomes aud" "$(jwt_part "$(printf '%s' "$r" | cut -d' ' -f2- | jq -r .access_token)" 2 | jq -r .aud)" "https://other/"
r=$(post -H 'Content-Type: application/json' \
    -d '{"client_id":"c1","client_secret":"s3cret","audience":"https://other/","grant_type":"client_credentials"}')
expect_eq "json (Auth0): 200" "$(code_of "$r")" "200"

r=$(post -u c1:wrong -d grant_type=client_credentials); expect_err "wrong secret" "$r" 401 invalid_client
wrong_body=$(printf '%s' "$r" | cut -d' ' -f2-)
r=$(post -u nobody:s3cret -d grant_type=client_credentials); expect_err "unknown client" "$r" 401 invalid_client
expect_eq "unknown client and wrong secret look alike" "$(printf '%s' "$r" | cut -d' ' -f2-)" "$wrong_body"
hdrs=$(curl -s -m 10 -D - -o /dev/null "$U/oauth/token" -u c1:wrong -d grant_type=client_credentials | tr -d '\r')
expect_contains "401 has WWW-Authenticate Basic" "$hdrs" 'WWW-Authenticate: Basic realm="warden issuer"'
r=$(post -d grant_type=client_credentials); expect_err "no client authentication" "$r" 401 invalid_client
r=$(post -u c1:s3cret -d scope=read); expect_err "missing grant_type" "$r" 400 invalid_request
r=$(post -u c1:s3cret -d grant_type=password -d username=u -d password=p); expect_err "unsupported grant" "$r" 400 unsupported_grant_type
r=$(post -u c1:s3cret -d grant_type=client_credentials -d 'scope=read admin'); expect_err "bad scope" "$r" 400 invalid_scope
r=$(post -u c1:s3cret -d grant_type=client_credentials -d audience=https://evil/); expect_err "bad audience" "$r" 400 invalid_target
r=$(post -u c1:s3cret -d grant_type=client_credentials -d resource=https://evil/); expect_err "bad resource" "$r" 400 invalid_target
r=$(post -u c1:s3cret -d grant_type=client_credentials -d grant_type=client_credentials); expect_err "duplicate parameter" "$r" 400 invalid_request
r=$(post -u c1:s3cret -d grant_type=client_credentials -d client_id=c1 -d client_secret=s3cret); expect_err "basic and post at once" "$r" 400 invalid_request
r=$(post -u c1:s3cret -H 'Content-Type: text/plain' -d grant_type=client_credentials); expect_err "wrong content type" "$r" 400 invalid_request
head -c 20000 /dev/zero | tr '\0' a >"$E2E_TMP/big"
r=$(post -u c1:s3cret --data-binary @"$E2E_TMP/big"); expect_err "oversized body" "$r" 413 invalid_request
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$U/oauth/token"); expect_eq "GET token endpoint is 405" "$code" "405"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$U/nothing"); expect_eq "other paths 404" "$code" "404"

oidc=$(curl -s -m 10 "$U/.well-known/openid-configuration")
asm=$(curl -s -m 10 "$U/.well-known/oauth-authorization-server")
expect_eq "discovery: issuer" "$(printf '%s' "$oidc" | jq -r .issuer)" "http://127.0.0.1:$PORT/"
expect_eq "discovery: token_endpoint" "$(printf '%s' "$oidc" | jq -r .token_endpoint)" "$U/oauth/token"
expect_eq "discovery: grant types" "$(printf '%s' "$oidc" | jq -c .grant_types_supported)" '["authorization_code","refresh_token","client_credentials"]'
expect_eq "discovery: auth methods" "$(printf '%s' "$oidc" | jq -c .token_endpoint_auth_methods_supported)" '["client_secret_basic","client_secret_post","none"]'
expect_eq "discovery: PKCE S256 only" "$(printf '%s' "$oidc" | jq -c .code_challenge_methods_supported)" '["S256"]'
expect_eq "discovery: authorization endpoint" "$(printf '%s' "$oidc" | jq -r .authorization_endpoint)" "$U/authorize"
expect_eq "discovery: CIMD and RFC 9207" "$(printf '%s' "$oidc" | jq -c '[.client_id_metadata_document_supported, .authorization_response_iss_parameter_supported, has("registration_endpoint")]')" '[true,true,false]'
expect_eq "discovery: scopes" "$(printf '%s' "$oidc" | jq -c .scopes_supported)" '["read","write","offline_access"]'
expect_eq "discovery: algorithms" "$(printf '%s' "$oidc" | jq -c .id_token_signing_alg_values_supported)" '["RS256"]'
expect_eq "RFC 8414 document is the same" "$asm" "$oidc"
JWKS_URI=$(printf '%s' "$oidc" | jq -r .jwks_uri)
hdrs=$(curl -s -m 10 -D - -o "$E2E_TMP/jwks" "$JWKS_URI" | tr -d '\r')
expect_contains "jwks: max-age" "$hdrs" "Cache-Control: public, max-age=60"
expect_eq "jwks: one key with the token's kid" "$(jq -r '[.keys[].kid] | join(",")' "$E2E_TMP/jwks")" "$KID1"
expect_eq "jwks: no private parts" "$(jq -r '.keys[0] | has("d")' "$E2E_TMP/jwks")" "false"

# warden token (the lead's client) against it, each auth method
for m in client_secret_basic client_secret_post json; do
    t=$("$W" token --token-url "$U/oauth/token" --client-id c1 --client-secret s3cret \
        --audience https://api/ --auth-method $m 2>"$E2E_TMP/tokerr")
    expect_eq "warden token --auth-method $m" "$(jwt_part "$t" 2 | jq -r .sub)" "c1@clients"
done
"$W" token --token-url "$U/oauth/token" --client-id c1 --client-secret nope >/dev/null 2>"$E2E_TMP/tokerr"
expect_eq "warden token with a wrong secret fails" "$?" "1"
expect_contains "and says why" "$(cat "$E2E_TMP/tokerr")" "invalid_client"
dec=$("$W" token --token-url "$U/oauth/token" --client-id c1 --client-secret s3cret \
    --audience https://api/ --decode 2>/dev/null | tail -n +2 | jq -s -c '[.[0].typ, .[1].sub]')
expect_eq "warden token --decode prints header and claims" "$dec" '["at+jwt","c1@clients"]'

# rotation while running: the new key is published at once and signs after the delay, so
# validators that cached the JWKS keep accepting tokens; --now switches at once.
rot=$("$W" issuer rotate --state "$S" --overlap 3600)
expect_contains "rotate says when the new key signs" "$rot" "signs from"
KID2=$(printf '%s' "$rot" | sed -n 's/^new key \([^ ]*\) published.*/\1/p')
r=$(post -u c1:s3cret -d grant_type=client_credentials)
expect_eq "after rotate the old key still signs" "$(jwt_part "$(printf '%s' "$r" | cut -d' ' -f2- | jq -r .access_token)" 1 | jq -r .kid)" "$KID1"
expect_eq "jwks publishes the new key at once" "$(curl -s -m 10 "$JWKS_URI" | jq -r '[.keys[].kid] | sort | join(",")')" "$(printf '%s\n%s\n' "$KID1" "$KID2" | sort | paste -sd,)"
rot=$("$W" issuer rotate --state "$S" --overlap 3600 --now)
expect_contains "rotate --now signs now" "$rot" "signs now"
r=$(post -u c1:s3cret -d grant_type=client_credentials)
KID3=$(jwt_part "$(printf '%s' "$r" | cut -d' ' -f2- | jq -r .access_token)" 1 | jq -r .kid)
[ -n "$KID3" ] && [ "$KID3" != "$KID1" ] && [ "$KID3" != "$KID2" ]; expect_eq "after rotate --now the running issuer signs with the newest key" "$?" "0"
expect_eq "jwks publishes the old and the newest key (the waiting one never signed)" "$(curl -s -m 10 "$JWKS_URI" | jq -r '[.keys[].kid] | sort | join(",")')" "$(printf '%s\n%s\n' "$KID1" "$KID3" | sort | paste -sd,)"
expect_eq "key files are 0600" "$(stat -c %a "$S/keys/$KID3.pem") $(stat -c %a "$S/keys.json")" "600 600"
"$W" issuer rotate --state "$S" --now --delay 5 >/dev/null 2>&1; expect_eq "--now and --delay together are a usage error" "$?" "2"

stop_issuer; expect_eq "SIGTERM stops it cleanly" "$STOP_RC" "0"
[ ! -e "$S/issuer.pid" ]; expect_eq "a clean stop removes the pid file" "$?" "0"
expect_eq "nothing on stderr (logs go to the log file)" "$(cat "$E2E_TMP/o1.err")" ""
expect_not_contains "log holds no secret" "$(cat "$S/issuer.log")" "s3cret"
expect_not_contains "log holds no token" "$(cat "$S/issuer.log")" "$TOK"
expect_contains "log has one line per token request" "$(cat "$S/issuer.log")" "event=token method=POST path=/oauth/token status=401 error=invalid_client"

# ---- HTTPS with the project CA, generated client, the tutorial's environment ---------------
"$W" project create p1 >/dev/null
start_issuer "$E2E_TMP/o2" --project p1 --alg ES256
expect_contains "HTTPS issuer prints the CA warden's clients add" "$(cat "$E2E_TMP/o2")" "
export WARDEN_CA_FILE=$WARDEN_HOME/projects/p1/ca/ca.crt"
expect_not_contains "and never replaces the shell's trust store" "$(cat "$E2E_TMP/o2")" "SSL_CERT_FILE"
expect_eq "it prints a comment and two export lines, nothing else" "$(grep -c . "$E2E_TMP/o2") $(grep -c '^export ' "$E2E_TMP/o2") $(grep -c '^# ' "$E2E_TMP/o2")" "3 2 1"
expect_eq "the project's pid file" "$(cat "$WARDEN_HOME/projects/p1/issuer/issuer.pid")" "$IPID"
i=0; while [ $i -lt 100 ] && ! grep -q event=start "$WARDEN_HOME/projects/p1/logs/issuer.log" 2>/dev/null; do sleep 0.1; i=$((i + 1)); done
expect_contains "logs go to the project's logs/issuer.log" "$(cat "$WARDEN_HOME/projects/p1/logs/issuer.log")" "event=start"
expect_eq "not to the terminal" "$(cat "$E2E_TMP/o2.err")" ""
exports=$(grep '^export' "$E2E_TMP/o2")
# The README says to paste what the issuer prints; the tutorial's step 5 then unsets AUTH0_*
# and the client must have no credentials left (there was an OAUTH2_* fallback).
out=$(env -i PATH="$PATH" HOME="$E2E_TMP" WARDEN_HOME="$WARDEN_HOME" sh -c "$(cat "$E2E_TMP/o2")
unset AUTH0_DOMAIN AUTH0_CLIENT_ID AUTH0_CLIENT_SECRET AUTH0_AUDIENCE; \"$W\" token" 2>&1); rc=$?
expect_eq "pasted whole, then step 5's unset: no client credentials are left" "$rc" "2"
expect_contains "and the client says so" "$out" "no OAuth2 client configured"

gen=$(sed -n 's/.*AUTH0_CLIENT_ID=\([^ ]*\) AUTH0_CLIENT_SECRET=\([^ ]*\) .*/\1:\2/p' "$E2E_TMP/o2")
expect_contains "generated client has the default audience" "$exports" "AUTH0_AUDIENCE=https://warden.local/api/"
t=$(env -i PATH="$PATH" HOME="$E2E_TMP" sh -c "$exports; exec \"$W\" token" 2>"$E2E_TMP/tokerr")
expect_eq "tutorial env (AUTH0_* + WARDEN_CA_FILE) gets a token over HTTPS" "$(jwt_part "$t" 2 | jq -r .iss)" "https://127.0.0.1:$PORT/"
expect_eq "--alg ES256" "$(jwt_part "$t" 1 | jq -r .alg)" "ES256"
code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' --cacert "$WARDEN_HOME/projects/p1/ca/ca.crt" "https://127.0.0.1:$PORT/.well-known/openid-configuration")
expect_eq "curl trusts it with the CA file" "$code" "200"
curl -s -m 10 -o /dev/null "https://127.0.0.1:$PORT/.well-known/openid-configuration"
expect_eq "and not without" "$?" "60"
stop_issuer; expect_eq "stop" "$STOP_RC" "0"
start_issuer "$E2E_TMP/o3" --project p1 --alg ES256
gen2=$(sed -n 's/.*AUTH0_CLIENT_ID=\([^ ]*\) AUTH0_CLIENT_SECRET=\([^ ]*\) .*/\1:\2/p' "$E2E_TMP/o3")
expect_eq "generated client survives a restart" "$gen2" "$gen"
stop_issuer; expect_eq "stop again" "$STOP_RC" "0"

# ---- people: users, registered clients, the sign-in and consent pages, code + PKCE, refresh --
S2="$E2E_TMP/state2"
echo "correct horse battery" | "$W" issuer user add alice --state "$S2" --password-stdin >/dev/null
expect_eq "user add" "$("$W" issuer user list --state "$S2")" "alice"
expect_eq "users.json is 0600 and holds no password" "$(stat -c %a "$S2/users.json") $(grep -c 'correct horse' "$S2/users.json")" "600 0"
echo "short" | "$W" issuer user add bob --state "$S2" --password-stdin >/dev/null 2>&1; expect_eq "a short password is refused" "$?" "2"
out=$("$W" issuer client add cli --public --redirect-uri http://127.0.0.1/callback --name "E2E CLI" --state "$S2")
expect_contains "client add --public" "$out" "public client cli registered"
out=$("$W" issuer client add web --redirect-uri https://web.example/cb --state "$S2")
expect_contains "client add prints the secret once" "$out" "client_secret="
"$W" issuer client add bad --redirect-uri http://web.example/cb --state "$S2" >"$E2E_TMP/bad" 2>&1; expect_eq "client add: plain http off loopback is refused" "$?" "2"
expect_contains "and says why" "$(cat "$E2E_TMP/bad")" "loopback"
expect_eq "client list" "$("$W" issuer client list --state "$S2" | cut -f1,2 | tr '\t\n' ' ')" "cli public web confidential "
start_issuer "$E2E_TMP/o4" --state "$S2" --resource https://mcp.test/mcp --scope "mcp:tools" --dcr --path /t1
CA="$S2/ca/ca.crt"
B="https://127.0.0.1:$PORT/t1"
meta=$(curl -s -m 10 --cacert "$CA" "https://127.0.0.1:$PORT/.well-known/oauth-authorization-server/t1")
expect_eq "--path: RFC 8414 path-inserted discovery" "$(printf '%s' "$meta" | jq -r '.issuer + " " + .authorization_endpoint + " " + .registration_endpoint')" "$B $B/authorize $B/register"
expect_eq "--path: OIDC appended form too" "$(curl -s -m 10 --cacert "$CA" "$B/.well-known/openid-configuration" | jq -r .issuer)" "$B"
V=e2e-verifier-0123456789-0123456789-0123456789-xyz
CH=$(printf '%s' "$V" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
AQ="response_type=code&client_id=cli&redirect_uri=http%3A%2F%2F127.0.0.1%3A7777%2Fcallback&code_challenge=$CH&code_challenge_method=S256&state=e2e&scope=mcp%3Atools&resource=https%3A%2F%2Fmcp.test%2Fmcp"
curl -s -m 10 --cacert "$CA" -c "$E2E_TMP/jar" -D "$E2E_TMP/h1" -o "$E2E_TMP/p1" "$B/authorize?$AQ"
expect_contains "sign-in page" "$(cat "$E2E_TMP/p1")" "to continue to <strong>E2E CLI</strong>"
expect_contains "framing refused" "$(tr -d '\r' <"$E2E_TMP/h1")" "X-Frame-Options: DENY"
expect_contains "CSP frame-ancestors 'none'" "$(tr -d '\r' <"$E2E_TMP/h1")" "frame-ancestors 'none'"
expect_contains "session cookie" "$(tr -d '\r' <"$E2E_TMP/h1")" "Set-Cookie: __Host-warden-session="
hidden() { grep -o "name=\"$2\" value=\"[^\"]*\"" "$1" | head -1 | sed 's/.*value="//;s/"$//'; }
curl -s -m 30 --cacert "$CA" -b "$E2E_TMP/jar" -c "$E2E_TMP/jar" -o "$E2E_TMP/p2" -w '%{http_code}' "$B/authorize/sign-in" \
    --data-urlencode "csrf=$(hidden "$E2E_TMP/p1" csrf)" --data-urlencode "rid=$(hidden "$E2E_TMP/p1" rid)" \
    -d username=alice --data-urlencode "password=correct horse battery" >"$E2E_TMP/code"
expect_eq "sign-in -> consent page" "$(cat "$E2E_TMP/code") $(grep -c '<h1>Allow access?</h1>' "$E2E_TMP/p2")" "200 1"
curl -s -m 10 --cacert "$CA" -b "$E2E_TMP/jar" -D "$E2E_TMP/h3" -o /dev/null "$B/authorize/consent" \
    --data-urlencode "csrf=$(hidden "$E2E_TMP/p2" csrf)" --data-urlencode "rid=$(hidden "$E2E_TMP/p2" rid)" -d decision=allow
LOC=$(sed -n 's/^Location: //p' "$E2E_TMP/h3" | tr -d '\r')
expect_contains "consent redirects to the client with iss and state" "$LOC" "http://127.0.0.1:7777/callback?code="
expect_contains "  iss" "$LOC" "&state=e2e&iss=https%3A%2F%2F127.0.0.1%3A$PORT%2Ft1"
CODE=$(printf '%s' "$LOC" | sed 's/.*code=\([^&]*\).*/\1/')
tok=$(curl -s -m 10 --cacert "$CA" "$B/oauth/token" -d grant_type=authorization_code -d client_id=cli -d "code=$CODE" \
    --data-urlencode redirect_uri=http://127.0.0.1:7777/callback -d "code_verifier=$V" --data-urlencode resource=https://mcp.test/mcp)
expect_eq "code + PKCE -> token for alice, aud = resource" "$(jwt_part "$(printf '%s' "$tok" | jq -r .access_token)" 2 | jq -r '.sub + " " + .aud + " " + .scope')" "alice https://mcp.test/mcp mcp:tools"
RT=$(printf '%s' "$tok" | jq -r .refresh_token)
again=$(curl -s -m 10 --cacert "$CA" "$B/oauth/token" -d grant_type=authorization_code -d client_id=cli -d "code=$CODE" \
    --data-urlencode redirect_uri=http://127.0.0.1:7777/callback -d "code_verifier=$V")
expect_eq "the code a second time" "$(printf '%s' "$again" | jq -r .error)" "invalid_grant"
r=$(curl -s -m 10 --cacert "$CA" "$B/oauth/token" -d grant_type=refresh_token -d client_id=cli -d "refresh_token=$RT")
expect_eq "... revoked what it gave" "$(printf '%s' "$r" | jq -r .error)" "invalid_grant"
reg=$(curl -s -m 10 --cacert "$CA" "$B/register" -H 'Content-Type: application/json' -d '{"redirect_uris":["http://127.0.0.1/dcr"],"token_endpoint_auth_method":"none","client_name":"DCR"}')
expect_eq "--dcr registers a public client" "$(printf '%s' "$reg" | jq -r '.token_endpoint_auth_method + " " + (has("client_secret") | tostring)')" "none false"
stop_issuer; expect_eq "stop" "$STOP_RC" "0"
expect_not_contains "the log holds no password" "$(cat "$S2/issuer.log")" "correct horse"
expect_not_contains "the log holds no code" "$(cat "$S2/issuer.log")" "$CODE"
expect_contains "the log names the user" "$(cat "$S2/issuer.log")" "event=sign-in method=POST path=/t1/authorize/sign-in status=200 error=- client_id=cli user=alice"
expect_eq "state files are 0600" "$(stat -c %a "$S2/clients.json" "$S2/consents.json" "$S2/refresh.json" | sort -u)" "600"

# ---- usage errors ---------------------------------------------------------------------------
timeout 10 "$W" issuer --port 0 --alg HS256 >/dev/null 2>&1; expect_eq "--alg HS256 is refused" "$?" "2"
timeout 10 "$W" issuer --port 0 --client nocolon --state "$E2E_TMP/usage-state" >/dev/null 2>&1
expect_eq "--client without a secret" "$?" "2"
# A usage error is found before anything is written (it made a signing key first: under load
# that took longer than this test's 10 s).
expect_eq "no state written on a usage error" "$(ls -A "$E2E_TMP/usage-state" 2>/dev/null | wc -l)" "0"
timeout 10 "$W" issuer --port 0 --project nope >/dev/null 2>&1; expect_eq "unknown project" "$?" "1"
printf 'clients:\n  - id: a\n    colour: red\n' >"$E2E_TMP/bad.yaml"
out=$(timeout 10 "$W" issuer --port 0 --clients "$E2E_TMP/bad.yaml" --http 2>&1); rc=$?
expect_eq "bad clients file fails" "$rc" "1"
expect_contains "with file:line:col" "$out" "bad.yaml:3:5:"

e2e_done
