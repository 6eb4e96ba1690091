/**
 * Reads an OPA bundle (tar.gz): its compiled policy (/policy.wasm, or the module the
 * .manifest names), its Rego modules, and its data documents (`a/b/data.json` → data.a.b).
 */
import { yamlModule } from '../lazy/load.js';
import { readTarGz } from './ustar.js';
import type { TarLimits } from './ustar.js';

export interface BundleManifest {
  readonly revision?: string;
  readonly roots?: readonly string[];
  readonly wasm?: ReadonlyArray<{ entrypoint: string; module: string }>;
  readonly [key: string]: unknown;
}

export interface Bundle {
  /** The compiled policy, when the bundle has one (built with `opa build -t wasm`). */
  readonly wasm: Uint8Array | undefined;
  /** Rego source files, by path inside the bundle. */
  readonly modules: ReadonlyArray<{ name: string; source: string }>;
  /** The data document assembled from every data.json / data.yaml. */
  readonly data: Record<string, unknown>;
  readonly manifest: BundleManifest | undefined;
}

export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

const GZIP_MAGIC = [0x1f, 0x8b];

export function isGzip(bytes: Uint8Array): boolean {
  return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

export function readBundle(bytes: Uint8Array, limits: TarLimits = {}): Bundle {
  const entries = readTarGz(bytes, limits);
  const files = new Map(entries.map((e) => [e.path, e.data] as const));
  const manifest = readManifest(files.get('.manifest'));
  const wasmPaths = [...new Set((manifest?.wasm ?? []).map((w) => w.module.replace(/^\/+/, '')))];
  if (wasmPaths.length > 1) throw new BundleError(`bundles with more than one wasm module are not supported (${wasmPaths.join(', ')})`);
  const wasmPath = wasmPaths[0] ?? 'policy.wasm';
  const wasm = files.get(wasmPath);
  if (wasmPaths.length === 1 && wasm === undefined) throw new BundleError(`.manifest names ${wasmPath}, which the bundle does not contain`);

  const modules: Array<{ name: string; source: string }> = [];
  let data: Record<string, unknown> = {};
  for (const { path, data: body } of entries) {
    if (path.endsWith('.rego')) {
      modules.push({ name: path, source: decode(body, path) });
      continue;
    }
    const base = path.split('/').pop()!;
    if (base !== 'data.json' && base !== 'data.yaml' && base !== 'data.yml') continue;
    const text = decode(body, path);
    let doc: unknown;
    try {
      doc = base === 'data.json' ? JSON.parse(text) : yamlModule().parse(text);
    } catch (err) {
      throw new BundleError(`${path}: ${(err as Error).message}`);
    }
    const dirs = path.split('/').slice(0, -1);
    data = mergeAt(data, dirs, doc ?? {}, path);
  }
  return { wasm, modules, data, manifest };
}

function readManifest(body: Uint8Array | undefined): BundleManifest | undefined {
  if (body === undefined) return undefined;
  let m: unknown;
  try {
    m = JSON.parse(decode(body, '.manifest'));
  } catch (err) {
    throw new BundleError(`.manifest: ${(err as Error).message}`);
  }
  if (!isObject(m)) throw new BundleError('.manifest must hold a JSON object');
  const wasm = m['wasm'];
  if (wasm !== undefined && (!Array.isArray(wasm) || !wasm.every((w) => isObject(w) && typeof w['module'] === 'string' && typeof w['entrypoint'] === 'string'))) {
    throw new BundleError('.manifest: wasm must be a list of {entrypoint, module}');
  }
  return m as BundleManifest;
}

function decode(body: Uint8Array, path: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    throw new BundleError(`${path} is not valid UTF-8`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Places `doc` at `path` under `into`, merging objects; two documents for one leaf is an error (as OPA). */
function mergeAt(into: Record<string, unknown>, path: readonly string[], doc: unknown, file: string): Record<string, unknown> {
  if (path.length === 0) {
    if (!isObject(doc)) throw new BundleError(`${file}: a root data document must be an object`);
    return mergeObjects(into, doc, file);
  }
  const [head, ...rest] = path as [string, ...string[]];
  const out = { ...into };
  const prev = out[head];
  if (rest.length === 0 && !isObject(doc)) {
    if (prev !== undefined) throw new BundleError(`${file}: conflicts with other data at ${path.join('/')}`);
    out[head] = doc;
  } else {
    if (prev !== undefined && !isObject(prev)) throw new BundleError(`${file}: conflicts with other data at ${head}`);
    out[head] = mergeAt(prev ?? {}, rest, doc, file);
  }
  return out;
}

function mergeObjects(a: Record<string, unknown>, b: Record<string, unknown>, file: string): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (isObject(prev) && isObject(v)) out[k] = mergeObjects(prev, v, file);
    else throw new BundleError(`${file}: conflicts with other data at ${k}`);
  }
  return out;
}

/** Deep-merges `over` onto `base` (objects merge, anything else in `over` wins): caller data over bundle data. */
export function overlayData(base: Record<string, unknown>, over: unknown): unknown {
  if (!isObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const prev = out[k];
    out[k] = isObject(prev) && isObject(v) ? overlayData(prev, v) : v;
  }
  return out;
}
