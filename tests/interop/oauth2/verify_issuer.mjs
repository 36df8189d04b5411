// Independent implementations against `warden issuer`: openid-client (panva) discovers it and
// runs the client credentials grant with client_secret_basic and client_secret_post, a plain
// fetch sends Auth0's JSON body, and jose (panva) verifies every token against the JWKS the
// running issuer serves, also across `warden issuer rotate`.
// Usage: node verify_issuer.mjs ISSUER_URL CLIENT_ID SECRET AUDIENCE WARDEN_BIN STATE_DIR
// (the issuer's CA in NODE_EXTRA_CA_CERTS). Prints "ok - ..." lines; exit 1 on any failure.
import { execFileSync } from 'node:child_process';
import * as jose from 'jose';
import * as client from 'openid-client';

const [issuerUrl, clientId, secret, audience, warden, stateDir] = process.argv.slice(2);
let passed = 0;
let failed = 0;

async function check(name, fn) {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}\n    ${e && e.stack ? e.stack.split('\n').slice(0, 3).join('\n    ') : e}`);
  }
}
function expect(cond, what) {
  if (!cond) throw new Error(what);
}
async function expectOAuthError(promise, code) {
  try {
    await promise;
  } catch (e) {
    // openid-client reports a 401 with a WWW-Authenticate challenge (RFC 6749 5.2 requires
    // one after HTTP Basic) as a challenge error; the OAuth error is then in the body.
    let got = e.error;
    if (e.code === 'OAUTH_WWW_AUTHENTICATE_CHALLENGE') {
      expect(e.response.status === 401, `status ${e.response.status}`);
      expect(e.cause[0].scheme === 'basic', `challenge ${JSON.stringify(e.cause)}`);
      got = (await e.response.json()).error;
    }
    expect(got === code, `expected ${code}, got ${got || e.message}`);
    return;
  }
  throw new Error(`expected ${code}, got a token`);
}

const server = new URL(issuerUrl);
const basic = await client.discovery(server, clientId, undefined, client.ClientSecretBasic(secret));
const post = await client.discovery(server, clientId, undefined, client.ClientSecretPost(secret));
const meta = basic.serverMetadata();
const JWKS = jose.createRemoteJWKSet(new URL(meta.jwks_uri), { cooldownDuration: 0 });
const verify = async (token) =>
  (await jose.jwtVerify(token, JWKS, {
    issuer: issuerUrl, audience, typ: 'at+jwt', algorithms: ['RS256'],
    requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'client_id'],
  })).payload;

let t1;
await check('openid-client discovery finds the token endpoint', () => {
  expect(meta.issuer === issuerUrl, `issuer ${meta.issuer}`);
  expect(meta.token_endpoint === `${issuerUrl}oauth/token`, `token_endpoint ${meta.token_endpoint}`);
});
await check('client_secret_basic token verifies with jose', async () => {
  t1 = (await client.clientCredentialsGrant(basic, { scope: 'read:weather', resource: audience })).access_token;
  const p = await verify(t1);
  expect(p.sub === `${clientId}@clients`, `sub ${p.sub}`);
  expect(p.client_id === clientId && p.azp === clientId, 'client_id/azp');
  expect(p.scope === 'read:weather', `scope ${p.scope}`);
  expect(p.exp - p.iat === 3600, 'lifetime');
});
await check('client_secret_post token (audience) verifies with jose', async () => {
  const t = (await client.clientCredentialsGrant(post, { audience })).access_token;
  const p = await verify(t);
  expect(p.scope === 'read:weather tools:call', `scope ${p.scope}`);
});
await check("Auth0's JSON body token verifies with jose", async () => {
  const r = await fetch(meta.token_endpoint, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_id: clientId, client_secret: secret, audience, grant_type: 'client_credentials' }),
  });
  expect(r.status === 200 && r.headers.get('cache-control') === 'no-store', `status ${r.status}`);
  await verify((await r.json()).access_token);
});
await check('wrong secret is invalid_client', () =>
  client.discovery(server, clientId, undefined, client.ClientSecretBasic('nope'))
    .then((c) => expectOAuthError(client.clientCredentialsGrant(c, {}), 'invalid_client')));
await check('scope outside the client is invalid_scope', () =>
  expectOAuthError(client.clientCredentialsGrant(basic, { scope: 'admin' }), 'invalid_scope'));
await check('foreign resource is invalid_target', () =>
  expectOAuthError(client.clientCredentialsGrant(basic, { resource: 'https://evil.example/' }), 'invalid_target'));
await check('a tampered token is refused by jose', async () => {
  const [h, p, s] = t1.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.scope = 'admin';
  const forged = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  await jose.jwtVerify(forged, JWKS).then(() => { throw new Error('accepted'); },
    (e) => expect(e.code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED', e.code));
});
await check('after `warden issuer rotate` the new key is published first and the old one still signs', async () => {
  const kid1 = jose.decodeProtectedHeader(t1).kid;
  execFileSync(warden, ['issuer', 'rotate', '--state', stateDir, '--overlap', '3600'], { stdio: 'ignore', timeout: 30000 });
  const t2 = (await client.clientCredentialsGrant(basic, { resource: audience })).access_token;
  expect(jose.decodeProtectedHeader(t2).kid === kid1, 'the new key signed before its delay');
  const keys = await (await fetch(meta.jwks_uri)).json();
  expect(keys.keys.length === 2, `${keys.keys.length} keys published`);
});
await check('after `warden issuer rotate --now` new tokens verify against the running JWKS, old ones too', async () => {
  const kid1 = jose.decodeProtectedHeader(t1).kid;
  execFileSync(warden, ['issuer', 'rotate', '--state', stateDir, '--overlap', '3600', '--now'], { stdio: 'ignore', timeout: 30000 });
  const t2 = (await client.clientCredentialsGrant(basic, { resource: audience })).access_token;
  const kid2 = jose.decodeProtectedHeader(t2).kid;
  expect(kid2 && kid2 !== kid1, `kid did not change (${kid1})`);
  await verify(t2);
  await verify(t1);
  const keys = await (await fetch(meta.jwks_uri)).json();
  expect(keys.keys.length === 2, `${keys.keys.length} keys published`);
});

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
