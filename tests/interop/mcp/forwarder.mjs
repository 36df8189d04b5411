// A plain forwarder standing in for the sidecars in tests: /v1.0/invoke/<app>/method/<path>
// goes to 127.0.0.1:<port of app> /<path>. Usage: node forwarder.mjs PORT app=port...
// Prints "ready" when listening. Exits when stdin closes (the test runner owns its lifetime).
import http from 'node:http';

const [port, ...maps] = process.argv.slice(2);
const apps = Object.fromEntries(maps.map((m) => m.split('=')));
const hop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'host']);

const server = http.createServer((req, res) => {
  const m = /^\/v1\.0\/invoke\/([^/]+)\/method\/(.*)$/.exec(req.url);
  if (!m || !apps[m[1]]) {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errorCode: 'ERR_DIRECT_INVOKE', message: 'no such app' }));
    return;
  }
  const headers = {};
  for (const [k, v] of Object.entries(req.headers)) if (!hop.has(k)) headers[k] = v;
  headers.host = `127.0.0.1:${apps[m[1]]}`;
  const up = http.request({ host: '127.0.0.1', port: apps[m[1]], method: req.method, path: `/${m[2]}`, headers }, (ur) => {
    const h = {};
    for (const [k, v] of Object.entries(ur.headers)) if (!hop.has(k)) h[k] = v;
    res.writeHead(ur.statusCode, h);
    ur.pipe(res);
  });
  up.on('error', () => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errorCode: 'ERR_DIRECT_INVOKE', message: 'upstream failed' }));
  });
  req.pipe(up);
});
server.listen(Number(port), '127.0.0.1', () => console.log('ready'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 300000).unref();
