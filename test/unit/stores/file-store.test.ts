import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEBOUNCE_MS } from '../../../functions/stores/data-dir-watch.js';
import { ControlStoreError, DuplicateKeyError } from '../../../functions/stores/errors.js';
import { FileControlStore } from '../../../functions/stores/file-store.js';
import { generateGatewayKey } from '../../../functions/stores/keys.js';
import type { ApiKeyRecord, ProxyConfig } from '../../../functions/stores/types.js';
import { controlStoreContract } from './control-store-contract.js';

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(join(tmpdir(), 'sluice-file-store-'));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

function proxy(id: string): ProxyConfig {
  return {
    id,
    orgId: 'default',
    name: id,
    provider: 'openai',
    baseUrl: 'https://api.openai.com/v1',
    byok: false,
    allowPrivateNetwork: false,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
}

function key(name: string): ApiKeyRecord {
  const { id, hash } = generateGatewayKey();
  return { id, hash, proxyId: 'p1', orgId: 'default', name, createdAt: new Date().toISOString() };
}

controlStoreContract('FileControlStore', async () => ({ store: new FileControlStore({ dataDir: dir }), close: async () => {} }));

describe('FileControlStore', () => {
  it('survives a restart: a new instance reads what an old one wrote', async () => {
    const first = new FileControlStore({ dataDir: join(dir, 'nested', 'data') });
    await first.putProxy(proxy('p1'));
    const k = key('a');
    await first.putKey(k);
    const second = new FileControlStore({ dataDir: join(dir, 'nested', 'data') });
    expect(await second.getProxy('p1')).toEqual(proxy('p1'));
    expect(await second.getKeyByHash(k.hash)).toEqual(k);
  });

  it('sees changes made by another instance (another process) without restarting, once the watch settles', async () => {
    const gateway = new FileControlStore({ dataDir: dir });
    const cli = new FileControlStore({ dataDir: dir });
    const settled = () => new Promise((r) => setTimeout(r, DEBOUNCE_MS + 30));
    const k = key('a');
    expect(await gateway.getKeyByHash(k.hash)).toBeUndefined();
    await cli.putKey(k);
    await settled();
    expect((await gateway.getKeyByHash(k.hash))?.id).toBe(k.id);
    await cli.revokeKey(k.id, '2026-02-02T00:00:00.000Z');
    await settled();
    expect((await gateway.getKeyByHash(k.hash))?.revokedAt).toBe('2026-02-02T00:00:00.000Z');
    await cli.putProxy(proxy('p2'));
    await settled();
    expect((await gateway.listProxies()).map((p) => p.id)).toEqual(['p2']);
    await cli.deleteProxy('p2');
    await settled();
    expect(await gateway.getProxy('p2')).toBeUndefined();
  });

  it('serves reads from memory while the file is unchanged: no stat, no read per lookup', async () => {
    const store = new FileControlStore({ dataDir: dir });
    await store.putProxy(proxy('p1'));
    const reader = new FileControlStore({ dataDir: dir });
    expect(await reader.getProxy('p1')).toBeDefined();
    await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 30)); // the write's own event has settled
    expect(await reader.getProxy('p1')).toBeDefined(); // re-read once after that event
    const spies = [vi.spyOn(fs, 'stat'), vi.spyOn(fs, 'open'), vi.spyOn(fs, 'readFile')]; // calling through
    for (let i = 0; i < 50; i++) expect(await reader.getProxy('p1')).toBeDefined();
    const calls = spies.flatMap((spy) => spy.mock.calls.map((c) => String(c[0])));
    for (const spy of spies) spy.mockRestore();
    expect(calls.filter((c) => c.includes('control.json'))).toEqual([]);
    // The watch is what makes it re-read: an edit in place is seen once it settles.
    const text = await fs.readFile(store.filePath, 'utf8');
    await fs.writeFile(store.filePath, text.replaceAll('"p1"', '"q1"'));
    await new Promise((r) => setTimeout(r, DEBOUNCE_MS + 30));
    expect(await reader.getProxy('q1')).toBeDefined();
  });

  it('keeps the key store free of raw keys and the file private', async () => {
    const store = new FileControlStore({ dataDir: dir });
    const generated = generateGatewayKey();
    await store.putKey({ id: generated.id, hash: generated.hash, proxyId: 'p1', orgId: 'o', createdAt: '2026-01-01T00:00:00Z' });
    const text = await fs.readFile(store.filePath, 'utf8');
    expect(text).toContain(generated.hash);
    expect(text).not.toContain(generated.key);
    expect((await fs.stat(store.filePath)).mode & 0o077).toBe(0);
    const leftovers = (await fs.readdir(dir)).filter((f) => f !== 'control.json');
    expect(leftovers).toEqual([]); // no temp files, no lock left behind
  });

  it('loses nothing when one process writes concurrently from many tasks', async () => {
    const a = new FileControlStore({ dataDir: dir });
    const b = new FileControlStore({ dataDir: dir });
    const keys = Array.from({ length: 40 }, (_, i) => key(`k${i}`));
    await Promise.all(keys.map((k, i) => (i % 2 ? a : b).putKey(k)));
    const listed = await new FileControlStore({ dataDir: dir }).listKeys();
    expect(listed.map((k) => k.id).sort()).toEqual(keys.map((k) => k.id).sort());
  });

  it('loses nothing when two processes create keys at the same time', async () => {
    const perProcess = 25;
    const script = join(import.meta.dirname, 'support', 'create-keys.ts');
    const run = (label: string) =>
      new Promise<string>((resolve, reject) => {
        const child = spawn('npx', ['tsx', script, dir, String(perProcess), label], { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child ${label} exited ${code}: ${err}`))));
      });
    // A long-lived reader (like a running gateway) that loaded the store before the writers started.
    const gateway = new FileControlStore({ dataDir: dir });
    expect(await gateway.listKeys()).toEqual([]);
    const children = [run('a'), run('b')];
    // Release both children together once both have started (tsx startup takes a while).
    const ready = async (label: string) => fs.access(join(dir, `ready-${label}`)).then(() => true, () => false);
    while (!((await ready('a')) && (await ready('b')))) await new Promise((r) => setTimeout(r, 20));
    await fs.writeFile(join(dir, 'go'), '');
    expect(await Promise.all(children)).toEqual(['a done\n', 'b done\n']);
    const names = (await gateway.listKeys()).map((k) => k.name ?? '');
    expect(names).toHaveLength(2 * perProcess);
    for (const label of ['a', 'b']) {
      for (let i = 0; i < perProcess; i++) expect(names).toContain(`${label}-${i}`);
    }
  }, 60_000);

  it('recovers a lock left behind by a process that died', async () => {
    const deadPid = await new Promise<number>((resolve) => {
      const child = spawn(process.execPath, ['-e', '0']);
      child.on('exit', () => resolve(child.pid ?? 0));
    });
    const { hostname } = await import('node:os');
    await fs.writeFile(join(dir, 'control.lock'), JSON.stringify({ pid: deadPid, host: hostname(), token: 'x', at: '' }));
    const store = new FileControlStore({ dataDir: dir, lock: { timeoutMs: 2000 } });
    await store.putProxy(proxy('p1'));
    expect(await new FileControlStore({ dataDir: dir }).getProxy('p1')).toBeDefined();
  });

  it('recovers a lock older than the stale limit even if its holder seems alive', async () => {
    const lock = join(dir, 'control.lock');
    await fs.writeFile(lock, JSON.stringify({ pid: process.pid, host: 'other-host', token: 'x', at: '' }));
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(lock, old, old);
    const store = new FileControlStore({ dataDir: dir, lock: { timeoutMs: 2000, staleMs: 30_000 } });
    await store.putProxy(proxy('p1'));
    expect(await store.getProxy('p1')).toBeDefined();
  });

  it('recovers an empty lock left by a process that crashed right after creating it', async () => {
    const lock = join(dir, 'control.lock');
    await fs.writeFile(lock, '');
    const old = new Date(Date.now() - 5_000);
    await fs.utimes(lock, old, old);
    const store = new FileControlStore({ dataDir: dir, lock: { timeoutMs: 1000 } });
    await store.putProxy(proxy('p1'));
    expect(await store.getProxy('p1')).toBeDefined();
  });

  it('waits for a fresh empty lock (its holder is still writing it)', async () => {
    await fs.writeFile(join(dir, 'control.lock'), '');
    const store = new FileControlStore({ dataDir: dir, lock: { timeoutMs: 300 } });
    await expect(store.putProxy(proxy('p1'))).rejects.toThrow(/timed out/);
  });

  it('waits for a live lock, then fails with a clear error', async () => {
    const lock = join(dir, 'control.lock');
    await fs.writeFile(lock, JSON.stringify({ pid: process.pid, host: 'other-host', token: 'x', at: '' }));
    const store = new FileControlStore({ dataDir: dir, lock: { timeoutMs: 200 } });
    const started = Date.now();
    const failure = store.putProxy(proxy('p1'));
    await expect(failure).rejects.toThrow(ControlStoreError);
    await expect(failure).rejects.toThrow(/control\.lock held by pid \d+ on other-host/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    // The foreign lock is left alone.
    expect(JSON.parse(await fs.readFile(lock, 'utf8')).token).toBe('x');
  });

  it('proceeds once a held lock is released', async () => {
    const lock = join(dir, 'control.lock');
    await fs.writeFile(lock, JSON.stringify({ pid: process.pid, host: 'other-host', token: 'x', at: '' }));
    const store = new FileControlStore({ dataDir: dir, lock: { timeoutMs: 5000 } });
    const pending = store.putProxy(proxy('p1'));
    await new Promise((r) => setTimeout(r, 100));
    expect(await store.getProxy('p1')).toBeUndefined();
    await fs.rm(lock);
    await pending;
    expect(await store.getProxy('p1')).toBeDefined();
  });

  it('reports a corrupt document clearly', async () => {
    await fs.writeFile(join(dir, 'control.json'), '{ not json');
    const store = new FileControlStore({ dataDir: dir });
    await expect(store.listProxies()).rejects.toThrow(/control\.json is not valid JSON/);
    await expect(store.putProxy(proxy('p1'))).rejects.toThrow(ControlStoreError);
    await fs.writeFile(join(dir, 'control.json'), '{"version": 9}');
    await expect(store.listProxies()).rejects.toThrow(/not a Sluice control document/);
  });

  it('rejects a duplicate key id or hash with DuplicateKeyError', async () => {
    const store = new FileControlStore({ dataDir: dir });
    const k = key('a');
    await store.putKey(k);
    await expect(store.putKey({ ...k, hash: generateGatewayKey().hash })).rejects.toBeInstanceOf(DuplicateKeyError);
  });
});
