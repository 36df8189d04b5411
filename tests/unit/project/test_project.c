/* Project state: folders, the default project, resources, bindings, the registry, atomic
 * writes and the lock that keeps concurrent CLI calls from losing updates. */
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
#include "base/file.h"
#include "project/project.h"
#include "project/store.h"

static char home[256];

static int setup(void **state)
{
    snprintf(home, sizeof(home), "/tmp/wdn-project-test-XXXXXX");
    if (mkdtemp(home) == NULL)
        return -1;
    setenv("WARDEN_HOME", home, 1);
    unsetenv("WARDEN_PROJECT");
    return 0;
}

static int teardown(void **state)
{
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", home);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_names(void **state)
{
    assert_true(wdn_project_valid_name("mcp-access-qs"));
    assert_false(wdn_project_valid_name("Upper"));
    assert_false(wdn_project_valid_name("-x"));
    assert_false(wdn_project_valid_name("x-"));
    assert_false(wdn_project_valid_name("../etc"));
    assert_false(wdn_project_valid_name(""));
}

static void test_create_use_delete(void **state)
{
    struct wdn_diag d;
    char cur[64];
    assert_int_equal(wdn_project_create("p1", &d), 0);
    assert_int_equal(wdn_project_create("p1", &d), WDN_EEXISTS);
    assert_int_equal(wdn_project_create("Bad_Name", &d), WDN_EINVAL);
    assert_true(wdn_project_exists("p1"));
    assert_int_equal(wdn_project_current(cur, sizeof(cur)), WDN_ENOTFOUND);
    assert_int_equal(wdn_project_resolve(NULL, cur, sizeof(cur), &d), WDN_ENOTFOUND);
    assert_non_null(strstr(d.msg, "--project"));
    assert_int_equal(wdn_project_use("nope", &d), WDN_ENOTFOUND);
    assert_int_equal(wdn_project_use("p1", &d), 0);
    assert_int_equal(wdn_project_resolve(NULL, cur, sizeof(cur), &d), 0);
    assert_string_equal(cur, "p1");
    assert_int_equal(wdn_project_resolve("p2", cur, sizeof(cur), &d), WDN_ENOTFOUND);
    assert_int_equal(wdn_project_delete("p1", &d), 0);
    assert_false(wdn_project_exists("p1"));
    assert_int_equal(wdn_project_current(cur, sizeof(cur)), WDN_ENOTFOUND);
}

static void test_resources(void **state)
{
    enum wdn_store_change ch;
    struct wdn_buf b;
    char path[512];
    struct stat st;
    assert_int_equal(wdn_project_create("p2", NULL), 0);
    assert_int_equal(wdn_store_put_resource("p2", WDN_KIND_COMPONENT, "bearer", "a: 1\n", 5, &ch), 0);
    assert_int_equal(ch, WDN_STORE_CREATED);
    assert_int_equal(wdn_store_put_resource("p2", WDN_KIND_COMPONENT, "bearer", "a: 1\n", 5, &ch), 0);
    assert_int_equal(ch, WDN_STORE_UNCHANGED);
    assert_int_equal(wdn_store_put_resource("p2", WDN_KIND_COMPONENT, "bearer", "a: 2\n", 5, &ch), 0);
    assert_int_equal(ch, WDN_STORE_CONFIGURED);
    assert_int_equal(wdn_store_get_resource("p2", WDN_KIND_COMPONENT, "bearer", &b), 0);
    assert_string_equal(b.data, "a: 2\n");
    wdn_buf_reset(&b);
    /* A name that would leave the folder is refused. */
    assert_int_equal(wdn_store_put_resource("p2", WDN_KIND_COMPONENT, "../x", "a", 1, &ch), WDN_EINVAL);
    /* Files are private to the user. */
    snprintf(path, sizeof(path), "%s/projects/p2/resources/component/bearer.yaml", home);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(wdn_store_delete_resource("p2", WDN_KIND_COMPONENT, "bearer"), 0);
    assert_int_equal(wdn_store_delete_resource("p2", WDN_KIND_COMPONENT, "bearer"), WDN_ENOTFOUND);
}

static void test_appids(void **state)
{
    struct wdn_store_appid a = {"mcp-server", "mcp-server-oauth"}, r;
    enum wdn_store_change ch;
    assert_int_equal(wdn_store_get_appid("p2", "mcp-server", &r), WDN_ENOTFOUND);
    assert_int_equal(wdn_store_put_appid("p2", &a, &ch), 0);
    assert_int_equal(ch, WDN_STORE_CREATED);
    assert_int_equal(wdn_store_get_appid("p2", "mcp-server", &r), 0);
    assert_string_equal(r.app_config, "mcp-server-oauth");
    snprintf(a.app_config, sizeof(a.app_config), "mcp-server-allow");
    assert_int_equal(wdn_store_put_appid("p2", &a, &ch), 0);
    assert_int_equal(ch, WDN_STORE_CONFIGURED);
    assert_int_equal(wdn_store_get_appid("p2", "mcp-server", &r), 0);
    assert_string_equal(r.app_config, "mcp-server-allow");
}

static void test_registry(void **state)
{
    struct wdn_store_sidecar s = {.app_id = "weather",
                                  .internal_addr = "127.0.0.1:4567",
                                  .http_port = 3500,
                                  .app_port = 8001,
                                  .pid = (long)getpid(),
                                  .metrics_port = 9090,
                                  .generation = 7,
                                  .config = "cfg",
                                  .state = "ab12",
                                  .last_error = "f.yaml:1:2: bad"},
                             r;
    assert_int_equal(wdn_store_put_sidecar("p2", &s), 0);
    assert_int_equal(wdn_store_get_sidecar("p2", "weather", &r), 0);
    assert_string_equal(r.internal_addr, "127.0.0.1:4567");
    assert_int_equal(r.http_port, 3500);
    /* What `warden status` and the waiting commands read. */
    assert_int_equal(r.metrics_port, 9090);
    assert_int_equal(r.generation, 7);
    assert_string_equal(r.config, "cfg");
    assert_string_equal(r.state, "ab12");
    assert_string_equal(r.last_error, "f.yaml:1:2: bad");
    /* Only the sidecar that wrote an entry removes it. */
    assert_int_equal(wdn_store_remove_sidecar("p2", "weather", 1), 0);
    assert_int_equal(wdn_store_get_sidecar("p2", "weather", &r), 0);
    /* An entry whose process died is reported stale. */
    pid_t child = fork();
    if (child == 0)
        _exit(0);
    waitpid(child, NULL, 0);
    s.pid = child;
    assert_int_equal(wdn_store_put_sidecar("p2", &s), 0);
    assert_int_equal(wdn_store_get_sidecar("p2", "weather", &r), WDN_ESTATE);
    assert_int_equal(wdn_store_remove_sidecar("p2", "weather", child), 0);
    assert_int_equal(wdn_store_get_sidecar("p2", "weather", &r), WDN_ENOTFOUND);
}

/* The state hash changes with every stored resource and with the app's own binding only. */
static void test_state_hash(void **state)
{
    char h0[WDN_STORE_STATE_LEN], h1[WDN_STORE_STATE_LEN], h2[WDN_STORE_STATE_LEN],
        other[WDN_STORE_STATE_LEN], o2[WDN_STORE_STATE_LEN];
    struct wdn_store_appid a;
    enum wdn_store_change ch;

    assert_int_equal(wdn_store_state_hash("p2", "hashapp", h0, sizeof(h0)), 0);
    assert_int_equal(strlen(h0), 64);
    assert_int_equal(wdn_store_state_hash("p2", "otherapp", other, sizeof(other)), 0);
    assert_int_equal(wdn_store_put_resource("p2", WDN_KIND_COMPONENT, "hc", "a: 1\n", 5, &ch), 0);
    assert_int_equal(wdn_store_state_hash("p2", "hashapp", h1, sizeof(h1)), 0);
    assert_string_not_equal(h0, h1);
    /* Same text again: same state. */
    assert_int_equal(wdn_store_put_resource("p2", WDN_KIND_COMPONENT, "hc", "a: 1\n", 5, &ch), 0);
    assert_int_equal(wdn_store_state_hash("p2", "hashapp", h2, sizeof(h2)), 0);
    assert_string_equal(h1, h2);
    /* Binding hashapp changes its state, not otherapp's (beyond the resource change). */
    assert_int_equal(wdn_store_state_hash("p2", "otherapp", other, sizeof(other)), 0);
    memset(&a, 0, sizeof(a));
    snprintf(a.app_id, sizeof(a.app_id), "hashapp");
    snprintf(a.app_config, sizeof(a.app_config), "cfg");
    assert_int_equal(wdn_store_put_appid("p2", &a, &ch), 0);
    assert_int_equal(wdn_store_state_hash("p2", "hashapp", h2, sizeof(h2)), 0);
    assert_string_not_equal(h1, h2);
    assert_int_equal(wdn_store_state_hash("p2", "otherapp", o2, sizeof(o2)), 0);
    assert_string_equal(other, o2);
    assert_int_equal(wdn_store_delete_resource("p2", WDN_KIND_COMPONENT, "hc"), 0);
    assert_int_equal(wdn_store_delete_appid("p2", "hashapp"), 0);
    assert_int_equal(wdn_store_state_hash("p2", "hashapp", h2, sizeof(h2)), 0);
    assert_string_equal(h0, h2);
}

/* Two processes each add 1 to a counter 100 times under the lock: nothing is lost. */
static void bump(int times)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/projects/p2/counter", home);
    for (int i = 0; i < times; i++) {
        int fd;
        struct wdn_buf b;
        char num[32];
        if (wdn_project_lock("p2", &fd) != 0)
            _exit(2);
        long v = 0;
        if (wdn_file_read(path, 64, &b) == 0) {
            v = strtol(b.data, NULL, 10);
            wdn_buf_reset(&b);
        }
        snprintf(num, sizeof(num), "%ld", v + 1);
        if (wdn_file_write_atomic(path, num, strlen(num), 0600) != 0)
            _exit(3);
        wdn_project_unlock(fd);
    }
}

static void test_lock(void **state)
{
    pid_t kids[2];
    int status;
    char path[512];
    struct wdn_buf b;
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            bump(100);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        waitpid(kids[k], &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    snprintf(path, sizeof(path), "%s/projects/p2/counter", home);
    assert_int_equal(wdn_file_read(path, 64, &b), 0);
    assert_string_equal(b.data, "200");
    wdn_buf_reset(&b);
}

/* A process that let go of its lock may still be exiting, and one that exited stays a zombie
 * until its parent reaps it: `project delete` waits until neither is the case, and a registry
 * entry naming a zombie is stale. */
static void test_pid_alive(void **state)
{
    int pipefd[2], st;
    char c;
    pid_t child;

    (void)state;
    assert_true(wdn_project_pid_alive((long)getpid()));
    assert_false(wdn_project_pid_alive(0));
    assert_int_equal(pipe(pipefd), 0);
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        close(pipefd[1]);
        if (read(pipefd[0], &c, 1) < 0) /* runs until the test closes the pipe */
            _exit(1);
        _exit(0);
    }
    close(pipefd[0]);
    assert_true(wdn_project_pid_alive((long)child));
    close(pipefd[1]); /* the child exits now and stays a zombie until reaped */
    for (int i = 0; i < 3000 && wdn_project_pid_alive((long)child); i++)
        usleep(10000);
    assert_false(wdn_project_pid_alive((long)child));
    assert_int_equal(waitpid(child, &st, 0), child); /* it was a zombie: reaped only now */
    assert_false(wdn_project_pid_alive((long)child));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),     cmocka_unit_test(test_create_use_delete),
        cmocka_unit_test(test_resources), cmocka_unit_test(test_appids),
        cmocka_unit_test(test_registry),    cmocka_unit_test(test_pid_alive),
        cmocka_unit_test(test_state_hash),  cmocka_unit_test(test_lock),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
