/* The bearer middleware's test documents and requests (bearerdoc.h). */
#include "bearerdoc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/error.h"
#include "jose/sign.h"

struct wdn_resources *bd_load(const char *file, const char *meta)
{
    struct wdn_resources *set = wdn_resources_new();
    char *doc = NULL;

    assert_non_null(set);
    assert_true(
        asprintf(&doc,
                 "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: bearer\n"
                 "spec:\n  type: middleware.http.bearer\n  version: v1\n  metadata:\n%s"
                 "---\napiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata:\n"
                 "  name: cfg\nspec:\n  appHttpPipeline:\n    handlers:\n"
                 "    - name: bearer\n      type: middleware.http.bearer\n",
                 meta) > 0);
    wdn_resources_load_buffer(set, file, NULL, doc, strlen(doc));
    free(doc);
    if (set->n_errors) {
        char buf[1200];
        for (size_t i = 0; i < set->n_msgs; i++)
            print_error("%s\n", wdn_resources_msg_format(&set->msgs[i], buf, sizeof(buf)));
        fail_msg("the loader refused the bearer documents");
    }
    return set;
}

int bd_build(struct wdn_resources *set, const char *app, struct wdn_mw_registry *reg,
             struct wdn_pipeline **p, struct wdn_diag *d)
{
    const struct wdn_res_configuration *cfg = wdn_resources_find_configuration(set, "cfg");

    assert_non_null(cfg);
    wdn_diag_clear(d);
    return wdn_pipeline_build(&cfg->spec.app_http_pipeline, set, app, reg, p, d);
}

int bd_run(struct wdn_pipeline *p, const char *tok, const struct wdn_pipeline_req *tmpl,
           struct wdn_arena *a, struct wdn_pipeline_out *o)
{
    struct wdn_http_request head;
    struct wdn_pipeline_req rq = {0};
    static char auth[20000];

    if (tmpl)
        rq = *tmpl;
    rq.head = &head;
    rq.arena = a;
    memset(&head, 0, sizeof(head));
    head.method = WDN_STR("POST");
    head.path = WDN_STR("/mcp");
    head.query = (struct wdn_str){"", 0};
    if (tok) {
        assert_true((size_t)snprintf(auth, sizeof(auth), "Bearer %s", tok) < sizeof(auth));
        head.headers[0].name = WDN_STR("Authorization");
        head.headers[0].value = wdn_str_from_cstr(auth);
        head.nheaders = 1;
    }
    assert_int_equal(wdn_pipeline_run(p, &rq, o), 0);
    return o->status;
}

const char *bd_header(const struct wdn_pipeline_out *o, const char *name)
{
    static char buf[4096];

    for (size_t i = 0; i < o->nheaders; i++)
        if (wdn_str_eq_case_cstr(o->headers[i].name, name)) {
            snprintf(buf, sizeof(buf), "%.*s", WDN_STR_FMT(o->headers[i].value));
            return buf;
        }
    return NULL;
}

char *bd_sign(const struct wdn_jose_key *k, const char *claims)
{
    struct wdn_buf b;

    wdn_buf_init(&b, 1 << 16);
    assert_int_equal(wdn_jws_sign(k, wdn_str_from_cstr(claims), NULL, &b), 0);
    return wdn_buf_cstr(&b);
}

char *bd_es256(struct wdn_jose_key **key)
{
    const struct wdn_jose_key *keys[1];

    *key = wdn_jose_key_generate(WDN_JOSE_ES256, 0, "k1", NULL);
    if (*key == NULL)
        return NULL;
    keys[0] = *key;
    return wdn_jose_jwks_export(keys, 1);
}

char *bd_jwks(void)
{
    struct wdn_jose_key *k = NULL;
    char *jwks = bd_es256(&k);

    wdn_jose_key_free(k);
    return jwks;
}
