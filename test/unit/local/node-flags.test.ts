import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { GATEWAY_NODE_FLAGS } from '../../../functions/local/node-flags.js';

describe('gateway process flags', () => {
  it('npm start runs the gateway with the measured V8 heap flags', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.start).toBe(`exec node ${GATEWAY_NODE_FLAGS.join(' ')} --import tsx bin/sluice.ts dev`);
  });
});
