# Fuzz targets of the C MCP SDK (src/mcp): JSON-RPC bodies through the server, and SSE parsing.
if(TARGET wdn_mcp)
    wdn_fuzz_target(jsonrpc SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_jsonrpc.c DEPS wdn_mcp)
    wdn_fuzz_target(jsonrpc_sse SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_jsonrpc_sse.c DEPS wdn_mcp)
endif()
if(TARGET wdn_mcp)
    # Last-Event-ID through the resumption path of a session with resumable streams.
    wdn_fuzz_target(mcp_resume SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_mcp_resume.c DEPS wdn_mcp)
endif()
if(TARGET wdn_mcp)
    # The JSON Schema 2020-12 compiler and validator (PCRE2 patterns, references, formats).
    wdn_fuzz_target(mcp_schema SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_mcp_schema.c DEPS wdn_mcp)
    # A skill's SKILL.md against its skills/list entry (size, digest, YAML frontmatter).
    wdn_fuzz_target(mcp_skill SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_mcp_skill.c DEPS wdn_mcp)
endif()
