// A minimal OAuth2 authorization server and protected resource for the oauth2 client tests.
// Built-in modules only. Prints "PORT <n>" when listening. Client "cid" / secret "c s+cret&".
'use strict';
const http = require('http');

let fetches = 0;
let lifetime = 3600;
const CLIENT_ID = 'cid';
const SECRET = 'c s+cret&';

function send(res, status, obj, headers) {
  res.writeHead(status, Object.assign({'Content-Type': 'application/json', 'Cache-Control': 'no-store'}, headers || {}));
  res.end(JSON.stringify(obj));
}

const server = http.createServer((req, res) => {
  const base = `http://127.0.0.1:${server.address().port}`;
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const url = new URL(req.url, base);
    if (url.pathname === '/stats') return send(res, 200, {fetches});
    if (url.pathname === '/lifetime') { lifetime = Number(url.searchParams.get('s')); return send(res, 200, {lifetime}); }
    if (url.pathname === '/.well-known/oauth-protected-resource/mcp')
      return send(res, 200, {resource: `${base}/mcp`, authorization_servers: [`${base}/as`]});
    if (url.pathname === '/.well-known/oauth-protected-resource/evil')
      return send(res, 200, {resource: `https://elsewhere.example/evil`, authorization_servers: [`${base}/as`]});
    if (url.pathname === '/.well-known/oauth-authorization-server/as')
      return send(res, 200, {issuer: `${base}/as`, token_endpoint: `${base}/oauth/token`,
                             jwks_uri: `${base}/jwks`, token_endpoint_auth_methods_supported: ['client_secret_post']});
    if (url.pathname === '/mcp')
      return send(res, 401, {error: 'unauthorized'},
                  {'WWW-Authenticate': `Bearer realm="mcp", resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`});
    if (url.pathname !== '/oauth/token' || req.method !== 'POST') return send(res, 404, {error: 'not_found'});

    let p = {};
    const ct = req.headers['content-type'] || '';
    try {
      if (ct.startsWith('application/json')) p = JSON.parse(body);
      else p = Object.fromEntries(new URLSearchParams(body));
    } catch (e) { return send(res, 400, {error: 'invalid_request'}); }
    let id = p.client_id, secret = p.client_secret;
    const auth = req.headers.authorization;
    if (auth && auth.startsWith('Basic ')) {
      const dec = Buffer.from(auth.slice(6), 'base64').toString();
      const i = dec.indexOf(':');
      id = decodeURIComponent(dec.slice(0, i).replace(/\+/g, ' '));
      secret = decodeURIComponent(dec.slice(i + 1).replace(/\+/g, ' '));
    }
    if (p.grant_type !== 'client_credentials') return send(res, 400, {error: 'unsupported_grant_type'});
    if (id !== CLIENT_ID || secret !== SECRET)
      return send(res, 401, {error: 'invalid_client', error_description: 'bad credentials'}, {'WWW-Authenticate': 'Basic realm="t"'});
    fetches++;
    send(res, 200, {access_token: `tok-${fetches}-${p.audience || ''}-${p.resource || ''}-${p.scope || ''}`,
                    token_type: 'Bearer', expires_in: lifetime});
  });
});
server.listen(0, '127.0.0.1', () => { console.log(`PORT ${server.address().port}`); });
process.on('SIGTERM', () => process.exit(0));
