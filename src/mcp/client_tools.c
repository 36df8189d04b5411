/* What tools/list teaches the MCP client (2026-07-28, SEP-2243): input-schema properties marked
 * with x-mcp-header are sent again as Mcp-Param-<Name> headers on tools/call, so that gateways can
 * route on them without reading the body. A tool whose marks break the rules (empty name, a
 * character outside an HTTP token, a property that is not a string, integer or boolean, the
 * same name twice in any case) is left out of the list: the client never calls it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base64.h"
#include "base/error.h"
#include "base/limits.h"
#include "base/num.h"
#include "mcp/client_int.h"

struct param_map {
    char *prop;   /* the argument's name */
    char *header; /* the x-mcp-header value: the header is Mcp-Param-<header> */
};

struct tool_map {
    char *name;
    struct param_map *maps;
    size_t n;
};

struct wdn__mcp_tool_headers {
    struct tool_map *tools;
    size_t n;
};

static bool is_tchar(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool header_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 64)
        return false;
    for (; *s != '\0'; s++)
        if (!is_tchar((unsigned char)*s))
            return false;
    return true;
}

static bool primitive(json_t *prop)
{
    const char *t = json_string_value(json_object_get(prop, "type"));

    /* Not "number": a float has no single text form both sides would agree on. */
    return t != NULL &&
           (strcmp(t, "string") == 0 || strcmp(t, "integer") == 0 || strcmp(t, "boolean") == 0);
}

static void tool_map_reset(struct tool_map *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->maps[i].prop);
        free(t->maps[i].header);
    }
    free(t->maps);
    free(t->name);
    memset(t, 0, sizeof(*t));
}

/* Reads the marks of one tool into t (t->n == 0 when it has none). WDN_EINVAL when they break
 * the rules, WDN_ENOMEM. */
static int read_tool(json_t *tool, struct tool_map *t)
{
    json_t *props = json_object_get(json_object_get(tool, "inputSchema"), "properties"), *p, *h;
    const char *key;
    size_t i, count = 0;

    memset(t, 0, sizeof(*t));
    if (!json_is_object(props))
        return 0;
    json_object_foreach (props, key, p) {
        if (json_object_get(p, "x-mcp-header") != NULL)
            count++;
    }
    if (count == 0)
        return 0;
    if (count > WDN_MCP_CLIENT_MAX_PARAM_HEADERS)
        return WDN_EINVAL;
    t->maps = calloc(count, sizeof(*t->maps));
    t->name = strdup(json_string_value(json_object_get(tool, "name")));
    if (t->maps == NULL || t->name == NULL)
        goto nomem;
    json_object_foreach (props, key, p) {
        h = json_object_get(p, "x-mcp-header");
        if (h == NULL)
            continue;
        if (!json_is_string(h) || strlen(json_string_value(h)) != json_string_length(h) ||
            !header_name_ok(json_string_value(h)) || !primitive(p))
            goto bad;
        for (i = 0; i < t->n; i++)
            if (strcasecmp(t->maps[i].header, json_string_value(h)) == 0)
                goto bad;
        t->maps[t->n].prop = strdup(key);
        t->maps[t->n].header = strdup(json_string_value(h));
        t->n++;
        if (t->maps[t->n - 1].prop == NULL || t->maps[t->n - 1].header == NULL)
            goto nomem;
    }
    return 0;
bad:
    tool_map_reset(t);
    return WDN_EINVAL;
nomem:
    tool_map_reset(t);
    return WDN_ENOMEM;
}

/* Keeps t (taken over) in place of an older mapping of the same tool. */
static int remember(struct wdn__mcp_tool_headers *th, struct tool_map *t)
{
    struct tool_map *grown;
    size_t i;

    for (i = 0; i < th->n; i++)
        if (strcmp(th->tools[i].name, t->name) == 0) {
            tool_map_reset(&th->tools[i]);
            th->tools[i] = *t;
            return 0;
        }
    if (th->n >= WDN_MCP_CLIENT_MAX_TOOL_MAPS) {
        tool_map_reset(t);
        return WDN_ELIMIT;
    }
    grown = realloc(th->tools, (th->n + 1) * sizeof(*th->tools));
    if (grown == NULL) {
        tool_map_reset(t);
        return WDN_ENOMEM;
    }
    th->tools = grown;
    th->tools[th->n++] = *t;
    return 0;
}

int wdn__mcp_tools_learn(struct wdn_mcp_client *c, json_t *tools)
{
    size_t i = 0;
    int rc;

    if (!json_is_array(tools))
        return 0;
    if (c->tool_headers == NULL && (c->tool_headers = calloc(1, sizeof(*c->tool_headers))) == NULL)
        return WDN_ENOMEM;
    while (i < json_array_size(tools)) {
        json_t *tool = json_array_get(tools, i);
        struct tool_map t;
        if (!json_is_string(json_object_get(tool, "name"))) {
            json_array_remove(tools, i);
            continue;
        }
        rc = read_tool(tool, &t);
        if (rc == WDN_EINVAL) {
            json_array_remove(tools, i); /* never call a tool whose marks are invalid */
            continue;
        }
        if (rc != 0)
            return rc;
        if (t.n > 0 && (rc = remember(c->tool_headers, &t)) != 0)
            return rc;
        i++;
    }
    return 0;
}

/* A string value needs Base64 when it is not plain visible ASCII without edge whitespace, or
 * when it could be mistaken for an encoded value. */
static bool needs_base64(const char *s, size_t n)
{
    size_t i;

    if (n > 0 && (s[0] == ' ' || s[n - 1] == ' '))
        return true;
    if (n >= 2 && s[0] == '=' && s[1] == '?')
        return true;
    for (i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return true;
    return false;
}

/* Formats one argument value for its header into out; false when it is not sent (null, or a
 * type the mapping does not carry). */
static bool encode_value(json_t *v, char *out, size_t cap)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (!needs_base64(s, n)) {
            if (n + 1 > cap)
                return false;
            memcpy(out, s, n + 1);
            return true;
        }
        size_t e = 0;
        /* "=?base64?" + the encoding + "?=" + NUL. */
        if (cap < 12 || wdn_b64std_encode(s, n, out + 9, cap - 12, &e) != 0)
            return false;
        memcpy(out, "=?base64?", 9);
        memcpy(out + 9 + e, "?=", 3);
        return true;
    }
    if (json_is_integer(v))
        return snprintf(out, cap, "%lld", (long long)json_integer_value(v)) < (int)cap;
    if (json_is_real(v)) {
        /* An integer property whose value arrived as 42.0. */
        double d = json_real_value(v);
        if (!wdn_is_integral(d) || fabs(d) > 9007199254740992.0)
            return false;
        return snprintf(out, cap, "%.0f", d) < (int)cap;
    }
    if (json_is_boolean(v))
        return snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false") < (int)cap;
    return false;
}

int wdn__mcp_tool_param_headers(struct wdn_mcp_client *c, const char *name, json_t *args,
                                int (*add)(void *ctx, const char *line), void *ctx)
{
    char value[WDN_MCP_MAX_HEADER_VALUE], line[WDN_MCP_MAX_HEADER_VALUE + 128];
    const struct tool_map *t = NULL;
    size_t i;
    int rc;

    if (c->tool_headers == NULL || !json_is_object(args))
        return 0;
    for (i = 0; i < c->tool_headers->n && t == NULL; i++)
        if (strcmp(c->tool_headers->tools[i].name, name) == 0)
            t = &c->tool_headers->tools[i];
    for (i = 0; t != NULL && i < t->n; i++) {
        if (!encode_value(json_object_get(args, t->maps[i].prop), value, sizeof(value)))
            continue; /* null or absent: omitted (a value too long for a header too) */
        snprintf(line, sizeof(line), "Mcp-Param-%s: %s", t->maps[i].header, value);
        if ((rc = add(ctx, line)) != 0)
            return rc;
    }
    return 0;
}

void wdn__mcp_tools_free(struct wdn_mcp_client *c)
{
    size_t i;

    if (c->tool_headers == NULL)
        return;
    for (i = 0; i < c->tool_headers->n; i++)
        tool_map_reset(&c->tool_headers->tools[i]);
    free(c->tool_headers->tools);
    free(c->tool_headers);
    c->tool_headers = NULL;
}
