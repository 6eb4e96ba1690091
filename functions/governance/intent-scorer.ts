/**
 * The intent scoring protocol (docs/intent.md): `POST {GUARDRAIL_URL}/score` with
 * `Authorization: Bearer {GUARDRAIL_SECRET}`, every text field cut to 4096 characters,
 * answered with `{"action": "allow" | "block" | "escalate", "score"?, "reason"?}`.
 */
export const MAX_FIELD_CHARS = 4096;

export interface ScoreRequest {
  intent: string;
  capabilities: string[];
  /** The latest user message. */
  content: string;
  system: string;
  tool_names: string[];
  proxy_id: string;
  trace_id: string;
  session_turn?: number;
}

export type IntentAction = 'allow' | 'block' | 'escalate';

export interface ScoreResponse {
  action: IntentAction;
  score?: number;
  reason?: string;
}

export class ScoringError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScoringError';
  }
}

export const truncate = (s: string, max = MAX_FIELD_CHARS) => (s.length > max ? s.slice(0, max) : s);

export function truncateRequest(r: ScoreRequest): ScoreRequest {
  return {
    ...r,
    intent: truncate(r.intent),
    capabilities: r.capabilities.map((c) => truncate(c)),
    content: truncate(r.content),
    system: truncate(r.system),
    tool_names: r.tool_names.map((t) => truncate(t)),
  };
}

export async function scoreIntent(
  endpoint: { url: string; secret?: () => Promise<string | undefined>; timeoutMs: number },
  request: ScoreRequest,
  fetchImpl: typeof fetch = fetch,
): Promise<ScoreResponse> {
  let res: Response;
  let secret: string | undefined;
  try {
    secret = await endpoint.secret?.();
  } catch (err) {
    throw new ScoringError(`scorer secret unavailable: ${(err as Error).message}`);
  }
  try {
    res = await fetchImpl(`${endpoint.url}/score`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(secret ? { authorization: `Bearer ${secret}` } : {}) },
      body: JSON.stringify(truncateRequest(request)),
      signal: AbortSignal.timeout(endpoint.timeoutMs),
    });
  } catch (err) {
    throw new ScoringError(`scorer unreachable: ${(err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message}`);
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) throw new ScoringError(`scorer answered ${res.status}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new ScoringError('scorer answered something other than JSON');
  }
  const o = (body ?? {}) as Record<string, unknown>;
  if (o.action !== 'allow' && o.action !== 'block' && o.action !== 'escalate') throw new ScoringError('scorer answered without a valid action');
  return {
    action: o.action,
    ...(typeof o.score === 'number' ? { score: o.score } : {}),
    ...(typeof o.reason === 'string' ? { reason: o.reason.slice(0, 1000) } : {}),
  };
}
