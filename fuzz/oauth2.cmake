# Fuzz targets of src/oauth2: the token endpoint's form decoder and the WWW-Authenticate reader.
if(TARGET wdn_oauth2)
    wdn_fuzz_target(oauth2_form SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_oauth2_form.c DEPS wdn_oauth2)
    wdn_fuzz_target(oauth2_challenge SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_oauth2_challenge.c
        DEPS wdn_oauth2)
endif()
