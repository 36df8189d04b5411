/* A strict, bounded reader of a JWT payload (issue 20): the verdict jansson gives with
 * JSON_REJECT_DUPLICATES on the same bytes, and the top-level claims, without a tree. jansson's
 * rules, all kept: strict UTF-8 everywhere (no overlong forms, surrogates or code points past
 * U+10FFFF); no control characters in strings; escapes \" \\ \/ \b \f \n \r \t and \uXXXX with
 * surrogates only in pairs and never \u0000; numbers as RFC 8259 writes them, integers within
 * int64 and reals that do not overflow a double; true, false, null; no trailing commas or
 * bytes; no repeated member name in any object (compared decoded, so "a" and "\u0061" repeat).
 * Our own rules on top: an object at the top, at most WDN_JSON_MAX_DEPTH levels of nesting.
 * Recursion is bounded by that depth; the key table is on the stack for ordinary payloads. */
#include "jose/claims.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/limits.h"
#include "base/str.h"
#include "jose/jwt.h"

/* A member name seen in an object, for the duplicate check: which object, the FNV-1a hash of
 * the decoded name, and where its raw text is. obj 0 marks a free slot. */
struct key_slot {
    uint32_t obj, hash, off, len, dec_len;
};

#define STACK_SLOTS 512
#define LOCAL_KEYS 16

/* The names of one object so far: in place while few, in the scan's table beyond. */
struct obj_keys {
    struct key_slot local[LOCAL_KEYS];
    size_t n;    /* names in local; LOCAL_KEYS + 1 once moved to the table */
    uint32_t id; /* the object's id in the table (0 until it moves there) */
};

struct scan {
    const unsigned char *p;
    size_t n, i;
    bool fill;
    /* first pass */
    struct key_slot *keys; /* NULL until an object has more than LOCAL_KEYS names */
    struct key_slot *stack_keys;
    size_t key_mask;
    bool nomem;
    uint32_t next_obj;
    struct wdn__claims_plan *plan;
    /* second pass */
    struct wdn__claim_item *items;
    char *out;
    size_t member_next, elem_next, pool_next;
};

/* A string token: its raw text (between the quotes), decoded length and hash. */
struct str_tok {
    size_t off, len, dec_len;
    uint32_t hash;
};

#define FNV_BASIS 2166136261u
#define FNV_PRIME 16777619u

static void skip_ws(struct scan *s)
{
    while (s->i < s->n) {
        unsigned char c = s->p[s->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            return;
        s->i++;
    }
}

static int hex4(const unsigned char *p)
{
    int v = 0;

    for (int k = 0; k < 4; k++) {
        int h = wdn_hex_value(p[k]);
        if (h < 0)
            return -1;
        v = (v << 4) | h;
    }
    return v;
}

static size_t utf8_put(uint32_t cp, unsigned char *b)
{
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (unsigned char)(0xF0 | (cp >> 18));
    b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One escape at p (p[0] == '\\', validated by read_string): its decoded bytes into b, the
 * number of input bytes it used into *used. */
static size_t unescape(const unsigned char *p, unsigned char *b, size_t *used)
{
    uint32_t cp;

    *used = 2;
    switch (p[1]) {
    case 'b':
        b[0] = '\b';
        return 1;
    case 'f':
        b[0] = '\f';
        return 1;
    case 'n':
        b[0] = '\n';
        return 1;
    case 'r':
        b[0] = '\r';
        return 1;
    case 't':
        b[0] = '\t';
        return 1;
    case 'u':
        cp = (uint32_t)hex4(p + 2);
        *used = 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)hex4(p + 8) - 0xDC00);
            *used = 12;
        }
        return utf8_put(cp, b);
    default: /* '"', '\\', '/' */
        b[0] = p[1];
        return 1;
    }
}

/* Decoded bytes of a validated string token, one at a time. */
struct dec_iter {
    const unsigned char *p, *end;
    unsigned char b[4];
    size_t bn, bi;
};

static int dec_next(struct dec_iter *d)
{
    size_t used;

    if (d->bi < d->bn)
        return d->b[d->bi++];
    if (d->p >= d->end)
        return -1;
    if (*d->p != '\\')
        return *d->p++;
    d->bn = unescape(d->p, d->b, &used);
    d->p += used;
    d->bi = 1;
    return d->b[0];
}

/* Checks the escape at p[i] (a backslash) as jansson does: the bytes it takes, 0 if invalid. */
static size_t escape_len(const unsigned char *p, size_t i, size_t n)
{
    int cp, lo;

    if (i + 1 >= n)
        return 0;
    switch (p[i + 1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return 2;
    case 'u':
        if (i + 6 > n || (cp = hex4(p + i + 2)) < 0 || cp == 0 || (cp >= 0xDC00 && cp <= 0xDFFF))
            return 0;
        if (cp < 0xD800 || cp > 0xDBFF)
            return 6;
        if (i + 12 > n || p[i + 6] != '\\' || p[i + 7] != 'u' || (lo = hex4(p + i + 8)) < 0xDC00 ||
            lo > 0xDFFF)
            return 0;
        return 12;
    default:
        return 0;
    }
}

/* Reads the string token at s->i (a '"'): in the first pass validating it as jansson's lexer
 * does (and hashing it when it is a member name), in the second only finding its end. */
static bool read_string(struct scan *s, struct str_tok *t, bool key)
{
    const unsigned char *p = s->p;
    size_t i = s->i + 1, n = s->n, saved = 0;
    bool esc = false;

    t->off = i;
    if (s->fill) {
        /* Validated already: the closing quote is the first one not escaped. */
        for (;;) {
            const unsigned char *q = memchr(p + i, '"', n - i);
            size_t bs = 0;
            i = (size_t)(q - p);
            while (i - bs > t->off && p[i - bs - 1] == '\\')
                bs++;
            if (bs % 2 == 0)
                break;
            i++;
        }
        t->len = i - t->off;
        s->i = i + 1;
        return true;
    }
    for (;;) {
        unsigned char c;
        if (i >= n)
            return false;
        c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c == '"')
            break;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            unsigned char b[4];
            size_t used, blen;
            if (escape_len(p, i, n) == 0)
                return false;
            blen = unescape(p + i, b, &used);
            saved += used - blen;
            esc = true;
            i += used;
        } else {
            size_t len = wdn_utf8_seq_len(p + i, n - i);
            if (len == 0)
                return false;
            i += len;
        }
    }
    t->len = i - t->off;
    t->dec_len = t->len - saved;
    t->hash = FNV_BASIS;
    if (key && !esc) {
        /* The hash of the decoded name, for the duplicate check. */
        for (size_t k = t->off; k < i; k++)
            t->hash = (t->hash ^ p[k]) * FNV_PRIME;
    } else if (key) {
        struct dec_iter d = {p + t->off, p + i, {0}, 0, 0};
        int b;
        while ((b = dec_next(&d)) >= 0)
            t->hash = (t->hash ^ (unsigned)b) * FNV_PRIME;
    }
    s->i = i + 1;
    return true;
}

/* Decodes a validated string token's text into out, then a NUL; returns the decoded length. */
static size_t decode(const unsigned char *p, size_t len, char *out)
{
    size_t i = 0, w = 0;

    while (i < len) {
        const unsigned char *bs = memchr(p + i, '\\', len - i);
        size_t run = bs ? (size_t)(bs - (p + i)) : len - i, used;
        memcpy(out + w, p + i, run);
        w += run;
        i += run;
        if (i < len) {
            w += unescape(p + i, (unsigned char *)out + w, &used);
            i += used;
        }
    }
    out[w] = '\0';
    return w;
}

/* True when two validated string tokens decode to the same bytes. */
static bool same_decoded(const unsigned char *p, const struct key_slot *a, const struct key_slot *b)
{
    struct dec_iter x = {p + a->off, p + a->off + a->len, {0}, 0, 0};
    struct dec_iter y = {p + b->off, p + b->off + b->len, {0}, 0, 0};
    int c;

    if (a->dec_len != b->dec_len)
        return false;
    if (a->len == b->len && memcmp(p + a->off, p + b->off, a->len) == 0)
        return true;
    do {
        c = dec_next(&x);
        if (c != dec_next(&y))
            return false;
    } while (c >= 0);
    return true;
}

/* True when a validated string token decodes to lit. */
static bool decodes_to(const unsigned char *p, const struct str_tok *t, const char *lit)
{
    struct dec_iter d = {p + t->off, p + t->off + t->len, {0}, 0, 0};
    size_t k = 0;
    int c;

    if (t->dec_len != strlen(lit))
        return false;
    while ((c = dec_next(&d)) >= 0) {
        if ((unsigned char)lit[k++] != c)
            return false;
    }
    return true;
}

/* Records name t in the document-wide table under object obj; false when obj already has a
 * member of that name. The table is made on first use, sized for every name the payload can
 * hold and at most half full, so probing ends. */
static bool table_insert(struct scan *s, uint32_t obj, const struct key_slot *k)
{
    size_t at;

    if (s->keys == NULL) {
        size_t slots = 16;
        /* A member takes at least 5 bytes ("":0 and a separator): at most n / 4 + 1 names. */
        while (slots < 2 * (s->n / 4 + 1))
            slots *= 2;
        if (slots <= STACK_SLOTS) {
            s->keys = s->stack_keys;
            memset(s->keys, 0, slots * sizeof(*s->keys));
        } else if ((s->keys = calloc(slots, sizeof(*s->keys))) == NULL) {
            s->nomem = true;
            return false;
        }
        s->key_mask = slots - 1;
    }
    at = (k->hash ^ (obj * 0x9E3779B9u)) & s->key_mask;
    for (;;) {
        struct key_slot *e = &s->keys[at];
        if (e->obj == 0) {
            *e = *k;
            e->obj = obj;
            return true;
        }
        if (e->obj == obj && e->hash == k->hash && same_decoded(s->p, e, k))
            return false;
        at = (at + 1) & s->key_mask;
    }
}

/* Records a member name of one object; false when the object already has it. The first
 * LOCAL_KEYS names of an object are compared in place; a larger object moves to the table. */
static bool key_add(struct scan *s, struct obj_keys *o, const struct str_tok *t)
{
    struct key_slot k = {0, t->hash, (uint32_t)t->off, (uint32_t)t->len, (uint32_t)t->dec_len};

    if (o->n <= LOCAL_KEYS) {
        for (size_t i = 0; i < o->n; i++) {
            if (o->local[i].hash == k.hash && same_decoded(s->p, &o->local[i], &k))
                return false;
        }
        if (o->n < LOCAL_KEYS) {
            o->local[o->n++] = k;
            return true;
        }
        if (o->id == 0)
            o->id = ++s->next_obj;
        for (size_t i = 0; i < LOCAL_KEYS; i++) {
            if (!table_insert(s, o->id, &o->local[i]))
                return false;
        }
        o->n++;
    }
    return table_insert(s, o->id, &k);
}

/* strtod in the C locale, whatever the process set (jansson converts its decimal point). */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
}

/* A real number's text (validated grammar) as jansson reads it; false on overflow. */
static bool parse_real(const unsigned char *p, size_t len, double *out)
{
    char small[64], *b = small;
    bool ok;
    double d;

    if (len >= sizeof(small) && (b = malloc(len + 1)) == NULL)
        return false;
    memcpy(b, p, len);
    b[len] = '\0';
    pthread_once(&c_locale_once, c_locale_init);
    errno = 0;
    d = c_locale ? strtod_l(b, NULL, c_locale) : strtod(b, NULL);
    ok = !((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE);
    if (b != small)
        free(b);
    *out = d;
    return ok;
}

/* jansson's lexer puts back the byte that ends a number or a word, and a NUL byte put back is
 * lost (its stream buffer reads as empty there): one NUL right after a number, true, false or
 * null is skipped. Kept, so the verdict stays jansson's on every input. */
static void after_token(struct scan *s)
{
    if (s->i < s->n && s->p[s->i] == 0)
        s->i++;
}

static bool is_digit(const struct scan *s)
{
    return s->i < s->n && s->p[s->i] >= '0' && s->p[s->i] <= '9';
}

static bool read_number(struct scan *s, struct wdn__claim_item *it)
{
    size_t start = s->i, end;
    bool neg = false, real = false;
    uint64_t mag = 0;
    bool big = false;

    if (s->p[s->i] == '-') {
        neg = true;
        s->i++;
    }
    if (!is_digit(s))
        return false;
    if (s->p[s->i] == '0') {
        s->i++;
        if (is_digit(s))
            return false;
    } else {
        while (is_digit(s)) {
            unsigned d = (unsigned)(s->p[s->i++] - '0');
            if (mag > (UINT64_MAX - d) / 10)
                big = true;
            else
                mag = mag * 10 + d;
        }
    }
    if (s->i < s->n && s->p[s->i] == '.') {
        s->i++;
        if (!is_digit(s))
            return false;
        while (is_digit(s))
            s->i++;
        real = true;
    }
    if (s->i < s->n && (s->p[s->i] == 'e' || s->p[s->i] == 'E')) {
        s->i++;
        if (s->i < s->n && (s->p[s->i] == '+' || s->p[s->i] == '-'))
            s->i++;
        if (!is_digit(s))
            return false;
        while (is_digit(s))
            s->i++;
        real = true;
    }
    end = s->i;
    after_token(s);
    if (!real) {
        /* strtoll's range: jansson refuses anything outside it. */
        if (big || mag > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
            return false;
        if (it) {
            it->kind = WDN_JWT_CLAIM_INT;
            it->v.i =
                neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
        }
    } else {
        double d;
        if (!parse_real(s->p + start, end - start, &d))
            return false;
        if (it) {
            it->kind = WDN_JWT_CLAIM_REAL;
            it->v.d = d;
        }
    }
    return true;
}

static bool literal(struct scan *s, const char *word, size_t len)
{
    if (s->n - s->i < len || memcmp(s->p + s->i, word, len) != 0)
        return false;
    s->i += len;
    after_token(s);
    return true;
}

/* Stores a recorded string's decoded text in the pool (second pass) or counts it (first). */
static void put_text(struct scan *s, const struct str_tok *t, uint32_t *off, uint32_t *len)
{
    size_t dec = t->dec_len;

    if (s->fill) {
        dec = decode(s->p + t->off, t->len, s->out + s->pool_next);
        *off = (uint32_t)s->pool_next;
    }
    *len = (uint32_t)dec;
    s->pool_next += dec + 1;
}

static bool value(struct scan *s, int depth, struct wdn__claim_item *it, bool elems);

/* After a member or an element: 1 at the container's closing byte (consumed), 0 after a
 * comma (consumed, with the whitespace after it), -1 at anything else. */
static int after_item(struct scan *s, unsigned char close)
{
    skip_ws(s);
    if (s->i >= s->n)
        return -1;
    if (s->p[s->i] == close) {
        s->i++;
        return 1;
    }
    if (s->p[s->i] != ',')
        return -1;
    s->i++;
    skip_ws(s);
    return 0;
}

/* An object at nesting level depth (its opening brace at s->i). top: the payload itself. */
static bool object(struct scan *s, int depth, bool top)
{
    struct obj_keys names;
    int r;

    if (depth > WDN_JSON_MAX_DEPTH)
        return false;
    names.n = 0;
    names.id = 0;
    s->i++;
    skip_ws(s);
    if (s->i < s->n && s->p[s->i] == '}') {
        s->i++;
        return true;
    }
    for (;;) {
        struct str_tok k;
        struct wdn__claim_item tmp, *it = NULL;
        if (s->i >= s->n || s->p[s->i] != '"' || !read_string(s, &k, true))
            return false;
        if (!s->fill && !key_add(s, &names, &k))
            return false;
        skip_ws(s);
        if (s->i >= s->n || s->p[s->i] != ':')
            return false;
        s->i++;
        skip_ws(s);
        if (top) {
            it = s->fill ? &s->items[s->member_next] : &tmp;
            memset(it, 0, sizeof(*it));
            s->member_next++;
            put_text(s, &k, &it->name_off, &it->name_len);
        }
        if (!value(s, depth, it, top))
            return false;
        if (top && !s->fill) {
            /* What the scope table will need (jwt.c sizes it before the second pass). */
            struct wdn__claims_plan *pl = s->plan;
            size_t n = it->kind == WDN_JWT_CLAIM_ARRAY ? it->v.arr.n : 0;
            if (decodes_to(s->p, &k, "scope")) {
                pl->scope_kind = it->kind;
                pl->scope_len = it->text_len;
                pl->scope_n = n;
            } else if (decodes_to(s->p, &k, "scp")) {
                pl->scp_kind = it->kind;
                pl->scp_len = it->text_len;
                pl->scp_n = n;
            }
        }
        if ((r = after_item(s, '}')) != 0)
            return r > 0;
    }
}

/* An array at nesting level depth; with elems, its elements are recorded after the members. */
static bool array(struct scan *s, int depth, struct wdn__claim_item *it, bool elems)
{
    size_t count = 0;
    int r;

    if (depth > WDN_JSON_MAX_DEPTH)
        return false;
    if (it)
        it->v.arr.first = (uint32_t)s->elem_next;
    s->i++;
    skip_ws(s);
    if (s->i < s->n && s->p[s->i] == ']') {
        s->i++;
        return true;
    }
    for (;;) {
        struct wdn__claim_item tmp, *e = NULL;
        if (elems) {
            e = s->fill ? &s->items[s->elem_next] : &tmp;
            memset(e, 0, sizeof(*e));
            s->elem_next++;
        }
        if (!value(s, depth, e, false))
            return false;
        count++;
        if (it)
            it->v.arr.n = (uint32_t)count;
        if ((r = after_item(s, ']')) != 0)
            return r > 0;
    }
}

/* Any value at s->i, inside a container at nesting level depth. it: where to record it (a
 * member or an element), or NULL; elems: record the elements if it is an array. */
static bool value(struct scan *s, int depth, struct wdn__claim_item *it, bool elems)
{
    size_t start = s->i;
    unsigned char c;
    bool ok;

    if (s->i >= s->n)
        return false;
    c = s->p[s->i];
    if (c == '"') {
        struct str_tok t;
        if (!read_string(s, &t, false))
            return false;
        if (it) {
            it->kind = WDN_JWT_CLAIM_STRING;
            put_text(s, &t, &it->text_off, &it->text_len);
        }
        return true;
    }
    if (c == '{') {
        ok = object(s, depth + 1, false);
        if (it)
            it->kind = WDN_JWT_CLAIM_OBJECT;
    } else if (c == '[') {
        ok = array(s, depth + 1, it && elems ? it : NULL, it != NULL && elems);
        if (it)
            it->kind = WDN_JWT_CLAIM_ARRAY;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        ok = read_number(s, it);
    } else if (c == 't') {
        ok = literal(s, "true", 4);
        if (it)
            it->kind = WDN_JWT_CLAIM_TRUE;
    } else if (c == 'f') {
        ok = literal(s, "false", 5);
        if (it)
            it->kind = WDN_JWT_CLAIM_FALSE;
    } else if (c == 'n') {
        ok = literal(s, "null", 4);
        if (it)
            it->kind = WDN_JWT_CLAIM_NULL;
    } else {
        return false;
    }
    /* Objects, and arrays whose elements are not recorded, keep their JSON text. */
    if (ok && it && (c == '{' || (c == '[' && !elems))) {
        if (s->fill) {
            memcpy(s->out + s->pool_next, s->p + start, s->i - start);
            s->out[s->pool_next + s->i - start] = '\0';
            it->text_off = (uint32_t)s->pool_next;
        }
        it->text_len = (uint32_t)(s->i - start);
        s->pool_next += s->i - start + 1;
    }
    return ok;
}

/* The whole payload: one object, then only whitespace. */
static bool document(struct scan *s)
{
    skip_ws(s);
    if (s->i >= s->n || s->p[s->i] != '{' || !object(s, 1, true))
        return false;
    skip_ws(s);
    return s->i == s->n;
}

int wdn__claims_plan(const unsigned char *p, size_t n, struct wdn__claims_plan *plan)
{
    struct key_slot stack_keys[STACK_SLOTS];
    struct scan s;
    bool ok;

    memset(plan, 0, sizeof(*plan));
    plan->scope_kind = plan->scp_kind = -1;
    if (n >= UINT32_MAX / 2)
        return WDN_ELIMIT;
    memset(&s, 0, sizeof(s));
    s.p = p;
    s.n = n;
    s.plan = plan;
    s.stack_keys = stack_keys;
    ok = document(&s);
    if (s.keys != NULL && s.keys != stack_keys)
        free(s.keys);
    if (!ok)
        return s.nomem ? WDN_ENOMEM : WDN_EPARSE;
    plan->n_members = s.member_next;
    plan->n_elems = s.elem_next;
    plan->pool = s.pool_next;
    return 0;
}

void wdn__claims_fill(const unsigned char *p, size_t n, const struct wdn__claims_plan *plan,
                      struct wdn__claim_item *items, char *pool)
{
    struct scan s;

    memset(&s, 0, sizeof(s));
    s.p = p;
    s.n = n;
    s.fill = true;
    s.items = items;
    s.out = pool;
    s.elem_next = plan->n_members;
    (void)document(&s);
}
