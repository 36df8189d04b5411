// Node 20 shim for @modelcontextprotocol/conformance 0.1.16 (and 0.2.0-alpha), which imports `globSync` from "fs"
// (added in Node 22) although only its tier-check command uses it. Registered with
// `node --import ./fs-globsync-shim.mjs`: the "fs" import of the conformance bundle is resolved
// to fs-with-globsync.mjs, which re-exports node:fs plus a globSync that refuses to run.
import { register } from 'node:module';

register(new URL('./fs-globsync-hooks.mjs', import.meta.url));
