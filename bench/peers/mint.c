/* The peer benchmark's token mint (bench/peers/run.sh): makes an RS256 key, writes its JWKS
 * (served over HTTPS by the benchmark, fetched from there by every proxy that can) and N signed
 * access tokens, one per line, each with its own jti, valid for the given number of seconds.
 * Signing uses two threads: 20,000 RSA-2048 signatures take a few seconds on two cores.
 *
 * Usage: wdn-mint --jwks FILE --tokens FILE --issuer ISS --audience AUD [-n N] [--ttl SECS]
 * Exit 0, or 1 with a message on stderr. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/diag.h"
#include "base/str.h"
#include "jose/sign.h"

#define THREADS 2

struct job {
    const struct wdn_jose_key *key;
    const char *iss, *aud;
    long first, count, now, ttl;
    struct wdn_buf out; /* the tokens, newline-terminated */
    int rc;
};

static void *sign_range(void *arg)
{
    struct job *j = arg;
    struct wdn_buf claims;

    wdn_buf_init(&claims, 4096);
    wdn_buf_init(&j->out, (size_t)j->count * 2048 + 4096);
    for (long i = j->first; i < j->first + j->count && j->rc == 0; i++) {
        /* Shaped like an Auth0 client-credentials access token. */
        claims.len = 0;
        j->rc = wdn_buf_printf(&claims,
                               "{\"iss\":\"%s\",\"sub\":\"bench-client@clients\",\"aud\":\"%s\","
                               "\"iat\":%ld,\"exp\":%ld,\"jti\":\"bench-%08ld\","
                               "\"scope\":\"mcp-server\",\"azp\":\"bench-client\","
                               "\"gty\":\"client-credentials\"}",
                               j->iss, j->aud, j->now, j->now + j->ttl, i);
        if (j->rc == 0)
            j->rc = wdn_jws_sign(j->key, wdn_buf_str(&claims), "at+jwt", &j->out);
        if (j->rc == 0)
            j->rc = wdn_buf_append(&j->out, "\n", 1);
    }
    wdn_buf_reset(&claims);
    return NULL;
}

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "w");
    int ok = f != NULL && fwrite(data, 1, len, f) == len;

    if (f != NULL && fclose(f) != 0)
        ok = 0;
    if (!ok)
        fprintf(stderr, "wdn-mint: cannot write %s\n", path);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *jwks_path = NULL, *tokens_path = NULL, *iss = NULL, *aud = NULL;
    long n = 1, ttl = 7200;
    struct wdn_diag d = {0};
    struct wdn_jose_key *key;
    struct job jobs[THREADS];
    pthread_t th[THREADS];
    char *jwks;
    FILE *f;
    int rc = 1;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--jwks") == 0)
            jwks_path = argv[i + 1];
        else if (strcmp(argv[i], "--tokens") == 0)
            tokens_path = argv[i + 1];
        else if (strcmp(argv[i], "--issuer") == 0)
            iss = argv[i + 1];
        else if (strcmp(argv[i], "--audience") == 0)
            aud = argv[i + 1];
        else if (strcmp(argv[i], "-n") == 0)
            n = strtol(argv[i + 1], NULL, 10);
        else if (strcmp(argv[i], "--ttl") == 0)
            ttl = strtol(argv[i + 1], NULL, 10);
        else
            jwks_path = NULL, i = argc;
    }
    if (jwks_path == NULL || tokens_path == NULL || iss == NULL || aud == NULL || n < 1 ||
        n > 1000000 || ttl < 60) {
        fprintf(stderr, "usage: wdn-mint --jwks FILE --tokens FILE --issuer ISS --audience AUD "
                        "[-n N (1..1000000)] [--ttl SECS (>= 60)]\n");
        return 2;
    }
    key = wdn_jose_key_generate(WDN_JOSE_RS256, 2048, "bench-rs256", &d);
    if (key == NULL) {
        fprintf(stderr, "wdn-mint: key generation failed: %s\n", d.msg);
        return 1;
    }
    jwks = wdn_jose_jwks_export((const struct wdn_jose_key *const *)&key, 1);
    if (jwks == NULL || write_file(jwks_path, jwks, strlen(jwks)) != 0)
        goto out;
    for (int t = 0; t < THREADS; t++) {
        long per = (n + THREADS - 1) / THREADS;
        jobs[t] = (struct job){.key = key, .iss = iss, .aud = aud, .now = (long)time(NULL),
                               .ttl = ttl, .first = t * per};
        jobs[t].count = jobs[t].first + per > n ? n - jobs[t].first : per;
        if (jobs[t].count < 0)
            jobs[t].count = 0;
        pthread_create(&th[t], NULL, sign_range, &jobs[t]);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    f = fopen(tokens_path, "w");
    rc = f == NULL;
    for (int t = 0; t < THREADS; t++) {
        if (jobs[t].rc != 0) {
            fprintf(stderr, "wdn-mint: signing failed (%d)\n", jobs[t].rc);
            rc = 1;
        }
        if (f != NULL && fwrite(jobs[t].out.data, 1, jobs[t].out.len, f) != jobs[t].out.len)
            rc = 1;
        wdn_buf_reset(&jobs[t].out);
    }
    if (f != NULL && fclose(f) != 0)
        rc = 1;
    if (rc)
        fprintf(stderr, "wdn-mint: cannot write %s\n", tokens_path);
out:
    free(jwks);
    wdn_jose_key_free(key);
    return rc;
}
