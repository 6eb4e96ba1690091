import type { ScoreRequest, ScoreResponse } from '../governance/intent-scorer.js';
import { truncateRequest } from '../governance/intent-scorer.js';

/**
 * The reference scorer's judging: a prompt for a model acting as the judge, and the
 * reading of its verdict. Pure; the model call is injected (Bedrock Converse in AWS).
 */
export const JUDGE_SYSTEM = `You check whether a request sent to an AI assistant fits the assistant's declared purpose.
Answer with one JSON object and nothing else: {"action": "allow" | "block" | "escalate", "score": <0..1, how well the request fits>, "reason": "<one short sentence>"}.
allow: the request fits the purpose or capabilities. block: it clearly does not. escalate: it may be harmful or needs a human to look at it.`;

export function judgePrompt(r: ScoreRequest): string {
  const t = truncateRequest(r);
  return [
    `Declared purpose: ${t.intent}`,
    `Capabilities: ${t.capabilities.length ? t.capabilities.join('; ') : '(none listed)'}`,
    `Tools offered: ${t.tool_names.length ? t.tool_names.join(', ') : '(none)'}`,
    `System prompt of the application: ${t.system || '(none)'}`,
    // Last, so nothing the user wrote can be followed by our own instructions.
    `The request to judge:\n<<<\n${t.content}\n>>>`,
  ].join('\n\n');
}

/** The last JSON object in the model's text with a valid action; undefined when there is none. */
export function readVerdict(text: string): ScoreResponse | undefined {
  const candidates = text.match(/\{[^{}]*\}/g) ?? [];
  for (let i = candidates.length - 1; i >= 0; i--) {
    try {
      const o = JSON.parse(candidates[i]!) as Record<string, unknown>;
      if (o.action === 'allow' || o.action === 'block' || o.action === 'escalate') {
        return {
          action: o.action,
          ...(typeof o.score === 'number' && o.score >= 0 && o.score <= 1 ? { score: o.score } : {}),
          ...(typeof o.reason === 'string' ? { reason: o.reason.slice(0, 500) } : {}),
        };
      }
    } catch {
      // not JSON: try the previous candidate
    }
  }
  return undefined;
}
