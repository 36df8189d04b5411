# The commit and build date that `warden version` prints, as compile definitions of the one file
# that prints them (src/cli/version.c), so a new commit recompiles that file and nothing else.
# Given on the command line where there is no git checkout (the Containerfile passes
# -DWDN_COMMIT=... -DWDN_BUILD_DATE=...), or found here: the commit from git ("unknown" without
# it), the date from SOURCE_DATE_EPOCH (reproducible builds; string(TIMESTAMP) reads it) or else
# the time this build tree first configured that commit, so rebuilding one commit keeps its date.
set(WDN_COMMIT "" CACHE STRING "Commit printed by `warden version` (default: git rev-parse)")
set(WDN_BUILD_DATE "" CACHE STRING "Build date printed by `warden version` (default: see above)")

set(wdn_commit "${WDN_COMMIT}")
if(wdn_commit STREQUAL "")
    execute_process(COMMAND git rev-parse --short=12 HEAD
        WORKING_DIRECTORY ${CMAKE_SOURCE_DIR}
        OUTPUT_VARIABLE wdn_commit OUTPUT_STRIP_TRAILING_WHITESPACE
        RESULT_VARIABLE wdn_git_rc ERROR_QUIET)
    if(NOT wdn_git_rc EQUAL 0 OR wdn_commit STREQUAL "")
        set(wdn_commit "unknown")
    endif()
endif()

set(wdn_build_date "${WDN_BUILD_DATE}")
if(wdn_build_date STREQUAL "")
    if(DEFINED ENV{SOURCE_DATE_EPOCH} OR NOT WDN__DATE_COMMIT STREQUAL wdn_commit)
        string(TIMESTAMP wdn_now "%Y-%m-%dT%H:%M:%SZ" UTC)
        set(WDN__DATE "${wdn_now}" CACHE INTERNAL "")
        set(WDN__DATE_COMMIT "${wdn_commit}" CACHE INTERNAL "")
    endif()
    set(wdn_build_date "${WDN__DATE}")
endif()

# They end up in a C string literal: refuse anything but the characters of a hash or a date.
if(NOT wdn_commit MATCHES "^[0-9A-Za-z._+-]+$" OR NOT wdn_build_date MATCHES "^[0-9A-Za-z:.+-]+$")
    message(FATAL_ERROR "WDN_COMMIT '${wdn_commit}' or WDN_BUILD_DATE '${wdn_build_date}': "
        "letters, digits and . _ + - : only")
endif()

# wdn_build_info(SOURCE): give SOURCE the definitions WDN_COMMIT and WDN_BUILD_DATE (strings).
function(wdn_build_info source)
    set_property(SOURCE ${source} APPEND PROPERTY COMPILE_DEFINITIONS
        "WDN_COMMIT=\"${wdn_commit}\"" "WDN_BUILD_DATE=\"${wdn_build_date}\"")
endfunction()
