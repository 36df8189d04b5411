# Fuzz targets of the TLS engine (src/http/tls_engine.c, tls_context.c) and the project CA
# (src/pki): bytes from the network into a server engine, and SPIFFE IDs as read from peer
# certificates.
if(TARGET wdn_http AND TARGET wdn_pki)
    wdn_fuzz_target(tls_server_feed SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_tls_server_feed.c
        DEPS wdn_http wdn_pki)
endif()
if(TARGET wdn_pki)
    wdn_fuzz_target(pki_spiffe_id SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_pki_spiffe_id.c
        DEPS wdn_pki)
endif()
