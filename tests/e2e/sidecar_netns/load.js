// Keeps CONC requests in flight against URL until the file STOP exists (or 120 s passed) and
// prints one line: the count per status and per answering instance, e.g.
// "200=5231 b1=2600 b2=2631", with "error=N" for requests that failed outright and
// "truncated=N" for responses cut short.
// Usage: node load.js URL CONC STOP
'use strict';
const http = require('http');
const fs = require('fs');
const [url, conc, stop] = [process.argv[2], Number(process.argv[3]), process.argv[4]];
const agent = new http.Agent({keepAlive: true, maxSockets: conc});
const counts = {};
const add = (k) => { counts[k] = (counts[k] || 0) + 1; };
const deadline = Date.now() + 120000;
let running = 0;
function done() {
    if (--running === 0) {
        console.log(Object.entries(counts).map(([k, v]) => `${k}=${v}`).sort().join(' '));
        process.exit(0);
    }
}
function one() {
    if (fs.existsSync(stop) || Date.now() > deadline)
        return done();
    let over = false;
    const end = (what, body) => {
        if (over)
            return;
        over = true;
        add(what);
        if (body) {
            try {
                const who = JSON.parse(body).instance;
                if (who) add(who);
            } catch (e) { /* an error answer */ }
        }
        one();
    };
    const req = http.get(url, {agent}, (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => end(res.statusCode, Buffer.concat(chunks).toString()));
        // A response cut short (the upstream broke mid-body) ends without 'end'.
        res.on('close', () => end('truncated'));
    });
    req.on('error', () => end('error'));
}
for (let i = 0; i < conc; i++) { running++; one(); }
