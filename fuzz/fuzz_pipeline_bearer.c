/* libFuzzer target: the bearer middleware's handling of a request, the part an unauthenticated
 * client controls: the Authorization header and the query string. Input: the header value,
 * a newline, then the query. The key set is a fixed inline JWKS (metadata "jwks"), so seeds can
 * carry validly signed tokens and reach the verified-token cache. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "pipeline/pipeline.h"
#include "resources/resources.h"

static struct wdn_pipeline *pipe_;

static const char yaml[] =
    "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bearer\nspec:\n"
    "  type: middleware.http.bearer\n  version: v1\n  metadata:\n"
    "  - name: issuer\n    value: \"https://issuer.test/\"\n"
    "  - name: audience\n    value: fuzz\n"
    "  - name: requiredScopes\n    value: a\n"
    "  - name: forwardClaims\n    value: \"sub:X-Sub,scope:X-Scope,aud:X-Aud\"\n"
    "  - name: jwks\n    value: '%JWKS%'\n"
    "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n  name: cfg\n"
    "spec:\n  appHttpPipeline:\n    handlers:\n    - name: bearer\n"
    "      type: middleware.http.bearer\n";

static void init(void)
{
    struct wdn_resources *set = wdn_resources_new();
    struct wdn_diag d;
    char *doc = malloc(sizeof(yaml) + 1024);
    const char *jwks =
        "{\"keys\":[{\"kty\":\"EC\",\"x\":\"ktgd6T4o66SwTzvqi_NM3cSiNljzX9jxa3XdKwN2gp8\",\"y\":"
        "\"7tDNAcrqPrIvAkoAi__Jd1nbc9n85tOWTXhvXoLg0dc\",\"crv\":\"P-256\",\"kid\":\"fz\",\"alg\":"
        "\"ES256\",\"use\":\"sig\"}]}";
    const char *mark = strstr(yaml, "%JWKS"
                                    "%");
    size_t pre = (size_t)(mark - yaml);

    memcpy(doc, yaml, pre);
    strcpy(doc + pre, jwks);
    strcat(doc, mark + 6);
    wdn_resources_load_buffer(set, "fuzz.yaml", NULL, doc, strlen(doc));
    const struct wdn_res_configuration *cfg = wdn_resources_find_configuration(set, "cfg");
    if (cfg == NULL ||
        wdn_pipeline_build(&cfg->spec.app_http_pipeline, set, "app", NULL, &pipe_, &d) != 0)
        abort();
    wdn_resources_free(set);
    free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn_http_request head;
    struct wdn_pipeline_out out;
    struct wdn_arena a;
    const char *p = (const char *)data;
    const char *nl = memchr(p, '\n', size);
    size_t hlen = nl ? (size_t)(nl - p) : size;
    struct wdn_pipeline_req rq = {.head = &head, .arena = &a, .now = 1800000000};

    if (pipe_ == NULL)
        init();
    wdn_arena_init(&a, 4096, 1u << 20);
    memset(&head, 0, sizeof(head));
    head.method = WDN_STR("POST");
    head.path = WDN_STR("/mcp");
    if (nl)
        head.query = (struct wdn_str){nl + 1, size - hlen - 1};
    head.headers[0].name = WDN_STR("Authorization");
    head.headers[0].value = (struct wdn_str){p, hlen};
    head.nheaders = 1;
    wdn_pipeline_run(pipe_, &rq, &out);
    /* Invariants: an answer has a status and a body; a pass never carries one. */
    if (out.status != 0 && (out.status < 400 || out.body.len == 0))
        abort();
    if (out.status == 0 && out.nheaders != 0)
        abort();
    wdn_arena_reset(&a);
    return 0;
}
