# What the container images rely on, checked on the build's own binary: `warden version` and
# `--version` (version, commit, build date, libraries), and `warden issuer --address/--host`,
# which let the development issuer serve other pods (deploy/kubernetes, tests/images): the
# issuer URL and AUTH0_DOMAIN name the host, the HTTPS certificate does too (curl checks it
# by name), and bad values are refused before anything starts.
. "$(dirname "$0")/../lib.sh"
BIN=$1
W="$BIN/warden"

# ---- warden version / --version ------------------------------------------------------------
out=$("$W" version)
expect_eq "version: four lines" "$(printf '%s\n' "$out" | wc -l | tr -d ' ')" 4
version=$(sed -n 's/^project(warden VERSION \([0-9.]*\).*/\1/p' "$WDN_SOURCE_DIR/CMakeLists.txt")
expect_eq "version: first line is 'warden VERSION'" "$(printf '%s\n' "$out" | sed -n 1p)" \
    "warden $version"
# The commit of the last configure (HEAD then): one of this repository's commits.
commit=$(printf '%s\n' "$out" | sed -n 's/^commit \([0-9a-f]\{12\}\)$/\1/p')
if [ -n "$commit" ] && git -C "$WDN_SOURCE_DIR" rev-parse -q --verify "$commit^{commit}" >/dev/null; then
    ok "version: the commit built from"
elif ! git -C "$WDN_SOURCE_DIR" rev-parse --git-dir >/dev/null 2>&1; then
    expect_eq "version: no git checkout, no commit" "$(printf '%s\n' "$out" | sed -n 2p)" \
        "commit unknown"
else
    not_ok "version: the commit built from" "actual: $(printf '%s\n' "$out" | sed -n 2p)"
fi
built=$(printf '%s\n' "$out" | sed -n 3p)
case "$built" in
built\ [0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z) ok "version: built DATE (ISO 8601, UTC)" ;;
*) not_ok "version: built DATE (ISO 8601, UTC)" "actual: $built" ;;
esac
expect_contains "version: libraries" "$(printf '%s\n' "$out" | sed -n 4p)" "libuv "
expect_eq "--version: the same" "$("$W" --version)" "$out"
expect_contains "version --help" "$("$W" version --help)" "commit COMMIT"

# ---- warden issuer --address / --host --------------------------------------------------------
"$W" issuer --host 'a b' >/dev/null 2>"$E2E_TMP/err"
expect_eq "issuer --host 'a b': usage error" "$?" 2
expect_contains "issuer --host 'a b': says what it wants" "$(cat "$E2E_TMP/err")" \
    "--host wants a DNS name or an IPv4 address"
"$W" issuer --address issuer.test >/dev/null 2>"$E2E_TMP/err"
expect_eq "issuer --address NAME: usage error" "$?" 2
"$W" issuer --host=-x >/dev/null 2>&1
expect_eq "issuer --host=-x: usage error" "$?" 2

"$W" issuer --port 0 --address 127.0.0.1 --host issuer.test --state "$E2E_TMP/state" \
    --client c:s --log-stderr >"$E2E_TMP/out" 2>"$E2E_TMP/log" &
E2E_PIDS="$E2E_PIDS $!"
i=0
while [ $i -lt 300 ] && ! grep -q '^export WARDEN_CA_FILE' "$E2E_TMP/out"; do
    sleep 0.1
    i=$((i + 1))
done
port=$(sed -n 's/^export AUTH0_DOMAIN=issuer\.test:\([0-9]*\) .*/\1/p' "$E2E_TMP/out")
expect_contains "issuer: AUTH0_DOMAIN names the host" "$(cat "$E2E_TMP/out")" \
    "export AUTH0_DOMAIN=issuer.test:$port "
ca=$(sed -n "s/^export WARDEN_CA_FILE=//p" "$E2E_TMP/out" | tr -d "'")
# curl checks the certificate against the name it connects to: issuer.test, resolved here.
doc=$(curl -s -m 10 --cacert "$ca" --resolve "issuer.test:$port:127.0.0.1" \
    "https://issuer.test:$port/.well-known/openid-configuration")
expect_eq "issuer: HTTPS by the host's name, iss is https://HOST:PORT/" \
    "$(printf '%s' "$doc" | jq -r .issuer)" "https://issuer.test:$port/"
tok=$(curl -s -m 10 --cacert "$ca" --resolve "issuer.test:$port:127.0.0.1" -u c:s \
    -d grant_type=client_credentials "https://issuer.test:$port/oauth/token" | jq -r .access_token)
payload=$(printf '%s' "$tok" | cut -d. -f2 | tr '_-' '/+' |
    { b=$(cat); while [ $((${#b} % 4)) -ne 0 ]; do b="$b="; done; printf '%s' "$b"; } | base64 -d)
expect_eq "issuer: tokens carry iss https://HOST:PORT/" "$(printf '%s' "$payload" | jq -r .iss)" \
    "https://issuer.test:$port/"
e2e_done
