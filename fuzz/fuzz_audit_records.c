/* libFuzzer target: reading audit records back (`warden audit verify` and `audit query`), which
 * read files anyone with access to the log folder may have written. The input is the file.
 * Invariants: verify either accepts every line as a record of one chain or names a line that
 * exists; query visits at most as many records as there are lines. */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "audit/audit.h"
#include "fuzz.h"

static int count(void *ud, struct wdn_str line)
{
    (*(size_t *)ud)++;
    CHECK(line.len == 0 || line.p != NULL);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("audit", 0);
    char path[64];
    size_t lines = 0, visited = 0;
    struct wdn_audit_verify_result r;
    struct wdn_audit_filter f = {.decision = "deny", .since_ns = 1};

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (size && data[size - 1] != '\n')
        lines++;
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    const char *files[2] = {path, path};
    if (wdn_audit_verify(files, 1, &r, NULL) == 0) {
        if (r.ok)
            CHECK(r.records <= lines && (r.records == 0 || r.last_hash[63] != '\0'));
        else
            CHECK(r.line >= 1 && r.line <= lines && r.msg[0] != '\0');
    }
    /* The same file twice never verifies as one chain once it has a record. */
    if (wdn_audit_verify(files, 2, &r, NULL) == 0 && r.ok)
        CHECK(r.records == 0);
    if (wdn_audit_query(files, 1, &f, count, &visited, NULL, NULL) == 0)
        CHECK(visited <= lines);
    close(fd);
    return 0;
}
