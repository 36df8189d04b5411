/* The parts of a compact JWS as JSON (jwsparts.h). */
#include "jwsparts.h"

#include <string.h>

#include "base/base64.h"

json_t *jwsparts_json(const char *jws, int part)
{
    const char *p = jws, *e;
    unsigned char buf[8192];
    size_t n;

    for (int i = 0; p != NULL && i < part; i++) {
        p = strchr(p, '.');
        p = p ? p + 1 : NULL;
    }
    e = p ? strchr(p, '.') : NULL;
    if (e == NULL ||
        wdn_b64url_decode((struct wdn_str){p, (size_t)(e - p)}, buf, sizeof(buf), &n) != 0)
        return NULL;
    return json_loadb((const char *)buf, n, 0, NULL);
}
