/* A blocking TLS client for tests; see tlsclient.h. */
#include "tlsclient.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "testnet.h"

long tlsclient_request(int port, X509 *ca, X509 *cert, EVP_PKEY *key, const char *request,
                       char *out, size_t cap, int timeout_ms)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    long total = -1;
    int fd = -1;

    out[0] = '\0';
    if (ctx == NULL)
        goto out;
    if (ca) {
        X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca);
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (cert && (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1))
        goto out;
    fd = testnet_connect(port, timeout_ms);
    if (fd < 0)
        goto out;
    /* No read or write waits longer than timeout_ms (a server that never answers fails the
     * exchange instead of hanging the test). */
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
        goto out;
    ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1)
        goto out;
    if (SSL_connect(ssl) != 1) {
        ERR_error_string_n(ERR_peek_last_error(), out, cap);
        goto out;
    }
    if (SSL_write(ssl, request, (int)strlen(request)) <= 0) {
        /* TLS 1.3: a refused client certificate shows at the first read or write. */
        ERR_error_string_n(ERR_peek_last_error(), out, cap);
        goto out;
    }
    total = 0;
    while ((size_t)total + 1 < cap) {
        int n = SSL_read(ssl, out + total, (int)(cap - 1 - (size_t)total));
        if (n <= 0)
            break;
        total += n;
    }
    out[total] = '\0';
    if (total == 0) {
        /* Nothing came back: the server refused the certificate after the handshake. */
        ERR_error_string_n(ERR_peek_last_error(), out, cap);
        total = -1;
    }
out:
    ERR_clear_error();
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    return total;
}
