/* The test program's temporary folder (testdir.h). */
#include "testdir.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cmocka.h>

static char dir[256];

const char *testdir_make(const char *name)
{
    char home[sizeof(dir) + 8];

    snprintf(dir, sizeof(dir), "/tmp/wdn-%s-XXXXXX", name);
    if (mkdtemp(dir) == NULL)
        return NULL;
    snprintf(home, sizeof(home), "%s/home", dir);
    setenv("WARDEN_HOME", home, 1);
    return dir;
}

const char *testdir(void)
{
    return dir;
}

const char *testdir_path(const char *rel, char *out, size_t cap)
{
    snprintf(out, cap, "%s/%s", dir, rel);
    return out;
}

const char *testdir_mkdir(const char *rel, char *out, size_t cap)
{
    testdir_path(rel, out, cap);
    if (mkdir(out, 0700) != 0 && errno != EEXIST)
        fail_msg("mkdir %s failed", out);
    return out;
}

void testdir_write(const char *rel, const char *text)
{
    char path[1024], tmp[1100];
    FILE *f;

    /* Whole or not at all: a sidecar watching the folder never reads it half written. */
    testdir_path(rel, path, sizeof(path));
    snprintf(tmp, sizeof(tmp), "%s.tmp~", path);
    f = fopen(tmp, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(rename(tmp, path), 0);
}

int testdir_remove(void)
{
    char cmd[sizeof(dir) + 16];

    if (dir[0] == '\0')
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}
