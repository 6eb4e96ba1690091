import type { RelayObserver } from '../../gateway/body-relay.js';
import { badGateway } from '../../gateway/errors.js';
import type { GatewayDeps, GatewayResponse, RequestState } from '../../gateway/types.js';
import { sendUpstream } from '../../gateway/upstream-client.js';
import type { Json } from '../chat.js';
import { completeBody, readBody } from '../transport.js';
import { fromVertexPredictions } from './embeddings.js';
import { mapVertexError } from './errors.js';

type Deps = Pick<GatewayDeps, 'upstreamIdleTimeoutMs' | 'upstreamDeadlineMs'>;

const MAX_ERROR_BODY = 1024 * 1024;
const MAX_JSON_BODY = 64 * 1024 * 1024;

/** Embeddings on Vertex: one `:predict` call, its predictions told as OpenAI's embedding list. */
export async function callVertexEmbeddings(deps: Deps, state: RequestState, sentAt: number, observers: RelayObserver[]): Promise<GatewayResponse> {
  const plan = state.upstream;
  if (!plan) throw new Error('callVertexEmbeddings reached without a routed request');
  const exchange = await sendUpstream(plan, { idleMs: deps.upstreamIdleTimeoutMs, deadlineMs: deps.upstreamDeadlineMs });
  state.trace.step('llm', { provider: plan.provider, model: plan.modelResolved, status: exchange.status }, sentAt);
  state.trace.set({ status: exchange.status });
  if (exchange.status >= 400) {
    const text = await readBody(exchange.body, MAX_ERROR_BODY).catch(() => '');
    const retry = exchange.headers['retry-after'];
    throw mapVertexError(exchange.status, text, typeof retry === 'string' ? { 'retry-after': retry } : {});
  }
  let answer: Json;
  try {
    answer = JSON.parse(await readBody(exchange.body, MAX_JSON_BODY)) as Json;
  } catch {
    throw badGateway('Vertex sent an unreadable response body.', 'upstream_invalid_response');
  }
  let result: Json;
  try {
    result = fromVertexPredictions(answer ?? {}, state.body?.json ?? {}, plan.modelResolved ?? '');
  } catch (err) {
    throw badGateway(`Vertex answered an unreadable embedding: ${(err as Error).message}`, 'upstream_invalid_response');
  }
  const tokens = (result.usage as { prompt_tokens: number }).prompt_tokens;
  if (tokens > 0) state.usage = { promptTokens: tokens, completionTokens: 0, totalTokens: tokens };
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(result), observers) };
}
