/* Starting and stopping test helper processes without leaving any behind. */
#include "childproc.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int childproc_start(struct childproc *cp, char *const argv[], int timeout_ms)
{
    int fds[2];
    char line[256];
    size_t n = 0;

    cp->pid = -1;
    cp->port = 0;
    cp->in_fd = -1;
    if (pipe(fds) != 0)
        return -1;
    cp->pid = fork();
    if (cp->pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (cp->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    while (n + 1 < sizeof(line)) {
        struct pollfd p = {fds[0], POLLIN, 0};
        if (poll(&p, 1, timeout_ms) <= 0)
            break;
        ssize_t r = read(fds[0], line + n, 1);
        if (r <= 0)
            break;
        if (line[n] == '\n') {
            line[n] = '\0';
            if (sscanf(line, "PORT %d", &cp->port) == 1)
                break;
            n = 0;
            continue;
        }
        n++;
    }
    close(fds[0]);
    if (cp->port <= 0) {
        childproc_stop(cp);
        return -1;
    }
    return 0;
}

int childproc_start_piped(struct childproc *cp, char *const argv[], int timeout_ms, char *line,
                          size_t cap)
{
    int in[2], out[2];
    size_t n = 0;

    cp->pid = -1;
    cp->port = 0;
    cp->in_fd = -1;
    if (cap == 0 || pipe(in) != 0)
        return -1;
    if (pipe(out) != 0) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    cp->pid = fork();
    if (cp->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    cp->in_fd = in[1];
    while (cp->pid > 0 && n + 1 < cap) {
        struct pollfd p = {out[0], POLLIN, 0};
        if (poll(&p, 1, timeout_ms) != 1 || read(out[0], line + n, 1) != 1 || line[n] == '\n')
            break;
        n++;
    }
    line[n] = '\0';
    close(out[0]);
    if (cp->pid < 0 || n == 0) {
        childproc_stop(cp);
        return -1;
    }
    return 0;
}

void childproc_stop(struct childproc *cp)
{
    if (cp->in_fd >= 0) {
        close(cp->in_fd);
        cp->in_fd = -1;
        for (int i = 0; cp->pid > 0 && i < 500; i++) {
            if (waitpid(cp->pid, NULL, WNOHANG) == cp->pid) {
                cp->pid = -1;
                return;
            }
            struct timespec ts = {0, 10 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    if (cp->pid <= 0)
        return;
    kill(cp->pid, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(cp->pid, NULL, WNOHANG) == cp->pid) {
            cp->pid = -1;
            return;
        }
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(cp->pid, SIGKILL);
    waitpid(cp->pid, NULL, 0);
    cp->pid = -1;
}
