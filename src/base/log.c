/* Log lines are built in a stack buffer and written with one write(2), so lines from several
 * worker threads never interleave. Messages are formatted by the caller as key=value text. */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int wdn_log_level = WDN_LOG_INFO;
static char log_prog[32] = "warden";
static bool log_json;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void wdn_log_init(const char *prog, enum wdn_log_level level, bool json)
{
    snprintf(log_prog, sizeof(log_prog), "%s", prog ? prog : "warden");
    wdn_log_level = level;
    log_json = json;
}

int wdn_log_level_parse(const char *s)
{
    for (int i = 0; i <= WDN_LOG_DEBUG; i++) {
        if (s && strcmp(s, level_names[i]) == 0)
            return i;
    }
    if (s && strcmp(s, "warning") == 0)
        return WDN_LOG_WARN;
    return -1;
}

/* Appends msg to line as a JSON string body, escaping what JSON requires. */
static size_t json_escape(char *out, size_t cap, const char *msg)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)msg; *p && o + 7 < cap; p++) {
        if (*p == '"' || *p == '\\') {
            out[o++] = '\\';
            out[o++] = (char)*p;
        } else if (*p < 0x20) {
            o += (size_t)snprintf(out + o, cap - o, "\\u%04x", *p);
        } else {
            out[o++] = (char)*p;
        }
    }
    return o;
}

static void log_vwrite(enum wdn_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void log_vwrite(enum wdn_log_level level, const char *fmt, va_list ap)
{
    char msg[2048], line[4608], ts[40];
    struct timespec now;
    struct tm tm;
    size_t n;
    int k;

    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* Messages carry request-derived text (paths, client IDs): a control byte must not start a
     * forged log line or drive a terminal, so each becomes '?'. */
    for (unsigned char *p = (unsigned char *)msg; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = '?';
    }
    if (log_json) {
        k = snprintf(line, sizeof(line), "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"app\":\"%s\",\"msg\":\"",
                     ts, now.tv_nsec / 1000000, level_names[level], log_prog);
        n = (size_t)k;
        n += json_escape(line + n, sizeof(line) - n - 4, msg);
        memcpy(line + n, "\"}\n", 3);
        n += 3;
    } else {
        k = snprintf(line, sizeof(line), "time=%s.%03ldZ level=%s app=%s %s\n", ts,
                     now.tv_nsec / 1000000, level_names[level], log_prog, msg);
        n = k < 0 ? 0 : (size_t)k >= sizeof(line) ? sizeof(line) - 1 : (size_t)k;
        line[n - 1] = '\n';
    }
    /* A short write to stderr is not worth retrying: logging must never block the caller. */
    ssize_t w = write(STDERR_FILENO, line, n);
    (void)w;
}

void wdn_log_write(enum wdn_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(level, fmt, ap);
    va_end(ap);
}

_Noreturn void wdn_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(WDN_LOG_ERROR, fmt, ap);
    va_end(ap);
    exit(1);
}
