/**
 * CI runs exactly the README's test command (issue #15): the first shell block of the
 * README holds the two promised commands; `.ci/run` may only cd to the repository and run
 * the test one, nothing before it (no server install of its own).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const repo = new URL('../../..', import.meta.url).pathname;

describe('.ci/run', () => {
  it("is the README's `npm install && npm test`, and nothing else", () => {
    const readme = readFileSync(join(repo, 'README.md'), 'utf8');
    const first = /```sh\n([\s\S]*?)```/.exec(readme)![1]!;
    const commands = first.split('\n').map((l) => l.replace(/#.*$/, '').trim()).filter(Boolean);
    expect(commands).toEqual(['npm install && npm start', 'npm install && npm test']);

    const ci = readFileSync(join(repo, '.ci/run'), 'utf8');
    const steps = ci.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    expect(steps).toEqual(['set -euo pipefail', 'cd "$(dirname "$0")/.."', commands[1]]);
  });

  it('npm test installs its servers itself: the pretest step, before the type check and vitest', () => {
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.pretest).toBe('node --import tsx test/setup/system-servers.ts');
    expect(pkg.scripts.test).toMatch(/^tsc --noEmit -p tsconfig\.json && vitest run$/);
  });
});
