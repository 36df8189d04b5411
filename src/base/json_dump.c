/* Writing a jansson value out as text (json_dump.h). */
#include "base/json_dump.h"

#include <stdlib.h>

#include "base/fault.h"

char *wdn_json_dumps(const json_t *o, size_t flags)
{
    /* json_dumpb writes through a callback that cannot fail (it copies into the caller's buffer,
     * or only counts), so no key is dropped as json_dumps drops one; its own allocations (cycle
     * detection, sorted keys) failing make it return 0. Two passes, no text read back: jansson's
     * lexer writes past its buffer when an allocation fails inside a string. */
    size_t n = o ? json_dumpb(o, NULL, 0, flags) : 0;
    char *s = n ? WDN_FAULT_OR(WDN_FAULT_ALLOC, NULL, malloc(n + 1)) : NULL;

    if (s != NULL && json_dumpb(o, s, n, flags) != n) {
        free(s);
        s = NULL;
    }
    if (s != NULL)
        s[n] = '\0';
    return s;
}
