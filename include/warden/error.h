/* Error codes of libwarden: every fallible function returns 0 or one negative WDN_E* code. */
#ifndef WARDEN_ERROR_H
#define WARDEN_ERROR_H

/*
 * The one table of error codes. Append new codes at the end with the next number; never
 * renumber (codes appear in logs and tests). X(name, value, message).
 */
#define WDN_ERROR_TABLE(X)                                                                         \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(RANGE, -3, "value out of range")                                                             \
    X(AGAIN, -4, "incomplete input, more data needed")                                             \
    X(IO, -5, "input/output error")                                                                \
    X(TIMEOUT, -6, "timed out")                                                                    \
    X(CLOSED, -7, "connection closed")                                                             \
    X(NOTFOUND, -8, "not found")                                                                   \
    X(EXISTS, -9, "already exists")                                                                \
    X(PERM, -10, "permission denied")                                                              \
    X(UNSUPPORTED, -11, "not supported")                                                           \
    X(LIMIT, -12, "size or count limit exceeded")                                                  \
    X(PARSE, -13, "malformed input")                                                               \
    X(BUSY, -14, "resource busy")                                                                  \
    X(CANCELED, -15, "operation canceled")                                                         \
    X(TLS, -16, "TLS error")                                                                       \
    X(CRYPTO, -17, "cryptographic operation failed")                                               \
    X(CONNREFUSED, -18, "connection refused")                                                      \
    X(CONNRESET, -19, "connection reset by peer")                                                  \
    X(DNS, -20, "name resolution failed")                                                          \
    X(PROTO, -21, "protocol violation")                                                            \
    X(CONFIG, -22, "invalid configuration")                                                        \
    X(AUTH, -23, "authentication failed")                                                          \
    X(DENIED, -24, "access denied")                                                                \
    X(STATE, -25, "operation not valid in this state")                                             \
    X(INTERNAL, -26, "internal error")                                                             \
    X(EOF, -27, "end of input")                                                                    \
    X(SYS, -28, "system call failed")                                                              \
    X(HTTP_STATUS, -29, "unexpected HTTP status")

enum wdn_error {
    WDN_OK = 0,
#define WDN__ERROR_ENUM(name, value, msg) WDN_E##name = (value),
    WDN_ERROR_TABLE(WDN__ERROR_ENUM)
#undef WDN__ERROR_ENUM
};

/** Returns a static, human-readable message for a WDN_E* code (or "unknown error"). */
const char *wdn_strerror(int err);

/** Returns the code's name without prefix ("NOMEM"), static; for logs and metrics labels. */
const char *wdn_errname(int err);

#endif
