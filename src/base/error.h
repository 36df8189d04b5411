/* Error codes: every fallible function in warden returns 0 or one negative WDN_E* code. */
#ifndef WDN_BASE_ERROR_H
#define WDN_BASE_ERROR_H

/* The table, wdn_strerror and wdn_errname are public: include/warden/error.h. */
#include "warden/error.h"

/** Maps an errno value (positive) or a libuv error (negative UV_*) to the nearest WDN_E*. */
int wdn_error_from_errno(int e);

#endif
