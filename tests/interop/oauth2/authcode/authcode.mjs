// The official TypeScript MCP SDK's OAuth client (authorization code through its
// OAuthClientProvider) against `warden issuer`, through a warden sidecar to the C MCP server,
// with the sign-in and consent pages driven in headless Chromium (Debian's, through
// puppeteer-core). Three clients: one identified by a Client ID Metadata Document (served here
// over HTTPS), one that registers itself (DCR), one pre-registered with `warden issuer client
// add --public`. Each: 401 -> discovery -> browser sign-in and consent -> code -> tokens ->
// tools/list and tools/call through the sidecar (which serves the RFC 9728 metadata the SDK
// discovers the issuer with); then, once the access token has expired, a
// tools/call that the SDK answers by refreshing (rotation checked) and retrying.
//
// Usage: node authcode.mjs CONFIG.json   (written by run.sh; see there)
import { readFileSync, mkdirSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { randomBytes } from 'node:crypto';
import puppeteer from 'puppeteer-core';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
let passed = 0, failed = 0;
const ok = (name) => { passed++; console.log(`ok - ${name}`); };
const notOk = (name, why) => { failed++; console.log(`not ok - ${name}\n    ${why}`); };
const expect = (name, cond, why = '') => (cond ? ok(name) : notOk(name, why));

// ---- the servers this side runs: the callback and the CIMD document ------------------------
const listen = (srv, port = 0) => new Promise((res) => srv.listen(port, '127.0.0.1', () => res(srv.address().port)));

let waiting = null; // { resolve, reject, state } of the sign-in in progress
const callback = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://127.0.0.1');
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  res.end('You can close this window.');
  if (u.pathname !== '/callback' || waiting === null) return;
  const w = waiting;
  waiting = null;
  w.resolve(u.searchParams);
});
const cbPort = await listen(callback);
const redirectUrl = `http://127.0.0.1:${cbPort}/callback`;

const cimd = https.createServer({ cert: readFileSync(cfg.cimdCert), key: readFileSync(cfg.cimdKey) }, (req, res) => {
  if (req.url !== '/oauth/client.json') { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=300' });
  res.end(JSON.stringify({
    client_id: cimdUrl, client_name: 'Interop CIMD Client', redirect_uris: [redirectUrl],
    grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
    token_endpoint_auth_method: 'none',
  }));
});
const cimdUrl = `https://127.0.0.1:${await listen(cimd)}/oauth/client.json`;

// ---- the browser ------------------------------------------------------------------------------
const browser = await puppeteer.launch({
  executablePath: cfg.chromium,
  headless: true,
  acceptInsecureCerts: true, // the issuer's certificate comes from the project CA
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
let shots = 0;
const shot = async (page, name) => {
  if (!cfg.screenshotDir) return;
  mkdirSync(cfg.screenshotDir, { recursive: true });
  await page.setViewport({ width: 560, height: 700 });
  await page.screenshot({ path: `${cfg.screenshotDir}/${name}.png` });
  shots++;
};

// Signs in and allows in a fresh browser context; resolves with the callback's parameters.
async function signInAndAllow(url, label, state) {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  const landed = new Promise((resolve, reject) => { waiting = { resolve, reject, state }; });
  try {
    const res = await page.goto(url.href, { waitUntil: 'load' });
    const headers = res.headers();
    expect(`${label}: sign-in page framing headers`,
      /frame-ancestors 'none'/.test(headers['content-security-policy'] || '') && headers['x-frame-options'] === 'DENY',
      JSON.stringify(headers));
    expect(`${label}: sign-in page without JavaScript`, (await page.$('script')) === null);
    if (label === 'CIMD') await shot(page, 'issuer-sign-in');
    await page.type('#username', cfg.user);
    await page.type('#password', cfg.password);
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('form.signin button')]);
    const h1 = await page.$eval('h1', (e) => e.textContent);
    expect(`${label}: consent page after sign-in`, h1 === 'Allow access?', h1);
    const text = await page.$eval('main', (e) => e.innerText);
    expect(`${label}: consent names the resource and the scope`, text.includes(cfg.mcpUrl) && text.includes('mcp:tools'), text);
    if (label === 'CIMD') {
      expect('CIMD: consent shows the name from the metadata document', text.includes('Interop CIMD Client'), text);
      await shot(page, 'issuer-consent');
    }
    await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('button[value=allow]')]);
    return await landed;
  } finally {
    waiting = null;
    await ctx.close();
  }
}

// ---- the OAuthClientProvider ------------------------------------------------------------------
class Provider {
  constructor(label, { clientMetadataUrl, clientInformation } = {}) {
    this.label = label;
    this.clientMetadataUrl = clientMetadataUrl;
    this._client = clientInformation;
    this._tokens = undefined;
    this._verifier = undefined;
    this._state = undefined;
    this.saved = []; // every token set saved, in order
    this.pending = null; // the sign-in started by redirectToAuthorization
  }
  get redirectUrl() { return redirectUrl; }
  get clientMetadata() {
    return { client_name: `Interop ${this.label} Client`, redirect_uris: [redirectUrl],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      token_endpoint_auth_method: 'none' };
  }
  state() { this._state = randomBytes(16).toString('hex'); return this._state; }
  clientInformation() { return this._client; }
  saveClientInformation(info) { this._client = info; }
  tokens() { return this._tokens; }
  saveTokens(t) { this._tokens = t; this.saved.push(t); }
  saveCodeVerifier(v) { this._verifier = v; }
  saveDiscoveryState(d) { this.discovery = d; }
  codeVerifier() { return this._verifier; }
  redirectToAuthorization(url) {
    this.authUrl = url;
    this.pending = signInAndAllow(url, this.label, this._state);
  }
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));

async function scenario(label, provider) {
  // 1. The first request is refused; the SDK discovers the issuer and sends the browser there.
  const c1 = new Client({ name: `interop-${label}`, version: '1.0.0' });
  const t1 = new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider });
  let redirected = false;
  try { await c1.connect(t1); } catch (e) { redirected = e instanceof UnauthorizedError; if (!redirected) throw e; }
  expect(`${label}: 401 leads to the authorization endpoint`, redirected && provider.authUrl?.href.startsWith(`${cfg.issuer}authorize?`), provider.authUrl?.href);
  const prm = provider.discovery?.resourceMetadata;
  expect(`${label}: the sidecar's RFC 9728 metadata names the resource, the issuer and the scope`,
    prm?.resource === cfg.mcpUrl && prm?.authorization_servers?.[0] === cfg.issuer && prm?.scopes_supported?.join(' ') === 'mcp:tools',
    JSON.stringify(provider.discovery));
  const q = provider.authUrl.searchParams;
  expect(`${label}: PKCE S256 and the resource asked for`, q.get('code_challenge_method') === 'S256' && q.get('resource') === cfg.mcpUrl, provider.authUrl.href);
  const params = await provider.pending;
  expect(`${label}: code, state and RFC 9207 iss come back`, params.get('code') && params.get('state') === provider._state && params.get('iss') === cfg.issuer,
    params.toString());
  await t1.finishAuth(params.get('code'));
  await c1.close().catch(() => {});
  const tok = provider.tokens();
  const c = claims(tok.access_token);
  expect(`${label}: access token for the user, aud = the MCP server, the client's id`,
    c.sub === cfg.user && c.aud === cfg.mcpUrl && c.iss === cfg.issuer && c.client_id === provider.clientInformation().client_id && c.scope === 'mcp:tools',
    JSON.stringify(c));
  expect(`${label}: a refresh token`, typeof tok.refresh_token === 'string' && tok.refresh_token.length >= 43);

  // 2. With the token: through the sidecar to the C MCP server.
  const client = new Client({ name: `interop-${label}`, version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(cfg.mcpUrl), { authProvider: provider });
  await client.connect(transport);
  const tools = (await client.listTools()).tools.map((t) => t.name).sort().join(',');
  expect(`${label}: tools/list through the sidecar`, tools === 'add,echo,get_weather_alert', tools);
  const add = await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } });
  expect(`${label}: tools/call add`, add.content?.[0]?.text === '5', JSON.stringify(add));

  // 3. After the access token expires the SDK refreshes (a new refresh token: rotation) and
  //    retries; the call succeeds.
  const exp = c.exp * 1000;
  await new Promise((r) => setTimeout(r, Math.max(0, exp - Date.now()) + 1500));
  const before = provider.saved.length;
  const echo = await client.callTool({ name: 'echo', arguments: { message: 'after refresh' } });
  expect(`${label}: tools/call after the access token expired`, echo.content?.[0]?.text === 'Echo: after refresh', JSON.stringify(echo));
  const fresh = provider.tokens();
  expect(`${label}: the SDK refreshed, and the refresh token rotated`,
    provider.saved.length > before && fresh.refresh_token !== tok.refresh_token && fresh.access_token !== tok.access_token,
    `${provider.saved.length} token sets`);
  expect(`${label}: the refreshed token keeps user and audience`, claims(fresh.access_token).sub === cfg.user && claims(fresh.access_token).aud === cfg.mcpUrl);
  await client.close();
}

try {
  await scenario('CIMD', new Provider('CIMD', { clientMetadataUrl: cimdUrl }));
  const dcr = new Provider('DCR');
  await scenario('DCR', dcr);
  expect('DCR: the client registered itself', typeof dcr.clientInformation()?.client_id === 'string' && !dcr.clientInformation().client_id.startsWith('https://'));
  await scenario('pre-registered', new Provider('pre-registered', { clientInformation: { client_id: cfg.preRegistered } }));
  if (cfg.screenshotDir) expect('screenshots written', shots === 2, `${shots}`);
} catch (e) {
  notOk('scenario finished', e.stack || String(e));
} finally {
  await browser.close();
  callback.close();
  cimd.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
