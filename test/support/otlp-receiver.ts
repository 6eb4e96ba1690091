/**
 * An OTLP/HTTP trace receiver, as a Collector's `otlphttp` receiver answers: POST
 * /v1/traces with `application/x-protobuf` or `application/json`, decoded into one
 * normalized shape (OTLP/JSON: hex ids, nanoseconds as decimal strings), 200 `{}` when
 * it decodes, 400 when it does not, 415 for another content type. The protobuf decoder
 * here is written from the .proto field numbers independently of the gateway's encoder,
 * so a wrong field number or wire type in either one fails the tests.
 *
 * `failNext(status, n)` answers the next n exports with that status (retry tests).
 */
import { createServer, type IncomingMessage } from 'node:http';
import { listenLocal } from './local-server.js';

export interface ReceivedValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: number;
  arrayValue?: { values: ReceivedValue[] };
}

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: Record<string, ReceivedValue>;
  status: { code: number; message: string };
}

export interface ReceivedExport {
  contentType: string;
  headers: IncomingMessage['headers'];
  resource: Record<string, ReceivedValue>;
  scope: { name: string; version: string };
  spans: ReceivedSpan[];
}

export interface OtlpReceiver {
  url: string;
  exports: ReceivedExport[];
  /** Every span received so far. */
  spans(): ReceivedSpan[];
  /** Resolves once at least n spans arrived (polls every 10 ms, fails after 10 s). */
  waitForSpans(n: number): Promise<ReceivedSpan[]>;
  failNext(status: number, times: number): void;
  requests: number;
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const exports: ReceivedExport[] = [];
  let failures: { status: number; times: number } | undefined;
  let requests = 0;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    requests++;
    const body = Buffer.concat(chunks);
    const reply = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(payload));
    };
    if (req.method !== 'POST' || req.url !== '/v1/traces') return reply(404, { error: 'not found' });
    if (failures && failures.times > 0) {
      failures.times--;
      return reply(failures.status, { error: 'induced failure' });
    }
    const contentType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
    try {
      const decoded = contentType === 'application/x-protobuf' ? decodeProtobuf(body) : contentType === 'application/json' ? normalizeJson(JSON.parse(body.toString('utf8'))) : undefined;
      if (!decoded) return reply(415, { error: `unsupported content type ${contentType}` });
      for (const d of decoded) exports.push({ contentType, headers: req.headers, ...d });
      reply(200, {});
    } catch (err) {
      reply(400, { error: (err as Error).message });
    }
  });
  const local = await listenLocal(server);
  const spans = () => exports.flatMap((e) => e.spans);
  return {
    url: `http://127.0.0.1:${local.port}`,
    exports,
    spans,
    get requests() {
      return requests;
    },
    async waitForSpans(n) {
      for (let i = 0; i < 1000; i++) {
        if (spans().length >= n) return spans();
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error(`OTLP receiver: ${spans().length} spans after 10 s, wanted ${n}`);
    },
    failNext(status, times) {
      failures = { status, times };
    },
    close: () => local.close(),
  };
}

type Decoded = Omit<ReceivedExport, 'contentType' | 'headers'>;

// ---- protobuf -------------------------------------------------------------------------

interface Field {
  no: number;
  wire: number;
  /** varint as bigint, fixed64 as 8 bytes, length-delimited as bytes. */
  value: bigint | Buffer;
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  let pos = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= buf.length) throw new Error('protobuf: truncated varint');
      const b = buf[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('protobuf: varint too long');
    }
  };
  while (pos < buf.length) {
    const key = Number(varint());
    const no = key >>> 3;
    const wire = key & 7;
    if (no === 0) throw new Error('protobuf: field number 0');
    if (wire === 0) out.push({ no, wire, value: varint() });
    else if (wire === 1) {
      if (pos + 8 > buf.length) throw new Error('protobuf: truncated fixed64');
      out.push({ no, wire, value: buf.subarray(pos, pos + 8) });
      pos += 8;
    } else if (wire === 2) {
      const len = Number(varint());
      if (pos + len > buf.length) throw new Error('protobuf: truncated length-delimited field');
      out.push({ no, wire, value: buf.subarray(pos, pos + len) });
      pos += len;
    } else if (wire === 5) {
      out.push({ no, wire, value: buf.subarray(pos, pos + 4) });
      pos += 4;
    } else throw new Error(`protobuf: unsupported wire type ${wire}`);
  }
  return out;
}

function expectWire(f: Field, wire: number, what: string): void {
  if (f.wire !== wire) throw new Error(`protobuf: ${what} (field ${f.no}) has wire type ${f.wire}, expected ${wire}`);
}
const bytesOf = (f: Field, what: string): Buffer => {
  expectWire(f, 2, what);
  return f.value as Buffer;
};

function decodeProtobuf(body: Buffer): Decoded[] {
  const out: Decoded[] = [];
  for (const rs of fields(body)) {
    if (rs.no !== 1) continue;
    let resource: Record<string, ReceivedValue> = {};
    const scopeSpans: { scope: { name: string; version: string }; spans: ReceivedSpan[] }[] = [];
    for (const f of fields(bytesOf(rs, 'ResourceSpans'))) {
      if (f.no === 1) resource = keyValues(fields(bytesOf(f, 'Resource')).filter((x) => x.no === 1));
      if (f.no === 2) {
        const scope = { name: '', version: '' };
        const spans: ReceivedSpan[] = [];
        for (const s of fields(bytesOf(f, 'ScopeSpans'))) {
          if (s.no === 1) {
            for (const sc of fields(bytesOf(s, 'InstrumentationScope'))) {
              if (sc.no === 1) scope.name = bytesOf(sc, 'scope.name').toString('utf8');
              if (sc.no === 2) scope.version = bytesOf(sc, 'scope.version').toString('utf8');
            }
          }
          if (s.no === 2) spans.push(span(bytesOf(s, 'Span')));
        }
        scopeSpans.push({ scope, spans });
      }
    }
    for (const ss of scopeSpans) out.push({ resource, scope: ss.scope, spans: ss.spans });
  }
  return out;
}

function span(buf: Buffer): ReceivedSpan {
  const s: ReceivedSpan = { traceId: '', spanId: '', parentSpanId: '', name: '', kind: 0, startTimeUnixNano: '0', endTimeUnixNano: '0', attributes: {}, status: { code: 0, message: '' } };
  const attrs: Field[] = [];
  for (const f of fields(buf)) {
    switch (f.no) {
      case 1:
        s.traceId = bytesOf(f, 'trace_id').toString('hex');
        break;
      case 2:
        s.spanId = bytesOf(f, 'span_id').toString('hex');
        break;
      case 4:
        s.parentSpanId = bytesOf(f, 'parent_span_id').toString('hex');
        break;
      case 5:
        s.name = bytesOf(f, 'name').toString('utf8');
        break;
      case 6:
        expectWire(f, 0, 'kind');
        s.kind = Number(f.value);
        break;
      case 7:
        expectWire(f, 1, 'start_time_unix_nano');
        s.startTimeUnixNano = (f.value as Buffer).readBigUInt64LE().toString();
        break;
      case 8:
        expectWire(f, 1, 'end_time_unix_nano');
        s.endTimeUnixNano = (f.value as Buffer).readBigUInt64LE().toString();
        break;
      case 9:
        attrs.push(f);
        break;
      case 15:
        for (const st of fields(bytesOf(f, 'status'))) {
          if (st.no === 2) s.status.message = bytesOf(st, 'status.message').toString('utf8');
          if (st.no === 3) {
            expectWire(st, 0, 'status.code');
            s.status.code = Number(st.value);
          }
        }
        break;
    }
  }
  s.attributes = keyValues(attrs);
  return s;
}

function keyValues(list: Field[]): Record<string, ReceivedValue> {
  const out: Record<string, ReceivedValue> = {};
  for (const kv of list) {
    let key = '';
    let value: ReceivedValue = {};
    for (const f of fields(bytesOf(kv, 'KeyValue'))) {
      if (f.no === 1) key = bytesOf(f, 'KeyValue.key').toString('utf8');
      if (f.no === 2) value = anyValue(bytesOf(f, 'KeyValue.value'));
    }
    out[key] = value;
  }
  return out;
}

function anyValue(buf: Buffer): ReceivedValue {
  for (const f of fields(buf)) {
    if (f.no === 1) return { stringValue: bytesOf(f, 'string_value').toString('utf8') };
    if (f.no === 2) {
      expectWire(f, 0, 'bool_value');
      return { boolValue: f.value !== 0n };
    }
    if (f.no === 3) {
      expectWire(f, 0, 'int_value');
      return { intValue: BigInt.asIntN(64, f.value as bigint).toString() };
    }
    if (f.no === 4) {
      expectWire(f, 1, 'double_value');
      return { doubleValue: (f.value as Buffer).readDoubleLE() };
    }
    if (f.no === 5) return { arrayValue: { values: fields(bytesOf(f, 'array_value')).filter((x) => x.no === 1).map((x) => anyValue(bytesOf(x, 'ArrayValue.values'))) } };
  }
  return {};
}

// ---- JSON -----------------------------------------------------------------------------

interface JsonKv {
  key: string;
  value: ReceivedValue & { intValue?: string | number };
}

function normalizeJson(body: unknown): Decoded[] {
  const rs = (body as { resourceSpans?: unknown }).resourceSpans;
  if (!Array.isArray(rs)) throw new Error('OTLP/JSON: resourceSpans missing');
  const out: Decoded[] = [];
  for (const r of rs as { resource?: { attributes?: JsonKv[] }; scopeSpans?: { scope?: { name?: string; version?: string }; spans?: Record<string, unknown>[] }[] }[]) {
    const resource = jsonKvs(r.resource?.attributes ?? []);
    for (const ss of r.scopeSpans ?? []) {
      out.push({
        resource,
        scope: { name: ss.scope?.name ?? '', version: ss.scope?.version ?? '' },
        spans: (ss.spans ?? []).map((s) => {
          for (const id of ['traceId', 'spanId', 'parentSpanId'] as const) {
            if (s[id] !== undefined && !/^[0-9a-f]*$/.test(String(s[id]))) throw new Error(`OTLP/JSON: ${id} must be hex`);
          }
          const status = (s.status ?? {}) as { code?: number; message?: string };
          return {
            traceId: String(s.traceId ?? ''),
            spanId: String(s.spanId ?? ''),
            parentSpanId: String(s.parentSpanId ?? ''),
            name: String(s.name ?? ''),
            kind: Number(s.kind ?? 0),
            startTimeUnixNano: String(s.startTimeUnixNano ?? '0'),
            endTimeUnixNano: String(s.endTimeUnixNano ?? '0'),
            attributes: jsonKvs((s.attributes as JsonKv[] | undefined) ?? []),
            status: { code: Number(status.code ?? 0), message: status.message ?? '' },
          };
        }),
      });
    }
  }
  return out;
}

function jsonKvs(list: JsonKv[]): Record<string, ReceivedValue> {
  const out: Record<string, ReceivedValue> = {};
  for (const kv of list) {
    const v = { ...kv.value };
    if (v.intValue !== undefined) v.intValue = String(v.intValue);
    out[kv.key] = v as ReceivedValue;
  }
  return out;
}
