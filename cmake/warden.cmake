# Build helpers shared by every module: warning flags, sanitizers, and the three functions
# modules use to declare a library, a unit test and a fuzz target.

set(WDN_WARNINGS -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
    -Wvla -Wimplicit-fallthrough -Wno-unused-parameter -Werror)
add_compile_definitions(_GNU_SOURCE WDN_VERSION="${PROJECT_VERSION}")
add_compile_options(${WDN_WARNINGS})
include_directories(${CMAKE_SOURCE_DIR}/include ${CMAKE_SOURCE_DIR}/src)

if(WDN_SANITIZE)
    add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=all
        -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
endif()
if(WDN_HARDEN)
    add_compile_options(-D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE)
    add_link_options(-pie -Wl,-z,relro,-z,now)
endif()
# Coverage (docs/coverage.md): -fprofile-update=atomic because the sidecar and the HTTP server
# count from several worker threads at once; plain --coverage loses and corrupts counts there.
if(WDN_COVERAGE)
    add_compile_options(--coverage -fprofile-update=atomic)
    add_link_options(--coverage)
endif()
# Fault injection (src/base/fault.h): tests fail the Nth allocation or OpenSSL call of a class.
# Off by default, so release builds compile every WDN_FAULT() call site to the constant 0.
if(WDN_FAULT)
    add_compile_definitions(WDN_FAULT_INJECTION)
endif()
if(WDN_FUZZ)
    add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer)
    add_link_options(-fsanitize=address,undefined)
endif()

# wdn_library(NAME SOURCES src... DEPS lib...): a static library of one module.
function(wdn_library name)
    cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
    add_library(${name} STATIC ${A_SOURCES})
    target_link_libraries(${name} PUBLIC ${A_DEPS})
endfunction()

# wdn_unit_test(NAME SOURCES src... DEPS lib...): a cmocka test run by ctest.
function(wdn_unit_test name)
    cmake_parse_arguments(A "" "TIMEOUT" "SOURCES;DEPS" ${ARGN})
    add_executable(${name} ${A_SOURCES})
    target_link_libraries(${name} PRIVATE ${A_DEPS} PkgConfig::CMOCKA)
    set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
    add_test(NAME ${name} COMMAND ${name})
    if(NOT A_TIMEOUT)
        set(A_TIMEOUT 120)
    endif()
    set_tests_properties(${name} PROPERTIES TIMEOUT ${A_TIMEOUT}
        ENVIRONMENT "WDN_SOURCE_DIR=${CMAKE_SOURCE_DIR};WDN_BINARY_DIR=${CMAKE_BINARY_DIR}")
endfunction()

# wdn_fuzz_target(NAME SOURCE file.c DEPS lib...): fuzz/corpus/NAME is the seed corpus and
# fuzz/dict/NAME.dict the dictionary. With WDN_FUZZ: a libFuzzer binary fuzz-NAME. Otherwise:
# replay-NAME, which runs every corpus file through the target, registered with ctest.
function(wdn_fuzz_target name)
    cmake_parse_arguments(A "" "SOURCE" "DEPS" ${ARGN})
    if(WDN_FUZZ)
        add_executable(fuzz-${name} ${A_SOURCE})
        target_link_libraries(fuzz-${name} PRIVATE ${A_DEPS})
        target_link_options(fuzz-${name} PRIVATE -fsanitize=fuzzer)
    else()
        add_executable(replay-${name} ${A_SOURCE} ${CMAKE_SOURCE_DIR}/fuzz/replay_main.c)
        target_link_libraries(replay-${name} PRIVATE ${A_DEPS})
        set_target_properties(replay-${name} PROPERTIES
            RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
        add_test(NAME fuzz-replay-${name}
            COMMAND replay-${name} ${CMAKE_SOURCE_DIR}/fuzz/corpus/${name})
    endif()
endfunction()
