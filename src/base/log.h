/* Logging for the daemon and the CLI (libraries never log). One line per event, key=value. */
#ifndef WDN_BASE_LOG_H
#define WDN_BASE_LOG_H

#include <stdbool.h>

enum wdn_log_level { WDN_LOG_ERROR = 0, WDN_LOG_WARN, WDN_LOG_INFO, WDN_LOG_DEBUG };

/** The current level; read without a lock (a torn read only misfiles one line). */
extern int wdn_log_level;

/**
 * Sets the program name shown in each line, the level, and whether lines are JSON objects
 * instead of `time=... level=... msg`. Safe to call again (e.g. on reload).
 */
void wdn_log_init(const char *prog, enum wdn_log_level level, bool json);
/** Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int wdn_log_level_parse(const char *s);
/** Writes one line atomically to stderr. Prefer the macros: they skip formatting below level. */
void wdn_log_write(enum wdn_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Logs at error level and exits with status 1. */
_Noreturn void wdn_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define WDN__LOG(lvl, ...)                                                                         \
    do {                                                                                           \
        if (wdn_log_level >= (lvl))                                                                \
            wdn_log_write((lvl), __VA_ARGS__);                                                     \
    } while (0)
/* No level is below error: error lines are always written (no test of the level, whose false
 * side no run could take). */
#define wdn_log_error(...) wdn_log_write(WDN_LOG_ERROR, __VA_ARGS__)
#define wdn_log_warn(...) WDN__LOG(WDN_LOG_WARN, __VA_ARGS__)
#define wdn_log_info(...) WDN__LOG(WDN_LOG_INFO, __VA_ARGS__)
#define wdn_log_debug(...) WDN__LOG(WDN_LOG_DEBUG, __VA_ARGS__)

#endif
