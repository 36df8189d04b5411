/* Test helper: one HTTP/1.1 exchange over TLS with a client certificate of the test's choosing,
 * blocking, to knock on an mTLS port the way a stranger or a misissued peer would. */
#ifndef WDN_TESTS_TLSCLIENT_H
#define WDN_TESTS_TLSCLIENT_H

#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/**
 * Connects to 127.0.0.1:port, handshakes (trusting ca for the server when not NULL; presenting
 * cert/key when not NULL), sends request as is and reads until the server closes (up to
 * timeout_ms per read). Returns the bytes read (out NUL-terminated), or -1 when the connection
 * or the handshake failed (out then holds OpenSSL's reason).
 */
long tlsclient_request(int port, X509 *ca, X509 *cert, EVP_PKEY *key, const char *request,
                       char *out, size_t cap, int timeout_ms);

#endif
