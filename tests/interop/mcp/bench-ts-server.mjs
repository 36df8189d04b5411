// The benchmark's reference: a stateless MCP server built with the official TypeScript SDK as
// its stateless example does it (a server and a transport per request, JSON responses), with
// the same `add` tool as mcp_server. With
// BENCH_JWKS set (a JWKS document), every request must carry a bearer token that jose verifies
// against it (BENCH_ISSUER, BENCH_AUDIENCE, ES256 and RS256), as a TypeScript MCP server
// protecting itself would; 401 otherwise.
// Usage: node bench-ts-server.mjs PORT
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';

function makeServer() {
  const server = new McpServer({ name: 'ts-bench', version: '1.0.0' });
  server.registerTool('add', { description: 'Add two numbers together.', inputSchema: { a: z.number(), b: z.number() } },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }));
  return server;
}

const jwks = process.env.BENCH_JWKS ? createLocalJWKSet(JSON.parse(process.env.BENCH_JWKS)) : null;
const verifyOptions = { issuer: process.env.BENCH_ISSUER, audience: process.env.BENCH_AUDIENCE, algorithms: ['ES256', 'RS256'] };

http.createServer(async (req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  await new Promise((r) => req.on('end', r));
  if (jwks) {
    const m = /^Bearer (.+)$/i.exec(req.headers.authorization || '');
    try {
      if (!m) throw new Error('no token');
      await jwtVerify(m[1], jwks, verifyOptions);
    } catch {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer' }).end('Unauthorized');
      return;
    }
  }
  // One server per request: requests interleave at every await, and an McpServer takes one
  // transport at a time.
  const server = makeServer();
  const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => { t.close(); server.close(); });
  await server.connect(t);
  await t.handleRequest(req, res, body ? JSON.parse(body) : undefined);
}).listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
