// Prints a TCP port on 127.0.0.1 that is free now, for a test that binds it a moment later.
// Chosen at random below the kernel's ephemeral range (net.ipv4.ip_local_port_range, 32768 and
// up by default): the kernel gives port-0 listeners and outgoing connections ports from that
// range only, so the many processes of a parallel test run cannot take this one in between (a
// port-0 pick, released and bound again later, can be: flakes.md, e2e_sidecar_peers 13:40).
// Two tests drawing the same number at the same moment: about 1 in 10,000. Falls back to a
// port-0 pick when the range starts too low to leave room below it.
"use strict";
const fs = require("fs");
const net = require("net");

let first = 32768;
try {
  first = parseInt(fs.readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8"), 10);
} catch (e) {
  /* not Linux: the default */
}
const lo = 20000;
const hi = first - 1;

function listen(port, onError) {
  const s = net.createServer();
  s.once("error", onError);
  s.listen(port, "127.0.0.1", () => {
    const p = s.address().port;
    s.close(() => console.log(p));
  });
}

function draw(left) {
  if (hi - lo < 1000 || left === 0) {
    listen(0, (e) => {
      console.error(`free-port: ${e.message}`);
      process.exit(1);
    });
    return;
  }
  listen(lo + Math.floor(Math.random() * (hi - lo + 1)), () => draw(left - 1));
}
draw(50);
