/**
 * The Node 24 gate every entry point imports first (bin/require-node.ts). The message is
 * checked as a user reads it, and the gate is run for real: a process whose Node reports
 * an older version must stop at once, before the CLI loads.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { nodeVersionProblem } from '../../../bin/require-node.js';

const repo = new URL('../../..', import.meta.url).pathname;

describe('Sluice needs Node 24', () => {
  it('accepts 24 and later', () => {
    expect(nodeVersionProblem('24.0.0', 'linux-x64')).toBeUndefined();
    expect(nodeVersionProblem('25.2.1', 'darwin-arm64')).toBeUndefined();
  });

  it('on a platform npm brings Node 24 for, says to install the optional dependency', () => {
    const text = nodeVersionProblem('20.20.2', 'darwin-x64')!;
    expect(text).toMatch(/^Sluice needs Node 24: this is Node 20\.20\.2 \(.+\) on darwin-x64\. /);
    expect(text).toContain('optional dependency');
  });

  it('elsewhere (darwin-arm64: npm has no Node 24 for it), says to install Node 24 on the machine', () => {
    const text = nodeVersionProblem('22.11.0', 'darwin-arm64')!;
    expect(text).toMatch(/^Sluice needs Node 24: this is Node 22\.11\.0/);
    expect(text).toContain('npm has no Node 24 package for darwin-arm64');
  });

  it.each([
    ['the CLI (npm run sluice, npm start)', ['bin/sluice.ts', 'proxies', 'list']],
    ['the test set-up (npm test)', ['test/setup/system-servers.ts']],
  ])('%s stops at once on an older Node, before anything else runs', (_name, args) => {
    // This Node playing an old one: the gate reads process.versions.node.
    const fakeOld = `data:text/javascript,Object.defineProperty(process.versions,'node',{value:'22.3.0'})`;
    const started = Date.now();
    const r = spawnSync(process.execPath, ['--import', fakeOld, '--import', 'tsx', ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, SLUICE_DATA_DIR: '/nonexistent/sluice-must-not-be-created' } });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^Sluice needs Node 24: this is Node 22\.3\.0/);
    expect(r.stdout).toBe('');
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
