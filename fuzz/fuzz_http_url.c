/* Fuzz target: the blocking client's URL parser and its proxy decision (src/http/fetch_url.c).
 * The input up to the first newline is parsed as a request URL and as a proxy URL; the rest is a
 * no_proxy list matched against the parsed host. Checks that slices stay inside the input,
 * hosts are NUL-terminated within bounds, and ports are in range. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "http/fetch_int.h"
#include "fuzz.h"

static void check(const char *in, int rc, const struct wdn__fetch_url *u, bool proxy,
                  const char *why)
{
    CHECK(rc == 0 || rc == WDN_EINVAL);
    CHECK(strlen(why) < 128);
    if (rc != 0) {
        CHECK(why[0] != '\0');
        return;
    }
    CHECK(u->port >= 1);
    CHECK(strlen(u->host) >= 1 && strlen(u->host) <= WDN_FETCH_MAX_HOST_BYTES);
    CHECK(strlen(u->auth) <= WDN_FETCH_MAX_PROXY_AUTH_BYTES);
    CHECK(!u->ipv6 || u->ip);
    CHECK(!proxy || !u->tls);
    CHECK(proxy || u->auth[0] == '\0');
    if (u->target.len > 0)
        CHECK(u->target.p >= in && u->target.p + u->target.len <= in + strlen(in));
    for (size_t i = 0; i < u->target.len; i++)
        CHECK(u->target.p[i] > 0x20 && u->target.p[i] < 0x7f && u->target.p[i] != '#');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1), *nl, *list = NULL;
    struct wdn__fetch_url u;
    char why[128];
    int rc;

    if (buf == NULL)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    nl = memchr(buf, '\n', size);
    if (nl != NULL) {
        *nl = '\0';
        list = nl + 1;
    }
    why[0] = '\0';
    rc = wdn__fetch_url_parse(buf, true, &u, why, sizeof(why));
    check(buf, rc, &u, true, why);
    why[0] = '\0';
    rc = wdn__fetch_url_parse(buf, false, &u, why, sizeof(why));
    check(buf, rc, &u, false, why);
    if (rc == 0) {
        (void)wdn__fetch_no_proxy(list, &u);
        (void)wdn__fetch_proxy_pick(u.tls, list, list, NULL, NULL, list);
    }
    free(buf);
    return 0;
}
