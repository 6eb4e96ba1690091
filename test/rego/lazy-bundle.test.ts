/**
 * graphql.* and crypto.x509.* load their code on first use (functions/rego/builtins/lazy.ts):
 * from the pre-built module beside a bundle in the deployed artifact. Here the engine is bundled
 * as the gateway is (esbuild, one ESM file), the lazy modules are built beside it as
 * lib/gateway-function.ts builds them, and policies using both families run from the bundle.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLazyRego } from '../../functions/rego/build-lazy.js';

interface Engine {
  compilePolicy(src: string): { evaluate(query: string, opts: object): { result: unknown } };
}

describe('lazily loaded builtin families in a bundle', () => {
  let dir: string;
  let engine: Engine;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sluice-lazy-'));
    const entry = join(dir, 'entry.ts');
    await writeFile(entry, `export { compilePolicy } from ${JSON.stringify(resolve('functions/rego/index.ts'))};\n`);
    await esbuild.build({ entryPoints: [entry], bundle: true, platform: 'node', format: 'esm', target: 'node24', outfile: join(dir, 'index.mjs'), logLevel: 'error' });
    await buildLazyRego(dir);
    engine = (await import(pathToFileURL(join(dir, 'index.mjs')).href)) as Engine;
  }, 60_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps the families out of the bundle and beside it', async () => {
    expect((await readdir(dir)).sort()).toEqual(['entry.ts', 'index.mjs', 'rego-graphql.mjs', 'rego-opa-wasm.mjs', 'rego-x509.mjs', 'rego-yaml.mjs']);
    const bundle = await readFile(join(dir, 'index.mjs'), 'utf8');
    // Texts only the parsers hold.
    expect(bundle).not.toContain('expected at least one definition');
    expect(bundle).not.toContain('expected CERTIFICATE');
    // yaml and opa-wasm (functions/rego/lazy/load.ts) are beside the bundle too.
    expect(bundle).not.toContain('Implicit keys need to be on a single line');
    expect(await readFile(join(dir, 'rego-yaml.mjs'), 'utf8')).toContain('Implicit keys need to be on a single line');
    expect(await readFile(join(dir, 'rego-graphql.mjs'), 'utf8')).toContain('expected at least one definition');
  });

  it('runs graphql.* and crypto.x509.* from the modules beside the bundle', () => {
    const policy = engine.compilePolicy(
      'package t\n\nq := graphql.parse_query(`{ a }`).Operations[0].SelectionSet[0].Name\n\nkeys := count(crypto.parse_private_keys(input.key))\n',
    );
    const key = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIP3K2Nc8BA9ayK2vGmEmKpkGCw/4dAL3jPQN8xWz7Fgd\n-----END PRIVATE KEY-----\n';
    expect(policy.evaluate('data.t.q', {}).result).toBe('a');
    expect(policy.evaluate('data.t.keys', { input: { key } }).result).toBe(1);
  });

  it('runs yaml.* from the module beside the bundle', () => {
    const policy = engine.compilePolicy('package t\n\ny := yaml.unmarshal("a: yes\\nb: [1, 2]\\n")\n\nm := yaml.marshal({"k": [1]})\n');
    expect(policy.evaluate('data.t.y', {}).result).toEqual({ a: true, b: [1, 2] });
    expect(policy.evaluate('data.t.m', {}).result).toBe('k:\n- 1\n');
  });
});
