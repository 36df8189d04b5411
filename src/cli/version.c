/* `warden version`: the program version and the library versions it runs with. */
#include "cli/cli.h"

#include <stdio.h>

#include <openssl/crypto.h>
#include <uv.h>

int wdn_cli_version(int argc, char **argv)
{
    if (argc > 1 && wdn_cli_is_help(argv[1])) {
        printf("Usage: warden version\n\nPrints warden's version and its libraries' versions.\n");
        return WDN_CLI_OK;
    }
    printf("warden %s\n", WDN_VERSION);
    printf("libuv %s, %s\n", uv_version_string(), OpenSSL_version(OPENSSL_VERSION));
    return WDN_CLI_OK;
}
