// Issue 11's interop test, run by ctest: node run.mjs <test> BIN_DIR
//   setup           npm ci into tests/interop/rs/node_modules (exit 77 when the registry is
//                   unreachable: the other tests then skip)
//   oidc-provider   authorization server: oidc-provider from npm, over HTTPS
//   warden-issuer   authorization server: `warden issuer`
// Each: the C MCP server (mcp_server) behind `warden sidecar` (files mode) whose bearer
// component names only the issuer, requires the resource in aud (RFC 8707) and the scope
// mcp:tools; an MCPServer policy lets everyone call add and get_weather_alert, and echo only
// with the scope tools:echo. Then the official TypeScript SDK client (client.mjs), given only
// the MCP URL and its client credentials, must: get 401, read the sidecar's RFC 9728 document,
// the authorization server's metadata, get a token for the resource, initialize, list tools,
// call add; call echo, get 403 insufficient_scope with scope=, get a token with it, and succeed.
// No metadata file is written by hand. Exit 0 pass, 1 fail, 77 skip.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [, , test, binDir] = process.argv;
const SKIP = 77;
const children = [];
const SCOPES = 'mcp:tools tools:echo';
const CLIENT = 'rs-interop-client';
const SECRET = `s-${Math.random().toString(36).slice(2)}${Date.now()}`;
let tmp;

setTimeout(() => fail('run timed out'), 240000).unref();

function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (tmp && !process.env.WDN_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  for (const c of children)
    if (c.errText) console.error(`--- ${c.label} stderr (last 3000 bytes):\n${c.errText.slice(-3000)}`);
  cleanup();
  process.exit(1);
}

let passed = 0;
function check(cond, msg) {
  if (!cond) fail(msg);
  passed++;
  console.log(`ok - ${msg}`);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts a child, keeps its stderr for failure reports, and resolves with the first stdout
// line matching re (or fails after ms).
function start(label, cmd, args, env, re, ms = 30000) {
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.label = label;
  child.errText = '';
  child.outText = '';
  children.push(child);
  child.stderr.on('data', (d) => (child.errText += d));
  return new Promise((resolve) => {
    const timer = setTimeout(() => fail(`${label} did not start within ${ms} ms`), ms);
    child.stdout.on('data', (d) => {
      child.outText += d;
      const m = child.outText.match(re);
      if (m && !child.started) {
        child.started = true;
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.on('exit', (code) => {
      if (!child.started) fail(`${label} exited (${code}) before it was ready`);
    });
  });
}

async function waitFor(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`timed out waiting for ${what}`);
}

function setup() {
  const stamp = path.join(here, 'node_modules', '.wdn-installed');
  if (fs.existsSync(stamp) && fs.statSync(stamp).mtimeMs > fs.statSync(path.join(here, 'package-lock.json')).mtimeMs) {
    console.log('npm packages already installed');
    process.exit(0);
  }
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: here, timeout: 300000, encoding: 'utf8' });
  if (r.status !== 0) {
    console.log(`SKIP: npm ci failed (is the npm registry reachable?)\n${(r.stderr || '').slice(-2000)}`);
    fs.rmSync(path.join(here, 'node_modules'), { recursive: true, force: true });
    process.exit(SKIP);
  }
  fs.writeFileSync(stamp, '');
  console.log('npm packages installed');
  process.exit(0);
}

// The bearer names the issuer and nothing about keys, audiences, its resource or metadata
// documents: the sidecar derives the resource from its listen address and the route (the same
// string its RFC 9728 document says), and the token's aud must contain it.
function resources(dir, issuer) {
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'bearer.yaml'), `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: bearer
spec:
  type: middleware.http.bearer
  version: v1
  metadata:
  - name: issuer
    value: "${issuer}"
  - name: requireResourceAudience
    value: "true"
  - name: requiredScopes
    value: mcp:tools
  - name: stripToken
    value: "true"
`);
  fs.writeFileSync(path.join(dir, 'config.yaml'), `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: mcp-server-oauth
spec:
  appHttpPipeline:
    handlers:
    - name: bearer
      type: middleware.http.bearer
`);
  fs.writeFileSync(path.join(dir, 'mcpserver.yaml'), `apiVersion: warden.dev/v1alpha1
kind: MCPServer
metadata:
  name: mcp-server
spec:
  appId: mcp-server
  defaultAction: deny
  rules:
  - callers: ["*"]
    tools: [add, get_weather_alert]
    action: allow
  - callers: ["*"]
    tools: [echo]
    action: allow
    requireScopes: [tools:echo]
`);
}

async function main() {
  if (test === 'setup') return setup();
  if (!fs.existsSync(path.join(here, 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json'))) {
    console.log('SKIP: node_modules is missing (npm ci could not reach the registry)');
    process.exit(SKIP);
  }
  if (test !== 'oidc-provider' && test !== 'warden-issuer') fail(`unknown test ${test}`);
  const warden = path.join(binDir, 'warden');
  const mcpBin = path.join(binDir, 'mcp_server');
  for (const b of [warden, mcpBin]) if (!fs.existsSync(b)) fail(`${b} is not built`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wdn-rs-interop-'));

  const appPort = await freePort();
  const sidecarPort = await freePort();
  const mcpUrl = `http://127.0.0.1:${sidecarPort}/v1.0/invoke/mcp-server/method/mcp`;

  // The authorization server.
  let issuer, caFile;
  if (test === 'oidc-provider') {
    const cert = path.join(tmp, 'as.crt'), key = path.join(tmp, 'as.key');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
      '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', key, '-out', cert], { stdio: 'ignore' });
    if (r.status !== 0) fail('openssl could not make the test certificate');
    const m = await start('oidc-provider', process.execPath,
      [path.join(here, 'as_oidc_provider.mjs'), cert, key, mcpUrl, CLIENT, SECRET, SCOPES], {}, /PORT (\d+)/);
    issuer = `https://127.0.0.1:${m[1]}`;
    caFile = cert;
  } else {
    const m = await start('warden issuer', warden, ['issuer', '--port', '0', '--state', path.join(tmp, 'issuer'),
      '--client', `${CLIENT}:${SECRET}`, '--audience', mcpUrl, '--scope', SCOPES], {},
      /export AUTH0_DOMAIN=127\.0\.0\.1:(\d+)[\s\S]*export WARDEN_CA_FILE=(\S+)/);
    issuer = `https://127.0.0.1:${m[1]}/`;
    caFile = m[2];
  }
  check(true, `authorization server (${test}) at ${issuer}`);

  // The C MCP server and its sidecar, which knows nothing but the issuer's name.
  {
    const app = spawn(mcpBin, ['--port', String(appPort)], { stdio: ['ignore', 'ignore', 'pipe'] });
    app.label = 'mcp_server';
    app.errText = '';
    app.stderr.on('data', (d) => (app.errText += d));
    children.push(app);
    await waitFor('mcp_server to listen', () => new Promise((resolve) => {
      const s = net.connect(appPort, '127.0.0.1', () => { s.end(); resolve(true); });
      s.on('error', () => resolve(false));
    }));
  }
  resources(path.join(tmp, 'res'), issuer);
  const ready = await start('sidecar', warden, ['sidecar', '--app-id', 'mcp-server', '--app-port', String(appPort),
    '--http-port', String(sidecarPort), '--metrics-port', '0', '--resources-path', path.join(tmp, 'res'),
    '--config', 'mcp-server-oauth', '--ca-dir', path.join(tmp, 'ca')], { WARDEN_CA_FILE: caFile },
    /ready:.* metrics-port=(\d+)/);
  const metrics = `http://127.0.0.1:${ready[1]}/metrics`;
  await waitFor('the key set', async () => {
    const t = await fetch(metrics).then((r) => r.text()).catch(() => '');
    return t.includes('warden_jwks_loaded{component="bearer"} 1');
  });
  check(true, 'sidecar up, key set loaded by OIDC discovery');

  // The SDK client, with the CA of the authorization server and nothing else.
  function sdk(scope) {
    const r = spawnSync(process.execPath, [path.join(here, 'client.mjs'), mcpUrl, CLIENT, SECRET, scope], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, encoding: 'utf8', timeout: 60000,
    });
    let out;
    try {
      out = JSON.parse(r.stdout.trim().split('\n').pop());
    } catch {
      fail(`client.mjs printed no result (status ${r.status}):\n${r.stdout}\n${r.stderr}`);
    }
    const seen = out.seen.map((s) => `${s.status} ${s.method} ${s.url}${s.www ? `  [${s.www}]` : ''}`);
    console.log(`SDK client with scope "${scope}":\n  ${seen.join('\n  ')}`);
    console.log(`  token claims: ${JSON.stringify(out.tokens)}`);
    if (out.error) fail(`the SDK client failed: ${out.error}`);
    return out;
  }
  const asBase = issuer.replace(/\/$/, '');

  // 1. Scope mcp:tools only: discovery, token, initialize, tools/list, add; echo needs more.
  let out = sdk('mcp:tools');
  const first = out.seen[0];
  check(first.status === 401 && /resource_metadata="[^"]*oauth-protected-resource/.test(first.www || ''),
    'first request: 401 pointing at the RFC 9728 document');
  const prm = out.seen.find((s) => s.url.includes('/.well-known/oauth-protected-resource'));
  check(prm && prm.status === 200, 'the SDK read the sidecar\'s protected resource metadata');
  check(out.seen.some((s) => s.url.startsWith(asBase) && s.url.includes('/.well-known/') && s.status === 200),
    'the SDK read the authorization server\'s metadata (RFC 8414 / OIDC)');
  check(out.seen.some((s) => s.method === 'POST' && s.url.startsWith(asBase) && s.status === 200),
    'the SDK got a token with client credentials');
  check(out.tokens.length >= 1 && [].concat(out.tokens[0].aud).includes(mcpUrl),
    'the token is for this resource (RFC 8707 aud)');
  check(Array.isArray(out.tools), 'initialize succeeded');
  check(JSON.stringify(out.tools) === JSON.stringify(['add', 'get_weather_alert']),
    `tools/list filtered to what the token may call: ${out.tools}`);
  check(out.add === '5', 'tools/call add -> 5');
  const up = out.seen.find((s) => s.status === 403);
  check(up && /error="insufficient_scope"/.test(up.www || '') && /scope="[^"]*tools:echo/.test(up.www || ''),
    `echo without its scope: 403 insufficient_scope with scope= (${up && up.www})`);
  check(out.echo === undefined && /403/.test(out.echoError || ''), 'echo was refused');

  // 2. The scope the 403 named: echo works.
  out = sdk('mcp:tools tools:echo');
  check((out.tokens.at(-1)?.scope || '').split(' ').includes('tools:echo'), 'a token with tools:echo');
  check(JSON.stringify(out.tools) === JSON.stringify(['add', 'echo', 'get_weather_alert']),
    'tools/list with it lists echo too');
  check(out.echo === 'Echo: hello', 'tools/call echo with the scope -> Echo: hello');
  const hand = fs.readdirSync(tmp).filter((f) => /metadata|well-known|prm/i.test(f));
  check(hand.length === 0, 'no metadata file written by hand');
  console.log(`${passed} passed`);
  cleanup();
  process.exit(0);
}

main().catch((e) => fail(String(e?.stack ?? e)));
