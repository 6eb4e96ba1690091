import type { IncomingMessage } from 'node:http';
import { mapUpstreamError } from '../providers/openai/errors.js';
import { StreamUsageTracker, streamErrorEvent } from '../providers/openai/stream.js';
import { usageFromResponseBody } from '../providers/openai/usage.js';
import { relayBody, type RelayObserver } from './body-relay.js';
import { GatewayError, badGateway, gatewayTimeout } from './errors.js';
import { sendUpstream, UpstreamTimeoutError } from './upstream-client.js';
import type { GatewayDeps, GatewayResponse, RequestState } from './types.js';

/** Upstream response headers worth passing to the client; hop-by-hop and cookies stay behind. */
const PASSED_HEADERS = /^(content-type|cache-control|retry-after|x-request-id|request-id|openai-[a-z-]+|x-ratelimit-[a-z-]+)$/;
const MAX_ERROR_BODY = 1024 * 1024;
const MAX_OBSERVED_JSON = 16 * 1024 * 1024;

/**
 * The model call: sends the planned request and answers as soon as the upstream's
 * status and headers arrive, with the body relayed as it comes.
 */
export async function callModel(deps: Pick<GatewayDeps, 'upstreamIdleTimeoutMs' | 'upstreamDeadlineMs' | 'now'>, state: RequestState): Promise<GatewayResponse> {
  const { route, proxy } = state;
  if (route.kind !== 'openai' || !proxy || !state.upstream) throw new Error('callModel reached without a routed request');
  if (route.endpoint === 'models' && proxy.allowedModels?.length) return allowedModelsList(proxy.allowedModels, proxy.modelAliases, proxy.id);

  const plan = state.upstream;
  const sentAt = deps.now();
  state.overheadMs = sentAt - state.startedAt;
  const exchange = await sendUpstream(plan, { idleMs: deps.upstreamIdleTimeoutMs, deadlineMs: deps.upstreamDeadlineMs });
  state.trace.step('llm', { provider: plan.provider, model: plan.modelResolved, status: exchange.status }, sentAt);
  state.trace.set({ status: exchange.status });

  if (exchange.status >= 400) {
    const text = await readBounded(exchange.body, MAX_ERROR_BODY);
    const error = mapUpstreamError(exchange.status, text, plan.provider);
    const headers: Record<string, string> = {};
    for (const name of ['retry-after', 'retry-after-ms', 'x-request-id', 'x-ratelimit-limit-requests', 'x-ratelimit-remaining-requests', 'x-ratelimit-reset-requests', 'x-ratelimit-limit-tokens', 'x-ratelimit-remaining-tokens', 'x-ratelimit-reset-tokens']) {
      const v = exchange.headers[name];
      if (typeof v === 'string') headers[name] = v;
    }
    throw new GatewayError(error.status, error.message, error.type, error.code, error.param, headers);
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(exchange.headers)) {
    if (value !== undefined && PASSED_HEADERS.test(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const sse = (headers['content-type'] ?? '').startsWith('text/event-stream');
  const observers: RelayObserver[] = [firstByteObserver(deps, state), sse ? streamUsageObserver(state) : jsonUsageObserver(state), ...state.observers];
  const body = relayBody(exchange.body, {
    sse,
    observers,
    terminalError: (err) => streamErrorEvent(route.endpoint, toUpstreamError(exchange.abortReason() ?? err)),
    abortUpstream: exchange.abort,
  });
  return { statusCode: exchange.status, headers, body };
}

function toUpstreamError(err: Error): GatewayError {
  if (err instanceof UpstreamTimeoutError) return gatewayTimeout(`The upstream stream stopped: ${err.message}`);
  return badGateway('The upstream stream was interrupted before it completed.', 'stream_interrupted');
}

function firstByteObserver(deps: Pick<GatewayDeps, 'now'>, state: RequestState): RelayObserver {
  const mark = () => {
    state.firstByteAt ??= deps.now();
  };
  return { onChunk: mark, onEvent: mark };
}

function streamUsageObserver(state: RequestState): RelayObserver {
  const tracker = new StreamUsageTracker();
  return {
    onEvent: (event) => tracker.onEvent(event),
    onEnd: () => {
      if (tracker.usage) state.usage = tracker.usage;
    },
  };
}

/** Plain JSON bodies: keep a bounded copy to read usage once the body is complete. */
function jsonUsageObserver(state: RequestState): RelayObserver {
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
        const usage = usageFromResponseBody(JSON.parse(Buffer.concat(chunks).toString('utf8')));
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

function allowedModelsList(allowed: string[], aliases: Record<string, string> | undefined, ownedBy: string): GatewayResponse {
  const ids = new Set(allowed);
  for (const [alias, target] of Object.entries(aliases ?? {})) if (ids.has(target)) ids.add(alias);
  const data = [...ids].map((id) => ({ id, object: 'model', created: 0, owned_by: ownedBy }));
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ object: 'list', data }) };
}
