// Module resolve hook for fs-globsync-shim.mjs: only the conformance bundle is redirected.
export async function resolve(specifier, context, next) {
  if ((specifier === 'fs' || specifier === 'node:fs') &&
      context.parentURL && (context.parentURL.includes('/@modelcontextprotocol/conformance/') ||
       context.parentURL.includes('/conformance-2026-07-28/'))) {
    return { url: new URL('./fs-with-globsync.mjs', import.meta.url).href, shortCircuit: true };
  }
  return next(specifier, context);
}
