import type { ConverseStreamOutput } from '@aws-sdk/client-bedrock-runtime';
import type { RelayObserver } from '../../upstream/body-relay.js';
import { GatewayError, gatewayTimeout, streamIncomplete } from '../../upstream/errors.js';
import type { CallDeps, CallState, GatewayResponse } from '../../upstream/types.js';
import { observersFor } from '../http-call.js';
import { chatUsage, usageFromCounts, type Json } from '../chat.js';
import { chatFramer } from '../chat-framer.js';
import { completeBody, namedFrame, translatedBody, type Frame } from '../transport.js';
import { bedrockTypeOf, mapBedrockError, type BedrockErrorLike } from './errors.js';
import { fromEmbeddingAnswers, type EmbeddingPlan } from './embeddings.js';
import { isAnthropicModel } from './api.js';
import { encodeEvent, encodeException, EVENT_STREAM_CONTENT_TYPE } from './eventstream.js';
import { fromConverseResponse } from './response.js';
import { bedrockStreamTokens, newBedrockStreamState, translateBedrockEvent } from './stream.js';
import { bedrockTarget, blobsAsBase64, callerBedrockTarget, signedWith, converse, converseStream, countTokens, createBedrockClients, invokeModel, invokeModelStream, type BedrockClients } from './transport.js';
import { anthropicStreamErrorEvent } from '../anthropic/errors.js';
import { anthropicTokenCounts } from '../anthropic/usage.js';
import { bedrockTokenCounts } from './usage.js';

type Deps = CallDeps & { bedrock?: BedrockClients };

let fallbackClients: BedrockClients | undefined;

/** Clients from the deps, else one set per container from the function's Region. */
export function clientsOf(deps: { bedrock?: BedrockClients }): BedrockClients {
  if (deps.bedrock) return deps.bedrock;
  fallbackClients ??= createBedrockClients(process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1');
  return fallbackClients;
}

/**
 * A Bedrock call through the AWS SDK: Converse or ConverseStream with the function's
 * IAM role. The OpenAI chat endpoint gets chat.completion(.chunk)s; the native Converse
 * ingress gets Bedrock's own JSON or AWS event-stream frames.
 */
export async function callBedrock(deps: Deps, state: CallState, sentAt: number): Promise<GatewayResponse> {
  const observers = observersFor(deps, state);
  const plan = state.upstream!;
  const route = state.route;
  if (route.kind !== 'openai' || !plan.body) throw new Error('callBedrock reached without a routed request');
  const native = route.ingress === 'bedrock';
  const model = plan.modelResolved ?? '';
  // The caller's own AWS credentials (where the proxy allows them) sign instead of the role, never as well.
  const caller = state.target?.callerAws;
  const clients = caller ? signedWith(clientsOf(deps), caller) : clientsOf(deps);
  const { region, endpoint } = caller ? callerBedrockTarget(plan.target.url.href, caller) : bedrockTarget(plan.target.url.href, clients.defaultRegion);
  const stream = state.body?.stream ?? false;
  const created = Math.floor(Date.now() / 1000);
  const framer = chatFramer(route.endpoint, state.body?.json ?? {}, model, created);

  // The SDK call is bounded like any upstream: a deadline for the whole exchange, an idle limit between events.
  const controller = new AbortController();
  let timeoutReason: Error | undefined;
  const stop = (reason: Error) => {
    timeoutReason ??= reason;
    controller.abort(reason);
  };
  const deadline = setTimeout(() => stop(new Error(`Bedrock did not complete within ${deps.upstreamDeadlineMs} ms.`)), deps.upstreamDeadlineMs);
  deadline.unref();
  let idle: NodeJS.Timeout | undefined;
  const touch = () => {
    clearTimeout(idle);
    idle = setTimeout(() => stop(new Error(`Bedrock sent nothing for ${deps.upstreamIdleTimeoutMs} ms.`)), deps.upstreamIdleTimeoutMs);
    idle.unref();
  };
  const clear = () => {
    clearTimeout(deadline);
    clearTimeout(idle);
  };
  const fail = (err: unknown): GatewayError => {
    if (timeoutReason) return gatewayTimeout(timeoutReason.message);
    if (err instanceof GatewayError) return err;
    // The native ingress keeps Bedrock's exception name for its x-amzn-errortype.
    return mapBedrockError(err as BedrockErrorLike, native);
  };

  touch();
  const bounds = { signal: controller.signal, abort: (reason?: Error) => controller.abort(reason), touch, clear, fail };
  // Claude takes the Messages body as it is (InvokeModel); other models went through Converse.
  if (route.ingress === 'anthropic' && isAnthropicModel(model)) return invokeAnthropic(clients, region, endpoint, state, sentAt, observers, bounds);
  if (route.endpoint === 'embeddings') return invokeEmbeddings(clients, region, endpoint, state, sentAt, observers, bounds);
  const input = JSON.parse(plan.body.toString('utf8')) as Json;
  let events: AsyncIterable<ConverseStreamOutput>;
  try {
    if (!stream) {
      const out = (await converse(clients, region, endpoint, input, controller.signal)) as unknown as Json;
      clear();
      state.trace.step('llm', { provider: 'bedrock', model, region, status: 200 }, sentAt);
      state.trace.set({ status: 200 });
      const usage = usageFromCounts(bedrockTokenCounts(out.usage));
      if (native) {
        const { $metadata: _metadata, ...body } = out;
        if (usage) state.usage = usage;
        return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(body, blobsAsBase64), observers) };
      }
      const chat = fromConverseResponse(out, model, created);
      if (usage) state.usage = usage;
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(framer.complete(chat)), observers) };
    }
    events = await converseStream(clients, region, endpoint, input, controller.signal);
  } catch (err) {
    clear();
    const error = fail(err);
    state.trace.step('llm', { provider: 'bedrock', model, region, status: error.status, error: error.code }, sentAt);
    state.trace.set({ status: error.status });
    throw error;
  }
  state.trace.step('llm', { provider: 'bedrock', model, region, status: 200 }, sentAt);
  state.trace.set({ status: 200 });

  const s = newBedrockStreamState(model, state.body?.includeUsage ?? false, created, `chatcmpl-${created}-${state.traceId.slice(0, 8)}`);
  const usageObserver: RelayObserver = {
    onEnd: () => {
      clear();
      const usage = usageFromCounts(bedrockStreamTokens(s));
      if (usage) state.usage = usage;
    },
  };
  const common = { source: events, observers: [usageObserver, ...observers], abort: (reason?: Error) => controller.abort(reason) };

  if (native) {
    const body = translatedBody<ConverseStreamOutput>({
      ...common,
      translate: (event) => {
        touch();
        translateBedrockEvent(s, event as unknown as Json); // keeps usage and the stop state
        const [type, payload] = Object.entries(event).find(([, v]) => v !== undefined) ?? ['unknown', {}];
        return { frames: [{ bytes: encodeEvent(type, payload) }] };
      },
      // metadata (usage) normally closes the stream; a messageStop without it still completed the answer.
      end: () => {
        if (!s.stopped) throw streamIncomplete('messageStop');
        return [];
      },
      terminalError: (err) => {
        const error = fail(err);
        return [{ bytes: encodeException(lowerFirst(bedrockTypeOf(error)), error.message) }];
      },
    });
    return { statusCode: 200, headers: { 'content-type': EVENT_STREAM_CONTENT_TYPE }, body };
  }

  const body = translatedBody<ConverseStreamOutput>({
    ...common,
    translate: (event) => {
      touch();
      const frames: Frame[] = framer.chunks(translateBedrockEvent(s, event as unknown as Json));
      if (s.error) return { frames: [...frames, ...framer.error(s.error)], final: true, error: s.error };
      if (s.done) return { frames: [...frames, ...framer.finish(chatUsage(bedrockStreamTokens(s)))], final: true };
      return { frames };
    },
    end: () => {
      // metadata (usage) normally closes the stream; a stop without it still completed the answer.
      if (s.stopped) return framer.finish(chatUsage(bedrockStreamTokens(s)));
      throw streamIncomplete('messageStop');
    },
    terminalError: (err) => {
      const error = timeoutReason ? gatewayTimeout(`The upstream stream stopped: ${timeoutReason.message}`) : err instanceof GatewayError ? err : (err as BedrockErrorLike).$metadata || /Exception$/.test((err as Error).name) ? fail(err) : new GatewayError(502, 'The upstream stream was interrupted before it completed.', 'upstream_error', 'stream_interrupted');
      return framer.error(error);
    },
  });
  return { statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, body };
}

const lowerFirst = (name: string) => name.charAt(0).toLowerCase() + name.slice(1);

interface Bounds {
  signal: AbortSignal;
  abort(reason?: Error): void;
  touch(): void;
  clear(): void;
  fail(err: unknown): GatewayError;
}

/**
 * Native Anthropic Messages on a Bedrock proxy: passed through InvokeModel(WithResponseStream)
 * as Claude-on-Bedrock; the answer is Anthropic's own JSON, or its events re-framed as SSE.
 */
async function invokeAnthropic(clients: BedrockClients, region: string, endpoint: string | undefined, state: CallState, sentAt: number, observers: RelayObserver[], b: Bounds): Promise<GatewayResponse> {
  const plan = state.upstream!;
  const model = plan.modelResolved ?? '';
  const body = new Uint8Array(plan.body!);
  const record = (status: number, code?: string | null) => {
    state.trace.step('llm', { provider: 'bedrock', model, region, status, ...(code ? { error: code } : {}) }, sentAt);
    state.trace.set({ status });
  };
  let events: AsyncIterable<{ chunk?: { bytes?: Uint8Array } }>;
  try {
    if (state.route.kind === 'openai' && state.route.endpoint === 'anthropic.count_tokens') {
      const inputTokens = await countTokens(clients, region, endpoint, model, body, b.signal);
      b.clear();
      record(200);
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify({ input_tokens: inputTokens }), observers) };
    }
    if (!state.body?.stream) {
      const bytes = await invokeModel(clients, region, endpoint, model, body, b.signal);
      b.clear();
      record(200);
      const text = Buffer.from(bytes).toString('utf8');
      try {
        const usage = usageFromCounts(anthropicTokenCounts((JSON.parse(text) as Json).usage));
        if (usage) state.usage = usage;
      } catch {
        // not JSON: passed on as it came, without usage
      }
      return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(text, observers) };
    }
    events = await invokeModelStream(clients, region, endpoint, model, body, b.signal);
  } catch (err) {
    b.clear();
    const error = b.fail(err);
    record(error.status, error.code);
    throw error;
  }
  record(200);
  const usage: Json = {};
  const body$ = translatedBody<{ chunk?: { bytes?: Uint8Array } }>({
    source: events,
    translate: (event) => {
      b.touch();
      const bytes = event.chunk?.bytes;
      if (!bytes) return { frames: [] };
      const data = Buffer.from(bytes).toString('utf8');
      let json: Json;
      try {
        json = JSON.parse(data) as Json;
      } catch {
        return { frames: [] };
      }
      const u = (json.type === 'message_start' ? (json.message as Json | undefined)?.usage : json.usage) as Json | undefined;
      if (u) for (const [k, v] of Object.entries(u)) if (typeof v === 'number') usage[k] = v;
      return { frames: [namedFrame(String(json.type), json)], ...(json.type === 'message_stop' ? { final: true } : {}) };
    },
    end: () => {
      throw streamIncomplete('message_stop');
    },
    terminalError: (err) => [{ bytes: anthropicStreamErrorEvent(b.fail(err)) }],
    observers: [
      {
        onEnd: () => {
          b.clear();
          const u = usageFromCounts(anthropicTokenCounts(usage));
          if (u) state.usage = u;
        },
      },
      ...observers,
    ],
    abort: b.abort,
  });
  return { statusCode: 200, headers: { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' }, body: body$ };
}

/** Embeddings: one InvokeModel call per Titan input (per 96 Cohere texts), a few at a time, in order. */
async function invokeEmbeddings(clients: BedrockClients, region: string, endpoint: string | undefined, state: CallState, sentAt: number, observers: RelayObserver[], b: Bounds): Promise<GatewayResponse> {
  const plan = state.upstream!;
  const model = plan.modelResolved ?? '';
  const calls = JSON.parse(plan.body!.toString('utf8')) as EmbeddingPlan;
  const answers: Json[] = new Array<Json>(calls.bodies.length);
  let next = 0;
  const worker = async () => {
    while (next < calls.bodies.length) {
      const i = next++;
      const bytes = await invokeModel(clients, region, endpoint, model, new Uint8Array(Buffer.from(JSON.stringify(calls.bodies[i]))), b.signal);
      b.touch();
      answers[i] = JSON.parse(Buffer.from(bytes).toString('utf8')) as Json;
    }
  };
  let result: Json;
  try {
    await Promise.all(Array.from({ length: Math.min(EMBEDDING_CONCURRENCY, calls.bodies.length) }, worker));
    result = fromEmbeddingAnswers(calls, answers, model);
  } catch (err) {
    b.clear();
    const error = err instanceof SyntaxError || (err instanceof Error && / answered without /.test(err.message)) ? new GatewayError(502, `Bedrock answered an unreadable embedding: ${err.message}`, 'upstream_error', 'upstream_invalid_response') : b.fail(err);
    state.trace.step('llm', { provider: 'bedrock', model, region, status: error.status, error: error.code, calls: calls.bodies.length }, sentAt);
    state.trace.set({ status: error.status });
    throw error;
  }
  b.clear();
  state.trace.step('llm', { provider: 'bedrock', model, region, status: 200, calls: calls.bodies.length }, sentAt);
  state.trace.set({ status: 200 });
  const tokens = (result.usage as { prompt_tokens: number }).prompt_tokens;
  if (tokens > 0) state.usage = { promptTokens: tokens, completionTokens: 0, totalTokens: tokens };
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(result), observers) };
}

const EMBEDDING_CONCURRENCY = 4;
