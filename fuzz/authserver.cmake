# Fuzz targets of src/authserver: the whole token endpoint; the browser-facing endpoints (the
# authorization request, the sign-in/consent/sign-out forms and their session cookie, dynamic
# registration); a Client ID Metadata Document and the URI checks around it.
if(TARGET wdn_authserver)
    wdn_fuzz_target(authserver_token SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_authserver_token.c
        DEPS wdn_authserver)
    wdn_fuzz_target(authserver_authorize
        SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_authserver_authorize.c DEPS wdn_authserver)
    wdn_fuzz_target(authserver_cimd SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_authserver_cimd.c
        DEPS wdn_authserver)
endif()
