// The official MCP TypeScript SDK client, unmodified, pointed at a protected URL: it must find
// its own way in (the 401's resource_metadata, RFC 9728 document, RFC 8414/OIDC metadata,
// client credentials with the RFC 8707 resource), then list and call tools (add, then echo).
// Its ClientCredentialsProvider asks for the scopes it was configured with (SDK 1.32.2 sends
// clientMetadata.scope in the token request, not the scope of a 403 challenge), so step-up is
// two runs: without tools:echo the echo call ends in 403 insufficient_scope, with it it works.
// Usage: node client.mjs URL CLIENT_ID SECRET "SCOPES". Prints one JSON line: what the SDK got
// and every HTTP exchange it made (method, URL, status, WWW-Authenticate), for run.mjs.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';

const [, , url, clientId, clientSecret, scope] = process.argv;
const seen = [];

async function recordingFetch(input, init) {
  const res = await fetch(input, init);
  seen.push({
    method: init?.method ?? 'GET',
    url: String(input instanceof Request ? input.url : input),
    status: res.status,
    www: res.headers.get('www-authenticate'),
  });
  return res;
}

function claims(token) {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
  } catch {
    return null;
  }
}

const out = { seen };
const tokens = [];
const provider = new ClientCredentialsProvider({ clientId, clientSecret, scope, clientName: 'rs-interop' });
const save = provider.saveTokens.bind(provider);
provider.saveTokens = (t) => {
  tokens.push(claims(t.access_token));
  save(t);
};
try {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    authProvider: provider,
    fetch: recordingFetch,
  });
  const client = new Client({ name: 'rs-interop', version: '1.0.0' });
  await client.connect(transport);
  out.protocolVersion = transport.protocolVersion ?? null;
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  out.add = (await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })).content?.[0]?.text;
  try {
    out.echo = (await client.callTool({ name: 'echo', arguments: { message: 'hello' } }))
      .content?.[0]?.text;
  } catch (e) {
    out.echoError = String(e?.message ?? e);
  }
  await client.close();
} catch (e) {
  out.error = String(e?.stack ?? e);
}
out.tokens = tokens;
console.log(JSON.stringify(out));
