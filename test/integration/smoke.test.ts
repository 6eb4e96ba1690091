import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeSpacing, parseSmokeArgs, runSmoke, type CheckResult } from '../../bin/smoke.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../support/openai-upstream.js';

const run = promisify(execFile);
const byCheck = (results: CheckResult[]) => Object.fromEntries(results.map((r) => [r.check, r]));

describe('bin/smoke.ts against the local runtime', () => {
  let upstream: OpenAIUpstream;
  let gateway: TestGateway;
  let coalescing: TestGateway;

  beforeAll(async () => {
    upstream = await startOpenAIUpstream();
    gateway = await startTestGateway({ upstreamUrl: upstream.url });
    // The local runtime's reproduction of Function URL write coalescing.
    coalescing = await startTestGateway({ upstreamUrl: upstream.url, coalesceBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await gateway.close();
    await coalescing.close();
    await upstream.close();
  });

  it('passes every check on a healthy gateway and measures the stream', async () => {
    const results = await runSmoke({ functionUrl: gateway.url, key: gateway.key, model: 'test-slow@first=30,gap=15', timeoutMs: 10_000 });
    const r = byCheck(results);
    expect(results.filter((x) => x.status === 'FAIL')).toEqual([]);
    expect(r['plain: X-Sluice headers']!.detail).toMatch(/x-sluice-session-id=[0-9a-f-]{36} x-sluice-trace-id=[0-9a-f-]{36}/);
    expect(r['bad key is refused']!.detail).toMatch(/^HTTP 401, x-sluice-trace-id=/);
    expect(Number(/^(\d+) ms$/.exec(r['stream: time to first token']!.detail)?.[1])).toBeGreaterThanOrEqual(30);
    expect(r['stream: chunk spacing']!.detail).not.toMatch(/coalesced/);
    // Without a trace store the trace is not looked up, and the table says so.
    expect(r['trace recorded']).toMatchObject({ status: 'INFO', detail: expect.stringMatching(/^not checked: pass the trace store/) });
    // Every smoke request went through the gateway; the bad key never reached the upstream.
    expect(upstream.requests.every((req) => req.headers.authorization !== 'Bearer sk-sluice-smoke-test-invalid-key-000000000000')).toBe(true);
  });

  it('finds the plain call\'s trace in the gateway\'s store, and fails when it is not there', async () => {
    const found = byCheck(await runSmoke({ functionUrl: gateway.url, key: gateway.key, model: 'gpt-4o-mini', timeoutMs: 10_000, traceStore: { dataDir: gateway.dataDir, waitMs: 10_000 } }));
    expect(found['trace recorded']).toMatchObject({ status: 'PASS', detail: expect.stringMatching(new RegExp(`^[0-9a-f-]{36} in ${gateway.dataDir} after \\d+ ms: status 200, model gpt-4o-mini, tokens \\d+/\\d+$`)) });
    const traceId = found['plain: X-Sluice headers']!.detail.match(/x-sluice-trace-id=([0-9a-f-]{36})/)![1];
    expect(found['trace recorded']!.detail.startsWith(traceId!)).toBe(true);
    // Another gateway's store: the trace is not there.
    const elsewhere = byCheck(await runSmoke({ functionUrl: gateway.url, key: gateway.key, model: 'gpt-4o-mini', timeoutMs: 10_000, traceStore: { dataDir: coalescing.dataDir, waitMs: 300 } }));
    expect(elsewhere['trace recorded']).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/not in .* after \d+ ms \(--trace-wait-ms 300\)$/) });

    const cli = await run(process.execPath, ['--import', 'tsx', 'bin/smoke.ts', gateway.url, gateway.key, '--model', 'gpt-4o-mini', '--data-dir', gateway.dataDir], { cwd: new URL('../..', import.meta.url).pathname });
    expect(cli.stdout).toMatch(/PASS\s+trace recorded\s+[0-9a-f-]{36} in /);
    expect(cli.stdout).toMatch(/smoke: all checks passed/);
  });

  it('reports coalesced chunks when the runtime bunches small writes', async () => {
    const results = await runSmoke({ functionUrl: coalescing.url, key: coalescing.key, model: 'test-slow@first=10,gap=5', timeoutMs: 10_000 });
    expect(byCheck(results)['stream: chunk spacing']!.detail).toMatch(/coalesced/);
  });

  it('fails the calls with a key the gateway does not know, and the CLI exits 1', async () => {
    const results = await runSmoke({ functionUrl: gateway.url, key: 'sk-sluice-not-issued-0000000000000000', model: 'test', timeoutMs: 10_000 });
    const r = byCheck(results);
    expect(r['plain chat completion']).toMatchObject({ status: 'FAIL', detail: expect.stringMatching(/^HTTP 401/) });
    expect(r['streamed chat completion']!.status).toBe('FAIL');

    const cli = await run(process.execPath, ['--import', 'tsx', 'bin/smoke.ts', gateway.url, 'sk-sluice-not-issued-0000000000000000', '--model', 'test'], {
      cwd: new URL('../..', import.meta.url).pathname,
    }).catch((e: { code: number; stdout: string }) => e);
    expect('code' in cli ? cli.code : 0).toBe(1);
    expect(cli.stdout).toMatch(/FAIL\s+plain chat completion/);
    expect(cli.stdout).toMatch(/smoke: \d+ check\(s\) FAILED/);
    expect(cli.stdout).not.toContain(gateway.key);
  });
});

describe('smoke helpers', () => {
  it('parses the command line', () => {
    expect(parseSmokeArgs(['https://x.lambda-url.eu-west-1.on.aws/', 'sk-sluice-k', '--proxy', 'p1'])).toEqual({
      functionUrl: 'https://x.lambda-url.eu-west-1.on.aws/',
      key: 'sk-sluice-k',
      model: 'gpt-4o-mini',
      proxyId: 'p1',
      timeoutMs: 60_000,
    });
    expect(() => parseSmokeArgs(['https://x'])).toThrow(/usage/);
    expect(() => parseSmokeArgs(['https://x', 'k', '--colour', 'red'])).toThrow(/unknown option --colour/);
    expect(parseSmokeArgs(['https://x', 'k', '--data-dir', '.sluice']).traceStore).toEqual({ dataDir: '.sluice', waitMs: 10_000 });
    expect(parseSmokeArgs(['https://x', 'k', '--aws', '--stack', 'S', '--region', 'eu-west-1']).traceStore).toEqual({ aws: { stack: 'S', region: 'eu-west-1' }, waitMs: 600_000 });
    expect(parseSmokeArgs(['https://x', 'k', '--clickhouse', 'http://h:8123', '--trace-wait-ms', '5']).traceStore).toEqual({ clickhouse: 'http://h:8123', waitMs: 5 });
    expect(() => parseSmokeArgs(['https://x', 'k', '--aws', '--data-dir', 'd'])).toThrow(/cannot be combined/);
    expect(() => parseSmokeArgs(['https://x', 'k', '--stack', 'S'])).toThrow(/go with --aws/);
    expect(() => parseSmokeArgs(['https://x', 'k', '--trace-wait-ms', '5'])).toThrow(/needs a trace store/);
  });

  it('calls deltas coalesced only when most of them share a delivery', () => {
    expect(describeSpacing({ ttftMs: 5, totalMs: 9, chunks: 8, gapsMs: [0, 0, 0, 0, 0, 0, 0.5] }).coalesced).toBe(true);
    expect(describeSpacing({ ttftMs: 5, totalMs: 200, chunks: 8, gapsMs: [20, 25, 0.5, 30, 22, 18, 40] }).coalesced).toBe(false);
    expect(describeSpacing({ ttftMs: 5, totalMs: 5, chunks: 2, gapsMs: [0] }).coalesced).toBe(false);
  });
});
