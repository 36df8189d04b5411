# libFuzzer targets of src/sidecar: the --peer-dns template and the --peers file parser.
if(TARGET wdn_sidecar)
    wdn_fuzz_target(sidecar_names SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_sidecar_names.c
        DEPS wdn_sidecar)
endif()
# The MCP guard: request bodies and tools/list answers (JSON and SSE) through src/mcp's parsers.
if(TARGET wdn_sidecar)
    wdn_fuzz_target(sidecar_mcp SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_sidecar_mcp.c
        DEPS wdn_sidecar)
endif()
