import type { AnyValue, ExportTraceServiceRequest, KeyValue, OtlpSpan } from './model.js';

/**
 * ExportTraceServiceRequest as protobuf (opentelemetry/proto/collector/trace/v1), by
 * hand: the few messages OTLP traces need, proto3 rules (default values omitted).
 * Field numbers from opentelemetry-proto v1 (trace.proto, common.proto, resource.proto).
 */
export function encodeExportRequest(req: ExportTraceServiceRequest): Uint8Array {
  const w = new Writer();
  for (const rs of req.resourceSpans) {
    w.message(1, (m) => {
      m.message(1, (r) => attributesOf(r, 1, rs.resource.attributes));
      for (const ss of rs.scopeSpans) {
        m.message(2, (s) => {
          s.message(1, (sc) => {
            sc.string(1, ss.scope.name);
            if (ss.scope.version) sc.string(2, ss.scope.version);
          });
          for (const span of ss.spans) s.message(2, (sp) => spanOf(sp, span));
        });
      }
    });
  }
  return w.finish();
}

function spanOf(w: Writer, s: OtlpSpan): void {
  w.bytes(1, hexBytes(s.traceId, 16));
  w.bytes(2, hexBytes(s.spanId, 8));
  if (s.parentSpanId) w.bytes(4, hexBytes(s.parentSpanId, 8));
  w.string(5, s.name);
  if (s.kind) w.varint(6, BigInt(s.kind));
  w.fixed64(7, BigInt(s.startTimeUnixNano));
  w.fixed64(8, BigInt(s.endTimeUnixNano));
  attributesOf(w, 9, s.attributes);
  if (s.status && (s.status.code || s.status.message)) {
    const status = s.status;
    w.message(15, (st) => {
      if (status.message) st.string(2, status.message);
      if (status.code) st.varint(3, BigInt(status.code));
    });
  }
}

function attributesOf(w: Writer, field: number, attrs: readonly KeyValue[]): void {
  for (const kv of attrs) {
    w.message(field, (m) => {
      m.string(1, kv.key);
      m.message(2, (v) => anyValueOf(v, kv.value));
    });
  }
}

function anyValueOf(w: Writer, v: AnyValue): void {
  if ('stringValue' in v) w.string(1, v.stringValue, true);
  else if ('boolValue' in v) w.varint(2, v.boolValue ? 1n : 0n, true);
  else if ('intValue' in v) w.varint(3, BigInt.asUintN(64, BigInt(v.intValue)), true);
  else if ('doubleValue' in v) w.double(4, v.doubleValue);
  else w.message(5, (a) => {
    for (const item of v.arrayValue.values) a.message(1, (x) => anyValueOf(x, item));
  });
}

function hexBytes(hex: string, length: number): Uint8Array {
  if (!new RegExp(`^[0-9a-f]{${length * 2}}$`).test(hex)) throw new Error(`OTLP id must be ${length * 2} lowercase hex digits, got '${hex}'`);
  return Buffer.from(hex, 'hex');
}

const WIRE_VARINT = 0;
const WIRE_64 = 1;
const WIRE_LEN = 2;

/** A protobuf writer: nested messages are written to their own writer and length-prefixed. */
class Writer {
  private chunks: Uint8Array[] = [];
  private length = 0;

  private push(bytes: Uint8Array): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  private tag(field: number, wire: number): void {
    this.rawVarint(BigInt((field << 3) | wire));
  }

  private rawVarint(n: bigint): void {
    const out: number[] = [];
    let v = n;
    while (v > 0x7fn) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    this.push(Uint8Array.from(out));
  }

  /** `force`: written even when zero (a oneof member is present by being written). */
  varint(field: number, n: bigint, force = false): void {
    if (n === 0n && !force) return;
    this.tag(field, WIRE_VARINT);
    this.rawVarint(n);
  }

  fixed64(field: number, n: bigint): void {
    if (n === 0n) return;
    this.tag(field, WIRE_64);
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(BigInt.asUintN(64, n));
    this.push(b);
  }

  double(field: number, n: number): void {
    this.tag(field, WIRE_64);
    const b = Buffer.alloc(8);
    b.writeDoubleLE(n);
    this.push(b);
  }

  bytes(field: number, bytes: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.rawVarint(BigInt(bytes.length));
    this.push(bytes);
  }

  string(field: number, s: string, force = false): void {
    if (s === '' && !force) return;
    this.bytes(field, Buffer.from(s, 'utf8'));
  }

  message(field: number, write: (w: Writer) => void): void {
    const inner = new Writer();
    write(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return Buffer.concat(this.chunks, this.length);
  }
}
