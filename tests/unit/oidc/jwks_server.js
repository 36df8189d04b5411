// A local HTTPS issuer stand-in for the OIDC tests (Node 20, built-in modules only).
// Usage: node jwks_server.js WORKDIR. Generates a self-signed certificate for 127.0.0.1 with
// the openssl command line into WORKDIR/cert.pem (the tests pass it to libcurl as the CA),
// listens on 127.0.0.1 port 0 and prints "PORT <n>". Exits when stdin closes or after 300 s.
//
// Served:  GET /.well-known/openid-configuration    {"issuer": <issuer>, "jwks_uri": <base>/jwks}
//          GET /.well-known/oauth-authorization-server  (same document, RFC 8414)
//          GET /jwks                                  the current JWKS, with Cache-Control if set
// Control: POST /ctl/jwks (body: JWKS)   POST /ctl/fail (body "1"/"0": 503 on every document)
//          POST /ctl/cache-control (body: header value, "" for none)
//          POST /ctl/issuer (body: issuer in the documents)  POST /ctl/oidc (body "0": 404 on
//          the OIDC document)  GET /ctl/count -> {"jwks":n,"oidc":n,"oauth":n,"jwks_b":n,...}
// A second issuer, <base>/b, for the several-issuers tests:
//          GET /b/.well-known/openid-configuration  {"issuer": <base>/b, "jwks_uri": <base>/b/jwks}
//          GET /b/jwks                              POST /ctl/jwks-b (body: JWKS)
// RFC 7662 introspection, for the opaque-token tests:
//          POST /introspect (form token=...; Basic client auth "rs:rs-secret", else 401)
//          answers ctl/introspect's JSON for token "good", {"active":false} for others;
//          POST /ctl/introspect (body: the JSON for "good")
//          POST /ctl/introspect-mode (body "ok", "down" (503), "slow" (answers after 3 s),
//          "garbage" (not JSON), "hold" (answers once POST /ctl/release comes))
'use strict';
const https = require('https');
const path = require('path');
const { execFileSync } = require('child_process');

const dir = process.argv[2];
const key = path.join(dir, 'key.pem');
const cert = path.join(dir, 'cert.pem');
execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
  '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
  '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });

const state = { jwks: '{"keys":[]}', jwksB: '{"keys":[]}', fail: false, cacheControl: '',
  issuer: null, oidc: true, introspect: '{"active":true}', introspectMode: 'ok',
  count: { jwks: 0, oidc: 0, oauth: 0, jwks_b: 0, oidc_b: 0, introspect: 0 } };
const held = []; // answers waiting for /ctl/release (mode "hold")
let base = '';

function send(res, status, body, headers) {
  res.writeHead(status, Object.assign({ 'content-type': 'application/json' }, headers || {}));
  res.end(body);
}

const server = https.createServer({ key: require('fs').readFileSync(key),
  cert: require('fs').readFileSync(cert) }, (req, res) => {
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', () => {
    const url = req.url;
    if (req.method === 'POST' && url.startsWith('/ctl/')) {
      const what = url.slice(5);
      if (what === 'jwks') state.jwks = body;
      else if (what === 'jwks-b') state.jwksB = body;
      else if (what === 'introspect') state.introspect = body;
      else if (what === 'introspect-mode') state.introspectMode = body;
      else if (what === 'fail') state.fail = body === '1';
      else if (what === 'cache-control') state.cacheControl = body;
      else if (what === 'issuer') state.issuer = body;
      else if (what === 'oidc') state.oidc = body !== '0';
      else if (what === 'release') held.splice(0).forEach((answer) => answer());
      else return send(res, 404, '{}');
      return send(res, 200, '{}');
    }
    if (url === '/ctl/count') return send(res, 200, JSON.stringify(state.count));
    const doc = () => JSON.stringify({ issuer: state.issuer || base + '/', jwks_uri: base + '/jwks' });
    if (url === '/.well-known/openid-configuration') {
      state.count.oidc++;
      if (state.fail) return send(res, 503, '{}');
      if (!state.oidc) return send(res, 404, '{}');
      return send(res, 200, doc());
    }
    if (url === '/.well-known/oauth-authorization-server') {
      state.count.oauth++;
      if (state.fail) return send(res, 503, '{}');
      return send(res, 200, doc());
    }
    if (url === '/b/.well-known/openid-configuration') {
      state.count.oidc_b++;
      return send(res, 200, JSON.stringify({ issuer: base + '/b', jwks_uri: base + '/b/jwks' }));
    }
    if (url === '/b/jwks') {
      state.count.jwks_b++;
      return send(res, 200, state.jwksB);
    }
    if (url === '/introspect' && req.method === 'POST') {
      state.count.introspect++;
      const auth = req.headers.authorization || '';
      const want = 'Basic ' + Buffer.from('rs:rs-secret').toString('base64');
      const token = new URLSearchParams(body).get('token');
      const answer = () => {
        if (auth !== want) return send(res, 401, '{"error":"invalid_client"}');
        if (req.headers['content-type'] !== 'application/x-www-form-urlencoded')
          return send(res, 400, '{"error":"invalid_request"}');
        if (state.introspectMode === 'down') return send(res, 503, '{}');
        if (state.introspectMode === 'garbage') return send(res, 200, '{"active":tru');
        send(res, 200, token === 'good' ? state.introspect : '{"active":false}');
      };
      if (state.introspectMode === 'slow') return setTimeout(answer, 3000);
      if (state.introspectMode === 'hold') return void held.push(answer);
      return answer();
    }
    if (url === '/jwks') {
      state.count.jwks++;
      if (state.fail) return send(res, 503, '{}');
      const h = state.cacheControl ? { 'cache-control': state.cacheControl } : {};
      return send(res, 200, state.jwks, h);
    }
    send(res, 404, '{}');
  });
});

server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  base = 'https://127.0.0.1:' + port;
  process.stdout.write('PORT ' + port + '\n');
});
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(0), 300000).unref();
