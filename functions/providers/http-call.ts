import type { IncomingMessage } from 'node:http';
import { relayBody, type RelayObserver, type StreamEnd } from '../upstream/body-relay.js';
import { pickHeaders, sendUpstream, toUpstreamError, type UpstreamExchange } from '../upstream/client.js';
import { badGateway, type GatewayError } from '../upstream/errors.js';
import type { CallDeps, CallState, GatewayResponse, UpstreamPlan, Usage } from '../upstream/types.js';
import { usageFromCounts, type TokenCounts } from './chat.js';

/**
 * The HTTP side shared by the providers that answer over plain HTTP with OpenAI's or
 * Anthropic's wire (the OpenAI family, Azure OpenAI, Anthropic, Claude on Vertex): the
 * planned call sent and traced, error bodies read bounded, the answer relayed as it comes.
 */

/** Upstream response headers worth passing to the client; hop-by-hop and cookies stay behind. */
const PASSED_HEADERS = /^(content-type|cache-control|retry-after|x-request-id|request-id|openai-[a-z-]+|anthropic-[a-z-]+|x-ratelimit-[a-z-]+|x-rate-limit-[a-z-]+)$/;
const ERROR_HEADERS = ['retry-after', 'retry-after-ms', 'x-request-id', 'request-id', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens',
  // Azure OpenAI's older spelling (seconds), sent on some 429s without `retry-after`.
  'x-rate-limit-reset-requests', 'x-rate-limit-reset-tokens'];
const MAX_ERROR_BODY = 1024 * 1024;
export const MAX_OBSERVED_JSON = 16 * 1024 * 1024;

/**
 * Sends the plan (`state.upstream` unless given) and records the llm step with the
 * upstream's status. Redirects are not followed: a 3xx is a 502 `upstream_error`.
 */
export async function sendPlanned(deps: CallDeps, state: CallState, sentAt: number, plan: UpstreamPlan = state.upstream!): Promise<UpstreamExchange> {
  const exchange = await sendUpstream(plan, {
    idleMs: deps.upstreamIdleTimeoutMs,
    deadlineMs: deps.upstreamDeadlineMs,
    ...(deps.upstreamConnectTimeoutMs ? { connectMs: deps.upstreamConnectTimeoutMs } : {}),
    ...(deps.upstreamFirstByteTimeoutMs ? { firstByteMs: deps.upstreamFirstByteTimeoutMs } : {}),
  });
  state.trace.step('llm', { provider: plan.provider, model: plan.modelResolved, status: exchange.status }, sentAt);
  state.trace.set({ status: exchange.status });
  if (exchange.status >= 300 && exchange.status < 400) {
    exchange.body.resume();
    throw badGateway(`Upstream ${plan.provider} answered HTTP ${exchange.status} (a redirect); the gateway does not follow upstream redirects: check the proxy's base URL.`);
  }
  return exchange;
}

/** An upstream error answer: its body (bounded) and the headers passed on with the error. */
export async function errorAnswer(exchange: UpstreamExchange): Promise<{ text: string; headers: Record<string, string> }> {
  return { text: await readBounded(exchange.body, MAX_ERROR_BODY), headers: pickHeaders(exchange.headers, ERROR_HEADERS) };
}

/** The upstream's headers the client is given with a success. */
export function passedHeaders(exchange: UpstreamExchange): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(exchange.headers)) {
    if (value !== undefined && PASSED_HEADERS.test(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

export function isEventStream(headers: Record<string, string>): boolean {
  return (headers['content-type'] ?? '').startsWith('text/event-stream');
}

/**
 * The upstream's answer passed through byte for byte (the client speaks the upstream's
 * format): `usage` reads the usage, `terminal` writes the closing error event of a stream cut short.
 */
export function relayedAnswer(
  deps: Pick<CallDeps, 'now'>,
  state: CallState,
  exchange: UpstreamExchange,
  headers: Record<string, string>,
  opts: { sse: boolean; usage: RelayObserver; terminal: (error: GatewayError) => string; streamEnd: StreamEnd },
): GatewayResponse {
  const observers: RelayObserver[] = [firstByteObserver(deps, state), opts.usage, ...state.observers];
  const body = relayBody(exchange.body, { sse: opts.sse, ...(opts.sse ? { streamEnd: opts.streamEnd } : {}), observers, terminalError: (err) => opts.terminal(toUpstreamError(exchange.abortReason() ?? err)), abortUpstream: exchange.abort });
  return { statusCode: exchange.status, headers, body };
}

/** First-byte timing plus every plugin's observers (trace completion among them). */
export function observersFor(deps: Pick<CallDeps, 'now'>, state: CallState): RelayObserver[] {
  return [firstByteObserver(deps, state), ...state.observers];
}

function firstByteObserver(deps: Pick<CallDeps, 'now'>, state: CallState): RelayObserver {
  const mark = () => {
    state.firstByteAt ??= deps.now();
  };
  return { onChunk: mark, onEvent: mark };
}

export function setUsage(state: CallState, counts: TokenCounts): void {
  const usage = usageFromCounts(counts);
  if (usage) state.usage = usage;
}

/** Plain JSON bodies: keep a bounded copy to read usage once the body is complete. */
export function jsonUsageObserver(state: CallState, read: (body: unknown) => Usage | undefined): RelayObserver {
  const chunks: Buffer[] = [];
  let size = 0;
  return {
    onChunk: (chunk) => {
      size += chunk.length;
      if (size <= MAX_OBSERVED_JSON) chunks.push(chunk);
    },
    onEnd: ({ error }) => {
      if (error || size > MAX_OBSERVED_JSON) return;
      try {
        const usage = read(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        if (usage) state.usage = usage;
      } catch {
        // not JSON: no usage to read
      }
    },
  };
}

function readBounded(body: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    body.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    body.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    body.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}
