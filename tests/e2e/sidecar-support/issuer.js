// A local OAuth2/OIDC test issuer for the sidecar end-to-end tests, on Node's built-in crypto:
// an RS256 key, OIDC discovery, a JWKS, and a /token endpoint that mints whatever the test asks.
//   GET /.well-known/openid-configuration   {"issuer": ISSUER, "jwks_uri": ISSUER + "jwks"}
//   GET /jwks                               the public key (500 while /admin/jwks-off is set)
//   GET /token?aud=A&exp=SECONDS&scope=S&iss=I&sub=U&kid=K&jti=J&client_id=C   a signed JWT
//                                                (exp relative to now)
//   GET /admin/jwks-off, /admin/jwks-on     make the JWKS endpoint fail or work
// Usage: node issuer.js PORTFILE [--https CERT KEY] [--jwks-off]
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');

const args = process.argv.slice(2);
const portFile = args[0];
let tls = null;
let jwksOff = args.includes('--jwks-off');
const hi = args.indexOf('--https');
if (hi >= 0) tls = {cert: fs.readFileSync(args[hi + 1]), key: fs.readFileSync(args[hi + 2])};

const {publicKey, privateKey} = crypto.generateKeyPairSync('rsa', {modulusLength: 2048});
const other = crypto.generateKeyPairSync('rsa', {modulusLength: 2048}); // a key nobody trusts
const kid = 'test-key-1';
const jwk = Object.assign(publicKey.export({format: 'jwk'}), {kid, alg: 'RS256', use: 'sig'});
let issuer = '';

const b64u = (b) => Buffer.from(b).toString('base64url');
function sign(claims, opts) {
    const header = {alg: 'RS256', typ: 'JWT', kid: opts.kid || kid};
    const input = b64u(JSON.stringify(header)) + '.' + b64u(JSON.stringify(claims));
    const key = opts.untrusted ? other.privateKey : privateKey;
    return input + '.' + b64u(crypto.sign('sha256', Buffer.from(input), key));
}

function handler(req, res) {
    const url = new URL(req.url, 'http://x');
    const json = (code, obj) => {
        res.writeHead(code, {'Content-Type': 'application/json'});
        res.end(JSON.stringify(obj));
    };
    switch (url.pathname) {
    case '/.well-known/openid-configuration':
        return json(200, {issuer, jwks_uri: issuer + 'jwks', token_endpoint: issuer + 'token'});
    case '/jwks':
        if (jwksOff) return json(500, {error: 'off'});
        return json(200, {keys: [jwk]});
    case '/admin/jwks-off': jwksOff = true; return json(200, {});
    case '/admin/jwks-on': jwksOff = false; return json(200, {});
    case '/token': {
        const q = url.searchParams;
        const now = Math.floor(Date.now() / 1000);
        const claims = {
            iss: q.get('iss') || issuer,
            sub: q.get('sub') || 'test-client@clients',
            aud: q.get('aud') || 'https://api.test/',
            iat: now,
            exp: now + Number(q.get('exp') || 3600),
        };
        if (q.get('scope')) claims.scope = q.get('scope');
        if (q.get('jti')) claims.jti = q.get('jti');
        if (q.get('client_id')) claims.client_id = q.get('client_id');
        res.writeHead(200, {'Content-Type': 'text/plain'});
        return res.end(sign(claims, {kid: q.get('kid'), untrusted: q.get('untrusted') === '1'}));
    }
    default:
        res.writeHead(404);
        res.end();
    }
}

const server = tls ? https.createServer(tls, handler) : http.createServer(handler);
server.listen(0, '127.0.0.1', () => {
    const port = server.address().port;
    issuer = `${tls ? 'https' : 'http'}://127.0.0.1:${port}/`;
    fs.writeFileSync(portFile, String(port));
});
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.exit(0), 600 * 1000).unref();
