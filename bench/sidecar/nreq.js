// Sends exactly N GET requests to URL, CONC at a time over keep-alive connections, with an
// optional "Header: value", and prints how many were answered 200 (bench/sidecar/observe.sh).
// Usage: node nreq.js URL N CONC ["Header: value"]
'use strict';
const http = require('http');
const [url, n, conc] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const headers = {};
if (process.argv[5]) {
    const i = process.argv[5].indexOf(':');
    headers[process.argv[5].slice(0, i).trim()] = process.argv[5].slice(i + 1).trim();
}
const agent = new http.Agent({keepAlive: true, maxSockets: conc});
let sent = 0, done = 0, ok = 0;
function one() {
    if (sent >= n) return;
    sent++;
    http.get(url, {agent, headers}, (res) => {
        res.resume();
        res.on('end', () => { if (res.statusCode === 200) ok++; next(); });
    }).on('error', next);
}
function next() {
    if (++done === n) { console.log(ok); process.exit(0); }
    one();
}
for (let i = 0; i < conc; i++) one();
