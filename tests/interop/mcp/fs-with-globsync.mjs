// node:fs plus the globSync that Node 20 lacks (see fs-globsync-shim.mjs).
import fs from 'node:fs';

export * from 'node:fs';
export default fs;
export function globSync() {
  throw new Error('globSync is not available on this Node version (needed only by tier-check)');
}
