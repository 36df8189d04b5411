// The benchmark's reference: a stateless MCP server built with the official TypeScript SDK
// (one transport per request, JSON responses), with the same `add` tool as mcp_server.
// Usage: node bench-ts-server.mjs PORT
import http from 'node:http';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

const server = new McpServer({ name: 'ts-bench', version: '1.0.0' });
server.registerTool('add', { description: 'Add two numbers together.', inputSchema: { a: z.number(), b: z.number() } },
  async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }));

http.createServer(async (req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  await new Promise((r) => req.on('end', r));
  const t = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on('close', () => t.close());
  await server.connect(t);
  await t.handleRequest(req, res, body ? JSON.parse(body) : undefined);
}).listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
