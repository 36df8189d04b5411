/* What an OAuth client keeps between runs, in a directory of its own: one file per protected
 * resource (its issuer and tokens) and one per issuer (the client registered there). Files are
 * written atomically with mode 0600 and named by a hash, and each names what it is for, so a
 * file can never be read for another resource or issuer. */
#ifndef WDN_OAUTH2_STORE_H
#define WDN_OAUTH2_STORE_H

#include <jansson.h>

/**
 * Reads the object kept under kind ("token" for a resource, "client" for an issuer) and key
 * (the resource URL or the issuer). *out is a new reference, NULL when nothing is kept. A file
 * that does not name key exactly, is too large or is not JSON counts as nothing kept.
 */
int wdn_oauth2_store_get(const char *dir, const char *kind, const char *key, json_t **out);

/** Keeps obj (borrowed; "key" is added) under kind/key. 0 or WDN_EIO / WDN_ENOMEM. */
int wdn_oauth2_store_put(const char *dir, const char *kind, const char *key, json_t *obj);

/** Removes what is kept under kind/key (nothing kept is fine). */
void wdn_oauth2_store_drop(const char *dir, const char *kind, const char *key);

#endif
