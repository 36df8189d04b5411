# libFuzzer targets of the HTTP/1.1 core (src/http/parser*.c): request heads, response heads and
# chunked bodies. Seeds in fuzz/corpus/<name>/, dictionaries in fuzz/dict/<name>.dict.
if(TARGET wdn_http)
    wdn_fuzz_target(http_request SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_http_request.c
        DEPS wdn_http)
    wdn_fuzz_target(http_response SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_http_response.c
        DEPS wdn_http)
    wdn_fuzz_target(http_chunked SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_http_chunked.c
        DEPS wdn_http)
endif()
# The blocking client's URL parser and proxy decision (src/http/fetch_url.c).
if(TARGET wdn_http)
    wdn_fuzz_target(http_url SOURCE ${CMAKE_SOURCE_DIR}/fuzz/fuzz_http_url.c DEPS wdn_http)
endif()
