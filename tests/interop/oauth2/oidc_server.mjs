// A third-party OAuth2 authorization server for interop tests: oidc-provider (panva) with the
// client credentials grant and RFC 8707 resource indicators, issuing JWT access tokens.
// Listens on a free port of 127.0.0.1 over plain HTTP and prints "PORT <n>" when ready.
// Clients: cid-basic (client_secret_basic) and cid-post (client_secret_post), secret
// "interop-secret-0123456789", resource https://api.example/ with scopes "read write".
import http from 'node:http';
import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const RESOURCE = 'https://api.example/';
const SECRET = 'interop-secret-0123456789';

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'interop-rs256', alg: 'RS256', use: 'sig' };

const server = http.createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;

const client = (id, method) => ({
  client_id: id, client_secret: SECRET, grant_types: ['client_credentials'], response_types: [],
  redirect_uris: [], token_endpoint_auth_method: method, scope: 'read write',
});
const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [client('cid-basic', 'client_secret_basic'), client('cid-post', 'client_secret_post')],
  jwks: { keys: [jwk] },
  scopes: ['read', 'write'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resource) => {
        if (resource !== RESOURCE) throw new errors.InvalidTarget();
        return { scope: 'read write', audience: RESOURCE, accessTokenFormat: 'jwt',
                 accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
});
server.on('request', provider.callback());
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// Never outlive a test that forgot us.
setTimeout(() => process.exit(0), 120000).unref();
console.log(`PORT ${port}`);
