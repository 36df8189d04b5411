// Reads a server-sent event stream and prints, per event, the milliseconds since the request
// started, so a test can tell events streamed one by one from a buffered response.
// Usage: node sse_client.js URL   -> "status=200 events=3 times=12,415,820"
'use strict';
const http = require('http');
const t0 = Date.now();
const times = [];
const req = http.get(process.argv[2], (res) => {
    let buf = '';
    res.setEncoding('utf8');
    res.on('data', (d) => {
        buf += d;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
            times.push(Date.now() - t0);
            buf = buf.slice(i + 2);
        }
    });
    res.on('end', () => {
        console.log(`status=${res.statusCode} events=${times.length} times=${times.join(',')}`);
    });
});
req.on('error', (e) => console.log(`error=${e.message}`));
setTimeout(() => { console.log('timeout'); process.exit(1); }, 15000).unref();
