/**
 * `npx tsx bench/providers.ts`: what translation costs a streamed request, Anthropic and
 * Bedrock against OpenAI pass-through. Writes bench/results/providers.md. Loopback only.
 *
 * 1. Translation CPU per streamed response: the same ~300-token answer with two tool
 *    calls as each upstream sends it, run through what the gateway does per event —
 *    OpenAI: SSE split + usage tracking + the usage filter; Anthropic: SSE split + parse +
 *    translate + serialize; Bedrock: translate + serialize of the SDK's decoded events.
 * 2. End to end: sequential streamed chat requests (the same answer) through the gateway
 *    on the local runtime to each local upstream, and straight to the upstream (fetch for
 *    OpenAI and Anthropic, the AWS SDK for Bedrock); rounds interleave the variants.
 *    "added" = p50 through the gateway − p50 direct.
 *
 * Knobs: BENCH_PROVIDER_REQUESTS (per variant per round, 60), BENCH_PROVIDER_ROUNDS (5),
 * BENCH_PROVIDER_CPU_ITERATIONS (2000), BENCH_OUT (bench/results/providers.md).
 */
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { SseSplitter } from '../functions/gateway/sse.js';
import { newAnthropicStreamState, translateAnthropicEvent } from '../functions/providers/anthropic/stream.js';
import { newBedrockStreamState, translateBedrockEvent } from '../functions/providers/bedrock/stream.js';
import { createBedrockClients } from '../functions/providers/bedrock/transport.js';
import { StreamUsageTracker, withoutUsage } from '../functions/providers/openai/stream.js';
import { dataFrame } from '../functions/providers/transport.js';
import { startAnthropicUpstream } from '../test/support/anthropic-upstream.js';
import { startBedrockUpstream, TEST_AWS_CREDENTIALS } from '../test/support/bedrock-upstream.js';
import { startTestGateway } from '../test/support/gateway.js';
import { startOpenAIUpstream } from '../test/support/openai-upstream.js';

const REQUESTS = Number(process.env.BENCH_PROVIDER_REQUESTS ?? 60);
const ROUNDS = Number(process.env.BENCH_PROVIDER_ROUNDS ?? 5);
const CPU_ITERATIONS = Number(process.env.BENCH_PROVIDER_CPU_ITERATIONS ?? 2000);
const OUT = process.env.BENCH_OUT ?? 'bench/results/providers.md';

type Json = Record<string, unknown>;
const words = Array.from({ length: 300 }, (_, i) => `w${i}`);
const PROMPT = words.join(' ');

// ---- 1. translation CPU -------------------------------------------------------------
/** The wire as it arrives: one network chunk per event. */
const chunksOf = (wire: string) => wire.split(/(?<=\n\n)/);

function openaiStream(): string {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt' };
  const frames = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }];
  for (const w of words) frames.push({ ...base, choices: [{ index: 0, delta: { content: ` ${w}` } as never, finish_reason: null }] });
  for (const i of [0, 1]) {
    frames.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, id: `call_${i}`, type: 'function', function: { name: 'f', arguments: '' } }] } as never, finish_reason: null }] });
    frames.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: '{"q":"x"}' } }] } as never, finish_reason: null }] });
  }
  frames.push({ ...base, choices: [{ index: 0, delta: {} as never, finish_reason: 'tool_calls' as never }] });
  const usage = { ...base, choices: [], usage: { prompt_tokens: 300, completion_tokens: 310, total_tokens: 610 } };
  return [...frames, usage].map((f) => `data: ${JSON.stringify(f)}\n\n`).join('') + 'data: [DONE]\n\n';
}

function anthropicEvents(): Json[] {
  const ev: Json[] = [{ type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 300, output_tokens: 1 } } }, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }];
  for (const w of words) ev.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ` ${w}` } });
  ev.push({ type: 'content_block_stop', index: 0 });
  for (const i of [1, 2]) {
    ev.push({ type: 'content_block_start', index: i, content_block: { type: 'tool_use', id: `toolu_${i}`, name: 'f', input: {} } });
    ev.push({ type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: '{"q":"x"}' } });
    ev.push({ type: 'content_block_stop', index: i });
  }
  ev.push({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 310 } }, { type: 'message_stop' });
  return ev;
}

function bedrockEvents(): Json[] {
  const ev: Json[] = [{ messageStart: { role: 'assistant' } }];
  for (const w of words) ev.push({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: ` ${w}` } } });
  ev.push({ contentBlockStop: { contentBlockIndex: 0 } });
  for (const i of [1, 2]) {
    ev.push({ contentBlockStart: { contentBlockIndex: i, start: { toolUse: { toolUseId: `tooluse_${i}`, name: 'f' } } } });
    ev.push({ contentBlockDelta: { contentBlockIndex: i, delta: { toolUse: { input: '{"q":"x"}' } } } });
    ev.push({ contentBlockStop: { contentBlockIndex: i } });
  }
  ev.push({ messageStop: { stopReason: 'tool_use' } }, { metadata: { usage: { inputTokens: 300, outputTokens: 310, totalTokens: 610 } } });
  return ev;
}

function cpuMicros(run: () => number): { usPerRequest: number; outBytes: number } {
  let bytes = 0;
  for (let i = 0; i < 200; i++) bytes = run(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < CPU_ITERATIONS; i++) bytes = run();
  return { usPerRequest: ((performance.now() - t0) * 1000) / CPU_ITERATIONS, outBytes: bytes };
}

function translationCpu() {
  const oa = chunksOf(openaiStream());
  const anthropicWire = chunksOf(anthropicEvents().map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
  const bedrock = bedrockEvents();
  return {
    openai: cpuMicros(() => {
      const tracker = new StreamUsageTracker();
      let n = 0;
      const splitter = new SseSplitter();
      for (const chunk of oa) {
        for (const e of splitter.push(chunk)) {
          tracker.onEvent(e);
          n += withoutUsage(e)?.raw.length ?? 0;
        }
      }
      return n;
    }),
    anthropic: cpuMicros(() => {
      const s = newAnthropicStreamState(false, 1);
      let n = 0;
      const splitter = new SseSplitter();
      for (const chunk of anthropicWire) for (const e of splitter.push(chunk)) for (const c of translateAnthropicEvent(s, JSON.parse(e.data) as Json)) n += String(dataFrame(c).bytes).length;
      return n;
    }),
    bedrock: cpuMicros(() => {
      const s = newBedrockStreamState('m', false, 1, 'id');
      let n = 0;
      for (const e of bedrock) for (const c of translateBedrockEvent(s, e)) n += String(dataFrame(c).bytes).length;
      return n;
    }),
  };
}

// ---- 2. end to end ------------------------------------------------------------------
const p = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

async function drain(res: Response): Promise<number> {
  let n = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) n += chunk.length;
  return n;
}

async function main() {
  const cpu = translationCpu();

  process.env.AWS_ACCESS_KEY_ID = TEST_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_AWS_CREDENTIALS.secretAccessKey;
  const openai = await startOpenAIUpstream();
  const anthropic = await startAnthropicUpstream();
  const bedrock = await startBedrockUpstream({ region: 'us-east-1' });
  const env = { SLUICE_LOG_LEVEL: 'SILENT' };
  const gwOpenAI = await startTestGateway({ upstreamUrl: openai.url, env });
  const gwAnthropic = await startTestGateway({ upstreamUrl: anthropic.url, proxy: { provider: 'anthropic' }, env });
  const gwBedrock = await startTestGateway({ upstreamUrl: bedrock.url, proxy: { provider: 'bedrock' }, env, deps: { bedrock: createBedrockClients('us-east-1') } });
  const directBedrock = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: bedrock.url });

  const chatBody = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: PROMPT }], stream: true });
  const viaGateway = (url: string, key: string, model: string) => async () => {
    const res = await fetch(`${url}/a/test/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: chatBody(model) });
    return drain(res);
  };
  const variants: Record<string, () => Promise<number>> = {
    'openai direct': async () => drain(await fetch(`${openai.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chatBody('gpt-4o-mini') })),
    'openai via gateway': viaGateway(gwOpenAI.url, gwOpenAI.key, 'gpt-4o-mini'),
    'anthropic direct': async () =>
      drain(await fetch(`${anthropic.url}/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: PROMPT }] }) })),
    'anthropic via gateway': viaGateway(gwAnthropic.url, gwAnthropic.key, 'claude-sonnet-4-6'),
    'bedrock direct (AWS SDK)': async () => {
      const out = await directBedrock.send(new ConverseStreamCommand({ modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', messages: [{ role: 'user', content: [{ text: PROMPT }] }] }));
      let n = 0;
      for await (const e of out.stream!) n += e.contentBlockDelta?.delta?.text?.length ?? 0;
      return n;
    },
    'bedrock via gateway': viaGateway(gwBedrock.url, gwBedrock.key, 'anthropic.claude-3-5-sonnet-20240620-v1:0'),
  };
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (const run of Object.values(variants)) for (let i = 0; i < 10; i++) await run(); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of Object.entries(variants)) {
      for (let i = 0; i < REQUESTS; i++) {
        const t0 = performance.now();
        await run();
        times[name]!.push(performance.now() - t0);
      }
    }
  }
  await Promise.all([gwOpenAI.close(), gwAnthropic.close(), gwBedrock.close()]);
  directBedrock.destroy();
  await Promise.all([openai.close(), anthropic.close(), bedrock.close()]);

  const row = (name: string) => `| ${name} | ${p(times[name]!, 0.5).toFixed(2)} | ${p(times[name]!, 0.99).toFixed(2)} |`;
  const added = (provider: string, direct: string) => (p(times[`${provider} via gateway`]!, 0.5) - p(times[direct]!, 0.5)).toFixed(2);
  const md = `# Provider translation overhead

\`npx tsx bench/providers.ts\` — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, loopback only; load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (other work shared the machine: read the end-to-end figures as indicative).

The answer: a streamed chat completion of ~300 text tokens (one SSE event each) plus two tool calls.

## 1. Translation CPU per streamed response (${CPU_ITERATIONS} iterations)

| path | µs per response | what runs per event |
|---|---|---|
| OpenAI pass-through | ${cpu.openai.usPerRequest.toFixed(1)} | SSE split, usage tracking, usage filter |
| Anthropic → OpenAI | ${cpu.anthropic.usPerRequest.toFixed(1)} | SSE split, JSON parse, translate, JSON serialize |
| Bedrock → OpenAI | ${cpu.bedrock.usPerRequest.toFixed(1)} | translate, JSON serialize (event-stream decoding is the AWS SDK's, counted in part 2) |

Translation adds ${(cpu.anthropic.usPerRequest - cpu.openai.usPerRequest).toFixed(1)} µs (Anthropic) and ${(cpu.bedrock.usPerRequest - cpu.openai.usPerRequest).toFixed(1)} µs (Bedrock) per ~300-event response over pass-through (a negative figure: the Bedrock events arrive already decoded by the SDK, so there is no SSE splitting to pay for here).

## 2. End to end, sequential streamed requests (${ROUNDS} rounds × ${REQUESTS} per variant), ms

| variant | p50 | p99 |
|---|---|---|
${Object.keys(variants).map(row).join('\n')}

Added by the gateway at p50 (gateway − direct): OpenAI ${added('openai', 'openai direct')} ms, Anthropic ${added('anthropic', 'anthropic direct')} ms, Bedrock ${added('bedrock', 'bedrock direct (AWS SDK)')} ms.
Each includes the whole plugin chain (auth, routing, session, trace persistence to JSONL) and the local Function URL emulation, not only translation; the Bedrock path also pays the AWS SDK (SigV4 signing, HTTP/2, event-stream decoding) on the gateway side, which the direct Bedrock client pays too.
`;
  writeFileSync(OUT, md);
  process.stdout.write(md);
}

await main();
