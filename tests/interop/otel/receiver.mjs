// An OTLP/HTTP trace receiver for warden's tracing tests, checked by the OpenTelemetry project's
// own encoders. Each POST /v1/traces body (OTLP protobuf, application/x-protobuf, what warden's
// exporter sends; or OTLP JSON, application/json) is decoded strictly into the OTLP JSON shape
// (an unknown field, a wrong wire type or a length past the end refuses the request), then by the
// OTLP JSON rules into the OpenTelemetry JS SDK's span shape (ReadableSpan); the project's
// JsonTraceSerializer and ProtobufTraceSerializer (@opentelemetry/otlp-transformer) then encode
// those spans again, and the request is accepted only when the project's JSON says the same as
// warden's did (IDs, names, kinds, times, attributes, status) and so does the project's protobuf
// once decoded the same way as warden's. Accepted spans are appended to --out as JSON lines; a
// refused request answers 400 and writes {"rejected": why}. Prints "PORT <n>" when listening;
// exits when stdin closes.
//
// Usage: node receiver.mjs --out FILE [--port N]
import fs from 'node:fs';
import http from 'node:http';
import otlp from '@opentelemetry/otlp-transformer';

const { JsonTraceSerializer, ProtobufTraceSerializer } = otlp;

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const out = opt('--out');
const port = Number(opt('--port', '0'));
if (!out) {
  console.error('usage: receiver.mjs --out FILE [--port N]');
  process.exit(2);
}

const fail = (why) => {
  throw new Error(why);
};
const onlyKeys = (o, allowed, what) => {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) fail(`${what} is not an object`);
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(`${what} has an unknown field "${k}"`);
};
const hexId = (s, len, what) => {
  if (typeof s !== 'string' || !new RegExp(`^[0-9a-f]{${len}}$`).test(s)) fail(`${what} is not ${len} lowercase hex digits: ${s}`);
  if (/^0+$/.test(s)) fail(`${what} is all zeros`);
  return s;
};
const nanos = (v, what) => {
  if (!(typeof v === 'string' && /^[0-9]+$/.test(v)) && !Number.isSafeInteger(v)) fail(`${what} is not a uint64: ${v}`);
  return BigInt(v);
};
const hrTime = (ns) => [Number(ns / 1000000000n), Number(ns % 1000000000n)];

// AnyValue -> a JS value the SDK's attribute encoder takes (intValue: int64 as string or number).
function anyValue(v, what) {
  onlyKeys(v, ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'], what);
  const keys = Object.keys(v);
  if (keys.length !== 1) fail(`${what} must hold exactly one value, holds ${keys.length}`);
  const [k] = keys;
  const x = v[k];
  switch (k) {
    case 'stringValue':
      if (typeof x !== 'string') fail(`${what}.stringValue is not a string`);
      return x;
    case 'boolValue':
      if (typeof x !== 'boolean') fail(`${what}.boolValue is not a boolean`);
      return x;
    case 'intValue': {
      const n = nanos(x, `${what}.intValue`);
      return Number(n);
    }
    case 'doubleValue':
      if (typeof x !== 'number') fail(`${what}.doubleValue is not a number`);
      return x;
    case 'arrayValue':
      onlyKeys(x, ['values'], `${what}.arrayValue`);
      return (x.values || []).map((e, i) => anyValue(e, `${what}.arrayValue.values[${i}]`));
    default:
      fail(`${what}: ${k} is not used by these tests`);
  }
  return undefined;
}

function attributes(list, what) {
  if (list === undefined) return {};
  if (!Array.isArray(list)) fail(`${what} is not an array`);
  const o = {};
  list.forEach((kv, i) => {
    onlyKeys(kv, ['key', 'value'], `${what}[${i}]`);
    if (typeof kv.key !== 'string' || kv.key === '') fail(`${what}[${i}].key is not a name`);
    if (kv.key in o) fail(`${what} repeats "${kv.key}"`);
    o[kv.key] = anyValue(kv.value, `${what}[${i}].value`);
  });
  return o;
}

// ---- OTLP protobuf -> the OTLP JSON shape (opentelemetry-proto trace/v1, collector/trace/v1) ----
// Each message: field number -> [JSON name, kind, repeated?]. Kinds: a message's own table,
// 'string', 'hex' (bytes as lowercase hex), 'uint' (varint), 'int64s' (varint as a decimal
// string), 'bool', 'fixed64s' (a decimal string), 'fixed32'.
const PB = {};
PB.AnyValue = { 1: ['stringValue', 'string'], 2: ['boolValue', 'bool'], 3: ['intValue', 'int64s'] };
PB.KeyValue = { 1: ['key', 'string'], 2: ['value', 'AnyValue'] };
PB.Status = { 2: ['message', 'string'], 3: ['code', 'uint'] };
PB.Span = {
  1: ['traceId', 'hex'], 2: ['spanId', 'hex'], 3: ['traceState', 'string'], 4: ['parentSpanId', 'hex'],
  5: ['name', 'string'], 6: ['kind', 'uint'], 7: ['startTimeUnixNano', 'fixed64s'], 8: ['endTimeUnixNano', 'fixed64s'],
  9: ['attributes', 'KeyValue', true], 10: ['droppedAttributesCount', 'uint'], 12: ['droppedEventsCount', 'uint'],
  14: ['droppedLinksCount', 'uint'], 15: ['status', 'Status'], 16: ['flags', 'fixed32'],
};
PB.InstrumentationScope = { 1: ['name', 'string'], 2: ['version', 'string'], 3: ['attributes', 'KeyValue', true], 4: ['droppedAttributesCount', 'uint'] };
PB.ScopeSpans = { 1: ['scope', 'InstrumentationScope'], 2: ['spans', 'Span', true], 3: ['schemaUrl', 'string'] };
PB.Resource = { 1: ['attributes', 'KeyValue', true], 2: ['droppedAttributesCount', 'uint'] };
PB.ResourceSpans = { 1: ['resource', 'Resource'], 2: ['scopeSpans', 'ScopeSpans', true], 3: ['schemaUrl', 'string'] };
PB.ExportTraceServiceRequest = { 1: ['resourceSpans', 'ResourceSpans', true] };

const WIRE = { uint: 0, bool: 0, int64s: 0, fixed64s: 1, fixed32: 5 };
const utf8 = new TextDecoder('utf-8', { fatal: true });

function pbDecode(buf, type = 'ExportTraceServiceRequest', where = 'the request') {
  const table = PB[type];
  const o = {};
  let pos = 0;
  const varint = () => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (pos >= buf.length) fail(`${where}: a varint runs past the end`);
      const b = buf[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if (!(b & 0x80)) return v & 0xffffffffffffffffn;
    }
    return fail(`${where}: a varint is too long`);
  };
  const take = (n) => {
    if (pos + n > buf.length) fail(`${where}: a field runs past the end`);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  while (pos < buf.length) {
    const key = varint();
    const field = Number(key >> 3n), wt = Number(key & 7n);
    const f = table[field];
    if (!f) fail(`${where}: ${type} has no field ${field}`);
    const [name, kind, repeated] = f;
    const want = WIRE[kind] ?? 2;
    if (wt !== want) fail(`${where}: ${type}.${name} has wire type ${wt}, not ${want}`);
    let v;
    if (kind === 'uint') v = Number(varint());
    else if (kind === 'bool') v = varint() !== 0n;
    else if (kind === 'int64s') v = BigInt.asIntN(64, varint()).toString();
    else if (kind === 'fixed64s') v = Buffer.from(take(8)).readBigUInt64LE(0).toString();
    else if (kind === 'fixed32') v = Buffer.from(take(4)).readUInt32LE(0);
    else {
      const len = Number(varint());
      const bytes = take(len);
      if (kind === 'string') {
        try {
          v = utf8.decode(bytes);
        } catch {
          fail(`${where}: ${type}.${name} is not UTF-8`);
        }
      } else if (kind === 'hex') v = Buffer.from(bytes).toString('hex');
      else v = pbDecode(bytes, kind, `${where}.${name}`);
    }
    if (repeated) (o[name] ??= []).push(v);
    else if (name in o) fail(`${where}: ${type}.${name} appears twice`);
    else o[name] = v;
  }
  return o;
}

// OTLP JSON -> ReadableSpan-shaped objects (what the SDK's exporters hand to the serializers).
function decode(doc) {
  onlyKeys(doc, ['resourceSpans'], 'the request');
  if (!Array.isArray(doc.resourceSpans)) fail('resourceSpans is not an array');
  const spans = [];
  doc.resourceSpans.forEach((rs, r) => {
    const w = `resourceSpans[${r}]`;
    onlyKeys(rs, ['resource', 'scopeSpans', 'schemaUrl'], w);
    onlyKeys(rs.resource ?? {}, ['attributes', 'droppedAttributesCount'], `${w}.resource`);
    const resource = { attributes: attributes(rs.resource?.attributes, `${w}.resource.attributes`), schemaUrl: rs.schemaUrl };
    if (typeof resource.attributes['service.name'] !== 'string') fail(`${w} has no service.name`);
    (rs.scopeSpans || []).forEach((ss, s) => {
      const ws = `${w}.scopeSpans[${s}]`;
      onlyKeys(ss, ['scope', 'spans', 'schemaUrl'], ws);
      onlyKeys(ss.scope ?? {}, ['name', 'version', 'attributes', 'droppedAttributesCount'], `${ws}.scope`);
      const scope = { name: ss.scope?.name ?? '', version: ss.scope?.version, schemaUrl: ss.schemaUrl };
      (ss.spans || []).forEach((sp, i) => {
        const wp = `${ws}.spans[${i}]`;
        onlyKeys(sp, ['traceId', 'spanId', 'traceState', 'parentSpanId', 'flags', 'name', 'kind', 'startTimeUnixNano',
          'endTimeUnixNano', 'attributes', 'droppedAttributesCount', 'events', 'droppedEventsCount', 'links',
          'droppedLinksCount', 'status'], wp);
        const traceId = hexId(sp.traceId, 32, `${wp}.traceId`);
        const spanId = hexId(sp.spanId, 16, `${wp}.spanId`);
        const parent = sp.parentSpanId ? hexId(sp.parentSpanId, 16, `${wp}.parentSpanId`) : undefined;
        if (typeof sp.name !== 'string' || sp.name === '') fail(`${wp}.name is empty`);
        if (!Number.isInteger(sp.kind) || sp.kind < 1 || sp.kind > 5) fail(`${wp}.kind ${sp.kind} is not a SpanKind`);
        const start = nanos(sp.startTimeUnixNano, `${wp}.startTimeUnixNano`);
        const end = nanos(sp.endTimeUnixNano, `${wp}.endTimeUnixNano`);
        if (start === 0n || end < start) fail(`${wp}: times ${start}..${end} are not a span`);
        onlyKeys(sp.status ?? {}, ['code', 'message'], `${wp}.status`);
        const code = sp.status?.code ?? 0;
        if (![0, 1, 2].includes(code)) fail(`${wp}.status.code ${code} is not a StatusCode`);
        const flags = sp.flags ?? 0;
        if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) fail(`${wp}.flags is not a fixed32`);
        spans.push({
          name: sp.name,
          kind: sp.kind - 1, // the API's SpanKind has no UNSPECIFIED
          spanContext: () => ({ traceId, spanId, traceFlags: flags & 0xff }),
          parentSpanContext: parent ? { traceId, spanId: parent, traceFlags: flags & 0xff, isRemote: false } : undefined,
          startTime: hrTime(start),
          endTime: hrTime(end),
          duration: hrTime(end - start),
          ended: true,
          status: { code, message: sp.status?.message },
          attributes: attributes(sp.attributes, `${wp}.attributes`),
          links: [],
          events: [],
          droppedAttributesCount: 0,
          droppedEventsCount: 0,
          droppedLinksCount: 0,
          resource,
          instrumentationScope: scope,
        });
      });
    });
  });
  return spans;
}

// The project's JSON for the decoded spans must say what warden's said.
function crossCheck(doc, spans) {
  const ours = doc.resourceSpans.flatMap((rs) => (rs.scopeSpans || []).flatMap((ss) => ss.spans || []));
  const theirs = JSON.parse(Buffer.from(JsonTraceSerializer.serializeRequest(spans)).toString())
    .resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
  const bytes = ProtobufTraceSerializer.serializeRequest(spans);
  if (!bytes || bytes.length === 0) fail('the project\'s protobuf encoder produced nothing');
  if (theirs.length !== ours.length) fail(`span count ${ours.length} vs ${theirs.length}`);
  const norm = (attrs) => JSON.stringify((attrs || []).map((kv) => {
    const v = kv.value;
    return [kv.key, 'intValue' in v ? Number(v.intValue) : Object.values(v)[0]];
  }).sort());
  const byId = new Map(theirs.map((t) => [t.spanId, t]));
  for (const o of ours) {
    const t = byId.get(o.spanId);
    if (!t) fail(`span ${o.spanId} is missing from the project's encoding`);
    const pairs = [
      ['traceId', o.traceId, t.traceId],
      ['parentSpanId', o.parentSpanId || undefined, t.parentSpanId],
      ['name', o.name, t.name],
      ['kind', o.kind, t.kind],
      ['startTimeUnixNano', String(o.startTimeUnixNano), String(t.startTimeUnixNano)],
      ['endTimeUnixNano', String(o.endTimeUnixNano), String(t.endTimeUnixNano)],
      ['status.code', o.status?.code ?? 0, t.status.code],
      ['attributes', norm(o.attributes), norm(t.attributes)],
    ];
    for (const [what, a, b] of pairs) if (a !== b) fail(`span ${o.spanId} ${what}: warden sent ${a}, the project encodes ${b}`);
  }
  // The project's protobuf, decoded as warden's was, says the same of every span.
  const theirsPb = pbDecode(bytes, 'ExportTraceServiceRequest', 'the project\'s protobuf')
    .resourceSpans.flatMap((rs) => (rs.scopeSpans || []).flatMap((ss) => ss.spans || []));
  const pbById = new Map(theirsPb.map((t) => [t.spanId, t]));
  for (const o of ours) {
    const t = pbById.get(o.spanId);
    if (!t) fail(`span ${o.spanId} is missing from the project's protobuf`);
    const pairs = [
      ['traceId', o.traceId, t.traceId],
      ['parentSpanId', o.parentSpanId, t.parentSpanId],
      ['name', o.name, t.name],
      ['kind', o.kind, t.kind],
      ['startTimeUnixNano', String(o.startTimeUnixNano), String(t.startTimeUnixNano)],
      ['endTimeUnixNano', String(o.endTimeUnixNano), String(t.endTimeUnixNano)],
      ['status.code', o.status?.code ?? 0, t.status?.code ?? 0],
      ['flags', (o.flags ?? 0) & 0xff, (t.flags ?? 0) & 0xff],
      ['attributes', norm(o.attributes), norm(t.attributes)],
    ];
    for (const [what, a, b] of pairs) if (a !== b) fail(`span ${o.spanId} ${what} (protobuf): warden sent ${a}, the project encodes ${b}`);
  }
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    // An empty 200 is a full success in either encoding; a refusal says why in JSON.
    const answer = (status, body) => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(status === 200 ? '' : JSON.stringify(body));
    };
    try {
      if (req.method !== 'POST' || req.url !== '/v1/traces') return answer(404, { error: 'POST /v1/traces' });
      const ct = req.headers['content-type'] || '';
      const body = Buffer.concat(chunks);
      let doc;
      if (/^application\/x-protobuf\b/.test(ct)) doc = pbDecode(body);
      else if (/^application\/json\b/.test(ct)) doc = JSON.parse(body.toString('utf8'));
      else fail(`content-type ${ct}`);
      const spans = decode(doc);
      crossCheck(doc, spans);
      const lines = spans.map((s) => JSON.stringify({
        service: s.resource.attributes['service.name'],
        scope: s.instrumentationScope.name,
        traceId: s.spanContext().traceId,
        spanId: s.spanContext().spanId,
        parentSpanId: s.parentSpanContext?.spanId ?? null,
        name: s.name,
        kind: s.kind + 1,
        start: String(BigInt(s.startTime[0]) * 1000000000n + BigInt(s.startTime[1])),
        end: String(BigInt(s.endTime[0]) * 1000000000n + BigInt(s.endTime[1])),
        status: s.status.code,
        attributes: s.attributes,
      }));
      if (lines.length) fs.appendFileSync(out, lines.join('\n') + '\n');
      return answer(200, {});
    } catch (e) {
      fs.appendFileSync(out, JSON.stringify({ rejected: String(e.message || e) }) + '\n');
      return answer(400, { error: String(e.message || e) });
    }
  });
});

server.listen(port, '127.0.0.1', () => {
  console.log(`PORT ${server.address().port}`);
});
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
