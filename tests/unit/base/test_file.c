/* Whole files (src/base/file.c): read with a limit, regular files only; atomic replacement with
 * the exact mode, missing folders made, no temporary file left behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <dirent.h>

#include "base/buf.h"
#include "base/error.h"
#include "base/file.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/wdn-file-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", dir, name);
}

static int entries(const char *d)
{
    DIR *h = opendir(d);
    struct dirent *e;
    int n = 0;

    if (h == NULL)
        return -1;
    while ((e = readdir(h)) != NULL)
        n += e->d_name[0] != '.';
    closedir(h);
    return n;
}

static void test_write_then_read(void **state)
{
    char p[128];
    struct wdn_buf b;
    struct stat st;
    (void)state;

    path_of(p, sizeof(p), "a/b/c.json");
    assert_int_equal(wdn_file_write_atomic(p, "{\"x\":1}", 7, 0640), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0640); /* exactly, whatever the umask */
    assert_int_equal(wdn_file_read(p, 1024, &b), 0);
    assert_int_equal(b.len, 7);
    assert_string_equal(b.data, "{\"x\":1}");
    wdn_buf_reset(&b);
    /* Replaced whole; no temporary file stays beside it. */
    assert_int_equal(wdn_file_write_atomic(p, "2", 1, 0600), 0);
    assert_int_equal(wdn_file_read(p, 1024, &b), 0);
    assert_string_equal(b.data, "2");
    wdn_buf_reset(&b);
    path_of(p, sizeof(p), "a/b");
    assert_int_equal(entries(p), 1);
    /* An empty file reads as an empty string. */
    path_of(p, sizeof(p), "empty");
    assert_int_equal(wdn_file_write_atomic(p, "", 0, 0600), 0);
    assert_int_equal(wdn_file_read(p, 0, &b), 0);
    assert_int_equal(b.len, 0);
    assert_string_equal(wdn_buf_cstr(&b), "");
    wdn_buf_reset(&b);
}

static void test_read_refusals(void **state)
{
    char p[128];
    struct wdn_buf b;
    (void)state;

    path_of(p, sizeof(p), "missing");
    assert_int_equal(wdn_file_read(p, 10, &b), WDN_ENOTFOUND);
    assert_null(b.data);
    path_of(p, sizeof(p), "big");
    assert_int_equal(wdn_file_write_atomic(p, "0123456789", 10, 0600), 0);
    assert_int_equal(wdn_file_read(p, 9, &b), WDN_ELIMIT);
    assert_null(b.data);
    assert_int_equal(wdn_file_read(p, 10, &b), 0);
    wdn_buf_reset(&b);
    /* A folder, a FIFO: not files to read whole (a FIFO would block). */
    assert_int_equal(wdn_file_read(dir, 10, &b), WDN_EINVAL);
    path_of(p, sizeof(p), "fifo");
    assert_int_equal(mkfifo(p, 0600), 0);
    assert_int_equal(wdn_file_read(p, 10, &b), WDN_EINVAL);
    assert_int_equal(wdn_file_read("/dev/zero", 10, &b), WDN_EINVAL);
}

static void test_write_refusals(void **state)
{
    char p[128], longp[8192];
    (void)state;

    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(wdn_file_write_atomic(longp, "x", 1, 0600), WDN_ELIMIT);
    /* A file where a folder should be. */
    path_of(p, sizeof(p), "plain");
    assert_int_equal(wdn_file_write_atomic(p, "x", 1, 0600), 0);
    path_of(p, sizeof(p), "plain/inside");
    assert_int_not_equal(wdn_file_write_atomic(p, "x", 1, 0600), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_write_then_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
