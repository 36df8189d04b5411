/* Test helpers for network tests: free ports, raw TCP clients with timeouts. */
#ifndef WDN_TESTS_TESTNET_H
#define WDN_TESTS_TESTNET_H

#include <stddef.h>
#include <sys/types.h>

/** A free TCP port on 127.0.0.1 (bound to port 0 and released), or 0 on failure. */
int testnet_free_port(void);
/** Connects to 127.0.0.1:port with a receive timeout of timeout_ms; returns fd or -1. */
int testnet_connect(int port, int timeout_ms);
/** Sends all of buf. 0 or -1. */
int testnet_send_all(int fd, const void *buf, size_t len);
/**
 * Reads until the peer closes, the buffer is full or the timeout fires. Returns bytes read
 * (NUL-terminated in buf, cap includes the NUL); *closed is set to 1 when the peer closed.
 */
ssize_t testnet_recv_until_close(int fd, char *buf, size_t cap, int *closed);
/** Waits until 127.0.0.1:port accepts connections, up to timeout_ms. 0 or -1. */
int testnet_wait_port(int port, int timeout_ms);

#endif
