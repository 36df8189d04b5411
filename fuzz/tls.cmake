# Fuzz target of the TLS engine (src/http/tls.c): bytes from the network into a server engine.
if(TARGET wdn_http AND TARGET wdn_pki)
    wdn_fuzz_target(tls_server_feed SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_tls_server_feed.c
        DEPS wdn_http wdn_pki)
endif()
