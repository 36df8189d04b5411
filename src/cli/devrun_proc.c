/* Process supervision on libuv. Each child gets its own process group (UV_PROCESS_DETACHED
 * makes it a session leader), so stopping it also stops what it started (a shell, an
 * interpreter): signals go to the group, never to the child alone. */
#include "cli/devrun_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define LINE_MAX_BYTES 8192
#define TAIL_BYTES 2048

struct wdn_proc {
    uv_process_t proc;
    uv_pipe_t out;
    uv_timer_t kill_timer;
    int open_handles;
    bool running, closing, pipe_open;
    int pid;
    char prefix[160];
    bool to_console;
    int log_fd;
    wdn_proc_exit_cb cb;
    void *ud;
    char line[LINE_MAX_BYTES];
    size_t line_len;
    char tail[TAIL_BYTES];
    size_t tail_len;
};

static void keep_tail(struct wdn_proc *p, const char *s, size_t n)
{
    if (n >= TAIL_BYTES - 1) {
        s += n - (TAIL_BYTES - 2);
        n = TAIL_BYTES - 2;
    }
    if (p->tail_len + n >= TAIL_BYTES - 1) {
        size_t drop = p->tail_len + n - (TAIL_BYTES - 2);
        memmove(p->tail, p->tail + drop, p->tail_len - drop);
        p->tail_len -= drop;
    }
    memcpy(p->tail + p->tail_len, s, n);
    p->tail_len += n;
    p->tail[p->tail_len] = '\0';
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* Emits one complete line with the prefix, in one write so lines of different children do not
 * interleave mid-line. */
static void emit_line(struct wdn_proc *p, const char *s, size_t n)
{
    char buf[LINE_MAX_BYTES + 256];
    size_t plen = strlen(p->prefix);

    keep_tail(p, s, n);
    keep_tail(p, "\n", 1);
    if (plen + 1 + n + 1 > sizeof(buf))
        n = sizeof(buf) - plen - 2;
    memcpy(buf, p->prefix, plen);
    buf[plen] = ' ';
    memcpy(buf + plen + 1, s, n);
    buf[plen + 1 + n] = '\n';
    if (p->to_console)
        write_all(STDOUT_FILENO, buf, plen + n + 2);
    if (p->log_fd >= 0) {
        write_all(p->log_fd, s, n);
        write_all(p->log_fd, "\n", 1);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char slab[65536];
    (void)h;
    (void)suggested;
    *buf = uv_buf_init(slab, sizeof(slab)); /* the loop is single-threaded: one slab suffices */
}

static void flush_partial(struct wdn_proc *p)
{
    if (p->line_len) {
        emit_line(p, p->line, p->line_len);
        p->line_len = 0;
    }
}

static void maybe_free(uv_handle_t *h)
{
    struct wdn_proc *p = h->data;
    if (--p->open_handles == 0) {
        if (p->log_fd >= 0)
            close(p->log_fd);
        free(p);
    }
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    struct wdn_proc *p = s->data;

    if (n < 0) {
        flush_partial(p);
        if (p->pipe_open) {
            p->pipe_open = false;
            uv_close((uv_handle_t *)&p->out, maybe_free);
        }
        return;
    }
    for (ssize_t i = 0; i < n; i++) {
        char c = buf->base[i];
        if (c == '\n' || p->line_len == sizeof(p->line)) {
            emit_line(p, p->line, p->line_len);
            p->line_len = 0;
            if (c == '\n')
                continue;
        }
        if (c != '\r')
            p->line[p->line_len++] = c;
    }
}

static void on_proc_exit(uv_process_t *h, int64_t status, int sig)
{
    struct wdn_proc *p = h->data;
    p->running = false;
    p->pid = 0;
    uv_timer_stop(&p->kill_timer);
    if (p->cb)
        p->cb(p, sig ? 128 + sig : (int)status, p->ud);
}

int wdn_proc_start(uv_loop_t *loop, const struct wdn_proc_spec *spec, wdn_proc_exit_cb cb,
                   void *ud, struct wdn_proc **out)
{
    struct wdn_proc *p = calloc(1, sizeof(*p));
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    int rc;

    if (p == NULL)
        return UV_ENOMEM;
    p->log_fd = -1;
    p->cb = cb;
    p->ud = ud;
    p->to_console = spec->to_console;
    if (spec->color && isatty(STDOUT_FILENO))
        snprintf(p->prefix, sizeof(p->prefix), "%s%s\033[0m", spec->color, spec->prefix);
    else
        snprintf(p->prefix, sizeof(p->prefix), "%s", spec->prefix);
    if (spec->log_file)
        p->log_fd = open(spec->log_file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    /* One socket pair carries both stdout and stderr, so lines keep their order. */
    uv_os_sock_t fds[2];
    rc = uv_socketpair(SOCK_STREAM, 0, fds, UV_NONBLOCK_PIPE, 0);
    if (rc) {
        if (p->log_fd >= 0)
            close(p->log_fd);
        free(p);
        return rc;
    }
    uv_pipe_init(loop, &p->out, 0);
    uv_timer_init(loop, &p->kill_timer);
    p->out.data = p->kill_timer.data = p->proc.data = p;
    p->open_handles = 2;
    p->pipe_open = true;
    uv_pipe_open(&p->out, fds[0]);
    memset(&o, 0, sizeof(o));
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_INHERIT_FD;
    stdio[1].data.fd = fds[1];
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = fds[1];
    o.file = spec->argv[0];
    o.args = (char **)spec->argv;
    o.env = (char **)spec->env;
    o.cwd = spec->cwd;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = on_proc_exit;
    o.flags = UV_PROCESS_DETACHED; /* own session and process group */
    rc = uv_spawn(loop, &p->proc, &o);
    close(fds[1]);
    if (rc) {
        p->open_handles++; /* the process handle must be closed too */
        uv_close((uv_handle_t *)&p->proc, maybe_free);
        p->pipe_open = false;
        uv_close((uv_handle_t *)&p->out, maybe_free);
        uv_close((uv_handle_t *)&p->kill_timer, maybe_free);
        return rc;
    }
    p->open_handles++;
    p->running = true;
    p->pid = p->proc.pid;
    uv_read_start((uv_stream_t *)&p->out, on_alloc, on_read);
    *out = p;
    return 0;
}

bool wdn_proc_running(const struct wdn_proc *p)
{
    return p && p->running;
}

int wdn_proc_pid(const struct wdn_proc *p)
{
    return p ? p->pid : 0;
}

const char *wdn_proc_tail(const struct wdn_proc *p)
{
    return p->tail;
}

static void on_kill_timer(uv_timer_t *t)
{
    struct wdn_proc *p = t->data;
    if (p->running && p->pid > 0)
        kill(-p->pid, SIGKILL);
}

void wdn_proc_stop(struct wdn_proc *p, unsigned grace_ms)
{
    if (p == NULL || !p->running || p->pid <= 0)
        return;
    kill(-p->pid, SIGTERM);
    uv_timer_start(&p->kill_timer, on_kill_timer, grace_ms, 0);
}

void wdn_proc_close(struct wdn_proc *p)
{
    if (p == NULL || p->closing)
        return;
    p->closing = true;
    uv_close((uv_handle_t *)&p->proc, maybe_free);
    uv_close((uv_handle_t *)&p->kill_timer, maybe_free);
    /* The pipe closes itself when the child's last writer is gone (EOF in on_read). */
}
