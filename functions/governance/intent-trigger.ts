import type { IntentConfig } from '../stores/types.js';

/** Whether a request is scored, and if not, why (traced as the skip reason). Pure. */
export interface TriggerFacts {
  /** The session turn (1-based); undefined when the session is not counted. */
  turn?: number;
  hasTools: boolean;
  contentChars: number;
  /** A uniform draw in [0, 1). */
  draw: number;
}

export function intentTrigger(config: IntentConfig, facts: TriggerFacts): { score: true } | { score: false; reason: string } {
  const scope = config.turnScope ?? 'all';
  // An uncounted turn cannot be placed: scoring it is the safe choice.
  if (scope === 'first_only' && facts.turn !== undefined && facts.turn > 1) return { score: false, reason: `turn ${facts.turn} outside first_only` };
  if (scope === 'first_n' && facts.turn !== undefined && facts.turn > (config.n ?? 1)) return { score: false, reason: `turn ${facts.turn} outside first_n (n=${config.n ?? 1})` };
  const onTools = config.onTools ?? 'always';
  if (onTools === 'require' && !facts.hasTools) return { score: false, reason: 'no tools in the request (on_tools=require)' };
  if (onTools === 'ignore' && facts.hasTools) return { score: false, reason: 'tools in the request (on_tools=ignore)' };
  if (config.minContentChars !== undefined && facts.contentChars < config.minContentChars) {
    return { score: false, reason: `content shorter than min_content_chars (${facts.contentChars} < ${config.minContentChars})` };
  }
  const rate = config.sampleRate ?? 1;
  if (rate < 1 && facts.draw >= rate) return { score: false, reason: `not sampled (sample_rate=${rate})` };
  return { score: true };
}
