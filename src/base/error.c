/* The error table's messages and names, and the mapping from system error numbers. */
#include "base/error.h"

#include <errno.h>

const char *wdn_strerror(int err)
{
    switch (err) {
    case WDN_OK:
        return "success";
#define WDN__ERROR_MSG(name, value, msg)                                                           \
    case WDN_E##name:                                                                              \
        return msg;
        WDN_ERROR_TABLE(WDN__ERROR_MSG)
#undef WDN__ERROR_MSG
    }
    return "unknown error";
}

const char *wdn_errname(int err)
{
    switch (err) {
    case WDN_OK:
        return "OK";
#define WDN__ERROR_NAME(name, value, msg)                                                          \
    case WDN_E##name:                                                                              \
        return #name;
        WDN_ERROR_TABLE(WDN__ERROR_NAME)
#undef WDN__ERROR_NAME
    }
    return "UNKNOWN";
}

int wdn_error_from_errno(int e)
{
    if (e < 0) /* libuv reports errors as negated errno values on Unix */
        e = -e;
    switch (e) {
    case 0:
        return WDN_OK;
    case ENOMEM:
        return WDN_ENOMEM;
    case EINVAL:
        return WDN_EINVAL;
    case ERANGE:
    case EOVERFLOW:
        return WDN_ERANGE;
    case EAGAIN:
        return WDN_EAGAIN;
    case ETIMEDOUT:
        return WDN_ETIMEOUT;
    case ENOENT:
        return WDN_ENOTFOUND;
    case EEXIST:
        return WDN_EEXISTS;
    case EACCES:
    case EPERM:
        return WDN_EPERM;
    case ECONNREFUSED:
        return WDN_ECONNREFUSED;
    case ECONNRESET:
    case EPIPE:
        return WDN_ECONNRESET;
    case ECANCELED:
        return WDN_ECANCELED;
    case EBUSY:
    case EADDRINUSE:
        return WDN_EBUSY;
    case ENOTSUP:
        return WDN_EUNSUPPORTED;
    default:
        return WDN_ESYS;
    }
}
