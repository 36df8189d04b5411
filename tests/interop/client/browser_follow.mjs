#!/usr/bin/env node
// A "browser" for an authorization server that approves at once (the TypeScript SDK's demo
// provider): GET the authorization URL without following its redirect, then GET the Location,
// which is `warden mcp`'s loopback listener. Used as WARDEN_BROWSER. Exit 0 when both answered.
const url = process.argv[2];
const r = await fetch(url, { redirect: 'manual' });
const loc = r.headers.get('location');
if (!loc) {
  console.error(`browser_follow: no redirect from ${url} (${r.status})`);
  process.exit(1);
}
const back = await fetch(loc);
process.exit(back.ok ? 0 : 1);
