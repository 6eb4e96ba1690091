import { timingSafeEqual } from 'node:crypto';
import type { ScoreRequest } from '../governance/intent-scorer.js';
import { JUDGE_SYSTEM, judgePrompt, readVerdict } from './judge.js';

/**
 * The /score protocol (docs/intent.md) as a plain request → response function, so the
 * same code serves the Lambda Function URL and the local server. The judge is a model
 * behind `complete(system, prompt)`; a verdict it does not give in the protocol's shape
 * is an error (502), never a silent allow.
 */
export interface ScorerDeps {
  secret: string | undefined;
  complete(system: string, prompt: string): Promise<string>;
}

export interface PlainResponse {
  status: number;
  body: string;
}

export async function handleScore(deps: ScorerDeps, req: { method: string; path: string; authorization?: string; body: string }): Promise<PlainResponse> {
  if (req.path !== '/score') return json(404, { error: 'not found' });
  if (req.method !== 'POST') return json(405, { error: 'method not allowed' });
  if (deps.secret && !sameSecret(req.authorization, `Bearer ${deps.secret}`)) return json(401, { error: 'unauthorized' });
  let r: ScoreRequest;
  try {
    r = JSON.parse(req.body) as ScoreRequest;
  } catch {
    return json(400, { error: 'body is not JSON' });
  }
  if (typeof r?.intent !== 'string' || typeof r.content !== 'string') return json(400, { error: 'intent and content are required strings' });
  const request: ScoreRequest = { ...r, capabilities: Array.isArray(r.capabilities) ? r.capabilities.map(String) : [], tool_names: Array.isArray(r.tool_names) ? r.tool_names.map(String) : [], system: typeof r.system === 'string' ? r.system : '' };
  let text: string;
  try {
    text = await deps.complete(JUDGE_SYSTEM, judgePrompt(request));
  } catch (err) {
    return json(502, { error: `judge model failed: ${(err as Error).name}` });
  }
  const verdict = readVerdict(text);
  if (!verdict) return json(502, { error: 'the judge model gave no verdict' });
  return json(200, verdict);
}

function sameSecret(given: string | undefined, expected: string): boolean {
  const a = Buffer.from(given ?? '');
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

const json = (status: number, body: unknown): PlainResponse => ({ status, body: JSON.stringify(body) });
