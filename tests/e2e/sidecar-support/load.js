// Keeps CONC requests in flight against URL for SECONDS and prints the count per status, e.g.
// "200=5231" or "200=5000 403=12 error=1". Used to show that a configuration swap under load
// fails no in-flight request.
// Usage: node load.js URL CONC SECONDS ["Header: value"]
'use strict';
const http = require('http');
const [url, conc, secs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const headers = {};
if (process.argv[5]) {
    const i = process.argv[5].indexOf(':');
    headers[process.argv[5].slice(0, i).trim()] = process.argv[5].slice(i + 1).trim();
}
const agent = new http.Agent({keepAlive: true, maxSockets: conc});
const counts = {};
const end = Date.now() + secs * 1000;
let running = 0;
function one() {
    if (Date.now() >= end) {
        if (--running === 0) {
            console.log(Object.entries(counts).map(([k, v]) => `${k}=${v}`).sort().join(' '));
            process.exit(0);
        }
        return;
    }
    const req = http.get(url, {agent, headers}, (res) => {
        res.resume();
        res.on('end', () => { counts[res.statusCode] = (counts[res.statusCode] || 0) + 1; one(); });
    });
    req.on('error', () => { counts.error = (counts.error || 0) + 1; one(); });
}
for (let i = 0; i < conc; i++) { running++; one(); }
setTimeout(() => { console.log('timeout'); process.exit(1); }, (secs + 20) * 1000).unref();
