/* Fuzz target: the issuer's token endpoint (wdn_issuer_handle) on arbitrary requests. Input:
 * byte 0 picks the Content-Type and whether an Authorization header is sent, then the
 * Authorization value up to the first '\n', then the body. Invariants: every answer is a
 * JSON object with an RFC 6749 status, 401 carries a Basic challenge, and a token is only
 * ever issued to the one configured client. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/error.h"
#include "authserver/issuer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct wdn_issuer *iss;
static char dir[64];

static void cleanup(void)
{
    char cmd[128];
    wdn_issuer_free(iss);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static void init(void)
{
    static const char *const auds[] = {"https://api/", "urn:x"};
    static const char *const scopes[] = {"read", "write"};
    struct wdn_issuer_client_cfg c = {.id = "fz",
                                      .secret = "fz-secret",
                                      .audiences = auds,
                                      .naudiences = 2,
                                      .scopes = scopes,
                                      .nscopes = 2};
    struct wdn_issuer_config cfg = {
        .issuer = "https://fuzz.test/", .state_dir = dir, .clients = &c, .nclients = 1};

    snprintf(dir, sizeof(dir), "/tmp/wdn-fuzz-issuer-XXXXXX");
    /* ES256 keys are quick to make; the request logic does not depend on the algorithm. */
    if (mkdtemp(dir) == NULL || wdn_issuer_keys_ensure(dir, WDN_JOSE_ES256, 60, 0, NULL, NULL) ||
        (iss = wdn_issuer_new(&cfg, NULL)) == NULL)
        abort();
    atexit(cleanup);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = {"application/x-www-form-urlencoded", "application/json",
                                        "application/json; charset=utf-8", "text/plain"};
    struct wdn_issuer_request req = {.method = WDN_STR("POST"), .path = WDN_STR("/oauth/token")};
    struct wdn_issuer_response resp;
    const uint8_t *nl;

    if (iss == NULL)
        init();
    if (size < 1)
        return 0;
    req.content_type = wdn_str_from_cstr(types[data[0] & 3]);
    data++, size--;
    if (data[-1] & 4) {
        nl = memchr(data, '\n', size);
        size_t alen = nl ? (size_t)(nl - data) : size;
        req.authorization = (struct wdn_str){(const char *)data, alen};
        req.has_authorization = true;
        data += alen + (nl != NULL);
        size -= alen + (nl != NULL);
    }
    req.body = (struct wdn_str){(const char *)data, size};
    if (wdn_issuer_handle(iss, &req, 1800000000, &resp) != 0)
        abort();
    json_t *j = json_loadb(resp.body.data, resp.body.len, 0, NULL);
    if (!json_is_object(j))
        abort();
    switch (resp.status) {
    case 200:
        if (strcmp(resp.client_id, "fz") != 0 ||
            !json_is_string(json_object_get(j, "access_token")))
            abort();
        break;
    case 401:
    case 400:
        if (!json_is_string(json_object_get(j, "error")) ||
            (resp.status == 401) != (strncmp(resp.www_authenticate, "Basic realm=", 12) == 0))
            abort();
        break;
    default:
        abort();
    }
    json_decref(j);
    wdn_issuer_response_reset(&resp);
    return 0;
}
