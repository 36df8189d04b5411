/* Test helper: captures what the process writes to stderr (the daemon's log lines) in a file,
 * so a test can assert the log line a decision leaves, waiting for it without fixed sleeps. */
#ifndef WDN_TESTS_LOGCAP_H
#define WDN_TESTS_LOGCAP_H

#include <stdbool.h>

/** Redirects fd 2 into a fresh temporary file (until logcap_end). 0 or -1. */
int logcap_begin(void);
/** True once the captured text holds needle; polls up to timeout_ms. */
bool logcap_wait(const char *needle, int timeout_ms);
/** Number of captured lines holding needle, now. */
int logcap_count(const char *needle);
/** Forgets what was captured so far (later waits see only new lines). */
void logcap_mark(void);
/** Puts stderr back and removes the file; prints the capture to stdout when dump is true. */
void logcap_end(bool dump);

#endif
