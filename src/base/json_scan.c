/* The nesting check that keeps untrusted JSON from driving a recursive parser too deep. */
#include "base/json_scan.h"

bool wdn_json_depth_ok(const char *p, size_t n, int max)
{
    int depth = 0;
    bool in_str = false;

    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return false;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return true;
}
