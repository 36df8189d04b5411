// The app behind each sidecar of the network-namespace test: answers every request with its
// instance name and the caller the sidecar vouched for, as JSON.
// Usage: node app.js INSTANCE PORT   (listens on 127.0.0.1:PORT of its namespace)
'use strict';
const http = require('http');
const [instance, port] = [process.argv[2], Number(process.argv[3])];
http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
        res.writeHead(200, {'Content-Type': 'application/json'});
        res.end(JSON.stringify({instance, caller: req.headers['dapr-caller-app-id'] || null}));
    });
}).listen(port, '127.0.0.1', () => console.log(`app ${instance} on ${port}`));
