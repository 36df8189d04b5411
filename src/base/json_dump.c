/* Writing a jansson value out as text (json_dump.h). */
#include "base/json_dump.h"

#include <stdlib.h>

char *wdn_json_dumps(const json_t *o, size_t flags)
{
    char *s = o ? json_dumps(o, flags) : NULL;
    /* JSON_ENCODE_ANY's scalars read back only with JSON_DECODE_ANY. */
    json_t *back = s ? json_loads(s, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL) : NULL;

    if (back == NULL || !json_equal(back, (json_t *)o)) {
        free(s);
        s = NULL;
    }
    json_decref(back);
    return s;
}
