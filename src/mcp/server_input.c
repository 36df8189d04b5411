/* Input from the client in rounds (elicitation, sampling, roots): what a handler calls, the
 * sealed requestState of multi round-trip requests (SEP-2322), and asking a session's client
 * over its SSE stream (the initialize era). Tasks wait for tasks/update in server_tasks.c. */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/error.h"
#include "base/json_dump.h"
#include "base/limits.h"
#include "base/str.h"
#include "base/base64.h"
#include "mcp/server_int.h"

#define STATE_VERSION 1
#define MAC_LEN 32
#define INPUT_WAIT_MS 60000 /* a session's client answers one input request within this */

/* The requests a handler may send the client, and the capability each needs. */
static const struct {
    const char *method;
    const char *capability;
} input_methods[] = {
    {"elicitation/create", "elicitation"},
    {"sampling/createMessage", "sampling"},
    {"roots/list", "roots"},
};

static bool key_ok(const char *k)
{
    size_t i, n = k != NULL ? strlen(k) : 0;

    if (n == 0 || n > 64)
        return false;
    for (i = 0; i < n; i++)
        if (!((k[i] >= 'a' && k[i] <= 'z') || (k[i] >= 'A' && k[i] <= 'Z') ||
              (k[i] >= '0' && k[i] <= '9') || k[i] == '_' || k[i] == '.' || k[i] == '-'))
            return false;
    return true;
}

int wdn_mcp_call_input_request(struct wdn_mcp_call *call, const char *key, const char *method,
                               json_t *params)
{
    const char *cap = NULL;
    json_t *req;
    size_t i;
    int rc = WDN_EINVAL;

    for (i = 0; method != NULL && i < sizeof(input_methods) / sizeof(input_methods[0]); i++)
        if (strcmp(method, input_methods[i].method) == 0)
            cap = input_methods[i].capability;
    if (cap == NULL || !key_ok(key) || (params != NULL && !json_is_object(params)))
        goto out;
    /* Never ask for what the client did not declare (unknown capabilities: a stateless
     * server of the initialize era, which cannot ask anyway). */
    rc = WDN_EUNSUPPORTED;
    if (call->caps != NULL && json_object_get(call->caps, cap) == NULL)
        goto out;
    rc = WDN_ENOMEM;
    if (call->requests == NULL && (call->requests = json_object()) == NULL)
        goto out;
    rc = WDN_EEXISTS;
    if (json_object_get(call->requests, key) != NULL)
        goto out;
    rc = WDN_ELIMIT;
    if (json_object_size(call->requests) >= WDN_MCP_MAX_INPUT_REQUESTS)
        goto out;
    req = json_pack("{s:s, s:o}", "method", method, "params",
                    params ? json_incref(params) : json_object());
    rc = req != NULL && json_object_set_new(call->requests, key, req) == 0 ? 0 : WDN_ENOMEM;
out:
    json_decref(params);
    return rc;
}

json_t *wdn_mcp_call_input(const struct wdn_mcp_call *call, const char *key)
{
    return key != NULL ? json_object_get(call->answers, key) : NULL;
}

const char *wdn_mcp_call_state(const struct wdn_mcp_call *call)
{
    return call->state_in;
}

int wdn_mcp_call_set_state(struct wdn_mcp_call *call, const char *state)
{
    char *copy = NULL;

    if (state != NULL && strlen(state) > WDN_MCP_MAX_STATE_BYTES)
        return WDN_ELIMIT;
    if (state != NULL && (copy = strdup(state)) == NULL)
        return WDN_ENOMEM;
    free(call->state_out);
    call->state_out = copy;
    return 0;
}

void wdn_mcp_call_fail(struct wdn_mcp_call *call, int code, const char *message)
{
    call->fail_code = code != 0 ? code : WDN_JSONRPC_INTERNAL_ERROR;
    snprintf(call->fail_msg, sizeof(call->fail_msg), "%s", message ? message : "Internal error");
}

void wdn_mcp_call_cache(struct wdn_mcp_call *call, long ttl_ms, bool public_scope)
{
    call->cache_set = true;
    call->cache_ttl_ms = ttl_ms > 0 ? ttl_ms : 0;
    call->cache_public = public_scope;
}

bool wdn_mcp_call_is_task(const struct wdn_mcp_call *call)
{
    return call->task != NULL;
}

/* ---- requestState: base64url(payload) "." base64url(HMAC-SHA256(key, payload)) ---------- */

static uint64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void mac(struct wdn_mcp_server *srv, const char *p, size_t n, unsigned char *out)
{
    unsigned int len = MAC_LEN;
    bool ok;

    pthread_mutex_lock(&srv->mu);
    if (!srv->state_key_set)
        srv->state_key_set = RAND_bytes(srv->state_key, sizeof(srv->state_key)) == 1;
    ok = srv->state_key_set;
    pthread_mutex_unlock(&srv->mu);
    if (!ok || HMAC(EVP_sha256(), srv->state_key, sizeof(srv->state_key), (const unsigned char *)p,
                    n, out, &len) == NULL)
        memset(out, 0, MAC_LEN); /* never verifies: a zero MAC of a random key is not a MAC */
}

/* The digest of the request's arguments (canonical: compact, sorted keys), base64url. */
static void args_digest(const struct wdn_mcp_call *call, char *out, size_t cap)
{
    unsigned char md[32];
    unsigned int mdlen = sizeof(md);
    char *js = wdn_json_dumps(call->args ? call->args : json_null(),
                          JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    size_t len;

    out[0] = '\0';
    if (js != NULL && EVP_Digest(js, strlen(js), md, &mdlen, EVP_sha256(), NULL) == 1)
        wdn_b64url_encode(md, mdlen, out, cap, &len);
    free(js);
}

/*
 * Seals what the next round needs: the handler's state and the answers so far, bound to the
 * method, the name (tool, prompt or URI) and an expiry. A new string, or NULL (no memory, or
 * over WDN_MCP_MAX_STATE_BYTES).
 */
static char *seal(const struct wdn_mcp_call *call)
{
    char digest[64];
    json_t *p;
    char *js, *out = NULL;
    unsigned char tag[MAC_LEN];
    size_t n, cap, len1, len2;

    args_digest(call, digest, sizeof(digest));
    p = json_pack("{s:i, s:s, s:s, s:s, s:I, s:s?, s:O?}", "v", STATE_VERSION, "m", call->method,
                  "n", call->name ? call->name : "", "d", digest, "e",
                  (json_int_t)(wall_ms() + WDN_MCP_STATE_TTL_MS), "s", call->state_out, "a",
                  call->answers);
    js = p != NULL ? wdn_json_dumps(p, JSON_COMPACT) : NULL;
    json_decref(p);
    if (js == NULL || (n = strlen(js)) > WDN_MCP_MAX_STATE_BYTES)
        goto out;
    cap = wdn_b64url_encoded_len(n) + 1 + wdn_b64url_encoded_len(MAC_LEN) + 1;
    out = malloc(cap);
    if (out == NULL || wdn_b64url_encode(js, n, out, cap, &len1) != 0)
        goto fail;
    out[len1] = '.';
    mac(call->ex->srv, out, len1, tag);
    if (wdn_b64url_encode(tag, MAC_LEN, out + len1 + 1, cap - len1 - 1, &len2) != 0)
        goto fail;
    goto out;
fail:
    free(out);
    out = NULL;
out:
    free(js);
    return out;
}

/*
 * Verifies a requestState and loads its state and answers into call. The MAC is checked (in
 * constant time) before the payload is even decoded. 0 or WDN_EPERM.
 */
static int unseal(struct wdn_mcp_call *call, const char *token)
{
    const char *dot = strchr(token, '.');
    unsigned char tag[MAC_LEN], want[MAC_LEN];
    unsigned char *payload = NULL;
    char digest[64];
    size_t n, plen, tlen, cap;
    json_t *p = NULL, *a, *v;
    int rc = WDN_EPERM;

    n = strlen(token);
    if (dot == NULL || n > 2 * WDN_MCP_MAX_STATE_BYTES)
        goto out;
    if (wdn_b64url_decode((struct wdn_str){dot + 1, n - (size_t)(dot - token) - 1}, tag,
                          sizeof(tag), &tlen) != 0 ||
        tlen != MAC_LEN)
        goto out;
    mac(call->ex->srv, token, (size_t)(dot - token), want);
    if (CRYPTO_memcmp(tag, want, MAC_LEN) != 0)
        goto out;
    cap = wdn_b64url_decoded_max((size_t)(dot - token));
    payload = malloc(cap + 1);
    if (payload == NULL ||
        wdn_b64url_decode((struct wdn_str){token, (size_t)(dot - token)}, payload, cap, &plen) != 0)
        goto out;
    p = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
    /* Sealed by this server, so well formed; still, check what is used. */
    if (!json_is_object(p) || json_integer_value(json_object_get(p, "v")) != STATE_VERSION ||
        !json_is_string(json_object_get(p, "m")) ||
        strcmp(json_string_value(json_object_get(p, "m")), call->method) != 0 ||
        !json_is_string(json_object_get(p, "n")) ||
        strcmp(json_string_value(json_object_get(p, "n")), call->name ? call->name : "") != 0 ||
        !json_is_string(json_object_get(p, "d")) ||
        (uint64_t)json_integer_value(json_object_get(p, "e")) < wall_ms())
        goto out;
    args_digest(call, digest, sizeof(digest));
    if (strcmp(json_string_value(json_object_get(p, "d")), digest) != 0)
        goto out;
    v = json_object_get(p, "s");
    if (json_is_string(v) && (call->state_in = strdup(json_string_value(v))) == NULL) {
        rc = WDN_ENOMEM;
        goto out;
    }
    /* Answers of earlier rounds; this request's inputResponses were loaded first and win. */
    a = json_object_get(p, "a");
    if (json_is_object(a)) {
        if (call->answers == NULL && (call->answers = json_object()) == NULL) {
            rc = WDN_ENOMEM;
            goto out;
        }
        if (json_object_update_missing(call->answers, a) != 0) {
            rc = WDN_ENOMEM;
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(p);
    free(payload);
    return rc;
}

int wdn__mcp_input_init(struct wdn_mcp_call *call, json_t *params, struct rpc_err *e)
{
    json_t *ir = json_object_get(params, "inputResponses");
    json_t *rs = json_object_get(params, "requestState");
    const char *k;
    json_t *v;

    call->retry = ir != NULL || rs != NULL;
    if (ir != NULL) {
        if (!json_is_object(ir)) {
            wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                          "Invalid params: inputResponses must be an object");
            return WDN_EINVAL;
        }
        json_object_foreach (ir, k, v) {
            if (!json_is_object(v)) {
                wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                              "Invalid params: inputResponses.%.64s must be an object", k);
                return WDN_EINVAL;
            }
        }
        call->answers = json_copy(ir);
        if (call->answers == NULL) {
            wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
            return WDN_ENOMEM;
        }
    }
    if (rs != NULL && (!json_is_string(rs) || unseal(call, json_string_value(rs)) != 0)) {
        wdn__mcp_fail(e, WDN_JSONRPC_INVALID_PARAMS,
                      "Invalid params: requestState failed verification (tampered, expired, or "
                      "from another request)");
        return WDN_EPERM;
    }
    return 0;
}

void wdn__mcp_input_done(struct wdn_mcp_call *call)
{
    json_decref(call->answers);
    json_decref(call->requests);
    free(call->state_in);
    free(call->state_out);
    call->answers = call->requests = NULL;
    call->state_in = call->state_out = NULL;
}

void wdn__mcp_round_reset(struct wdn_mcp_call *call)
{
    json_decref(call->requests);
    call->requests = NULL;
    /* The state the finished round set is what the next one starts from. */
    free(call->state_in);
    call->state_in = call->state_out;
    call->state_out = NULL;
    if (call->content != NULL)
        json_array_clear(call->content);
    json_decref(call->structured);
    call->structured = NULL;
    call->is_error = false;
    call->missing_cap = NULL;
    call->fail_code = 0;
}

json_t *wdn__mcp_unanswered(const struct wdn_mcp_call *call)
{
    json_t *out = NULL, *v;
    const char *k;

    json_object_foreach (call->requests, k, v) {
        if (json_object_get(call->answers, k) != NULL)
            continue;
        if (out == NULL && (out = json_object()) == NULL)
            return NULL;
        json_object_set(out, k, v);
    }
    return out;
}

/* Initialize era: asks the session's client each request on the SSE stream, in turn. */
static int ask_session(struct wdn_mcp_call *call, json_t *pending, struct rpc_err *e)
{
    const char *k;
    json_t *v, *result;
    char why[160];
    int rc;

    if (call->answers == NULL && (call->answers = json_object()) == NULL)
        return WDN_ENOMEM;
    json_object_foreach (pending, k, v) {
        rc = wdn_mcp_call_request(call, json_string_value(json_object_get(v, "method")),
                                  json_incref(json_object_get(v, "params")), INPUT_WAIT_MS, &result,
                                  why, sizeof(why));
        if (rc != 0) {
            wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR,
                          "Internal error: the client did not "
                          "answer %.64s: %s",
                          k, why[0] ? why : wdn_strerror(rc));
            return rc;
        }
        if (!json_is_object(result) || json_object_set_new(call->answers, k, result) != 0) {
            json_decref(result);
            wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR,
                          "Internal error: the client's answer to %.64s is not an object", k);
            return WDN_EPROTO;
        }
    }
    return 0;
}

int wdn__mcp_input_round(struct wdn_mcp_call *call, json_t *pending, json_t **irr,
                         struct rpc_err *e)
{
    char *state;
    int rc;

    *irr = NULL;
    if (call->ex->modern) {
        state = seal(call);
        if (state == NULL) {
            json_decref(pending);
            wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR,
                          "Internal error: request state too large to carry");
            return WDN_ELIMIT;
        }
        *irr = json_pack("{s:s, s:o, s:s}", "resultType", "input_required", "inputRequests",
                         pending, "requestState", state);
        free(state);
        if (*irr == NULL) {
            wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR, "Internal error: out of memory");
            return WDN_ENOMEM;
        }
        return 1;
    }
    if (call->ex->session[0] != '\0') {
        rc = ask_session(call, pending, e);
        json_decref(pending);
        return rc;
    }
    json_decref(pending);
    wdn__mcp_fail(e, WDN_JSONRPC_INTERNAL_ERROR,
                  "Internal error: the request needs input from the client, which a stateless "
                  "server of this protocol version cannot ask");
    return WDN_ESTATE;
}
