/* The OpenSSL state JOSE keeps per process and per thread: digests fetched once, one
 * EVP_MD_CTX and a small cache of initialised EVP_PKEY_CTX per thread. */
#ifndef WDN_JOSE_CRYPTO_H
#define WDN_JOSE_CRYPTO_H

#include <stddef.h>

/**
 * SHA-256 of n bytes into out, with the digest fetched once and this thread's reusable
 * context (no allocation after the first call on a thread). Returns 0 or WDN_ECRYPTO.
 */
int wdn_jose_sha256(const void *p, size_t n, unsigned char out[32]);

/**
 * Frees the calling thread's cached contexts now. Threads that exit free theirs
 * automatically; call this on the main thread before exit for leak-free shutdown.
 */
void wdn_jose_thread_cleanup(void);

#endif
