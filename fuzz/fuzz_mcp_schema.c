/* Fuzzes the JSON Schema 2020-12 engine: the input is a schema and an instance separated by the
 * first NUL byte (or the schema validating itself when there is none). The schema is compiled
 * (references, anchors, PCRE2 patterns, formats) and, when it compiles, the instance is
 * validated. Invariants: no crash, no leak, no hang (patterns run under match limits), and the
 * same answer from the compiled and the one-shot API. */
#include <string.h>

#include "fuzz.h"
#include "warden/mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *nul = memchr(data, '\0', size);
    size_t slen = nul != NULL ? (size_t)(nul - (const char *)data) : size;
    json_t *schema = json_loadb((const char *)data, slen, JSON_DECODE_ANY, NULL);
    json_t *instance = NULL;
    struct wdn_mcp_schema *s;
    char err[256];
    int rc, rc2;

    if (schema == NULL)
        return 0;
    instance = nul != NULL ? json_loadb(nul + 1, size - slen - 1, JSON_DECODE_ANY, NULL)
                           : json_incref(schema);
    s = wdn_mcp_schema_compile(schema, &rc, err, sizeof(err));
    CHECK((s == NULL) == (rc != 0));
    if (s != NULL && instance != NULL) {
        rc = wdn_mcp_schema_match(s, instance, err, sizeof(err));
        CHECK(rc == 0 || rc == WDN_EINVAL || rc == WDN_ENOMEM);
        CHECK(rc == 0 || err[0] != '\0');
        rc2 = wdn_mcp_schema_validate(schema, instance, NULL, 0);
        CHECK(rc2 == rc);
    }
    wdn_mcp_schema_free(s);
    json_decref(instance);
    json_decref(schema);
    return 0;
}
