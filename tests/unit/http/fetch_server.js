// Test servers for tests/unit/http/test_fetch.c (Node 20, built-in modules only).
// Usage: node fetch_server.js WORKDIR. Writes with the openssl command line, into WORKDIR:
//   ca.pem        the test CA; server.pem is signed by it for localhost, fetch.test, 127.0.0.1
//   other_ca.pem  another CA that signed nothing we serve (the "untrusted CA" case)
//   wrong.pem     signed by ca.pem, but for DNS:other.example only (the "wrong name" case)
// Listens on 127.0.0.1, port 0 each, and prints "PORTS <http> <https> <https-wrong> <proxy>".
// Exits when stdin closes or after 120 s.
//
// The http and https servers answer by hand-written bytes so every framing can be produced:
//   /cl            200, Content-Length: 5, "hello"
//   /chunked       200, chunked "ab" + "cd"
//   /close         200, no length, "until-close" then the connection closes
//   /big           200, Content-Length 4096 of 'x'      /bigchunked  the same, chunked
//   /bighead       200 with a 15 KB head (five 3000-byte headers)
//   /hang          reads the request, never answers
//   /continue      100 Continue, then 200 "after-100"
//   /stream        200 text/event-stream, "data: one\n\n" then silence (until the client leaves)
//   /flood         200 text/event-stream written as fast as the client reads, forever
//   /short         Content-Length 10 but 3 bytes, then close
//   /redirect      302 to /cl (must be returned, not followed)
//   anything else  200 with the request head and body echoed back as the body
// The proxy: CONNECT host:port opens a tunnel (counted); an absolute-form request is answered
// by the proxy itself with "proxied " + the request head; GET /stats returns the counts.
'use strict';
const net = require('net');
const tls = require('tls');
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const dir = process.argv[2];
const f = (n) => path.join(dir, n);
const ossl = (args) => execFileSync('openssl', args, { stdio: 'ignore' });
function ca(name) {
  ossl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f(name + '_key.pem'), '-out', f(name + '.pem'), '-days', '1', '-subj', '/CN=' + name,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
}
function leaf(name, san) {
  ossl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', f(name + '_key.pem'), '-out', f(name + '.csr'), '-subj', '/CN=' + name]);
  fs.writeFileSync(f(name + '.ext'), 'subjectAltName=' + san + '\n');
  ossl(['x509', '-req', '-in', f(name + '.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca_key.pem'),
    '-CAcreateserial', '-out', f(name + '.pem'), '-days', '1', '-extfile', f(name + '.ext')]);
}
ca('ca');
ca('other_ca');
leaf('server', 'DNS:localhost,DNS:fetch.test,IP:127.0.0.1');
leaf('wrong', 'DNS:other.example');

function answer(sock, head, body) {
  const target = head.split(' ')[1] || '/';
  const p = target.replace(/^https?:\/\/[^/]*/, '');
  const w = (s) => sock.write(s);
  const x4096 = 'x'.repeat(4096);
  if (p === '/cl') return sock.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello');
  if (p === '/chunked') return sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n2\r\ncd\r\n0\r\n\r\n');
  if (p === '/close') { w('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-'); return setTimeout(() => sock.end('close'), 50); }
  if (p === '/big') return sock.end('HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n\r\n' + x4096);
  if (p === '/bigchunked') return sock.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n' + x4096 + '\r\n0\r\n\r\n');
  if (p === '/bighead') return sock.end('HTTP/1.1 200 OK\r\n' + [1, 2, 3, 4, 5].map((i) => 'X-Big-' + i + ': ' + 'y'.repeat(3000) + '\r\n').join('') + 'Content-Length: 0\r\n\r\n');
  if (p === '/hang') return;
  if (p === '/continue') return sock.end('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nafter-100');
  if (p === '/stream') return w('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\ndata: one\n\n');
  if (p === '/flood') {
    w('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n');
    const chunk = 'data: ' + 'z'.repeat(8000) + '\n\n';
    const pump = () => { while (!sock.destroyed && sock.write(chunk)); };
    sock.on('drain', pump);
    sock.on('close', () => sock.removeAllListeners('drain'));
    return pump();
  }
  if (p === '/short') return sock.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
  if (p === '/redirect') return sock.end('HTTP/1.1 302 Found\r\nLocation: /cl\r\nContent-Length: 0\r\n\r\n');
  const echo = head + '\r\n\r\n' + body;
  return sock.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ' +
    Buffer.byteLength(echo) + '\r\nWWW-Authenticate: Bearer realm="t"\r\nCache-Control: max-age=60\r\n\r\n' + echo);
}

// Reads one request (head + Content-Length body) from sock, then calls fn(head, body).
function onRequest(sock, fn) {
  let buf = Buffer.alloc(0);
  let done = false;
  sock.on('error', () => {});
  sock.on('data', (d) => {
    if (done) return;
    buf = Buffer.concat([buf, d]);
    const i = buf.indexOf('\r\n\r\n');
    if (i < 0) return;
    const head = buf.slice(0, i).toString('latin1');
    const m = /\r\ncontent-length: *(\d+)/i.exec(head);
    const need = m ? parseInt(m[1], 10) : 0;
    if (buf.length < i + 4 + need) return;
    done = true;
    fn(head, buf.slice(i + 4, i + 4 + need).toString('latin1'), buf.slice(i + 4 + need));
  });
}

const stats = { connects: 0, forwards: 0 };
const httpSrv = net.createServer((s) => onRequest(s, (h, b) => answer(s, h, b)));
const opts = (n) => ({ key: fs.readFileSync(f(n + '_key.pem')), cert: fs.readFileSync(f(n + '.pem')) });
const httpsSrv = tls.createServer(opts('server'), (s) => onRequest(s, (h, b) => answer(s, h, b)));
const wrongSrv = tls.createServer(opts('wrong'), (s) => onRequest(s, (h, b) => answer(s, h, b)));
const proxySrv = net.createServer((s) => onRequest(s, (head, body, rest) => {
  const [method, target] = head.split(' ');
  if (method === 'CONNECT') {
    stats.connects++;
    const port = target.slice(target.lastIndexOf(':') + 1);
    const up = net.connect(parseInt(port, 10), '127.0.0.1', () => { // every host is here
      s.write('HTTP/1.1 200 Connection established\r\nX-Proxy-Auth: ' +
        (/\r\nproxy-authorization: *([^\r]*)/i.exec(head) || [0, 'none'])[1] + '\r\n\r\n');
      if (rest.length) up.write(rest);
      s.removeAllListeners('data');
      s.pipe(up); up.pipe(s);
    });
    up.on('error', () => s.end('HTTP/1.1 502 Bad Gateway\r\n\r\n'));
    return;
  }
  if (target === '/stats') {
    const j = JSON.stringify(stats);
    return s.end('HTTP/1.1 200 OK\r\nContent-Length: ' + j.length + '\r\n\r\n' + j);
  }
  stats.forwards++;
  const out = 'proxied ' + head;
  s.end('HTTP/1.1 200 OK\r\nContent-Length: ' + Buffer.byteLength(out) + '\r\n\r\n' + out);
}));
for (const srv of [httpsSrv, wrongSrv]) srv.on('tlsClientError', () => {});

let ready = 0;
const all = [httpSrv, httpsSrv, wrongSrv, proxySrv];
for (const srv of all) {
  srv.listen(0, '127.0.0.1', () => {
    if (++ready === all.length)
      process.stdout.write('PORTS ' + all.map((x) => x.address().port).join(' ') + '\n');
  });
}
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
setTimeout(() => process.exit(0), 120000).unref();
