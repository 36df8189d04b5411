// Checks spans a receiver.mjs wrote (JSON lines). Usage:
//   node check.mjs FILE chain TRACE NAME...   spans NAME... of trace TRACE, each the parent of the next
//   node check.mjs FILE tutorial              the tutorial's /run crossed mcp-client's sidecar,
//                                             mcp-server's sidecar and the C MCP server in one
//                                             trace whose spans link parent to child
// Exits 1 with what is wrong.
import fs from 'node:fs';

const [file, cmd, ...rest] = process.argv.slice(2);
const die = (why) => {
  console.error(`check: ${why}`);
  process.exit(1);
};
if (!fs.existsSync(file)) die('no spans arrived');
const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const rejected = lines.filter((l) => l.rejected);
if (rejected.length) die(`the receiver refused requests: ${rejected.map((r) => r.rejected).join('; ')}`);
const spans = lines;
const byId = new Map(spans.map((s) => [s.spanId, s]));
const show = (s) => `${s.service}/${s.name}(${s.spanId})`;

if (cmd === 'chain') {
  const [trace, ...names] = rest;
  let prev = null;
  for (const n of names) {
    const s = spans.find((x) => x.traceId === trace && x.name === n && (prev ? x.parentSpanId === prev.spanId : x.parentSpanId === null));
    if (!s) die(`no span "${n}" in trace ${trace} under ${prev ? show(prev) : 'no parent'}; have: ${spans.map(show).join(', ')}`);
    prev = s;
  }
  process.exit(0);
}

if (cmd === 'tutorial') {
  // The tools/call span of the C MCP server (the SDK's SERVER span, named "tools/call <tool>").
  const calls = spans.filter((s) => s.name.startsWith('tools/call ') && s.kind === 2);
  if (!calls.length) die(`no tools/call span from the MCP server; have: ${spans.map(show).join(', ')}`);
  for (const call of calls) {
    // Walk up to the root; every parent must have arrived (no gap across processes).
    const path = [call];
    let s = call;
    while (s.parentSpanId) {
      const p = byId.get(s.parentSpanId);
      if (!p) die(`${show(s)}'s parent ${s.parentSpanId} never arrived; path so far: ${path.map(show).join(' <- ')}`);
      if (p.traceId !== s.traceId) die(`${show(s)} and its parent ${show(p)} are in different traces`);
      path.push(p);
      s = p;
    }
    const sidecars = new Set(path.filter((p) => p.scope === 'warden.sidecar').map((p) => p.service));
    const root = path[path.length - 1];
    const want = ['mcp-client', 'mcp-server'];
    for (const w of want) if (!sidecars.has(w)) die(`the path ${path.map(show).join(' <- ')} does not cross ${w}'s sidecar`);
    if (root.service !== 'mcp-client' || root.scope !== 'warden.sidecar') die(`the trace starts at ${show(root)}, not at mcp-client's sidecar`);
    // Every span of the trace hangs off this root.
    for (const x of spans.filter((y) => y.traceId === root.traceId)) {
      let t = x;
      while (t.parentSpanId) t = byId.get(t.parentSpanId) || die(`${show(x)} has a parent that never arrived`);
      if (t !== root) die(`${show(x)} hangs off ${show(t)}, not the trace's root`);
    }
    // The server's sidecar recorded each step of its decision under its ingress span.
    const steps = new Set(spans.filter((y) => y.traceId === root.traceId && y.service === 'mcp-server' &&
      y.scope === 'warden.sidecar').map((y) => y.name));
    for (const w of ['ingress', 'access_control', 'bearer', 'tool_policy', 'forward']) {
      if (!steps.has(w)) die(`trace ${root.traceId} has no "${w}" span from mcp-server's sidecar (has: ${[...steps].join(', ')})`);
    }
    console.log(`trace ${root.traceId}: ${path.reverse().map(show).join(' -> ')}; mcp-server's sidecar steps: ${[...steps].sort().join(', ')}`);
  }
  process.exit(0);
}
die(`unknown command ${cmd}`);
