/* The project store's edges (src/project/project.c): where the state folder is when
 * WARDEN_HOME is unset, which project names are refused, how a command finds its project (flag,
 * WARDEN_PROJECT, the default) and what it says when it cannot, deleting the default project,
 * who holds a project lock (and when a pid file is stale), zombies counted as gone, and which
 * files a folder listing skips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/error.h"
#include "project/project.h"
#include "project/store.h"

static char home[64];

static int setup(void **state)
{
    (void)state;
    snprintf(home, sizeof(home), "/tmp/wdn-project-edges-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    setenv("WARDEN_HOME", home, 1);
    unsetenv("WARDEN_PROJECT");
    return 0;
}

static int teardown(void **state)
{
    char cmd[128];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void test_home(void **state)
{
    (void)state;
    char buf[256];
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;

    setenv("WARDEN_HOME", "", 1);
    setenv("HOME", "/home/someone", 1);
    assert_int_equal(wdn_project_home(buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/home/someone/.warden");
    unsetenv("WARDEN_HOME");
    assert_int_equal(wdn_project_home(buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/home/someone/.warden");
    /* Neither: no guess. */
    unsetenv("HOME");
    assert_int_equal(wdn_project_home(buf, sizeof(buf)), WDN_EINVAL);
    setenv("HOME", "", 1);
    assert_int_equal(wdn_project_home(buf, sizeof(buf)), WDN_EINVAL);
    /* Nothing can be resolved or listed without a home. */
    assert_int_not_equal(wdn_project_path(buf, sizeof(buf), "p", NULL), 0);
    assert_false(wdn_project_exists("p"));

    if (saved_home)
        setenv("HOME", saved_home, 1);
    free(saved_home);
    setenv("WARDEN_HOME", home, 1);
    assert_int_equal(wdn_project_home(buf, sizeof(buf)), 0);
    assert_string_equal(buf, home);
}

static void test_names(void **state)
{
    (void)state;
    char n63[64], n64[65], buf[256];
    memset(n63, 'a', 63);
    n63[63] = '\0';
    memset(n64, 'a', 64);
    n64[64] = '\0';
    static const char *const bad[] = {"", "-a", "a-", "A", "a_b", "a.b", "a b", "a/b", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wdn_project_valid_name(bad[i]))
            fail_msg("'%s' accepted", bad[i]);
    assert_false(wdn_project_valid_name(NULL));
    assert_false(wdn_project_valid_name(n64));
    assert_true(wdn_project_valid_name(n63));
    assert_true(wdn_project_valid_name("a-1"));
    assert_true(wdn_project_valid_name("0"));
    /* A bad name never becomes a path (no "../" into the state folder). */
    assert_int_equal(wdn_project_path(buf, sizeof(buf), "..", "x"), WDN_EINVAL);
    assert_int_equal(wdn_project_path(buf, sizeof(buf), "a/../../b", NULL), WDN_EINVAL);
    assert_int_equal(wdn_project_path(buf, sizeof(buf), "ok", ""), 0);
    assert_non_null(strstr(buf, "/projects/ok"));
}

static void test_resolve(void **state)
{
    (void)state;
    struct wdn_diag d;
    char buf[64], path[256];

    assert_int_equal(wdn_project_create("alpha", &d), 0);
    assert_int_equal(wdn_project_create("beta", &d), 0);
    assert_int_equal(wdn_project_create("alpha", &d), WDN_EEXISTS);
    assert_int_equal(wdn_project_create("Bad", &d), WDN_EINVAL);

    /* Nothing set: the message says how to set it. */
    assert_int_equal(wdn_project_resolve(NULL, buf, sizeof(buf), &d), WDN_ENOTFOUND);
    assert_non_null(strstr(d.msg, "no project given: pass --project NAME"));
    /* The flag wins, then WARDEN_PROJECT, then the default. */
    assert_int_equal(wdn_project_use("beta", &d), 0);
    setenv("WARDEN_PROJECT", "alpha", 1);
    assert_int_equal(wdn_project_resolve("beta", buf, sizeof(buf), &d), 0);
    assert_string_equal(buf, "beta");
    assert_int_equal(wdn_project_resolve(NULL, buf, sizeof(buf), &d), 0);
    assert_string_equal(buf, "alpha");
    assert_int_equal(wdn_project_resolve("", buf, sizeof(buf), &d), 0);
    assert_string_equal(buf, "alpha");
    setenv("WARDEN_PROJECT", "Not-Valid", 1);
    assert_int_equal(wdn_project_resolve(NULL, buf, sizeof(buf), &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "invalid project name 'Not-Valid'"));
    unsetenv("WARDEN_PROJECT");
    assert_int_equal(wdn_project_resolve(NULL, buf, sizeof(buf), &d), 0);
    assert_string_equal(buf, "beta");
    assert_int_equal(wdn_project_resolve("no/pe", buf, sizeof(buf), &d), WDN_EINVAL);
    assert_non_null(strstr(d.msg, "invalid project name 'no/pe'"));
    assert_int_equal(wdn_project_resolve("gamma", buf, sizeof(buf), &d), WDN_ENOTFOUND);
    assert_non_null(strstr(d.msg, "project 'gamma' does not exist (create it with"));
    assert_int_equal(wdn_project_use("gamma", &d), WDN_ENOTFOUND);

    /* The default file as an editor leaves it (CRLF), or empty. */
    snprintf(path, sizeof(path), "%s/current-project", home);
    write_file(path, "alpha\r\n");
    assert_int_equal(wdn_project_current(buf, sizeof(buf)), 0);
    assert_string_equal(buf, "alpha");
    write_file(path, "\n");
    assert_int_equal(wdn_project_current(buf, sizeof(buf)), WDN_ENOTFOUND);

    /* Deleting the default project unsets the default; deleting it again says it is gone. */
    assert_int_equal(wdn_project_use("alpha", &d), 0);
    assert_int_equal(wdn_project_delete("alpha", &d), 0);
    assert_false(wdn_project_exists("alpha"));
    assert_int_equal(wdn_project_current(buf, sizeof(buf)), WDN_ENOTFOUND);
    assert_int_equal(wdn_project_delete("alpha", &d), WDN_ENOTFOUND);
    assert_non_null(strstr(d.msg, "project 'alpha' does not exist"));
    /* Deleting another keeps the default. */
    assert_int_equal(wdn_project_use("beta", &d), 0);
    assert_int_equal(wdn_project_create("delta", &d), 0);
    assert_int_equal(wdn_project_delete("delta", &d), 0);
    assert_int_equal(wdn_project_current(buf, sizeof(buf)), 0);
    assert_string_equal(buf, "beta");
}

static void test_lock_holder(void **state)
{
    (void)state;
    struct wdn_diag d;
    char lock[256], pid[256];
    int fd;

    assert_int_equal(wdn_project_create("locks", &d), 0);
    assert_int_equal(wdn_project_path(lock, sizeof(lock), "locks", "lock"), 0);
    assert_int_equal(wdn_project_path(pid, sizeof(pid), "locks", "run.pid"), 0);
    /* Never locked: nobody. */
    assert_int_equal(wdn_project_lock_holder(lock, pid), 0);
    assert_int_equal(wdn_project_lock("locks", &fd), 0);
    wdn_project_unlock(fd);
    /* Locked once and released: a pid file left behind names nobody. */
    write_file(pid, "4242\n");
    assert_int_equal(wdn_project_lock_holder(lock, pid), 0);
    /* Held: the pid file names the holder; a missing or silly pid is "unknown". */
    assert_int_equal(wdn_project_lock("locks", &fd), 0);
    assert_int_equal(wdn_project_lock_holder(lock, pid), 4242);
    write_file(pid, "1\n");
    assert_int_equal(wdn_project_lock_holder(lock, pid), -1);
    write_file(pid, "x\n");
    assert_int_equal(wdn_project_lock_holder(lock, pid), -1);
    unlink(pid);
    assert_int_equal(wdn_project_lock_holder(lock, pid), -1);
    wdn_project_unlock(fd);
    /* A project that does not exist cannot be locked. */
    assert_int_not_equal(wdn_project_lock("Bad!", &fd), 0);
}

static void test_pid_alive(void **state)
{
    (void)state;
    pid_t child;
    int status;

    assert_false(wdn_project_pid_alive(0));
    assert_false(wdn_project_pid_alive(-5));
    assert_true(wdn_project_pid_alive((long)getpid()));
    /* A child that exited but was not waited for is a zombie: gone for our purposes. */
    child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    for (int i = 0; i < 3000 && wdn_project_pid_alive((long)child); i++)
        usleep(10000);
    assert_false(wdn_project_pid_alive((long)child));
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_false(wdn_project_pid_alive((long)child));
}

static int collect(const char *name, void *arg)
{
    char *out = arg;
    strncat(out, name, 200 - strlen(out) - 2);
    strncat(out, ",", 200 - strlen(out) - 1);
    return 0;
}

static int stop_at_b(const char *name, void *arg)
{
    collect(name, arg);
    return strcmp(name, "b") == 0 ? 7 : 0;
}

static void test_list_dir(void **state)
{
    (void)state;
    char dir[256], path[300], out[200] = "";

    snprintf(dir, sizeof(dir), "%s/listing", home);
    assert_int_equal(mkdir(dir, 0700), 0);
    static const char *const files[] = {"a.yaml", "b.yaml", "c.yml",      ".hidden.yaml", "yaml",
                                        ".yaml",  "dyaml",  "e.yaml.bak", "f.json"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
        write_file(path, "x");
    }
    assert_int_equal(wdn_project_list_dir(dir, "yaml", collect, out), 0);
    assert_string_equal(out, "a,b,");
    out[0] = '\0';
    /* Without an extension every visible entry counts. */
    assert_int_equal(wdn_project_list_dir(dir, NULL, collect, out), 0);
    assert_string_equal(out, "a.yaml,b.yaml,c.yml,dyaml,e.yaml.bak,f.json,yaml,");
    out[0] = '\0';
    /* The callback's first non-zero result stops the walk and is returned. */
    assert_int_equal(wdn_project_list_dir(dir, "yaml", stop_at_b, out), 7);
    assert_string_equal(out, "a,b,");
    /* A missing folder lists nothing; a file is not a folder. */
    assert_int_equal(wdn_project_list_dir("/nonexistent/wdn", "yaml", collect, out), 0);
    snprintf(path, sizeof(path), "%s/a.yaml", dir);
    assert_int_not_equal(wdn_project_list_dir(path, "yaml", collect, out), 0);
}

/* The store turns names into file names: anything that could leave its folder is refused. */
static void test_store_names_and_changes(void **state)
{
    (void)state;
    struct wdn_diag d;
    char long_name[300], path[512], hash1[WDN_STORE_STATE_LEN], hash2[WDN_STORE_STATE_LEN];
    enum wdn_store_change ch;
    struct wdn_buf b;

    assert_int_equal(wdn_project_create("store", &d), 0);
    memset(long_name, 'n', 254);
    long_name[254] = '\0';
    static const char *const bad[] = {"",    "../escape", ".hidden",    "a/b",
                                      "a b", "a\\b",      "caf\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (wdn_store_put_resource("store", "component", bad[i], "x", 1, &ch) != WDN_EINVAL)
            fail_msg("name '%s' accepted", bad[i]);
    assert_int_equal(wdn_store_put_resource("store", "component", long_name, "x", 1, &ch),
                     WDN_EINVAL);
    long_name[253] = '\0';
    assert_int_equal(wdn_store_resource_path("store", "component", long_name, path, sizeof(path)),
                     0);
    assert_int_equal(wdn_store_resource_path("store", "component", "../x", path, sizeof(path)),
                     WDN_EINVAL);
    assert_int_equal(wdn_store_get_resource("store", "component", "../x", &b), WDN_EINVAL);
    wdn_buf_reset(&b);
    assert_int_equal(wdn_store_delete_resource("store", "component", "../x"), WDN_EINVAL);

    /* created, unchanged, configured: what `warden apply` prints for each. */
    assert_int_equal(wdn_store_put_resource("store", "component", "Auth_1.x", "a: 1\n", 5, &ch), 0);
    assert_string_equal(wdn_store_change_name(ch), "created");
    assert_int_equal(wdn_store_put_resource("store", "component", "Auth_1.x", "a: 1\n", 5, &ch), 0);
    assert_string_equal(wdn_store_change_name(ch), "unchanged");
    assert_int_equal(wdn_store_put_resource("store", "component", "Auth_1.x", "a: 2\n", 5, &ch), 0);
    assert_string_equal(wdn_store_change_name(ch), "configured");
    assert_int_equal(wdn_store_get_resource("store", "component", "Auth_1.x", &b), 0);
    assert_int_equal(b.len, 5);
    assert_memory_equal(b.data, "a: 2\n", 5);
    wdn_buf_reset(&b);
    assert_int_equal(wdn_store_get_resource("store", "component", "missing", &b), WDN_ENOTFOUND);
    wdn_buf_reset(&b);
    assert_int_equal(wdn_store_delete_resource("store", "component", "missing"), WDN_ENOTFOUND);
    assert_int_equal(wdn_store_resources_dir("store", path, sizeof(path)), 0);
    assert_non_null(strstr(path, "/projects/store/resources"));

    /* The state hash changes with a resource and with the app's binding, and needs its room. */
    assert_int_equal(wdn_store_state_hash("store", "svc", hash1, sizeof(hash1)), 0);
    assert_int_equal(strlen(hash1), 64);
    assert_int_equal(wdn_store_state_hash("store", "svc", hash2, sizeof(hash2)), 0);
    assert_string_equal(hash1, hash2);
    assert_int_equal(wdn_store_put_resource("store", "component", "Auth_1.x", "a: 3\n", 5, &ch), 0);
    assert_int_equal(wdn_store_state_hash("store", "svc", hash2, sizeof(hash2)), 0);
    assert_string_not_equal(hash1, hash2);
    struct wdn_store_appid a = {.app_id = "svc", .app_config = "cfg"};
    assert_int_equal(wdn_store_put_appid("store", &a, &ch), 0);
    assert_string_equal(wdn_store_change_name(ch), "created");
    assert_int_equal(wdn_store_state_hash("store", "svc", hash1, sizeof(hash1)), 0);
    assert_string_not_equal(hash1, hash2);
    assert_int_equal(wdn_store_state_hash("store", "svc", hash1, WDN_STORE_STATE_LEN - 1),
                     WDN_ELIMIT);

    /* A binding file that is not a JSON object is refused, not half read. */
    assert_int_equal(wdn_store_appid_path("store", "svc", path, sizeof(path)), 0);
    write_file(path, "[\"svc\"]\n");
    assert_int_equal(wdn_store_get_appid("store", "svc", &a), WDN_EPARSE);
    write_file(path, "{not json");
    assert_int_equal(wdn_store_get_appid("store", "svc", &a), WDN_EPARSE);
    assert_int_equal(wdn_store_get_appid("store", "nobody", &a), WDN_ENOTFOUND);
}

/* A sidecar's registry entry is removed only by the sidecar it names. */
static void test_store_sidecar_entry(void **state)
{
    (void)state;
    struct wdn_diag d;
    struct wdn_store_sidecar s = {.app_id = "svc", .internal_addr = "127.0.0.1:1", .pid = 0};
    struct wdn_store_sidecar got;

    assert_int_equal(wdn_project_create("reg", &d), 0);
    s.pid = (long)getpid();
    assert_int_equal(wdn_store_put_sidecar("reg", &s), 0);
    assert_int_equal(wdn_store_get_sidecar("reg", "svc", &got), 0);
    assert_int_equal(got.pid, s.pid);
    /* Another pid (a newer sidecar took the name): kept. */
    assert_int_equal(wdn_store_remove_sidecar("reg", "svc", s.pid + 1), 0);
    assert_int_equal(wdn_store_get_sidecar("reg", "svc", &got), 0);
    assert_int_equal(wdn_store_remove_sidecar("reg", "svc", s.pid), 0);
    assert_int_equal(wdn_store_get_sidecar("reg", "svc", &got), WDN_ENOTFOUND);
    assert_int_equal(wdn_store_remove_sidecar("reg", "svc", s.pid), WDN_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_home),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_lock_holder),
        cmocka_unit_test(test_pid_alive),
        cmocka_unit_test(test_list_dir),
        cmocka_unit_test(test_store_names_and_changes),
        cmocka_unit_test(test_store_sidecar_entry),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
