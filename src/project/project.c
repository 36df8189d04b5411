/* Project folders, the default project, locks and atomic file writes. */
#include "project/project.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/error.h"
#include "base/file.h"
#include "base/str.h"

int wdn_project_home(char *buf, size_t cap)
{
    const char *home = getenv("WARDEN_HOME");

    if (home && *home)
        return wdn_fmt(buf, cap, "%s", home);
    home = getenv("HOME");
    if (home == NULL || *home == '\0')
        return WDN_EINVAL;
    return wdn_fmt(buf, cap, "%s/.warden", home);
}

bool wdn_project_valid_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > 63 || name[0] == '-' || name[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
            return false;
    }
    return true;
}

int wdn_project_path(char *buf, size_t cap, const char *project, const char *rel)
{
    char home[WDN_MAX_PATH];
    int rc = wdn_project_home(home, sizeof(home));

    if (rc)
        return rc;
    if (!wdn_project_valid_name(project))
        return WDN_EINVAL;
    if (rel && *rel)
        return wdn_fmt(buf, cap, "%s/projects/%s/%s", home, project, rel);
    return wdn_fmt(buf, cap, "%s/projects/%s", home, project);
}

/* mkdir -p with mode for every created level. */
bool wdn_project_exists(const char *project)
{
    char path[WDN_MAX_PATH];
    struct stat st;

    return wdn_project_path(path, sizeof(path), project, "project.json") == 0 &&
           stat(path, &st) == 0;
}

int wdn_project_create(const char *project, struct wdn_diag *diag)
{
    static const char *const dirs[] = {"resources/component",
                                       "resources/configuration",
                                       "resources/mcpserver",
                                       "appids",
                                       "registry",
                                       "logs"};
    char path[WDN_MAX_PATH], doc[256];
    int rc;

    if (!wdn_project_valid_name(project))
        return wdn_diag_set(diag, WDN_EINVAL,
                            "invalid project name '%s': use 1-63 lower-case letters, digits and "
                            "'-', not starting or ending with '-'",
                            project);
    if (wdn_project_exists(project))
        return wdn_diag_set(diag, WDN_EEXISTS, "project '%s' already exists", project);
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        wdn_project_path(path, sizeof(path), project, dirs[i]);
        rc = wdn_file_mkdirs(path, 0700);
        if (rc)
            return wdn_diag_set(diag, rc, "cannot create %s: %s", path, wdn_strerror(rc));
    }
    snprintf(doc, sizeof(doc), "{\"name\":\"%s\",\"created\":%lld}\n", project,
             (long long)time(NULL));
    wdn_project_path(path, sizeof(path), project, "project.json");
    rc = wdn_file_write_atomic(path, doc, strlen(doc), 0600);
    if (rc)
        return wdn_diag_set(diag, rc, "cannot write %s: %s", path, wdn_strerror(rc));
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 ? 0 : -1;
}

int wdn_project_delete(const char *project, struct wdn_diag *diag)
{
    char path[WDN_MAX_PATH], cur[128];

    if (!wdn_project_exists(project))
        return wdn_diag_set(diag, WDN_ENOTFOUND, "project '%s' does not exist", project);
    wdn_project_path(path, sizeof(path), project, NULL);
    if (nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0)
        return wdn_diag_set(diag, wdn_error_from_errno(errno), "cannot remove %s: %s", path,
                            strerror(errno));
    if (wdn_project_current(cur, sizeof(cur)) == 0 && strcmp(cur, project) == 0) {
        char home[WDN_MAX_PATH], f[WDN_MAX_PATH];
        if (wdn_project_home(home, sizeof(home)) == 0 &&
            wdn_fmt(f, sizeof(f), "%s/current-project", home) == 0)
            unlink(f);
    }
    return 0;
}

int wdn_project_list_dir(const char *dir, const char *ext, int (*fn)(const char *name, void *arg),
                         void *arg)
{
    struct dirent **ents = NULL;
    size_t elen = ext ? strlen(ext) : 0;
    int n = scandir(dir, &ents, NULL, alphasort), rc = 0;

    if (n < 0)
        return errno == ENOENT ? 0 : wdn_error_from_errno(errno);
    for (int i = 0; i < n; i++) {
        char name[256];
        const char *d = ents[i]->d_name;
        size_t len = strlen(d);
        if (d[0] == '.' || rc != 0)
            continue;
        if (elen) {
            if (len <= elen + 1 || d[len - elen - 1] != '.' || strcmp(d + len - elen, ext) != 0)
                continue;
            len -= elen + 1;
        }
        if (len >= sizeof(name))
            continue;
        memcpy(name, d, len);
        name[len] = '\0';
        rc = fn(name, arg);
    }
    for (int i = 0; i < n; i++)
        free(ents[i]);
    free(ents);
    return rc;
}

static int list_project(const char *name, void *arg)
{
    struct {
        int (*fn)(const char *, void *);
        void *arg;
    } *a = arg;
    return wdn_project_valid_name(name) && wdn_project_exists(name) ? a->fn(name, a->arg) : 0;
}

int wdn_project_list(int (*fn)(const char *name, void *arg), void *arg)
{
    char home[WDN_MAX_PATH], dir[WDN_MAX_PATH];
    struct {
        int (*fn)(const char *, void *);
        void *arg;
    } a = {fn, arg};

    if (wdn_project_home(home, sizeof(home)) || wdn_fmt(dir, sizeof(dir), "%s/projects", home))
        return WDN_EINVAL;
    return wdn_project_list_dir(dir, NULL, list_project, &a);
}

int wdn_project_use(const char *project, struct wdn_diag *diag)
{
    char home[WDN_MAX_PATH], f[WDN_MAX_PATH];

    if (!wdn_project_exists(project))
        return wdn_diag_set(diag, WDN_ENOTFOUND,
                            "project '%s' does not exist (create it with 'warden project create "
                            "%s')",
                            project, project);
    if (wdn_project_home(home, sizeof(home)) || wdn_fmt(f, sizeof(f), "%s/current-project", home))
        return wdn_diag_set(diag, WDN_EINVAL, "cannot find the state folder: set WARDEN_HOME");
    int rc = wdn_file_write_atomic(f, project, strlen(project), 0600);
    if (rc)
        return wdn_diag_set(diag, rc, "cannot write %s: %s", f, wdn_strerror(rc));
    return 0;
}

int wdn_project_current(char *buf, size_t cap)
{
    char home[WDN_MAX_PATH], f[WDN_MAX_PATH];
    struct wdn_buf b;
    int rc;

    if (wdn_project_home(home, sizeof(home)) || wdn_fmt(f, sizeof(f), "%s/current-project", home))
        return WDN_EINVAL;
    rc = wdn_file_read(f, 256, &b);
    if (rc == 0) {
        struct wdn_str s = wdn_str_trim_ows(wdn_buf_str(&b));
        while (s.len && (s.p[s.len - 1] == '\n' || s.p[s.len - 1] == '\r'))
            s.len--;
        rc = s.len ? wdn_fmt(buf, cap, "%.*s", WDN_STR_FMT(s)) : WDN_ENOTFOUND;
    }
    wdn_buf_reset(&b);
    return rc;
}

int wdn_project_resolve(const char *flag, char *buf, size_t cap, struct wdn_diag *diag)
{
    const char *env = getenv("WARDEN_PROJECT");
    int rc = 0;

    if (flag && *flag)
        rc = wdn_fmt(buf, cap, "%s", flag);
    else if (env && *env)
        rc = wdn_fmt(buf, cap, "%s", env);
    else if (wdn_project_current(buf, cap) != 0)
        return wdn_diag_set(diag, WDN_ENOTFOUND,
                            "no project given: pass --project NAME or set a default with "
                            "'warden project use NAME'");
    if (rc || !wdn_project_valid_name(buf))
        return wdn_diag_set(diag, WDN_EINVAL, "invalid project name '%s'", flag ? flag : buf);
    if (!wdn_project_exists(buf))
        return wdn_diag_set(diag, WDN_ENOTFOUND,
                            "project '%s' does not exist (create it with 'warden project create "
                            "%s')",
                            buf, buf);
    return 0;
}

int wdn_project_lock(const char *project, int *fd)
{
    char path[WDN_MAX_PATH];
    int rc = wdn_project_path(path, sizeof(path), project, "lock");

    if (rc)
        return rc;
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return wdn_error_from_errno(errno);
    while (flock(*fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            rc = wdn_error_from_errno(errno);
            close(*fd);
            *fd = -1;
            return rc;
        }
    }
    return 0;
}

long wdn_project_lock_holder(const char *lock_path, const char *pid_path)
{
    struct wdn_buf b;
    long pid = 0;
    int fd = open(lock_path, O_RDWR | O_CLOEXEC);

    if (fd < 0)
        return 0; /* never started here */
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        close(fd); /* nobody holds it: any pid file left is stale */
        return 0;
    }
    close(fd);
    if (errno != EWOULDBLOCK)
        return -1;
    if (wdn_file_read(pid_path, 64, &b) == 0) {
        pid = strtol(b.data, NULL, 10);
        wdn_buf_reset(&b);
    }
    return pid > 1 ? pid : -1;
}

bool wdn_project_pid_alive(long pid)
{
    char path[64], buf[256];
    const char *st;
    ssize_t n;
    int fd;

    if (pid <= 0 || (kill((pid_t)pid, 0) != 0 && errno == ESRCH))
        return false;
    /* /proc/PID/stat: "pid (comm) S ...": the state follows the last ')'. */
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno != ENOENT;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    st = strrchr(buf, ')');
    return !(st && st[1] == ' ' && (st[2] == 'Z' || st[2] == 'X'));
}

void wdn_project_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

