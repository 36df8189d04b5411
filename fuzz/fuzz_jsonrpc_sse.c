/* libFuzzer target: the client's incremental SSE parser, fed in two pieces at a data-chosen cut. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/error.h"
#include "mcp/sse.h"
#include "warden/mcp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *ud, const char *event, const char *d, size_t len, const char *id)
{
    struct wdn_jsonrpc_fault f;
    json_t *j = NULL;

    (void)event;
    (void)id;
    (*(size_t *)ud)++;
    if (strlen(d) > len)
        __builtin_trap(); /* data must be NUL-terminated at len */
    if (wdn_jsonrpc_parse(d, len, &j, &f) == 0)
        json_decref(j);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct wdn__sse_parser p;
    size_t events = 0, cut;

    if (size == 0)
        return 0;
    cut = data[0] % size;
    wdn__sse_init(&p, 4096);
    if (wdn__sse_feed(&p, (const char *)data + 1, cut > 0 ? cut - 1 : 0, on_event, &events) == 0)
        wdn__sse_feed(&p, (const char *)data + (cut > 0 ? cut : 1), size - (cut > 0 ? cut : 1),
                      on_event, &events);
    wdn__sse_reset(&p);
    return 0;
}
