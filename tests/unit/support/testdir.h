/* The test program's temporary folder (one per process): made under /tmp with WARDEN_HOME set
 * to its "home" subfolder, so a sidecar or a CLI under test never touches the user's; files
 * written into it by relative name; removed with everything in it at the end. */
#ifndef WDN_TESTS_TESTDIR_H
#define WDN_TESTS_TESTDIR_H

#include <stddef.h>

/** Makes /tmp/wdn-<name>-XXXXXX and points WARDEN_HOME at its "home"; its path, or NULL. */
const char *testdir_make(const char *name);
/** The folder testdir_make made. */
const char *testdir(void);
/** testdir()/rel into out (cap bytes); out. */
const char *testdir_path(const char *rel, char *out, size_t cap);
/** Makes the folder testdir()/rel (it may exist already); its path into out; fails the test
 * when it cannot. */
const char *testdir_mkdir(const char *rel, char *out, size_t cap);
/** Writes text to testdir()/rel (replacing it at once: a new file renamed over it); fails the
 * test when it cannot. */
void testdir_write(const char *rel, const char *text);
/** Removes the folder and everything in it. 0 or -1. */
int testdir_remove(void);

#endif
