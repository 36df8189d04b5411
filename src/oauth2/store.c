/* The OAuth client's files. Tokens are secrets: the directory is created 0700, files 0600 from
 * the start (written to a temporary name and renamed), and the buffers that held them are wiped. */
#include "base/json_dump.h"
#include "oauth2/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/file.h"
#include "base/limits.h"
#include "jose/crypto.h"

static int path_for(const char *dir, const char *kind, const char *key, char *buf, size_t cap)
{
    unsigned char digest[32];
    char hex[65];
    size_t i;
    int rc = wdn_jose_sha256(key, strlen(key), digest);

    if (rc != 0)
        return rc;
    for (i = 0; i < sizeof(digest); i++)
        snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    return wdn_fmt(buf, cap, "%s/%s-%.32s.json", dir, kind, hex);
}

int wdn_oauth2_store_get(const char *dir, const char *kind, const char *key, json_t **out)
{
    char path[4096];
    struct wdn_buf b;
    json_t *o;
    int rc;

    *out = NULL;
    if (dir == NULL || (rc = path_for(dir, kind, key, path, sizeof(path))) != 0)
        return 0;
    wdn_buf_init(&b, WDN_OAUTH2_TOKEN_CACHE_MAX_BYTES);
    rc = wdn_file_read(path, WDN_OAUTH2_TOKEN_CACHE_MAX_BYTES, &b);
    if (rc != 0) {
        wdn_buf_reset(&b);
        return 0;
    }
    o = json_loadb(b.data != NULL ? b.data : "", b.len, JSON_REJECT_DUPLICATES, NULL);
    if (b.data != NULL)
        OPENSSL_cleanse(b.data, b.cap);
    wdn_buf_reset(&b);
    if (!json_is_object(o) || !json_is_string(json_object_get(o, "key")) ||
        strcmp(json_string_value(json_object_get(o, "key")), key) != 0) {
        json_decref(o);
        return 0;
    }
    *out = o;
    return 0;
}

int wdn_oauth2_store_put(const char *dir, const char *kind, const char *key, json_t *obj)
{
    char path[4096];
    char *text;
    int rc;

    if (dir == NULL)
        return 0;
    if ((rc = path_for(dir, kind, key, path, sizeof(path))) != 0)
        return rc;
    json_object_set_new(obj, "key", json_string(key));
    text = wdn_json_dumps(obj, JSON_COMPACT);
    json_object_del(obj, "key");
    if (text == NULL)
        return WDN_ENOMEM;
    rc = wdn_file_write_atomic(path, text, strlen(text), 0600);
    OPENSSL_cleanse(text, strlen(text));
    free(text);
    return rc;
}

void wdn_oauth2_store_drop(const char *dir, const char *kind, const char *key)
{
    char path[4096];

    if (dir != NULL && path_for(dir, kind, key, path, sizeof(path)) == 0)
        (void)unlink(path);
}
