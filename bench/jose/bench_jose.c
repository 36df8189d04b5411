/* Benchmark: verification cost per algorithm without the token cache (cold), the cost of a
 * token-cache hit and of an RFC 7662 introspection-cache hit (an opaque token), with one and
 * two threads, and two baselines measured in the same process:
 * the raw RSA-2048 verify of a precomputed SHA-256 digest with a prepared EVP_PKEY_CTX (what
 * `openssl speed rsa2048` measures) and a naive EVP_DigestVerify with a new context per call.
 * Time is the thread's CPU time (CLOCK_THREAD_CPUTIME_ID), as `openssl speed` divides by user
 * CPU time by default: on a shared machine wall time would measure the other tenants. Each
 * number is the best of ROUNDS rounds.
 * Prints "name value" lines; bench/jose/run.sh adds `openssl speed` from the same run. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base/base64.h"
#include "base/buf.h"
#include "base/clock.h"
#include "jose/crypto.h"
#include "jose/jwk.h"
#include "jose/jwt.h"
#include "jose/sign.h"
#include "oidc/introspect.h"
#include "oidc/oidc.h"

#define NOW 1700000000
#define ROUNDS 7
#define ROUND_NS 300000000ull /* 0.3 s of CPU per round */

static const char *const auds[] = {"api"};
static struct wdn_jwt_rules rules;

enum kind { COLD, HIT, RAW_PKEY, RAW_DIGEST, INTROSPECT_HIT };

struct job {
    enum kind kind;
    struct wdn_jwks *keys;
    struct wdn_oidc_validator *v;
    struct wdn_introspector *in;
    const char *token;
    EVP_PKEY *pkey;                  /* raw baselines */
    unsigned char sig[512], dig[32];
    size_t siglen;
    double us;                       /* best round, µs per operation */
};

static void no_wake(void *ud)
{
    (void)ud;
    abort(); /* a hit never waits */
}

/* One operation of the job's kind; aborts on any failure so that errors cannot look fast. */
static void op(struct job *j, EVP_PKEY_CTX *pctx)
{
    struct wdn_str t = wdn_str_from_cstr(j->token);

    switch (j->kind) {
    case COLD:
        if (wdn_jwt_verify(j->keys, &rules, t, NOW, NULL) != WDN_JWT_OK)
            abort();
        break;
    case HIT: {
        struct wdn_jwt *c = NULL;
        if (wdn_oidc_verify(j->v, t, NOW, &c) != WDN_JWT_OK)
            abort();
        wdn_jwt_release(c);
        break;
    }
    case INTROSPECT_HIT: {
        /* As the sidecar asks (with a wake function): a miss would queue a call, never block. */
        struct wdn_jwt *c = NULL;
        enum wdn_jwt_reason why;
        bool cached = false;
        if (wdn_introspect(j->in, t, NOW, no_wake, NULL, &c, &why, &cached) !=
                WDN_INTROSPECT_ACTIVE ||
            !cached)
            abort();
        wdn_jwt_release(c);
        break;
    }
    case RAW_PKEY:
        if (EVP_PKEY_verify(pctx, j->sig, j->siglen, j->dig, 32) != 1)
            abort();
        break;
    case RAW_DIGEST: {
        EVP_MD_CTX *m = EVP_MD_CTX_new();
        const char *dot = strrchr(j->token, '.');
        if (EVP_DigestVerifyInit(m, NULL, EVP_sha256(), NULL, j->pkey) != 1 ||
            EVP_DigestVerify(m, j->sig, j->siglen, (const unsigned char *)j->token,
                             (size_t)(dot - j->token)) != 1)
            abort();
        EVP_MD_CTX_free(m);
        break;
    }
    }
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *run(void *arg)
{
    struct job *j = arg;
    EVP_PKEY_CTX *pctx = NULL;
    int batch = j->kind == HIT || j->kind == INTROSPECT_HIT ? 1000 : 20;

    if (j->kind == RAW_PKEY) {
        pctx = EVP_PKEY_CTX_new(j->pkey, NULL);
        if (EVP_PKEY_verify_init(pctx) != 1 ||
            EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
            EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) != 1)
            abort();
    }
    j->us = 1e12;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t0 = cpu_ns(), el;
        unsigned long n = 0;
        do {
            for (int i = 0; i < batch; i++)
                op(j, pctx);
            n += (unsigned long)batch;
            el = cpu_ns() - t0;
        } while (el < ROUND_NS);
        if ((double)el / 1000.0 / (double)n < j->us)
            j->us = (double)el / 1000.0 / (double)n;
    }
    EVP_PKEY_CTX_free(pctx);
    wdn_jose_thread_cleanup();
    return NULL;
}

/* µs per operation of one job over about ns of CPU time. */
static double measure_once(struct job *j, EVP_PKEY_CTX *pctx, uint64_t ns)
{
    uint64_t t0 = cpu_ns(), el;
    unsigned long n = 0;

    do {
        for (int i = 0; i < 20; i++)
            op(j, pctx);
        n += 20;
        el = cpu_ns() - t0;
    } while (el < ns);
    return (double)el / 1000.0 / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The RS256 ratio measured with both sides interleaved, 0.2 s each, 11 times: load that
 * drifts during the run hits both sides alike; the median of the per-pair ratios is kept. */
static double interleaved_ratio(struct job *cold, struct job *raw)
{
    EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new(raw->pkey, NULL);
    double r[11];

    if (EVP_PKEY_verify_init(pctx) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) != 1)
        abort();
    for (int i = 0; i < 11; i++) {
        double a = measure_once(cold, NULL, 200000000ull);
        double b = measure_once(raw, pctx, 200000000ull);
        r[i] = a / b;
    }
    EVP_PKEY_CTX_free(pctx);
    qsort(r, 11, sizeof(r[0]), cmp_double);
    return r[5];
}

/* Runs nt copies of proto at once; returns the mean per-thread µs per operation. */
static double threads(const struct job *proto, int nt)
{
    struct job j[8];
    pthread_t t[8];
    double us = 0;

    for (int i = 0; i < nt; i++) {
        j[i] = *proto;
        pthread_create(&t[i], NULL, run, &j[i]);
    }
    for (int i = 0; i < nt; i++) {
        pthread_join(t[i], NULL);
        us += j[i].us;
    }
    return us / nt;
}

static char *sign(const struct wdn_jose_key *k)
{
    struct wdn_buf b;
    /* A typical client-credentials access token (RS256: about 730 bytes). */
    const char *claims = "{\"iss\":\"https://issuer.example/\",\"sub\":\"mcp-client@clients\","
                         "\"aud\":\"api\",\"iat\":1699999000,\"exp\":1700086400,"
                         "\"scope\":\"read:tools call:tools\",\"gty\":\"client-credentials\","
                         "\"azp\":\"Qm9ndXNDbGllbnRJZEZvckJlbmNobWFya2luZw\"}";
    wdn_buf_init(&b, 16384);
    if (wdn_jws_sign(k, wdn_str_from_cstr(claims), NULL, &b) != 0)
        abort();
    return wdn_buf_cstr(&b);
}

/* The key as a plain EVP_PKEY (through PEM), and the token's signature and digest. */
static void raw_setup(struct job *j, const struct wdn_jose_key *k)
{
    char path[] = "/tmp/wdn-bench-XXXXXX";
    const char *dot = strrchr(j->token, '.');
    int fd = mkstemp(path);
    FILE *f;

    close(fd);
    if (wdn_jose_key_save_pem(k, path, NULL) != 0)
        abort();
    f = fopen(path, "r");
    j->pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    unlink(path);
    if (j->pkey == NULL ||
        wdn_b64url_decode(wdn_str_from_cstr(dot + 1), j->sig, sizeof(j->sig), &j->siglen) != 0 ||
        wdn_jose_sha256(j->token, (size_t)(dot - j->token), j->dig) != 0)
        abort();
}

int main(void)
{
    static const struct {
        const char *name;
        enum wdn_jose_alg alg;
        unsigned bits;
    } algs[] = {
        {"rs256", WDN_JOSE_RS256, 2048}, {"ps256", WDN_JOSE_PS256, 2048},
        {"es256", WDN_JOSE_ES256, 0},    {"eddsa", WDN_JOSE_EDDSA, 0},
    };

    wdn_jwt_rules_init(&rules);
    rules.issuer = "https://issuer.example/";
    rules.audiences = auds;
    rules.n_audiences = 1;
    for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
        struct wdn_jose_key *k = wdn_jose_key_generate(algs[i].alg, algs[i].bits, NULL, NULL);
        char *doc = wdn_jose_jwks_export((const struct wdn_jose_key *const *)&k, 1);
        char *tok = sign(k);
        struct job j;

        memset(&j, 0, sizeof(j));
        j.kind = COLD;
        j.keys = wdn_jwks_parse(wdn_str_from_cstr(doc), NULL);
        j.token = tok;
        printf("%s_token_bytes %zu\n", algs[i].name, strlen(tok));
        run(&j);
        printf("%s_verify_us %.2f\n", algs[i].name, j.us);
        printf("%s_verify_us_2threads %.2f\n", algs[i].name, threads(&j, 2));
        if (algs[i].alg == WDN_JOSE_RS256) {
            struct wdn_oidc_config c;
            double cold = j.us;

            raw_setup(&j, k);
            j.kind = RAW_PKEY;
            run(&j);
            printf("rs256_raw_rsa_verify_us %.2f\n", j.us);
            printf("rs256_over_raw_rsa %.2f\n", cold / j.us);
            {
                struct job c2 = j;
                c2.kind = COLD;
                printf("rs256_over_raw_rsa_interleaved_median %.2f\n", interleaved_ratio(&c2, &j));
            }
            j.kind = RAW_DIGEST;
            run(&j);
            printf("rs256_naive_evp_digestverify_us %.2f\n", j.us);
            EVP_PKEY_free(j.pkey);
            j.pkey = NULL;

            wdn_oidc_config_init(&c);
            c.issuer = "https://issuer.example/";
            c.audiences = auds;
            c.n_audiences = 1;
            c.jwks_json = doc;
            j.v = wdn_oidc_validator_new(&c, NULL);
            j.kind = HIT;
            run(&j);
            printf("cache_hit_us %.3f\n", j.us);
            printf("cache_hit_us_2threads %.3f\n", threads(&j, 2));
            wdn_oidc_validator_free(j.v);
            j.v = NULL;

            /* An opaque token (43 characters, like a typical reference token) whose answer is
             * in the introspection cache. The endpoint is never called: the answer is primed. */
            {
                static const char opaque[] = "2YotnFZFEjr1zCsicMWpAA-Wl1Aq9ds8d7Qk2Lr8ZpM";
                struct wdn_introspect_config ic;
                char answer[512];
                wdn_introspect_config_init(&ic);
                ic.url = "https://127.0.0.1:1/introspect";
                ic.client_id = "rs";
                ic.client_secret = "secret";
                ic.issuer = "https://issuer.example/";
                ic.audiences = auds;
                ic.n_audiences = 1;
                ic.max_ttl_s = 86400;
                j.in = wdn_introspector_new(&ic, NULL);
                snprintf(answer, sizeof(answer),
                         "{\"active\":true,\"iss\":\"https://issuer.example/\",\"aud\":\"api\","
                         "\"sub\":\"mcp-client@clients\",\"client_id\":\"mcp-client\","
                         "\"scope\":\"read:tools call:tools\",\"exp\":%d}",
                         NOW + 3600);
                if (j.in == NULL ||
                    wdn_introspect_prime(j.in, wdn_str_from_cstr(opaque),
                                         wdn_str_from_cstr(answer), NOW) != WDN_JWT_OK)
                    abort();
                j.token = opaque;
                j.kind = INTROSPECT_HIT;
                run(&j);
                printf("introspect_hit_us %.3f\n", j.us);
                printf("introspect_hit_us_2threads %.3f\n", threads(&j, 2));
                wdn_introspector_free(j.in);
                j.token = tok;
            }
        }
        wdn_jwks_release(j.keys);
        free(tok);
        free(doc);
        wdn_jose_key_free(k);
    }
    wdn_jose_thread_cleanup();
    return 0;
}
