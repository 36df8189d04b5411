// Interop tests of warden's C MCP client, run by ctest: node run.mjs <test> BIN_DIR.
//   setup                 npm ci into tests/interop/client/node_modules (skips when offline)
//   conformance-0.1.16    every client scenario of @modelcontextprotocol/conformance 0.1.16
//   conformance-next      every client scenario of the newest pre-release (0.2.0-alpha.12)
// The command under test is BIN_DIR/conformance_client (examples/conformance-client). Scenarios
// run one after the other (the suite's --suite mode starts them all at once, which a loaded
// two-core machine turns into timeouts); a scenario passes when the suite exits 0 for it (no
// failed check, no warning, the client neither timed out nor failed where it should not).
// expected-failures.yml lists the scenarios allowed to fail, each with its reason; a listed
// scenario that passes fails the run too (stale entry). Exit 0 pass, 1 fail, 77 skip.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [, , test, binDir] = process.argv;
const SKIP = 77;
const SHIM = path.join(here, '../mcp/fs-globsync-shim.mjs');
const SUITES = {
  'conformance-0.1.16': { pkg: '@modelcontextprotocol/conformance', label: '0.1.16' },
  'conformance-next': { pkg: 'conformance-2026-07-28', label: '0.2.0-alpha.12' },
};

function fail(msg) {
  console.error(`FAIL: ${msg}`);
  process.exit(1);
}

function needModules(pkg) {
  if (!fs.existsSync(path.join(here, 'node_modules', pkg, 'dist/index.js'))) {
    console.log('SKIP: npm packages not installed (the interop-client-setup test could not reach the registry)');
    process.exit(SKIP);
  }
}

function suiteBin(pkg) {
  return path.join(here, 'node_modules', pkg, 'dist/index.js');
}

function conformance(pkg, args, timeout) {
  return spawnSync(process.execPath, ['--import', SHIM, suiteBin(pkg), ...args],
    { encoding: 'utf8', timeout, cwd: here, maxBuffer: 64 << 20 });
}

// The expected-failures file in the suite's own format (client: - scenario), one reason per
// entry in the comment on its line.
function expectedFailures(label) {
  const file = path.join(here, 'expected-failures.yml');
  const out = new Map();
  if (!fs.existsSync(file)) return out;
  let section = null;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const s = /^(\S[^:]*):\s*(#.*)?$/.exec(line);
    if (s) { section = s[1].trim(); continue; }
    const m = /^\s+-\s+(\S+)\s*#\s*(.+)$/.exec(line);
    if (!m && /^\s+-\s+/.test(line)) fail(`expected-failures.yml: entry without a reason: ${line}`);
    if (m && (section === label || section === 'client')) out.set(m[1], m[2]);
  }
  return out;
}

function listScenarios(pkg) {
  const r = conformance(pkg, ['list', '--client'], 60000);
  const names = [...`${r.stdout}`.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]);
  if (r.status !== 0 || names.length === 0) fail(`cannot list the client scenarios: ${r.stderr}`);
  return names;
}

function runSuite(name) {
  const { pkg, label } = SUITES[name];
  needModules(pkg);
  const client = path.join(binDir, 'conformance_client');
  if (!fs.existsSync(client)) fail(`${client} is not built`);
  const only = process.env.CLIENT_SCENARIOS ? process.env.CLIENT_SCENARIOS.split(',') : null;
  const scenarios = listScenarios(pkg).filter((s) => !only || only.includes(s));
  const expected = expectedFailures(label);
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wdn-client-conf-'));
  const results = [];
  for (const s of scenarios) {
    const t0 = Date.now();
    const r = conformance(pkg, ['client', '--command', client, '--scenario', s, '--timeout', '60000', '-o', outDir], 120000);
    const out = `${r.stdout}\n${r.stderr}`;
    const m = /Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/.exec(out);
    const ok = r.status === 0;
    results.push({ s, ok, summary: m ? m[0] : `exit ${r.status}` });
    console.log(`${ok ? 'ok' : 'not ok'} - ${s} (${m ? m[0] : `exit ${r.status}`}, ${Date.now() - t0} ms)`);
    if (!ok) {
      // The failed checks and what the client said, for the log.
      const lines = out.split('\n').filter((l) => /FAILURE|WARNING|conformance_client:|TIMED OUT|EXITED/.test(l));
      console.log(lines.slice(0, 40).map((l) => `    ${l}`).join('\n'));
    }
  }
  fs.rmSync(outDir, { recursive: true, force: true });
  const passed = results.filter((x) => x.ok).length;
  const unexpected = results.filter((x) => !x.ok && !expected.has(x.s));
  const stale = results.filter((x) => x.ok && expected.has(x.s));
  console.log(`\nconformance ${label}, client side: ${passed}/${results.length} scenarios pass`);
  for (const x of results.filter((y) => !y.ok && expected.has(y.s)))
    console.log(`  expected failure: ${x.s} (${expected.get(x.s)})`);
  if (unexpected.length > 0) fail(`unexpected failures: ${unexpected.map((x) => x.s).join(', ')}`);
  if (stale.length > 0) fail(`listed in expected-failures.yml but passing now: ${stale.map((x) => x.s).join(', ')}`);
  if (!only && results.length < (label === '0.1.16' ? 26 : 48)) fail(`only ${results.length} client scenarios listed`);
}

function setup() {
  const lock = path.join(here, 'node_modules/.package-lock.json');
  if (fs.existsSync(lock) && fs.statSync(lock).mtimeMs >= fs.statSync(path.join(here, 'package-lock.json')).mtimeMs) {
    console.log('node_modules up to date');
    return;
  }
  const r = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: here, encoding: 'utf8', timeout: 280000 });
  if (r.status !== 0) {
    console.log(`SKIP: npm ci failed (is the npm registry reachable?)\n${r.stderr}`);
    process.exit(SKIP);
  }
  console.log('npm ci done');
}

if (test === 'setup') setup();
else if (SUITES[test]) runSuite(test);
else fail(`unknown test ${test}`);
process.exit(0);
