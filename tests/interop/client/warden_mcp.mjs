// `warden mcp` (the C MCP client on the command line) against independent servers, run by ctest:
// node warden_mcp.mjs <test> BIN_DIR
//   ts-server       an MCP server built with the official TypeScript SDK and protected by the
//                   SDK's own OAuth example: --login (dynamic registration, authorization code +
//                   PKCE through the loopback listener; the demo approves at once), tools,
//                   the token cache, logout
//   warden-issuer   the C quickstart's mcp_server behind `warden sidecar` with `warden issuer`:
//                   client credentials (discovery from the sidecar's RFC 9728 document, the tool
//                   policy's step-up to tools:echo), then --login with the sign-in and consent
//                   pages driven in headless Chromium (Debian's, through puppeteer-core)
//   oidc-provider   the same sidecar with oidc-provider from npm as the authorization server
//                   (client credentials; tests/interop/rs's provider script and packages)
//   tasks           tools the SDK's conformance_server runs as tasks (SEP-2663): a result and
//                   a tool error polled to their end, Ctrl+C cancels the task
// Exit 0 pass, 1 fail, 77 skip (npm packages, Chromium or rs's packages missing).
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
const CLIENT = 'warden-mcp-interop';
const SECRET = `s-${Math.random().toString(36).slice(2)}${Date.now()}`;
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
let tmp;
let passed = 0;

setTimeout(() => fail('run timed out'), 280000).unref();

function cleanup() {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (tmp && !process.env.WDN_KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
}
process.on('exit', cleanup);

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  for (const c of children)
    if (c.errText) console.error(`--- ${c.label} stderr (last 2000 bytes):\n${c.errText.slice(-2000)}`);
  cleanup();
  process.exit(1);
}

function skip(msg) {
  console.log(`SKIP: ${msg}`);
  cleanup();
  process.exit(SKIP);
}

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

// Starts a child and resolves with the first stdout match of re.
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

async function waitFor(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`timed out waiting for ${what}`);
}

// Runs `warden mcp ARGS`; resolves {status, out, err}.
function mcp(args, env = {}) {
  const r = spawnSync(path.join(binDir, 'warden'), ['mcp', ...args],
    { env: { ...process.env, WARDEN_HOME: path.join(tmp, 'home'), ...env }, encoding: 'utf8', timeout: 120000 });
  const shown = `warden mcp ${args.map((a) => (a === SECRET ? '***' : a)).join(' ')}`;
  console.log(`$ ${shown} -> ${r.status}\n${(r.stdout || '').trim()}${r.stderr ? `\n[stderr] ${r.stderr.trim().slice(-600)}` : ''}`);
  return { status: r.status, out: r.stdout || '', err: r.stderr || '' };
}

function tokenFiles() {
  const dir = path.join(tmp, 'home', 'mcp');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.startsWith('token-')) : [];
}

async function tsServer() {
  const [, url] = await start('ts_server', process.execPath, [path.join(here, 'ts_server.mjs')], {}, /MCP (\S+)/);
  const browser = { WARDEN_BROWSER: path.join(here, 'browser_follow.mjs') };
  fs.chmodSync(browser.WARDEN_BROWSER, 0o755);
  let r = mcp(['tools', 'list', url]);
  check(r.status === 1 && /--login/.test(r.err), 'without --login: exit 1, saying to sign in with --login');
  r = mcp(['tools', 'list', url, '--login'], browser);
  check(r.status === 0 && /add/.test(r.out) && /echo/.test(r.out), 'tools list after --login (DCR, code + PKCE)');
  const files = tokenFiles();
  check(files.length === 1, 'the token is kept under $WARDEN_HOME/mcp');
  check((fs.statSync(path.join(tmp, 'home', 'mcp', files[0])).mode & 0o777) === 0o600, 'the token file is 0600');
  r = mcp(['tools', 'call', url, 'add', '--arg', 'a=2', '--arg', 'b=3']);
  check(r.status === 0 && r.out.trim() === '5', 'tools call add with the cached token: 5 (no browser)');
  r = mcp(['tools', 'call', url, 'echo', '--json', '{"message":"hi"}', '-o', 'json']);
  check(r.status === 0 && JSON.parse(r.out).content[0].text === 'Echo: hi', 'tools call echo -o json');
  r = mcp(['tools', 'call', url, 'add', '--arg', 'a=x', '--arg', 'b=1']);
  check(r.status === 2 && /number/.test(r.err), '--arg a=x for a number: usage error (2)');
  // Ctrl+C during a long call: progress on stderr, then notifications/cancelled and exit 1.
  const srv = children.find((c) => c.label === 'ts_server');
  const slow = spawn(path.join(binDir, 'warden'), ['mcp', 'tools', 'call', url, 'slow'],
    { env: { ...process.env, WARDEN_HOME: path.join(tmp, 'home') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let slowErr = '';
  slow.stderr.on('data', (d) => (slowErr += d));
  await waitFor('progress on stderr', () => /progress: \d+\/600/.test(slowErr));
  slow.kill('SIGINT');
  const code = await new Promise((resolve) => slow.on('exit', (c) => resolve(c)));
  console.log(`[warden mcp tools call slow, SIGINT] ${slowErr.trim().slice(-300)}`);
  check(code === 1 && /canceled/.test(slowErr), 'Ctrl+C: the call is canceled, exit 1');
  await waitFor('notifications/cancelled at the server', () => /CANCELLED \d+/.test(srv.outText));
  check(true, 'Ctrl+C: the server got notifications/cancelled with the request id');
  r = mcp(['logout', url]);
  check(r.status === 0 && tokenFiles().length === 0, 'logout forgets the token');
  r = mcp(['ping', url]);
  check(r.status === 1, 'after logout, without --login: refused again');
}

// The quickstart's mcp_server behind a sidecar whose bearer trusts issuer, requires the scope
// mcp:tools and the resource in aud; echo needs tools:echo (MCPServer policy).
async function sidecar(issuer, caFile, mcpUrl, sidecarPort) {
  const appPort = await freePort();
  const app = spawn(path.join(binDir, 'mcp_server'), ['--port', String(appPort)], { stdio: ['ignore', 'ignore', 'pipe'] });
  app.label = 'mcp_server';
  app.errText = '';
  app.stderr.on('data', (d) => (app.errText += d));
  children.push(app);
  await waitFor('mcp_server', () => new Promise((resolve) => {
    const s = net.connect(appPort, '127.0.0.1', () => { s.end(); resolve(true); });
    s.on('error', () => resolve(false));
  }));
  const res = path.join(tmp, 'res');
  fs.mkdirSync(res);
  fs.writeFileSync(path.join(res, 'bearer.yaml'), `apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: bearer
spec:
  type: middleware.http.bearer
  version: v1
  metadata:
  - name: issuer
    value: "${issuer}"
  - name: resource
    value: "${mcpUrl}"
  - name: requireResourceAudience
    value: "true"
  - name: requiredScopes
    value: mcp:tools
`);
  fs.writeFileSync(path.join(res, 'config.yaml'), `apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: mcp-server-oauth
spec:
  appHttpPipeline:
    handlers:
    - name: bearer
      type: middleware.http.bearer
`);
  fs.writeFileSync(path.join(res, 'mcpserver.yaml'), `apiVersion: warden.dev/v1alpha1
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
  const ready = await start('sidecar', path.join(binDir, 'warden'), ['sidecar', '--app-id', 'mcp-server',
    '--app-port', String(appPort), '--http-port', String(sidecarPort), '--metrics-port', '0',
    '--resources-path', res, '--config', 'mcp-server-oauth', '--ca-dir', path.join(tmp, 'ca')],
  { WARDEN_CA_FILE: caFile }, /ready:.* metrics-port=(\d+)/);
  await waitFor('the key set', async () => {
    const t = await fetch(`http://127.0.0.1:${ready[1]}/metrics`).then((r) => r.text()).catch(() => '');
    return t.includes('warden_jwks_loaded{component="bearer"} 1');
  });
  check(true, 'sidecar up, key set loaded by discovery');
}

// Client credentials through the sidecar: discovery from the 401, the RFC 8707 resource, the
// tool policy's filtered list, and step-up when echo needs tools:echo.
function clientCredentials(mcpUrl, env) {
  const creds = ['--client-id', CLIENT, '--client-secret', SECRET];
  let r = mcp(['tools', 'list', mcpUrl, ...creds], env);
  check(r.status === 0 && /add/.test(r.out) && /get_weather_alert/.test(r.out) && !/echo/.test(r.out),
    'client credentials: tools list, filtered by the tool policy');
  r = mcp(['tools', 'call', mcpUrl, 'add', '--arg', 'a=2', '--arg', 'b=3', ...creds], env);
  check(r.status === 0 && r.out.trim() === '5', 'tools call add -> 5');
  r = mcp(['tools', 'call', mcpUrl, 'echo', '--arg', 'message=hello', ...creds], env);
  check(r.status === 0 && r.out.trim() === 'Echo: hello',
    'tools call echo: 403 insufficient_scope, step-up to tools:echo, then Echo: hello');
  r = mcp(['tools', 'call', mcpUrl, 'add', '--arg', 'a=1', '--arg', 'b=1', '--client-id', CLIENT,
    '--client-secret', 'wrong', '--no-cache'], env);
  check(r.status === 1 && /invalid_client|401/.test(r.err), 'a wrong secret: exit 1 with the server\'s reason');
}

async function wardenIssuer() {
  if (!fs.existsSync(CHROMIUM)) skip(`${CHROMIUM} is missing (scripts/bootstrap installs Debian's chromium)`);
  const warden = path.join(binDir, 'warden');
  const sidecarPort = await freePort();
  const mcpUrl = `http://127.0.0.1:${sidecarPort}/v1.0/invoke/mcp-server/method/mcp`;
  const state = path.join(tmp, 'issuer');
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const u = spawnSync(warden, ['issuer', 'user', 'add', 'alice', '--state', state, '--password-stdin'],
    { input: `${password}\n`, encoding: 'utf8' });
  check(u.status === 0, 'warden issuer user add alice');
  const m = await start('warden issuer', warden, ['issuer', '--port', '0', '--state', state,
    '--client', `${CLIENT}:${SECRET}`, '--audience', mcpUrl, '--resource', mcpUrl, '--scope', 'mcp:tools tools:echo', '--dcr'], {},
  /export AUTH0_DOMAIN=127\.0\.0\.1:(\d+)[\s\S]*export WARDEN_CA_FILE=(\S+)/);
  const issuer = `https://127.0.0.1:${m[1]}/`;
  const caFile = m[2];
  check(true, `warden issuer at ${issuer}`);
  await sidecar(issuer, caFile, mcpUrl, sidecarPort);
  const env = { WARDEN_CA_FILE: caFile };
  clientCredentials(mcpUrl, env);
  // --login: DCR at the issuer, the sign-in and consent pages in headless Chromium.
  const login = { ...env, WARDEN_BROWSER: path.join(here, 'browser_login.mjs'), WDN_USER: 'alice',
    WDN_PASSWORD: password, CHROMIUM, NODE_EXTRA_CA_CERTS: caFile };
  fs.chmodSync(login.WARDEN_BROWSER, 0o755);
  let r = mcp(['tools', 'list', mcpUrl, '--login', '--scope', 'mcp:tools'], login);
  check(r.status === 0 && /add/.test(r.out), '--login: signed in as alice in Chromium, tools list');
  r = mcp(['tools', 'call', mcpUrl, 'add', '--arg', 'a=20', '--arg', 'b=22'], env);
  check(r.status === 0 && r.out.trim() === '42', 'the cached token: tools call add -> 42, no browser');
  check(!/password|pw-/.test(r.err), 'no secret on stderr');
}

async function oidcProvider() {
  const rs = path.join(here, '..', 'rs');
  if (!fs.existsSync(path.join(rs, 'node_modules', 'oidc-provider', 'package.json')))
    skip('tests/interop/rs/node_modules is missing (interop-rs-setup installs oidc-provider)');
  const sidecarPort = await freePort();
  const mcpUrl = `http://127.0.0.1:${sidecarPort}/v1.0/invoke/mcp-server/method/mcp`;
  const cert = path.join(tmp, 'as.crt'), key = path.join(tmp, 'as.key');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256',
    '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', key, '-out', cert], { stdio: 'ignore' });
  if (r.status !== 0) fail('openssl could not make the test certificate');
  const m = await start('oidc-provider', process.execPath, [path.join(rs, 'as_oidc_provider.mjs'), cert, key,
    mcpUrl, CLIENT, SECRET, 'mcp:tools tools:echo'], {}, /PORT (\d+)/);
  const issuer = `https://127.0.0.1:${m[1]}`;
  check(true, `oidc-provider at ${issuer}`);
  await sidecar(issuer, cert, mcpUrl, sidecarPort);
  clientCredentials(mcpUrl, { WARDEN_CA_FILE: cert });
}

async function tasks() {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/mcp`;
  const srv = spawn(path.join(binDir, 'conformance_server'), ['--port', String(port)],
    { stdio: ['ignore', 'pipe', 'pipe'] });
  srv.label = 'conformance_server';
  srv.errText = '';
  srv.stderr.on('data', (d) => (srv.errText += d));
  children.push(srv);
  await waitFor('conformance_server', () => new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
    s.on('error', () => resolve(false));
  }));
  let r = mcp(['tools', 'call', url, 'slow_compute', '--arg', 'seconds=0.2', '--arg', 'label=ok']);
  check(r.status === 0 && r.out.trim() === 'Computed ok', 'slow_compute as a task: polled to its result');
  r = mcp(['tools', 'call', url, 'failing_job']);
  check(r.status === 1 && /failing_job: the job failed/.test(r.out + r.err),
    'failing_job (a task only): the task\'s tool error, exit 1');
  const slow = spawn(path.join(binDir, 'warden'), ['mcp', 'tools', 'call', url, 'slow_compute', '--arg', 'seconds=120'],
    { env: { ...process.env, WARDEN_HOME: path.join(tmp, 'home') }, stdio: ['ignore', 'pipe', 'pipe'] });
  let slowErr = '';
  slow.stderr.on('data', (d) => (slowErr += d));
  const exited = new Promise((resolve) => slow.on('exit', (c) => resolve(c)));
  await new Promise((res) => setTimeout(res, 500)); // the call is on its way or its task runs
  slow.kill('SIGINT');
  const code = await Promise.race([exited, new Promise((res) => setTimeout(() => res('still running'), 60000))]);
  console.log(`[warden mcp tools call slow_compute, SIGINT] ${slowErr.trim().slice(-300)}`);
  check(code === 1 && /cancel/.test(slowErr), 'Ctrl+C during a task: canceled, exit 1, long before the task would end');
}

async function main() {
  if (!fs.existsSync(path.join(here, 'node_modules', '@modelcontextprotocol', 'sdk', 'package.json')))
    skip('npm packages not installed (the interop-client-setup test could not reach the registry)');
  for (const b of ['warden', 'mcp_server'])
    if (!fs.existsSync(path.join(binDir, b))) fail(`${b} is not built`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wdn-warden-mcp-'));
  if (test === 'ts-server') await tsServer();
  else if (test === 'warden-issuer') await wardenIssuer();
  else if (test === 'oidc-provider') await oidcProvider();
  else if (test === 'tasks') await tasks();
  else fail(`unknown test ${test}`);
  console.log(`${passed} passed`);
  cleanup();
  process.exit(0);
}

main().catch((e) => fail(String(e?.stack ?? e)));
