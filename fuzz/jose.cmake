# libFuzzer targets of src/jose: JWS parsing and verification, JWKS parsing, base64url.
wdn_fuzz_target(jose_jws SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_jose_jws.c DEPS wdn_jose)
wdn_fuzz_target(jose_jwks SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_jose_jwks.c DEPS wdn_jose)
wdn_fuzz_target(jose_base64url SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_jose_base64url.c DEPS wdn_jose)
# src/oidc's parser of issuer metadata and Cache-Control (kept here with the JOSE targets).
if(TARGET wdn_oidc)
    wdn_fuzz_target(oidc_discovery SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_jose_oidc_discovery.c
        DEPS wdn_oidc)
endif()
# src/oidc's pre-verification "iss" scanner (routing to one of several issuers).
if(TARGET wdn_oidc)
    wdn_fuzz_target(oidc_peek SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_oidc_peek.c DEPS wdn_oidc)
endif()
# src/oidc's RFC 7662 introspection answer parser.
if(TARGET wdn_oidc)
    wdn_fuzz_target(oidc_introspect SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_oidc_introspect.c
        DEPS wdn_oidc)
endif()
# src/jose's JWT payload scanner, differential against jansson (issue 20).
wdn_fuzz_target(jose_claims SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_jose_claims.c DEPS wdn_jose)
