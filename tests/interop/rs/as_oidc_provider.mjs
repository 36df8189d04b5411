// oidc-provider (panva, a certified OpenID provider) as the authorization server of the issue-11
// interop test, over HTTPS with a certificate made by the test (so the sidecar must trust it
// through WARDEN_CA_FILE, as it would a real provider's chain). The client credentials grant with
// RFC 8707 resource indicators: a token's aud is the resource the client asked for, which must
// be the one resource given on the command line; its scopes are the ones asked for, among SCOPES.
// Usage: node as_oidc_provider.mjs CERT KEY RESOURCE CLIENT_ID SECRET "SCOPES"
// Prints "PORT <n>" when listening on 127.0.0.1; exits on SIGTERM, when stdin closes, or after
// 300 s.
import fs from 'node:fs';
import https from 'node:https';
import * as jose from 'jose';
import Provider, { errors } from 'oidc-provider';

const [, , certFile, keyFile, resource, clientId, secret, scopes] = process.argv;
const scopeList = scopes.split(' ');

const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
const jwk = { ...(await jose.exportJWK(privateKey)), kid: 'rs-interop', alg: 'RS256', use: 'sig' };

const server = https.createServer({ cert: fs.readFileSync(certFile), key: fs.readFileSync(keyFile) });
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const port = server.address().port;

const provider = new Provider(`https://127.0.0.1:${port}`, {
  clients: [{
    client_id: clientId, client_secret: secret, grant_types: ['client_credentials'],
    response_types: [], redirect_uris: [], token_endpoint_auth_method: 'client_secret_basic',
    scope: scopes,
  }],
  jwks: { keys: [jwk] },
  scopes: scopeList,
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, requested) => {
        if (requested !== resource) throw new errors.InvalidTarget();
        return { scope: scopes, audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: 600,
                 jwt: { sign: { alg: 'RS256' } } };
      },
    },
  },
});
provider.proxy = false;
server.on('request', provider.callback());
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.stdin.on('data', () => {});
process.stdin.on('end', () => process.exit(0));
setTimeout(() => process.exit(0), 300000).unref();
console.log(`PORT ${port}`);
