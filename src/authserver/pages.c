/* The pages a person sees: sign-in, consent, and messages. Server-rendered HTML that works
 * without JavaScript, every value HTML-escaped, one inline style sheet allowed by its hash in
 * a Content-Security-Policy that also forbids framing (frame-ancestors 'none', X-Frame-Options
 * DENY), scripts, plugins and foreign form targets, with no-store caching and no Referer. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "authserver/as_int.h"
#include "base/base64.h"
#include "base/error.h"

static const char style_css[] =
    "*{box-sizing:border-box}"
    "body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;"
    "background:#eef1f5;font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;"
    "color:#1c2430}"
    "main{background:#fff;width:100%;max-width:420px;margin:24px;padding:32px 36px;"
    "border-radius:12px;box-shadow:0 4px 24px rgba(20,30,50,.12)}"
    ".brand{margin:0 0 8px;font-weight:700;letter-spacing:.08em;text-transform:uppercase;"
    "font-size:13px;color:#3b5bdb}"
    "h1{margin:0 0 4px;font-size:24px}"
    ".lead{margin:0 0 20px;color:#4a5568}"
    "label{display:block;margin:14px 0 6px;font-weight:600;font-size:14px}"
    "input[type=text],input[type=password]{width:100%;padding:10px 12px;font:inherit;"
    "border:1px solid #c5ccd6;border-radius:8px}"
    "input:focus{outline:2px solid #3b5bdb;border-color:#3b5bdb}"
    "button{font:inherit;font-weight:600;padding:10px 18px;border-radius:8px;border:0;"
    "background:#3b5bdb;color:#fff;cursor:pointer}"
    "button.secondary{background:#e2e7ef;color:#1c2430}"
    "button.link{background:none;color:#3b5bdb;padding:0;font-weight:400;text-decoration:underline}"
    ".actions{display:flex;gap:12px;margin-top:24px}"
    ".actions button{flex:1}"
    "form.signin button{width:100%;margin-top:24px}"
    ".error{background:#fdecec;color:#a61b1b;border-radius:8px;padding:10px 12px;margin:0 0 12px}"
    ".warn{background:#fff6e0;color:#7a5200;border-radius:8px;padding:10px 12px;font-size:14px}"
    "dl{margin:0;display:grid;grid-template-columns:auto 1fr;gap:6px 14px;font-size:14px}"
    "dt{color:#6b7685}dd{margin:0;word-break:break-all}"
    "ul{margin:0;padding-left:18px}"
    ".muted{color:#6b7685;font-size:13px}"
    ".signout{margin-top:20px;font-size:14px;color:#6b7685}";

static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
static char style_hash[80];

static void compute_style_hash(void)
{
    unsigned char h[32];
    char b64[64];
    size_t n;

    wdn__as_sha256(style_css, strlen(style_css), h);
    wdn_b64std_encode(h, sizeof(h), b64, sizeof(b64), &n);
    snprintf(style_hash, sizeof(style_hash), "'sha256-%s'", b64);
}

const char *wdn__as_style_hash(void)
{
    pthread_once(&hash_once, compute_style_hash);
    return style_hash;
}

int wdn__as_html_escape(struct wdn_buf *out, const char *s)
{
    int rc = 0;

    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p && rc == 0; p++) {
        switch (*p) {
        case '&':
            rc = wdn_buf_append_cstr(out, "&amp;");
            break;
        case '<':
            rc = wdn_buf_append_cstr(out, "&lt;");
            break;
        case '>':
            rc = wdn_buf_append_cstr(out, "&gt;");
            break;
        case '"':
            rc = wdn_buf_append_cstr(out, "&quot;");
            break;
        case '\'':
            rc = wdn_buf_append_cstr(out, "&#39;");
            break;
        default:
            rc = *p < 0x20 || *p == 0x7f ? wdn_buf_printf(out, "&#%u;", *p)
                                         : wdn_buf_append(out, p, 1);
        }
    }
    return rc;
}

/* The headers of every page. */
static int page_headers(const struct wdn__as_page *p, struct wdn_issuer_response *resp)
{
    char csp[WDN_ISSUER_MAX_URI_BYTES + 256];
    const char *origin = p->form_action_origin;
    int rc;

    /* form-action also covers where a form's answer redirects to: the client's redirect URI
     * after sign-in or consent. */
    rc = wdn_fmt(csp, sizeof(csp),
                 "default-src 'none'; style-src %s; form-action 'self'%s%s; "
                 "frame-ancestors 'none'; base-uri 'none'",
                 wdn__as_style_hash(), origin && *origin ? " " : "", origin ? origin : "");
    if (rc == 0)
        rc = wdn__as_add_header(resp, "Content-Security-Policy", csp);
    if (rc == 0)
        rc = wdn__as_add_header(resp, "X-Frame-Options", "DENY");
    if (rc == 0)
        rc = wdn__as_add_header(resp, "X-Content-Type-Options", "nosniff");
    /* same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on the
     * pages' own form posts, and the forms check Origin. Nothing leaves for other sites. */
    if (rc == 0)
        rc = wdn__as_add_header(resp, "Referrer-Policy", "same-origin");
    resp->content_type = "text/html; charset=utf-8";
    resp->cache_control = "no-store";
    resp->pragma_no_cache = true;
    return rc;
}

static int open_page(struct wdn_buf *b, const char *title)
{
    int rc =
        wdn_buf_append_cstr(b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                               "<meta name=\"viewport\" content=\"width=device-width, "
                               "initial-scale=1\">"
                               "<title>");
    if (rc == 0)
        rc = wdn__as_html_escape(b, title);
    if (rc == 0)
        rc = wdn_buf_printf(b,
                            " &middot; warden</title><style>%s</style></head>\n<body><main>"
                            "<p class=\"brand\">warden</p><h1>",
                            style_css);
    if (rc == 0)
        rc = wdn__as_html_escape(b, title);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "</h1>\n");
    return rc;
}

static int close_page(struct wdn_buf *b)
{
    return wdn_buf_append_cstr(b, "</main></body></html>\n");
}

/* <p class="cls">text</p> */
static int para(struct wdn_buf *b, const char *cls, const char *text, const char *role)
{
    int rc = wdn_buf_printf(b, "<p class=\"%s\"%s>", cls, role ? role : "");

    if (rc == 0)
        rc = wdn__as_html_escape(b, text);
    return rc ? rc : wdn_buf_append_cstr(b, "</p>\n");
}

/* The hidden fields every form carries. */
static int hidden(struct wdn_buf *b, const struct wdn__as_page *p)
{
    int rc = wdn_buf_append_cstr(b, "<input type=\"hidden\" name=\"csrf\" value=\"");

    if (rc == 0)
        rc = wdn__as_html_escape(b, p->csrf);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "\"><input type=\"hidden\" name=\"rid\" value=\"");
    if (rc == 0)
        rc = wdn__as_html_escape(b, p->rid);
    return rc ? rc : wdn_buf_append_cstr(b, "\">");
}

static int form_open(struct wdn_buf *b, const struct wdn_issuer *iss, const char *action,
                     const char *cls)
{
    int rc = wdn_buf_printf(b, "<form method=\"post\" class=\"%s\" action=\"", cls);

    if (rc == 0)
        rc = wdn__as_html_escape(b, iss->path);
    if (rc == 0)
        rc = wdn_buf_printf(b, WDN_ISSUER_AUTHORIZE_PATH "/%s\">", action);
    return rc;
}

int wdn__as_page_signin(struct wdn_issuer *iss, int status, const struct wdn__as_page *p,
                        struct wdn_issuer_response *resp)
{
    struct wdn_buf *b = &resp->body;
    int rc = page_headers(p, resp);

    resp->status = status;
    if (rc == 0)
        rc = open_page(b, p->title);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "<p class=\"lead\">to continue to <strong>");
    if (rc == 0)
        rc = wdn__as_html_escape(b, p->authz ? p->authz->client_name : "");
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "</strong></p>\n");
    if (rc == 0 && p->message)
        rc = para(b, "error", p->message, " role=\"alert\"");
    if (rc == 0)
        rc = form_open(b, iss, "sign-in", "signin");
    if (rc == 0)
        rc = hidden(b, p);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b,
                                 "\n<label for=\"username\">User name</label><input type=\"text\" "
                                 "id=\"username\" name=\"username\" autocomplete=\"username\" "
                                 "autocapitalize=\"none\" required autofocus value=\"");
    if (rc == 0)
        rc = wdn__as_html_escape(b, p->user);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "\">\n<label for=\"password\">Password</label><input "
                                    "type=\"password\" id=\"password\" name=\"password\" "
                                    "autocomplete=\"current-password\" required>\n"
                                    "<button type=\"submit\">Sign in</button></form>\n");
    return rc ? rc : close_page(b);
}

static int row(struct wdn_buf *b, const char *term, const char *value)
{
    int rc = wdn_buf_append_cstr(b, "<dt>");

    if (rc == 0)
        rc = wdn__as_html_escape(b, term);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "</dt><dd>");
    if (rc == 0)
        rc = wdn__as_html_escape(b, value);
    return rc ? rc : wdn_buf_append_cstr(b, "</dd>\n");
}

static int scopes_row(struct wdn_buf *b, const char *scope)
{
    int rc = wdn_buf_append_cstr(b, "<dt>Permissions</dt><dd>");

    if (scope == NULL || *scope == '\0')
        rc = rc ? rc : wdn_buf_append_cstr(b, "none beyond using the service");
    else
        rc = rc ? rc : wdn_buf_append_cstr(b, "<ul>");
    for (const char *s = scope ? scope : ""; rc == 0 && *s;) {
        size_t len = strcspn(s, " ");
        char one[WDN_ISSUER_MAX_FIELD_BYTES + 1];
        wdn_fmt(one, sizeof(one), "%.*s", (int)len, s);
        rc = wdn_buf_append_cstr(b, "<li>");
        if (rc == 0)
            rc = wdn__as_html_escape(b, one);
        if (rc == 0)
            rc = wdn_buf_append_cstr(b, "</li>");
        s += len;
        s += *s == ' ';
    }
    if (rc == 0 && scope && *scope)
        rc = wdn_buf_append_cstr(b, "</ul>");
    return rc ? rc : wdn_buf_append_cstr(b, "</dd>\n");
}

int wdn__as_page_consent(struct wdn_issuer *iss, const struct wdn__as_page *p,
                         struct wdn_issuer_response *resp)
{
    const struct wdn__as_authz *a = p->authz;
    struct wdn_buf *b = &resp->body;
    struct wdn__as_uri ru, cu;
    char host[320], from[320], notice[512];
    const char *why;
    int rc = page_headers(p, resp);

    resp->status = 200;
    host[0] = from[0] = '\0';
    if (wdn__as_uri_parse(a->redirect_uri, &ru, &why) == 0)
        wdn_fmt(host, sizeof(host), "%.*s%s%.*s", WDN_STR_FMT(ru.host), ru.port.len ? ":" : "",
                WDN_STR_FMT(ru.port));
    if (a->source == WDN__AS_SRC_CIMD && wdn__as_uri_parse(a->client_id, &cu, &why) == 0)
        wdn_fmt(from, sizeof(from), "%.*s", WDN_STR_FMT(cu.host));
    if (rc == 0)
        rc = open_page(b, p->title);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "<p class=\"lead\"><strong>");
    if (rc == 0)
        rc = wdn__as_html_escape(b, a->client_name);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "</strong> wants to act for you.</p>\n<dl>\n");
    if (rc == 0)
        rc = row(b, "Signed in as", p->user);
    if (rc == 0)
        rc = row(b, "Application", a->client_id);
    if (rc == 0 && from[0])
        rc = row(b, "Described by", from);
    if (rc == 0)
        rc = row(b, "Result sent to", host);
    if (rc == 0)
        rc = row(b, "Access to", a->resource);
    if (rc == 0)
        rc = scopes_row(b, a->scope);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "</dl>\n");
    if (rc == 0 && wdn__as_uri_parse(a->redirect_uri, &ru, &why) == 0 && ru.loopback) {
        wdn_fmt(notice, sizeof(notice),
                "The result goes to a program on this computer (%s). Allow only if you started "
                "this sign-in from an application on this computer.",
                host);
        rc = para(b, "warn", notice, NULL);
    }
    if (rc == 0)
        rc = form_open(b, iss, "consent", "consent");
    if (rc == 0)
        rc = hidden(b, p);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "<div class=\"actions\"><button type=\"submit\" "
                                    "name=\"decision\" value=\"deny\" class=\"secondary\">Deny"
                                    "</button><button type=\"submit\" name=\"decision\" "
                                    "value=\"allow\">Allow</button></div></form>\n");
    if (rc == 0)
        rc = form_open(b, iss, "sign-out", "signout");
    if (rc == 0)
        rc = hidden(b, p);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "Not ");
    if (rc == 0)
        rc = wdn__as_html_escape(b, p->user);
    if (rc == 0)
        rc = wdn_buf_append_cstr(b, "? <button type=\"submit\" class=\"link\">Sign out</button>"
                                    "</form>\n");
    return rc ? rc : close_page(b);
}

int wdn__as_page_message(struct wdn_issuer *iss, int status, const struct wdn__as_page *p,
                         struct wdn_issuer_response *resp)
{
    struct wdn_buf *b = &resp->body;
    int rc = page_headers(p, resp);

    resp->status = status;
    wdn_buf_reset(b);
    if (rc == 0)
        rc = open_page(b, p->title);
    if (rc == 0 && p->message)
        rc = para(b, p->message_is_error ? "error" : "lead", p->message,
                  p->message_is_error ? " role=\"alert\"" : NULL);
    if (rc == 0 && p->message_is_error)
        rc = para(b, "muted", "You can close this page.", NULL);
    return rc ? rc : close_page(b);
}
