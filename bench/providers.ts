/**
 * `npx tsx bench/providers.ts`: what translation costs a streamed request, per provider,
 * against OpenAI pass-through. Writes bench/results/providers.md. Loopback only.
 *
 * 1. Translation CPU per streamed response: the same ~300-token answer with two tool
 *    calls as each upstream sends it (bench/lib/provider-wires.ts), run through what the
 *    gateway does per event — OpenAI and Azure OpenAI: SSE split + usage tracking + the
 *    usage filter; Anthropic and Gemini: SSE split + parse + translate + serialize;
 *    Bedrock: translate + serialize of the SDK's decoded events. Vertex runs the Gemini
 *    (Gemini models) and Anthropic (Claude models) translators; what it adds is the OAuth
 *    token, measured on its own: a token-cache hit, and the RS256 signing of a miss.
 * 2. End to end: sequential streamed chat requests (the same answer) through the gateway
 *    on the local runtime to each local upstream, and straight to the upstream (fetch, or
 *    the AWS SDK for Bedrock); rounds interleave the variants. "added" = p50 through the
 *    gateway − p50 direct, "ratio" = p50 through the gateway / p50 direct. Vertex: the
 *    gateway exchanges a service-account JWT for a token once and reuses it; the
 *    "first request" variants drop the cached token before each request, so each pays
 *    the exchange (against the upstream's local token endpoint).
 *
 * Knobs: BENCH_PROVIDER_REQUESTS (per variant per round, 60), BENCH_PROVIDER_ROUNDS (5),
 * BENCH_PROVIDER_FIRST_REQUESTS (first-request samples per Vertex model per round, 12),
 * BENCH_PROVIDER_CPU_ITERATIONS (2000), BENCH_OUT (bench/results/providers.md).
 */
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { SseSplitter } from '../functions/upstream/sse.js';
import { createUpstreamGuard } from '../functions/net/index.js';
import { newAnthropicStreamState, translateAnthropicEvent } from '../functions/providers/anthropic/stream.js';
import { newBedrockStreamState, translateBedrockEvent } from '../functions/providers/bedrock/stream.js';
import { createBedrockClients } from '../functions/providers/bedrock/transport.js';
import { finishGeminiStream, newGeminiStreamState, translateGeminiChunk } from '../functions/providers/gemini/stream.js';
import { StreamUsageTracker, withoutUsage } from '../functions/providers/openai/stream.js';
import { dataFrame } from '../functions/providers/transport.js';
import { createGoogleTokenSource, parseServiceAccount, signAssertion } from '../functions/providers/vertex/auth.js';
import { startAnthropicUpstream } from '../test/support/anthropic-upstream.js';
import { startAzureUpstream } from '../test/support/azure-upstream.js';
import { startBedrockUpstream, TEST_AWS_CREDENTIALS } from '../test/support/bedrock-upstream.js';
import { startTestGateway } from '../test/support/gateway.js';
import { handleGeminiModelCall, startGeminiUpstream } from '../test/support/gemini-upstream.js';
import { startOpenAIUpstream } from '../test/support/openai-upstream.js';
import { makeServiceAccount, startVertexUpstream, VERTEX_TEST_LOCATION, VERTEX_TEST_PROJECT } from '../test/support/vertex-upstream.js';
import { anthropicEvents, azureStream, bedrockEvents, chunksOf, geminiStream, openaiStream, WORDS, type Json } from './lib/provider-wires.js';

const REQUESTS = Number(process.env.BENCH_PROVIDER_REQUESTS ?? 60);
const ROUNDS = Number(process.env.BENCH_PROVIDER_ROUNDS ?? 5);
const FIRST_REQUESTS = Number(process.env.BENCH_PROVIDER_FIRST_REQUESTS ?? 12);
const CPU_ITERATIONS = Number(process.env.BENCH_PROVIDER_CPU_ITERATIONS ?? 2000);
const OUT = process.env.BENCH_OUT ?? 'bench/results/providers.md';

const PROMPT = WORDS.join(' ');
const LAST_WORD = WORDS[WORDS.length - 1]!;

// ---- 1. translation CPU -------------------------------------------------------------
function cpuMicros(run: () => number, iterations = CPU_ITERATIONS): { usPerRequest: number; outBytes: number } {
  let bytes = 0;
  for (let i = 0; i < Math.min(200, iterations); i++) bytes = run(); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) bytes = run();
  return { usPerRequest: ((performance.now() - t0) * 1000) / iterations, outBytes: bytes };
}

/** OpenAI-format pass-through with the usage the gateway asked for: what call-model.ts runs per event. */
function passThrough(wire: string[]): () => number {
  return () => {
    const tracker = new StreamUsageTracker();
    let n = 0;
    const splitter = new SseSplitter();
    for (const chunk of wire) {
      for (const e of splitter.push(chunk)) {
        tracker.onEvent(e);
        n += withoutUsage(e)?.raw.length ?? 0;
      }
    }
    return n;
  };
}

function translationCpu() {
  const anthropicWire = chunksOf(anthropicEvents().map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join(''));
  const geminiWire = chunksOf(geminiStream());
  const bedrock = bedrockEvents();
  return {
    openai: cpuMicros(passThrough(chunksOf(openaiStream()))),
    azure: cpuMicros(passThrough(chunksOf(azureStream()))),
    /** The same Azure wire without `usage: null`: what the larger chunks alone cost. */
    azureWithoutNullUsage: cpuMicros(passThrough(chunksOf(azureStream().replaceAll(',"usage":null', '')))),
    anthropic: cpuMicros(() => {
      const s = newAnthropicStreamState(false, 1);
      let n = 0;
      const splitter = new SseSplitter();
      for (const chunk of anthropicWire) for (const e of splitter.push(chunk)) for (const c of translateAnthropicEvent(s, JSON.parse(e.data) as Json)) n += String(dataFrame(c).bytes).length;
      return n;
    }),
    gemini: cpuMicros(() => {
      // What callGemini runs per event (chatFramer.chunks is dataFrame on the chat endpoint).
      const s = newGeminiStreamState('gemini-2.5-flash', false, 1, 'chatcmpl-1');
      let n = 0;
      const splitter = new SseSplitter();
      for (const chunk of geminiWire) {
        for (const e of splitter.push(chunk)) {
          if (e.data === '' || e.data === '[DONE]') continue;
          for (const c of translateGeminiChunk(s, JSON.parse(e.data) as Json)) n += String(dataFrame(c).bytes).length;
        }
      }
      if (!s.finished) throw new Error('the Gemini wire did not finish');
      for (const c of finishGeminiStream(s)) n += String(dataFrame(c).bytes).length;
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

/** Vertex's per-request auth work in CPU terms: a cache hit, and the signing part of a miss. */
async function vertexAuthCpu(): Promise<{ hitUs: number; signUs: number }> {
  const sa = makeServiceAccount('http://127.0.0.1:9/token');
  const source = createGoogleTokenSource({
    guard: createUpstreamGuard(),
    post: async () => ({ status: 200, body: JSON.stringify({ access_token: 'ya29.cpu-bench', expires_in: 3600, token_type: 'Bearer' }) }),
  });
  const opts = { allowPrivateNetwork: true };
  if ((await source.accessToken(sa.json, opts)) !== 'ya29.cpu-bench') throw new Error('the token source did not answer');
  for (let i = 0; i < 200; i++) await source.accessToken(sa.json, opts);
  const t0 = performance.now();
  for (let i = 0; i < CPU_ITERATIONS; i++) await source.accessToken(sa.json, opts);
  const hitUs = ((performance.now() - t0) * 1000) / CPU_ITERATIONS;
  const key = parseServiceAccount(sa.json);
  const signUs = cpuMicros(() => signAssertion(key, Date.now()).length, 300).usPerRequest;
  return { hitUs, signUs };
}

// ---- 2. end to end ------------------------------------------------------------------
const p = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

/** While set, drained bodies are kept here (to check a variant's answer once, outside the timing). */
let capture: string[] | undefined;

async function drain(res: Response): Promise<number> {
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
  let n = 0;
  const decoder = capture ? new TextDecoder() : undefined;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    n += chunk.length;
    if (capture && decoder) capture.push(decoder.decode(chunk, { stream: true }));
  }
  return n;
}

async function main() {
  const loadBefore = loadavg();
  const cpu = translationCpu();
  const auth = await vertexAuthCpu();

  process.env.AWS_ACCESS_KEY_ID = TEST_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_AWS_CREDENTIALS.secretAccessKey;
  const GEMINI_KEY = 'AIzaSyBenchKey0123456789abcdefghijklmnop';
  const AZURE_KEY = 'azure-bench-key-0123456789abcdef';
  const DIRECT_VERTEX_TOKEN = 'ya29.bench-direct-caller-token';
  const CLAUDE_ON_VERTEX = 'claude-sonnet-4@20250514';
  const openai = await startOpenAIUpstream();
  const anthropic = await startAnthropicUpstream();
  const bedrock = await startBedrockUpstream({ region: 'us-east-1' });
  const gemini = await startGeminiUpstream({ apiKey: GEMINI_KEY });
  const vertex = await startVertexUpstream({ gemini: handleGeminiModelCall });
  const sa = makeServiceAccount(vertex.tokenUri);
  vertex.addServiceAccount(sa);
  vertex.acceptToken(DIRECT_VERTEX_TOKEN);
  const azure = await startAzureUpstream({ apiKey: AZURE_KEY, deployments: { 'gpt-4o-mini': 'gpt-4o-mini-2024-07-18' } });

  const env = { SLUICE_LOG_LEVEL: 'SILENT' };
  const googleTokens = createGoogleTokenSource({ guard: createUpstreamGuard() });
  const gwOpenAI = await startTestGateway({ upstreamUrl: openai.url, env });
  const gwAnthropic = await startTestGateway({ upstreamUrl: anthropic.url, proxy: { provider: 'anthropic' }, env });
  const gwBedrock = await startTestGateway({ upstreamUrl: bedrock.url, proxy: { provider: 'bedrock' }, env, deps: { bedrock: createBedrockClients('us-east-1') } });
  const gwGemini = await startTestGateway({ upstreamUrl: gemini.url, proxy: { provider: 'gemini', credentialRef: 'env:GEMINI_BENCH_KEY' }, env: { ...env, GEMINI_BENCH_KEY: GEMINI_KEY } });
  const gwVertex = await startTestGateway({
    upstreamUrl: vertex.url,
    proxy: { provider: 'vertex', credentialRef: 'env:VERTEX_BENCH_SA', gcp: { project: VERTEX_TEST_PROJECT, location: VERTEX_TEST_LOCATION } },
    env: { ...env, VERTEX_BENCH_SA: sa.json },
    deps: { googleTokens },
  });
  const gwAzure = await startTestGateway({ upstreamUrl: `${azure.url}/openai`, proxy: { provider: 'azure-openai', credentialRef: 'env:AZURE_BENCH_KEY' }, env: { ...env, AZURE_BENCH_KEY: AZURE_KEY } });
  const directBedrock = new BedrockRuntimeClient({ region: 'us-east-1', endpoint: bedrock.url });

  const chatBody = (model: string) => JSON.stringify({ model, messages: [{ role: 'user', content: PROMPT }], stream: true });
  const viaGateway = (url: string, key: string, model: string) => async () => {
    const res = await fetch(`${url}/a/test/openai/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: chatBody(model) });
    return drain(res);
  };
  const vertexModel = (publisher: 'google' | 'anthropic', model: string, method: string) => `${vertex.url}/projects/${VERTEX_TEST_PROJECT}/locations/${VERTEX_TEST_LOCATION}/publishers/${publisher}/models/${model}:${method}`;
  const vertexHeaders = { authorization: `Bearer ${DIRECT_VERTEX_TOKEN}`, 'content-type': 'application/json' };
  const geminiBody = JSON.stringify({ contents: [{ role: 'user', parts: [{ text: PROMPT }] }] });
  /** Drops the gateway's cached Vertex token, so the next request exchanges a new one; checks it did. */
  const firstRequest = (run: () => Promise<number>) => async () => {
    const before = vertex.exchanges;
    googleTokens.forget(vertex.issued[vertex.issued.length - 1] ?? '');
    const n = await run();
    if (vertex.exchanges !== before + 1) throw new Error('a first-request sample did not exchange a token');
    return n;
  };
  const vertexGeminiViaGateway = viaGateway(gwVertex.url, gwVertex.key, 'gemini-2.5-flash');
  const vertexClaudeViaGateway = viaGateway(gwVertex.url, gwVertex.key, CLAUDE_ON_VERTEX);

  const variants: Record<string, () => Promise<number>> = {
    'openai direct': async () => drain(await fetch(`${openai.url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: chatBody('gpt-4o-mini') })),
    'openai via gateway': viaGateway(gwOpenAI.url, gwOpenAI.key, 'gpt-4o-mini'),
    'anthropic direct': async () =>
      drain(await fetch(`${anthropic.url}/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify({ model: 'claude-sonnet-4-6', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: PROMPT }] }) })),
    'anthropic via gateway': viaGateway(gwAnthropic.url, gwAnthropic.key, 'claude-sonnet-4-6'),
    'bedrock direct (AWS SDK)': async () => {
      const out = await directBedrock.send(new ConverseStreamCommand({ modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', messages: [{ role: 'user', content: [{ text: PROMPT }] }] }));
      let n = 0;
      for await (const e of out.stream!) {
        const text = e.contentBlockDelta?.delta?.text ?? '';
        n += text.length;
        capture?.push(text);
      }
      return n;
    },
    'bedrock via gateway': viaGateway(gwBedrock.url, gwBedrock.key, 'anthropic.claude-3-5-sonnet-20240620-v1:0'),
    'gemini direct': async () =>
      drain(await fetch(`${gemini.url}/models/gemini-2.5-flash:streamGenerateContent?alt=sse`, { method: 'POST', headers: { 'x-goog-api-key': GEMINI_KEY, 'content-type': 'application/json' }, body: geminiBody })),
    'gemini via gateway': viaGateway(gwGemini.url, gwGemini.key, 'gemini-2.5-flash'),
    'vertex gemini direct': async () => drain(await fetch(`${vertexModel('google', 'gemini-2.5-flash', 'streamGenerateContent')}?alt=sse`, { method: 'POST', headers: vertexHeaders, body: geminiBody })),
    'vertex gemini via gateway': vertexGeminiViaGateway,
    'vertex gemini via gateway, first request': firstRequest(vertexGeminiViaGateway),
    'vertex claude direct': async () =>
      drain(await fetch(vertexModel('anthropic', encodeURIComponent(CLAUDE_ON_VERTEX), 'streamRawPredict'), { method: 'POST', headers: vertexHeaders, body: JSON.stringify({ anthropic_version: 'vertex-2023-10-16', max_tokens: 1000, stream: true, messages: [{ role: 'user', content: PROMPT }] }) })),
    'vertex claude via gateway': vertexClaudeViaGateway,
    'vertex claude via gateway, first request': firstRequest(vertexClaudeViaGateway),
    'azure-openai direct': async () =>
      drain(await fetch(`${azure.url}/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21`, { method: 'POST', headers: { 'api-key': AZURE_KEY, 'content-type': 'application/json' }, body: chatBody('gpt-4o-mini') })),
    'azure-openai via gateway': viaGateway(gwAzure.url, gwAzure.key, 'gpt-4o-mini'),
  };
  const isFirst = (name: string) => name.endsWith('first request');

  // Each variant answers whole once (its last word arrives), outside the timing.
  for (const [name, run] of Object.entries(variants)) {
    capture = [];
    try {
      await run();
    } catch (err) {
      throw new Error(`${name}: ${(err as Error).message}`);
    }
    const text = capture.join('');
    capture = undefined;
    if (!text.includes(LAST_WORD)) throw new Error(`${name}: the answer did not arrive whole`);
  }
  for (const [name, run] of Object.entries(variants)) for (let i = 0; i < (isFirst(name) ? 2 : 10); i++) await run(); // warm-up
  const exchangesBefore = vertex.exchanges;
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const t0Run = performance.now();
  for (let r = 0; r < ROUNDS; r++) {
    for (const [name, run] of Object.entries(variants)) {
      const count = isFirst(name) ? FIRST_REQUESTS : REQUESTS;
      for (let i = 0; i < count; i++) {
        const t0 = performance.now();
        await run();
        times[name]!.push(performance.now() - t0);
      }
    }
  }
  const runSeconds = (performance.now() - t0Run) / 1000;
  const exchanges = vertex.exchanges - exchangesBefore;
  const firstSamples = times['vertex gemini via gateway, first request']!.length + times['vertex claude via gateway, first request']!.length;
  // Only the first-request variants may exchange: the others reuse the cached token.
  if (exchanges !== firstSamples) throw new Error(`expected ${firstSamples} token exchanges in the timed rounds, saw ${exchanges}`);
  await Promise.all([gwOpenAI.close(), gwAnthropic.close(), gwBedrock.close(), gwGemini.close(), gwVertex.close(), gwAzure.close()]);
  directBedrock.destroy();
  await Promise.all([openai.close(), anthropic.close(), bedrock.close(), gemini.close(), vertex.close(), azure.close()]);
  const loadAfter = loadavg();

  const p50 = (name: string) => p(times[name]!, 0.5);
  const row = (name: string) => `| ${name} | ${times[name]!.length} | ${p50(name).toFixed(2)} | ${p(times[name]!, 0.99).toFixed(2)} |`;
  const pairs: Array<[string, string, string]> = [
    ['OpenAI', 'openai direct', 'openai via gateway'],
    ['Anthropic', 'anthropic direct', 'anthropic via gateway'],
    ['Bedrock', 'bedrock direct (AWS SDK)', 'bedrock via gateway'],
    ['Gemini', 'gemini direct', 'gemini via gateway'],
    ['Vertex, Gemini model', 'vertex gemini direct', 'vertex gemini via gateway'],
    ['Vertex, Claude model', 'vertex claude direct', 'vertex claude via gateway'],
    ['Azure OpenAI', 'azure-openai direct', 'azure-openai via gateway'],
  ];
  const addedRow = ([label, direct, gw]: [string, string, string]) => `| ${label} | ${p50(direct).toFixed(2)} | ${p50(gw).toFixed(2)} | ${(p50(gw) - p50(direct)).toFixed(2)} | ${(p50(gw) / p50(direct)).toFixed(2)} |`;
  const firstRow = (label: string, warm: string) => {
    const first = `${warm}, first request`;
    return `| ${label} | ${p50(warm).toFixed(2)} | ${p50(first).toFixed(2)} | ${p(times[first]!, 0.99).toFixed(2)} | ${(p50(first) - p50(warm)).toFixed(2)} | ${(p50(first) / p50(warm)).toFixed(2)} |`;
  };
  const us = (x: number) => x.toFixed(1);
  const ratio = (x: number) => (x / cpu.openai.usPerRequest).toFixed(2);
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join(' / ');
  const md = `# Provider translation overhead

\`npx tsx bench/providers.ts\` — ${new Date().toISOString()}, Node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, loopback only; load average (1 / 5 / 15 min) at the start ${load(loadBefore)}, at the end ${load(loadAfter)} (other work shared the machine: read the end-to-end figures as indicative, the ratios within one run as the comparable part).

The answer: a streamed chat completion of ~300 text tokens (one SSE event each) plus two tool calls.

## 1. Translation CPU per streamed response (${CPU_ITERATIONS} iterations)

| path | µs per response | × OpenAI pass-through | what runs per event |
|---|---|---|---|
| OpenAI pass-through | ${us(cpu.openai.usPerRequest)} | 1.00 | SSE split, usage tracking, usage filter |
| Anthropic → OpenAI | ${us(cpu.anthropic.usPerRequest)} | ${ratio(cpu.anthropic.usPerRequest)} | SSE split, JSON parse, translate, JSON serialize |
| Bedrock → OpenAI | ${us(cpu.bedrock.usPerRequest)} | ${ratio(cpu.bedrock.usPerRequest)} | translate, JSON serialize (event-stream decoding is the AWS SDK's, counted in part 2) |
| Gemini → OpenAI | ${us(cpu.gemini.usPerRequest)} | ${ratio(cpu.gemini.usPerRequest)} | SSE split (\`\\r\\n\\r\\n\`), JSON parse of a whole GenerateContentResponse (usageMetadata, modelVersion, responseId on every chunk), translate, JSON serialize |
| Azure OpenAI pass-through | ${us(cpu.azure.usPerRequest)} | ${ratio(cpu.azure.usPerRequest)} | SSE split, usage tracking, usage filter — on Azure's wire every chunk carries \`"usage": null\` (and \`content_filter_results\`): the tracker skips a null usage unparsed and the filter cuts it as text; the \`prompt_filter_results\` first chunk (\`choices: []\`, no usage) passes |

Translation adds ${us(cpu.anthropic.usPerRequest - cpu.openai.usPerRequest)} µs (Anthropic), ${us(cpu.bedrock.usPerRequest - cpu.openai.usPerRequest)} µs (Bedrock) and ${us(cpu.gemini.usPerRequest - cpu.openai.usPerRequest)} µs (Gemini) per ~300-event response over pass-through${cpu.bedrock.usPerRequest < cpu.openai.usPerRequest ? ' (a negative figure: the Bedrock events arrive already decoded by the SDK, so there is no SSE splitting to pay for here)' : ' (Bedrock pays no SSE splitting here: its events arrive already decoded by the SDK)'}; Azure's pass-through costs ${us(cpu.azure.usPerRequest - cpu.openai.usPerRequest)} µs more than OpenAI's: the same Azure wire without \`usage: null\` costs ${us(cpu.azureWithoutNullUsage.usPerRequest)} µs (${ratio(cpu.azureWithoutNullUsage.usPerRequest)} × pass-through: the larger chunks), so ${us(cpu.azure.usPerRequest - cpu.azureWithoutNullUsage.usPerRequest)} µs is the \`usage: null\` on every chunk.
Both OpenAI-format wires carry \`"usage": null\` on every chunk but the usage chunk, as OpenAI's API reference and Azure send it with \`include_usage\` (which the gateway always asks for). Until 88aaee4 each such chunk was parsed by the tracker and parsed and re-serialized by the usage filter: Azure's row was 2227 µs (18× pass-through) in the previous run; the tracker now skips a null usage and the filter cuts a trailing \`,"usage":null\` as text.
The Gemini wire here has one text token per chunk, as many events as the others (Gemini and its test upstream group several tokens per chunk, so real streams have fewer, larger events).

Vertex runs the same translators: Gemini models the Gemini row, Claude models the Anthropic row. What Vertex adds per request is the OAuth token:

| Vertex auth | µs per request | what runs |
|---|---|---|
| token cache hit (every request but the first) | ${us(auth.hitUs)} | parse the service-account JSON key, SHA-256 of its private key (the cache key), lookup |
| token exchange, CPU part (first request, then once per token lifetime) | ${us(auth.signUs)} | RS256 signing of the JWT assertion (2048-bit key); the HTTP round trip to the token endpoint is in part 2 |

## 2. End to end, sequential streamed requests (${ROUNDS} rounds × ${REQUESTS} per variant, ${FIRST_REQUESTS} for the first-request variants), ms

| variant | requests | p50 | p99 |
|---|---|---|---|
${Object.keys(variants).map(row).join('\n')}

| provider | direct p50 | via gateway p50 | added p50 (gateway − direct) | ratio (gateway / direct) |
|---|---|---|---|---|
${pairs.map(addedRow).join('\n')}

Each includes the whole plugin chain (auth, routing, session, trace persistence to JSONL) and the local Function URL emulation, not only translation; the Bedrock path also pays the AWS SDK (SigV4 signing, HTTP/2, event-stream decoding) on the gateway side, which the direct Bedrock client pays too.
The answers differ in event count by upstream: OpenAI, Anthropic, Bedrock and Azure stream one token per event; the Gemini test upstream (direct, and behind Vertex) two per chunk. Direct calls send the native body (Gemini \`contents\`, Claude on Vertex \`anthropic_version: vertex-2023-10-16\` on \`:streamRawPredict\`, Azure on \`/openai/deployments/gpt-4o-mini/chat/completions?api-version=2024-10-21\` with \`api-key\`); the direct Vertex calls carry a bearer token the upstream accepts as is, with no exchange.

Vertex token cache: the gateway exchanged ${exchanges} tokens during the timed rounds (${firstSamples} first-request samples, one each; the ${ROUNDS * REQUESTS * 2} other Vertex requests reused the cached token). First request = the cached token dropped just before, so the request signs a JWT and posts it to the upstream's token endpoint (loopback, which verifies the RS256 signature) before the model call:

| model | via gateway p50 (cached token) | first request p50 | first request p99 | first-request cost at p50 | ratio |
|---|---|---|---|---|---|
${firstRow('Gemini on Vertex', 'vertex gemini via gateway')}
${firstRow('Claude on Vertex', 'vertex claude via gateway')}

Against Google's real token endpoint the exchange adds a network round trip to oauth2.googleapis.com on top; it is paid once per service account per gateway instance and token lifetime (renewed 5 minutes before the hour).

Timed rounds took ${runSeconds.toFixed(0)} s.
`;
  writeFileSync(OUT, md);
  process.stdout.write(md);
}

await main();
