/**
 * OPA bundles (tar.gz) through compile(): archives written by GNU tar (an independent
 * writer, in gnu and pax formats) holding the ABI test module, Rego files and data.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { compile, RegoError } from '../../../functions/rego/index.js';
import { readTarGz } from '../../../functions/rego/wasm/ustar.js';
import { buildAbiModule } from './abi-module.js';

const root = mkdtempSync(join(tmpdir(), 'sluice-bundle-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let counter = 0;

/** Writes the files into a fresh folder and packs them with GNU tar. */
function tarGz(files: Record<string, string | Uint8Array>, format: 'gnu' | 'pax' = 'gnu'): Uint8Array {
  const dir = join(root, `b${counter++}`);
  for (const [path, body] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), body);
  }
  const out = `${dir}.tar.gz`;
  execFileSync('tar', ['-czf', out, `--format=${format}`, '-C', dir, ...Object.keys(files)]);
  return readFileSync(out);
}

function errorOf(fn: () => unknown): RegoError {
  try {
    fn();
  } catch (err) {
    if (err instanceof RegoError) return err;
    throw err;
  }
  throw new Error('expected a RegoError');
}

const wasm = buildAbiModule({ minorVersion: 2 });

describe('OPA bundles', () => {
  it('evaluates policy.wasm with the data documents of the bundle, caller data laid over them', () => {
    const bundle = tarGz({
      '.manifest': JSON.stringify({ revision: 'r1', roots: ['sluice'] }),
      'policy.wasm': wasm,
      'data.json': JSON.stringify({ limits: { tokens: 100 } }),
      'sluice/models/data.json': JSON.stringify({ allow: ['gpt-4o'] }),
      'sluice/tools/data.yaml': 'deny:\n  - shell\n',
    });
    const policy = compile(bundle);
    expect(policy.format).toBe('wasm');
    const bundled = { limits: { tokens: 100 }, sluice: { models: { allow: ['gpt-4o'] }, tools: { deny: ['shell'] } } };
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/data' }).result).toEqual(bundled);
    const caller = { sluice: { tools: { deny: ['browser'] } }, org: 'acme' };
    expect(policy.evaluate({}, { entrypoint: 'sluice/policy/data', data: caller }).result).toEqual({
      limits: { tokens: 100 },
      sluice: { models: { allow: ['gpt-4o'] }, tools: { deny: ['browser'] } },
      org: 'acme',
    });
  });

  it('loads the module the .manifest names', () => {
    const bundle = tarGz({
      '.manifest': JSON.stringify({ wasm: [{ entrypoint: 'sluice/policy/echo', module: '/build/gateway.wasm' }] }),
      'build/gateway.wasm': wasm,
    });
    expect(compile(bundle).evaluate({ a: 1 }, { entrypoint: 'sluice/policy/echo' }).result).toEqual({ a: 1 });
  });

  it('refuses a bundle whose .manifest names a missing module', () => {
    const bundle = tarGz({ '.manifest': JSON.stringify({ wasm: [{ entrypoint: 'x/y', module: '/missing.wasm' }] }), 'policy.wasm': wasm });
    const err = errorOf(() => compile(bundle));
    expect(err.code).toBe('bundle_error');
    expect(err.message).toContain('missing.wasm');
  });

  it('compiles a bundle of Rego files with its data, behind the same interface', () => {
    const bundle = tarGz({
      'policy/gateway.rego': 'package sluice.policy\n\ndeny contains msg if {\n  some t in input.tools\n  t in data.sluice.tools.deny\n  msg := sprintf("tool %s is not allowed", [t])\n}\n\nnow := time.now_ns()\n',
      'sluice/tools/data.json': JSON.stringify({ deny: ['shell'] }),
    });
    const policy = compile(bundle);
    expect(policy.format).toBe('rego');
    expect(policy.entrypoints).toEqual(['sluice/policy/deny', 'sluice/policy/now']);
    expect(policy.evaluate({ tools: ['shell', 'search'] }, { entrypoint: 'sluice/policy/deny' }).result).toEqual(['tool shell is not allowed']);
    expect(policy.evaluate({ tools: ['browser'] }, { entrypoint: 'sluice/policy/deny', data: { sluice: { tools: { deny: ['browser'] } } } }).result).toEqual([
      'tool browser is not allowed',
    ]);
    expect(policy.evaluate({}, { entrypoint: 'sluice.policy.now', now: new Date(2_000) }).result).toBe(2e9);
  });

  it('reads long names from pax and gnu archives', () => {
    const deep = `${'d'.repeat(120)}/${'e'.repeat(60)}`;
    for (const format of ['pax', 'gnu'] as const) {
      const bundle = tarGz({ 'policy.wasm': wasm, [`${deep}/data.json`]: '{"ok":true}' }, format);
      const result = compile(bundle).evaluate({}, { entrypoint: 'sluice/policy/data' }).result;
      expect(result).toEqual({ ['d'.repeat(120)]: { ['e'.repeat(60)]: { ok: true } } });
    }
  });

  it('refuses conflicting data documents', () => {
    const bundle = tarGz({ 'policy.wasm': wasm, 'data.json': '{"a":{"b":1}}', 'a/b/data.json': '{"c":2}' });
    expect(errorOf(() => compile(bundle)).code).toBe('bundle_error');
  });

  it('refuses a bundle with neither policy.wasm nor Rego files', () => {
    expect(errorOf(() => compile(tarGz({ 'data.json': '{}' }))).message).toContain('neither policy.wasm nor .rego');
  });

  it('bounds the uncompressed size', () => {
    const bundle = tarGz({ 'policy.wasm': wasm, 'data.json': JSON.stringify({ pad: 'x'.repeat(200_000) }) });
    const err = errorOf(() => compile(bundle, { maxBytes: 100_000 }));
    expect(err.code).toBe('bundle_error');
    expect(err.message).toContain('100000');
  });
});

describe('ustar reader', () => {
  /** Renames the first entry of a tar (same length) and fixes its checksum. */
  function renameFirst(tgz: Uint8Array, name: string): Uint8Array {
    const tar = Buffer.from(gunzipSync(tgz));
    tar.write(name, 0, 'utf8');
    tar.fill(0x20, 148, 156);
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += tar[i]!;
    tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
    return gzipSync(tar);
  }

  it('reads what GNU tar wrote, byte for byte', () => {
    const body = new Uint8Array(1500).map((_, i) => (i * 7) % 256);
    const entries = readTarGz(tarGz({ 'a/one.bin': body, 'b.txt': 'hello' }));
    expect(entries.map((e) => e.path)).toEqual(['a/one.bin', 'b.txt']);
    expect(Buffer.from(entries[0]!.data).equals(Buffer.from(body))).toBe(true);
    expect(Buffer.from(entries[1]!.data).toString()).toBe('hello');
  });

  it('refuses a path that climbs out of the bundle', () => {
    const tgz = renameFirst(tarGz({ 'ab/x': '{}' }), '../x');
    expect(() => readTarGz(tgz)).toThrow(/unsafe path/);
  });

  it('refuses a header with a bad checksum', () => {
    const tar = Buffer.from(gunzipSync(tarGz({ 'x.json': '{}' })));
    tar[0] = tar[0]! ^ 1;
    expect(() => readTarGz(gzipSync(tar))).toThrow(/checksum/);
  });

  it('refuses a stream that is not gzip', () => {
    expect(() => readTarGz(new Uint8Array([1, 2, 3]))).toThrow(/not a gzip stream/);
  });
});
