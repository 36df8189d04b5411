/* Skills (the io.modelcontextprotocol/skills extension, SEP-2640) on the client: skills/list
 * lists them without fetching any file, and a skill's files are read one at a time, each checked
 * against the entry skills/list gave (byte size, SHA-256 digest) before the caller sees it; a
 * SKILL.md must also carry exactly the entry's frontmatter. Content that fails a check is never
 * returned (a server could otherwise swap a reviewed skill for another). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <yaml.h>

#include "base/error.h"
#include "base/limits.h"
#include "mcp/client_int.h"

/* The file entry of uri in a skill's resources, or NULL. */
static json_t *file_entry(const json_t *skill, const char *uri)
{
    json_t *files = json_object_get(skill, "resources"), *f;
    size_t i;

    json_array_foreach (files, i, f) {
        const char *u = json_string_value(json_object_get(f, "uri"));
        if (u != NULL && strcmp(u, uri) == 0)
            return f;
    }
    return NULL;
}

static bool digest_ok(const char *want, const char *p, size_t len)
{
    unsigned char md[32];
    unsigned int mdlen = 0;
    char hex[65];
    size_t i;

    if (want == NULL || strncmp(want, "sha256:", 7) != 0 || strlen(want) != 7 + 64)
        return false;
    if (EVP_Digest(p, len, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32)
        return false;
    for (i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return strcmp(hex, want + 7) == 0;
}

/* Reads the frontmatter (between a first line "---" and the next "---") as a flat mapping of
 * scalars into a new object; NULL when there is none or it is not that. */
static json_t *frontmatter(const char *p, size_t len)
{
    const char *start, *end;
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    yaml_node_pair_t *pair;
    json_t *out = NULL;

    if (len < 4 || strncmp(p, "---\n", 4) != 0)
        return NULL;
    start = p + 4;
    end = start;
    /* The closing line, found within len: the text is not NUL-terminated for us. */
    for (;;) {
        size_t left = (size_t)(p + len - end);
        const char *nl = memchr(end, '\n', left);
        if (left >= 3 && memcmp(end, "---", 3) == 0 &&
            (left == 3 || end[3] == '\n' || end[3] == '\r'))
            break;
        if (nl == NULL)
            return NULL;
        end = nl + 1;
    }
    if (!yaml_parser_initialize(&parser))
        return NULL;
    yaml_parser_set_input_string(&parser, (const unsigned char *)start, (size_t)(end - start));
    if (!yaml_parser_load(&parser, &doc)) {
        yaml_parser_delete(&parser);
        return NULL;
    }
    root = yaml_document_get_root_node(&doc);
    if (root != NULL && root->type == YAML_MAPPING_NODE) {
        out = json_object();
        for (pair = root->data.mapping.pairs.start;
             out != NULL && pair < root->data.mapping.pairs.top; pair++) {
            yaml_node_t *k = yaml_document_get_node(&doc, pair->key);
            yaml_node_t *v = yaml_document_get_node(&doc, pair->value);
            if (k == NULL || v == NULL || k->type != YAML_SCALAR_NODE ||
                v->type != YAML_SCALAR_NODE ||
                json_object_get(out, (const char *)k->data.scalar.value) != NULL) {
                json_decref(out);
                out = NULL;
                break;
            }
            json_object_set_new(
                out, (const char *)k->data.scalar.value,
                json_stringn((const char *)v->data.scalar.value, v->data.scalar.length));
        }
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    return out;
}

int wdn__mcp_skill_verify(const json_t *skill, const char *uri, const char *p, size_t len,
                          char *why, size_t cap)
{
    json_t *f = file_entry(skill, uri), *want, *got, *v;
    const char *key, *skill_uri = json_string_value(json_object_get(skill, "uri"));
    int rc = 0;

    if (f == NULL) {
        snprintf(why, cap, "%.200s is not a file of this skill", uri);
        return WDN_ENOTFOUND;
    }
    if (!json_is_integer(json_object_get(f, "size")) ||
        (json_int_t)len != json_integer_value(json_object_get(f, "size"))) {
        snprintf(why, cap, "%.200s has %zu bytes, not the listed size", uri, len);
        return WDN_EAUTH;
    }
    if (!digest_ok(json_string_value(json_object_get(f, "digest")), p, len)) {
        snprintf(why, cap, "%.200s does not match its listed digest", uri);
        return WDN_EAUTH;
    }
    if (skill_uri == NULL || strcmp(uri, skill_uri) != 0)
        return 0;
    /* The skill's own SKILL.md: its frontmatter must be the listed one, field by field. */
    want = json_object_get(skill, "frontmatter");
    got = frontmatter(p, len);
    if (!json_is_object(want) || got == NULL || json_object_size(want) != json_object_size(got))
        rc = WDN_EAUTH;
    json_object_foreach (want, key, v) {
        if (rc == 0 && !json_equal(v, json_object_get(got, key)))
            rc = WDN_EAUTH;
    }
    if (rc != 0)
        snprintf(why, cap, "%.200s: its frontmatter differs from the listed one", uri);
    json_decref(got);
    return rc;
}

int wdn_mcp_client_list_skills(struct wdn_mcp_client *c, json_t **skills, struct wdn_mcp_error *err)
{
    return wdn_mcp_client_list(c, "skills/list", "skills", skills, err);
}

int wdn_mcp_client_read_skill_file(struct wdn_mcp_client *c, const json_t *skill, const char *uri,
                                   char **text, struct wdn_mcp_error *err)
{
    json_t *result = NULL, *content;
    const char *body;
    char why[300];
    int rc;

    *text = NULL;
    if (err != NULL)
        memset(err, 0, sizeof(*err));
    if (file_entry(skill, uri) == NULL) {
        wdn__mcp_err_set(err, WDN_ENOTFOUND, 0, 0, "%.200s is not a file of this skill", uri);
        return WDN_ENOTFOUND;
    }
    rc = wdn_mcp_client_request(c, "resources/read", json_pack("{s:s}", "uri", uri), &result, err);
    if (rc != 0)
        return rc;
    content = json_array_get(json_object_get(result, "contents"), 0);
    body = json_string_value(json_object_get(content, "text"));
    if (body == NULL) {
        json_decref(result);
        wdn__mcp_err_set(err, WDN_EPROTO, 0, 0, "%.200s came back without text", uri);
        return WDN_EPROTO;
    }
    rc = wdn__mcp_skill_verify(
        skill, uri, body, json_string_length(json_object_get(content, "text")), why, sizeof(why));
    if (rc != 0) {
        wdn__mcp_err_set(err, rc, 0, 0, "refusing skill content: %s", why);
    } else if ((*text = strdup(body)) == NULL) {
        rc = WDN_ENOMEM;
        wdn__mcp_err_set(err, rc, 0, 0, "out of memory");
    }
    json_decref(result);
    return rc;
}
