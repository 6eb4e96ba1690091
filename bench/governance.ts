/**
 * `npx tsx bench/governance.ts`: what governance costs the request path. Writes
 * bench/results/governance.md. Loopback only.
 *
 * 1. Through the gateway (local runtime), sequential plain chat requests, variants
 *    interleaved in rounds: governance off; a request policy (the quickstart tool deny +
 *    a credential regex over the messages, both allowing); a response policy (redact
 *    pattern, buffered body check); both. Client p50/p99 and the difference to "off".
 * 2. Streaming redaction: streamed chat, and the same stream as Anthropic message events
 *    (native Anthropic ingress), with a stream_redact rule (incremental, window 32) vs
 *    none, on an upstream that sends 60 tokens 5 ms apart; mean gap between content chunks
 *    at the client, time to first and last token.
 * 3. The incremental checker alone: µs per pushed token (window 32, two patterns).
 *
 * Knobs: BENCH_GOV_REQUESTS (200 per variant per round), BENCH_GOV_ROUNDS (3),
 * BENCH_GOV_STREAMS (20 per variant per round), BENCH_OUT (bench/results/governance.md).
 */
import '../functions/local/awslambda.js';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGatewayHandler } from '../functions/gateway/handler.js';
import { depsFromEnv } from '../functions/gateway/deps.js';
import { startLocalServer } from '../functions/local/server.js';
import { FileControlStore } from '../functions/stores/file-store.js';
import { generateGatewayKey } from '../functions/stores/keys.js';
import { setPolicy } from '../functions/governance/policy-admin.js';
import { StreamChecker } from '../functions/governance/stream-checker.js';
import { startOpenAIUpstream } from '../test/support/openai-upstream.js';

const int = (name: string, fallback: number) => {
  const n = Number(process.env[name]);
  return Number.isInteger(n) && n > 0 ? n : fallback;
};
const REQUESTS = int('BENCH_GOV_REQUESTS', 200);
const ROUNDS = int('BENCH_GOV_ROUNDS', 3);
const STREAMS = int('BENCH_GOV_STREAMS', 20);
const OUT = process.env.BENCH_OUT ?? 'bench/results/governance.md';

const quantile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
const stats = (samples: number[]) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean: samples.reduce((a, b) => a + b, 0) / Math.max(1, samples.length) };
};
const ms = (v: number) => v.toFixed(2);

const REQUEST_POLICY = `package sluice.policy
deny contains "tool delete_database is not allowed" if {
  some tool in input.tool_names
  tool == "delete_database"
}
deny contains "a credential in the prompt" if {
  some m in input.messages
  regex.match(\`(sk-[A-Za-z0-9]{20,}|AKIA[0-9A-Z]{16})\`, m.text)
}
`;
const RESPONSE_POLICY = `package sluice.policy
redact contains \`ACCT [0-9]{4} [0-9]{4}\`
`;
const STREAM_POLICY = `package sluice.policy
stream_redact contains {"pattern": \`ACCT [0-9]{4} [0-9]{4}\`, "max_len": 32}
`;

const agent = new Agent({ keepAlive: true, maxSockets: 1 });
function post(url: string, key: string, body: string): Promise<{ status: number; text: string; chunkTimes: number[]; t0: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(url, { method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' } }, (res) => {
      let text = '';
      const chunkTimes: number[] = [];
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        text += c;
        // A chat content chunk, or an Anthropic text delta, that carries text.
        for (const line of c.split('\n')) if (line.startsWith('data: {') && /"content":"[^"]|"type":"text_delta","text":"[^"]/.test(line)) chunkTimes.push(performance.now() - t0);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, chunkTimes, t0 }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function main() {
  const upstream = await startOpenAIUpstream();
  const dataDir = await mkdtemp(join(tmpdir(), 'sluice-bench-gov-'));
  const store = new FileControlStore({ dataDir });
  const deps = { ...depsFromEnv({ SLUICE_DATA_DIR: dataDir, SLUICE_LOG_LEVEL: 'SILENT' }), store, traceSink: { write: async () => undefined } };
  const server = await startLocalServer({ handler: createGatewayHandler(deps) });
  const variants: Record<string, { policies: { request?: string; response?: string }; key: string }> = {
    off: { policies: {}, key: '' },
    request: { policies: { request: REQUEST_POLICY }, key: '' },
    response: { policies: { response: RESPONSE_POLICY }, key: '' },
    both: { policies: { request: REQUEST_POLICY, response: RESPONSE_POLICY }, key: '' },
    stream: { policies: { response: STREAM_POLICY }, key: '' },
  };
  for (const [name, v] of Object.entries(variants)) {
    await store.putProxy({ id: name, orgId: 'o', name, provider: 'openai-compatible', baseUrl: upstream.url, byok: false, allowPrivateNetwork: true, createdAt: new Date().toISOString(), ...(name === 'off' ? {} : { governance: { enabled: true } }) });
    for (const [stage, rego] of Object.entries(v.policies)) await setPolicy(store, name, stage as 'request' | 'response', rego);
    const k = generateGatewayKey();
    await store.putKey({ id: k.id, hash: k.hash, proxyId: name, orgId: 'o', createdAt: new Date().toISOString() });
    v.key = k.key;
  }
  const plainBody = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You are a support agent.' }, { role: 'user', content: 'my account is ACCT 1234 5678, please check the last transfer' }], tools: [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }] });
  const url = (proxy: string) => `${server.url}/a/${proxy}/openai/v1/chat/completions`;
  const anthropicUrl = (proxy: string) => `${server.url}/a/${proxy}/anthropic/v1/messages`;

  // Warm-up (compiles, connections, JIT).
  for (const name of ['off', 'request', 'response', 'both']) for (let i = 0; i < 50; i++) await post(url(name), variants[name]!.key, plainBody);

  const plain: Record<string, number[]> = { off: [], request: [], response: [], both: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of Object.keys(plain)) {
      for (let i = 0; i < REQUESTS; i++) {
        const r = await post(url(name), variants[name]!.key, plainBody);
        if (r.status !== 200) throw new Error(`${name}: status ${r.status}: ${r.text.slice(0, 200)}`);
        if ((name === 'response' || name === 'both') === r.text.includes('ACCT 1234')) throw new Error(`${name}: redaction ${name === 'off' || name === 'request' ? 'where none was asked' : 'missing'}`);
        plain[name]!.push(performance.now() - r.t0);
      }
    }
  }

  // Streams: 60 tokens, 5 ms apart.
  const words = Array.from({ length: 56 }, (_, i) => `word${i}`).join(' ');
  const streamBody = JSON.stringify({ model: 'test-slow@first=5,gap=5', stream: true, messages: [{ role: 'user', content: `ACCT 1234 5678 ${words}` }] });
  const anthropicBody = JSON.stringify({ model: 'test-slow@first=5,gap=5', stream: true, max_tokens: 200, messages: [{ role: 'user', content: `ACCT 1234 5678 ${words}` }] });
  const streamStats: Record<string, { first: number[]; last: number[]; gaps: number[] }> = { off: { first: [], last: [], gaps: [] }, stream: { first: [], last: [], gaps: [] }, 'anthropic:off': { first: [], last: [], gaps: [] }, 'anthropic:stream': { first: [], last: [], gaps: [] } };
  for (let round = 0; round < ROUNDS; round++) {
    for (const variant of Object.keys(streamStats)) {
      const anthropic = variant.startsWith('anthropic:');
      const name = anthropic ? variant.slice('anthropic:'.length) : variant;
      for (let i = 0; i < STREAMS; i++) {
        const r = await post(anthropic ? anthropicUrl(name) : url(name), variants[name]!.key, anthropic ? anthropicBody : streamBody);
        if (r.status !== 200 || r.chunkTimes.length < 50) throw new Error(`${variant}: status ${r.status}, ${r.chunkTimes.length} content chunks: ${r.text.slice(0, 200)}`);
        if (name === 'stream' && r.text.includes('ACCT 1234')) throw new Error(`${variant}: not redacted`);
        const s = streamStats[variant]!;
        s.first.push(r.chunkTimes[0]!);
        s.last.push(r.chunkTimes.at(-1)!);
        for (let j = 1; j < r.chunkTimes.length; j++) s.gaps.push(r.chunkTimes[j]! - r.chunkTimes[j - 1]!);
      }
    }
  }

  // The checker alone.
  const tokens = Array.from({ length: 20_000 }, (_, i) => (i % 97 === 0 ? ' ACCT 1234 5678' : ` tok${i}`));
  const checker = new StreamChecker([{ pattern: 'ACCT [0-9]{4} [0-9]{4}', maxLen: 32 }, { pattern: 'sk-[A-Za-z0-9]{20}', maxLen: 32 }], []);
  const c0 = performance.now();
  for (const t of tokens) checker.push(t);
  checker.end();
  const perTokenUs = ((performance.now() - c0) * 1000) / tokens.length;

  await server.close();
  await upstream.close();
  agent.destroy();
  await rm(dataDir, { recursive: true, force: true });

  const off = stats(plain.off!);
  const rows = Object.entries(plain).map(([name, samples]) => {
    const s = stats(samples);
    return `| ${name} | ${s.n} | ${ms(s.p50)} | ${ms(s.p99)} | ${name === 'off' ? '—' : `${ms(s.p50 - off.p50)}`} |`;
  });
  const so = streamStats.off!;
  const ss = streamStats.stream!;
  const ao = streamStats['anthropic:off']!;
  const as = streamStats['anthropic:stream']!;
  const sRow = (name: string, s: { first: number[]; last: number[]; gaps: number[] }) =>
    `| ${name} | ${s.first.length} | ${ms(stats(s.first).p50)} | ${ms(stats(s.last).p50)} | ${ms(stats(s.gaps).mean)} | ${ms(stats(s.gaps).p99)} |`;
  const md = `# Governance: added latency

Generated by \`npx tsx bench/governance.ts\` on ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (other engineers' test suites were running on the same machine: absolute figures are noisy, the differences are what matters). Node ${process.version}. Gateway on the local runtime, test upstream on loopback, traces discarded.

## Request and response policy steps (plain chat, sequential, ${ROUNDS} rounds × ${REQUESTS} per variant, interleaved)

Request policy: the quickstart tool deny plus a credential regex over every message (allows this request). Response policy: one \`redact\` RE2 pattern (the body is buffered, parsed, evaluated, masked, re-serialized).

| variant | n | p50 ms | p99 ms | p50 added vs off (ms) |
| --- | --- | --- | --- | --- |
${rows.join('\n')}

## Streaming redaction (stream_redact, window 32 characters; 60 tokens 5 ms apart; ${ROUNDS} × ${STREAMS} streams per variant)

| variant | streams | first content chunk p50 ms | last content chunk p50 ms | mean gap between content chunks ms | p99 gap ms |
| --- | --- | --- | --- | --- | --- |
${sRow('chat: no response policy', so)}
${sRow('chat: stream_redact (incremental)', ss)}
${sRow('Anthropic events: no response policy', ao)}
${sRow('Anthropic events: stream_redact (incremental)', as)}

The first token is delayed until the look-behind window (31 characters ≈ ${(31 / 7).toFixed(0)} tokens here) has filled; after that tokens flow at the upstream's pace. Last-chunk difference (p50): chat ${ms(stats(ss.last).p50 - stats(so.last).p50)} ms, Anthropic events ${ms(stats(as.last).p50 - stats(ao.last).p50)} ms. (The Anthropic rows are the same OpenAI-compatible test upstream re-told as Anthropic message events by the gateway, then checked as Anthropic events.)

## The incremental checker alone

${tokens.length} tokens pushed through \`StreamChecker\` with two patterns and a 32-character window: **${perTokenUs.toFixed(2)} µs per token**.
`;
  writeFileSync(OUT, md);
  process.stdout.write(md);
}

await main();
