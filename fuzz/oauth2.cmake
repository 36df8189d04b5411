# Fuzz targets of src/oauth2: the form decoder, the WWW-Authenticate reader and the metadata
# documents the client reads (RFC 9728, RFC 8414).
if(TARGET wdn_oauth2)
    wdn_fuzz_target(oauth2_form SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_oauth2_form.c DEPS wdn_oauth2)
    wdn_fuzz_target(oauth2_challenge SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_oauth2_challenge.c
        DEPS wdn_oauth2)
    wdn_fuzz_target(oauth2_metadata SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_oauth2_metadata.c
        DEPS wdn_oauth2)
endif()
