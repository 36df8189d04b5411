/* `warden version` (and `warden --version`): the program version, the commit and date it was
 * built from, and the library versions it runs with. One "name value" pair per line; the first
 * line is "warden VERSION", which scripts may rely on. */
#include "cli/cli.h"

#include <stdio.h>

#include <openssl/crypto.h>
#include <uv.h>

/* Set by cmake/build_info.cmake for this file only; the fallbacks keep other builds honest. */
#ifndef WDN_COMMIT
#define WDN_COMMIT "unknown"
#endif
#ifndef WDN_BUILD_DATE
#define WDN_BUILD_DATE "unknown"
#endif

int wdn_cli_version(int argc, char **argv)
{
    if (argc > 1 && wdn_cli_is_help(argv[1])) {
        printf("Usage: warden version (or warden --version)\n\n"
               "Prints warden's version, the commit and date it was built from, and its\n"
               "libraries' versions, one per line:\n"
               "  warden VERSION\n  commit COMMIT\n  built DATE (UTC, ISO 8601)\n"
               "  libuv VERSION, OpenSSL VERSION\n");
        return WDN_CLI_OK;
    }
    printf("warden %s\n", WDN_VERSION);
    printf("commit %s\n", WDN_COMMIT);
    printf("built %s\n", WDN_BUILD_DATE);
    printf("libuv %s, %s\n", uv_version_string(), OpenSSL_version(OPENSSL_VERSION));
    return WDN_CLI_OK;
}
