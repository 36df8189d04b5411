#!/bin/sh
# Tokens from an independent implementation: the openssl command line signs JWTs that the
# unit tests (tests/unit/jose/test_jose.c, test_openssl_cli_tokens) then verify with warden.
# Usage: openssl_tokens.sh OUTDIR [NOW]. Writes OUTDIR/{rsa,ec,ed}.pub.pem and
# OUTDIR/{rs256,ps256,es256,eddsa}.jwt, and ps256_salt20.jwt (must be refused). Claims: iss https://issuer.example/, aud api,
# sub openssl-cli, exp NOW+3600. Commands used, per algorithm:
#   RS256: openssl dgst -sha256 -sign rsa.pem
#   PS256: openssl dgst -sha256 -sign rsa.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32
#   ES256: openssl dgst -sha256 -sign ec.pem (DER), r and s from openssl asn1parse, padded to 32 bytes
#   EdDSA: openssl pkeyutl -sign -inkey ed.pem -rawin
set -eu
out=$1
now=${2:-$(date +%s)}
exp=$((now + 3600))
cd "$out"

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa.pem 2>/dev/null
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem 2>/dev/null
openssl genpkey -algorithm ED25519 -out ed.pem 2>/dev/null
for k in rsa ec ed; do openssl pkey -in $k.pem -pubout -out $k.pub.pem; done

payload=$(printf '{"iss":"https://issuer.example/","aud":"api","sub":"openssl-cli","exp":%s}' "$exp" | b64url)

# header ALG KID -> signing input on stdout
input() { printf '{"alg":"%s","kid":"%s","typ":"JWT"}' "$1" "$2" | b64url | tr -d '\n'; printf '.%s' "$payload"; }

si=$(input RS256 ossl-rsa)
printf '%s' "$si" > si.txt
sig=$(openssl dgst -sha256 -sign rsa.pem si.txt | b64url)
printf '%s.%s' "$si" "$sig" > rs256.jwt

si=$(input PS256 ossl-rsa)
printf '%s' "$si" > si.txt
sig=$(openssl dgst -sha256 -sign rsa.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32 si.txt | b64url)
printf '%s.%s' "$si" "$sig" > ps256.jwt

# A PS256 token with a 20-byte salt: RFC 7518 section 3.5 fixes the salt at the hash length,
# so this one must be refused (negative case, ps256_salt20.jwt).
sig=$(openssl dgst -sha256 -sign rsa.pem -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20 si.txt | b64url)
printf '%s.%s' "$si" "$sig" > ps256_salt20.jwt

si=$(input ES256 ossl-ec)
printf '%s' "$si" > si.txt
openssl dgst -sha256 -sign ec.pem -out sig.der si.txt
# ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER } -> r || s, each left-padded to 32 bytes.
rs=$(openssl asn1parse -inform DER -in sig.der | awk -F: '/INTEGER/ { printf "%064s", $NF }' | tr ' ' 0)
sig=$(printf '%s' "$rs" | xxd -r -p | b64url)
printf '%s.%s' "$si" "$sig" > es256.jwt

si=$(input EdDSA ossl-ed)
printf '%s' "$si" > si.txt
sig=$(openssl pkeyutl -sign -inkey ed.pem -rawin -in si.txt | b64url)
printf '%s.%s' "$si" "$sig" > eddsa.jwt
rm -f si.txt sig.der
