// A tiny test app for the sidecar end-to-end tests. Every request is answered with what the app
// saw (method, URL, headers, body) as JSON, except:
//   /sse            three server-sent events, 400 ms apart (streaming through the sidecars)
//   /status/N       an empty answer with status N
//   /slow?ms=N      answers after N milliseconds
//   a JSON-RPC tools/list body: the tools add, echo, admin_reset (as SSE with ?sse=1)
// Usage: node app.js PORTFILE   (listens on a free 127.0.0.1 port and writes it to PORTFILE)
'use strict';
const http = require('http');
const fs = require('fs');

const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
        const url = new URL(req.url, 'http://x');
        if (url.pathname === '/sse') {
            res.writeHead(200, {'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache'});
            let i = 0;
            const tick = () => {
                res.write(`data: event ${i} at ${Date.now()}\n\n`);
                if (++i < 3) setTimeout(tick, 400); else res.end();
            };
            tick();
            return;
        }
        let rpc = null;
        try { rpc = JSON.parse(Buffer.concat(chunks).toString()); } catch (e) { rpc = null; }
        if (rpc && rpc.method === 'tools/list') {
            const answer = JSON.stringify({jsonrpc: '2.0', id: rpc.id, result: {tools: [
                {name: 'add', description: 'Add'}, {name: 'echo'}, {name: 'admin_reset'}]}});
            if (url.searchParams.get('sse') === '1') {
                res.writeHead(200, {'Content-Type': 'text/event-stream'});
                res.end(`event: message\nid: 1\ndata: ${answer}\n\n`);
            } else {
                res.writeHead(200, {'Content-Type': 'application/json'});
                res.end(answer);
            }
            return;
        }
        const m = /^\/status\/(\d{3})$/.exec(url.pathname);
        if (m) {
            res.writeHead(Number(m[1]));
            res.end();
            return;
        }
        const answer = () => {
            const body = JSON.stringify({
                method: req.method,
                url: req.url,
                headers: req.headers,
                body: Buffer.concat(chunks).toString(),
            });
            res.writeHead(200, {'Content-Type': 'application/json'});
            res.end(body);
        };
        if (url.pathname === '/slow') setTimeout(answer, Number(url.searchParams.get('ms') || 100));
        else answer();
    });
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(process.argv[2], String(server.address().port));
});
process.on('SIGTERM', () => process.exit(0));
setTimeout(() => process.exit(0), 600 * 1000).unref();
