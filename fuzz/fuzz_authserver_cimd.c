/* Fuzz target: a Client ID Metadata Document as a server would send it, and the URI checks
 * around it. Input: the first line is the client_id URL, the rest the document. Invariants: a
 * document is accepted only when its client_id equals the URL, the URL passed the CIMD URL
 * rules, every redirect URI it keeps is https or loopback http and matches itself; the URI
 * parser's origin of an accepted redirect URI is a prefix of it; nothing crashes or leaks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authserver/as_int.h"
#include "base/error.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t ul = nl ? (size_t)(nl - data) : size;
    char *url = malloc(ul + 1);
    struct wdn_str doc = {(const char *)data + (nl ? ul + 1 : ul), size - (nl ? ul + 1 : ul)};
    struct wdn__as_client c;
    struct wdn_diag d;
    const char *why;

    CHECK(url != NULL);
    memcpy(url, data, ul);
    url[ul] = '\0';
    bool url_ok = wdn__as_cimd_url_ok(url, &why) == 0;
    if (wdn__as_cimd_parse(url, doc, &c, &d) == 0) {
        CHECK(strcmp(c.id, url) == 0);
        CHECK(c.public_client && c.nredirects >= 1 && c.nredirects <= WDN_ISSUER_MAX_REDIRECTS);
        for (size_t i = 0; i < c.nredirects; i++) {
            char origin[WDN_ISSUER_MAX_URI_BYTES + 16];
            CHECK(wdn__as_redirect_uri_ok(c.redirects[i], &why) == 0);
            CHECK(wdn__as_redirect_match(c.redirects[i], c.redirects[i]));
            CHECK(wdn__as_uri_origin(c.redirects[i], origin, sizeof(origin)) == 0);
            CHECK(strncmp(c.redirects[i], origin, strlen(origin)) == 0);
            /* Never a match across schemes or to a host the document does not name. */
            CHECK(!wdn__as_redirect_match(c.redirects[i], "https://evil.example/cb"));
        }
        wdn__as_client_reset(&c);
    }
    /* The URL as a redirect URI and as a resource: the checks agree with the parser. */
    struct wdn__as_uri u;
    if (wdn__as_redirect_uri_ok(url, &why) == 0)
        CHECK(wdn__as_uri_parse(url, &u, &why) == 0 && (u.https || u.loopback));
    if (url_ok)
        CHECK(wdn__as_uri_parse(url, &u, &why) == 0 && u.https && u.path.len > 1);
    (void)wdn__as_absolute_uri(url);
    free(url);
    return 0;
}
