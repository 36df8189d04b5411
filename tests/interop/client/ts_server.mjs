// An MCP server built with the official TypeScript SDK and protected by the SDK's own OAuth
// example (DemoInMemoryAuthProvider: RFC 8414 metadata, dynamic registration, authorization
// code with PKCE approved at once, token introspection) on a second port, with its RFC 9728
// metadata and requireBearerAuth on /mcp, strict about the token's resource (RFC 8707).
// Tools: add, echo, slow (a minute, with progress). Prints "MCP <url>" when both listen; exits when stdin closes or after 300 s.
import express from 'express';
import net from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { mcpAuthMetadataRouter, getOAuthProtectedResourceMetadataUrl } from '@modelcontextprotocol/sdk/server/auth/router.js';
import { requireBearerAuth } from '@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js';
import { setupAuthServer } from '@modelcontextprotocol/sdk/examples/server/demoInMemoryOAuthProvider.js';
import { z } from 'zod';

const free = () => new Promise((resolve) => {
  const s = net.createServer();
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});
const mcpPort = await free(), authPort = await free();
const mcpUrl = new URL(`http://localhost:${mcpPort}/mcp`);
const oauth = setupAuthServer({ authServerUrl: new URL(`http://localhost:${authPort}`), mcpServerUrl: mcpUrl,
  strictResource: true });
const verifier = {
  async verifyAccessToken(token) {
    const r = await fetch(oauth.introspection_endpoint, { method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token }) });
    if (!r.ok) throw new Error('invalid token');
    const d = await r.json();
    return { token, clientId: d.client_id, scopes: d.scope ? d.scope.split(' ') : [], expiresAt: d.exp,
      resource: d.aud ? new URL(d.aud) : undefined };
  },
};
const app = express();
app.use(express.json());
app.use(mcpAuthMetadataRouter({ oauthMetadata: oauth, resourceServerUrl: mcpUrl, scopesSupported: ['mcp:tools'],
  resourceName: 'TypeScript SDK server' }));
const auth = requireBearerAuth({ verifier, requiredScopes: [], expectedResource: mcpUrl,
  resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(mcpUrl) });
// Cancellations are recorded on stdout for the test (stateless: no session ties them to the call).
app.post('/mcp', auth, (req, res, next) => {
  if (req.body?.method === 'notifications/cancelled') console.log(`CANCELLED ${req.body.params?.requestId}`);
  next();
});
app.post('/mcp', auth, async (req, res) => {
  const server = new McpServer({ name: 'ts-interop', version: '1.0.0' });
  server.tool('add', 'Add two numbers', { a: z.number(), b: z.number() },
    async ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }));
  server.tool('echo', 'Echo a message', { message: z.string() },
    async ({ message }) => ({ content: [{ type: 'text', text: `Echo: ${message}` }] }));
  server.tool('slow', 'Waits a minute, with progress', {}, async (_args, extra) => {
    for (let i = 0; i < 600 && !extra.signal.aborted; i++) {
      if (i % 10 === 0 && extra._meta?.progressToken !== undefined)
        await extra.sendNotification({ method: 'notifications/progress',
          params: { progressToken: extra._meta.progressToken, progress: i, total: 600 } });
      await new Promise((r) => setTimeout(r, 100));
    }
    return { content: [{ type: 'text', text: 'done' }] };
  });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
  res.on('close', () => { transport.close(); server.close(); });
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
app.listen(mcpPort, '127.0.0.1', () => console.log(`MCP ${mcpUrl.href}`));
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(0), 300000).unref();
