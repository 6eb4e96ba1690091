import { badGateway } from '../../upstream/errors.js';
import type { CallDeps, CallState, GatewayResponse, UpstreamPlan } from '../../upstream/types.js';
import { observersFor, sendPlanned } from '../http-call.js';
import { pickHeaders } from '../../upstream/client.js';
import type { Json } from '../chat.js';
import { completeBody, readBody } from '../transport.js';
import { fromVertexPredictions, vertexPredictBodies } from './embeddings.js';
import { mapVertexError } from './errors.js';

const MAX_ERROR_BODY = 1024 * 1024;
const MAX_JSON_BODY = 64 * 1024 * 1024;
/** Single-instance calls (Gemini Embedding models) in flight at once for one request. */
const FAN_OUT = 4;

/**
 * Embeddings on Vertex: `:predict`, its predictions told as OpenAI's embedding list.
 * Text-embedding models take every input in one call; Gemini Embedding models take one
 * input per call, so several inputs become several calls (at most FAN_OUT at a time),
 * their predictions joined in input order. The first refused call's error is the answer.
 */
export async function callVertexEmbeddings(deps: CallDeps, state: CallState, sentAt: number): Promise<GatewayResponse> {
  const observers = observersFor(deps, state);
  const plan = state.upstream;
  if (!plan) throw new Error('callVertexEmbeddings reached without a routed request');
  let requestBody: Json;
  try {
    requestBody = JSON.parse(plan.body?.toString('utf8') ?? '{}') as Json;
  } catch {
    throw new Error('callVertexEmbeddings reached with an unreadable :predict body');
  }
  const bodies = vertexPredictBodies(requestBody, plan.modelResolved ?? '');
  const answers: Json[] = new Array<Json>(bodies.length);
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < bodies.length && !failed) {
      const i = next++;
      const body = bodies.length === 1 ? plan.body : Buffer.from(JSON.stringify(bodies[i]));
      const one: UpstreamPlan = bodies.length === 1 ? plan : { ...plan, body, headers: { ...plan.headers, 'content-length': String(body?.length ?? 0) } };
      try {
        answers[i] = await predict(deps, state, one, sentAt);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FAN_OUT, bodies.length) }, worker));
  const predictions = answers.flatMap((a) => (Array.isArray(a.predictions) ? (a.predictions as Json[]) : [undefined as unknown as Json]));
  let result: Json;
  try {
    result = fromVertexPredictions({ predictions }, state.body?.json ?? {}, plan.modelResolved ?? '');
  } catch (err) {
    throw badGateway(`Vertex answered an unreadable embedding: ${(err as Error).message}`, 'upstream_invalid_response');
  }
  const tokens = (result.usage as { prompt_tokens: number }).prompt_tokens;
  if (tokens > 0) state.usage = { promptTokens: tokens, completionTokens: 0, totalTokens: tokens };
  return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: completeBody(JSON.stringify(result), observers) };
}

/** One `:predict` call: its parsed answer, or the mapped error. */
async function predict(deps: CallDeps, state: CallState, plan: UpstreamPlan, sentAt: number): Promise<Json> {
  const exchange = await sendPlanned(deps, state, sentAt, plan);
  if (exchange.status >= 400) {
    const text = await readBody(exchange.body, MAX_ERROR_BODY).catch(() => '');
    throw mapVertexError(exchange.status, text, pickHeaders(exchange.headers, ['retry-after']));
  }
  try {
    const answer = JSON.parse(await readBody(exchange.body, MAX_JSON_BODY)) as unknown;
    return answer && typeof answer === 'object' && !Array.isArray(answer) ? (answer as Json) : {};
  } catch {
    throw badGateway('Vertex sent an unreadable response body.', 'upstream_invalid_response');
  }
}
