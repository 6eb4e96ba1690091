import type { Policy } from '../rego/index.js';

/**
 * Decisions are read from the rules of the policy module's own package (any package
 * name): `deny`, `hold`, `allow` (request and response), `redact`, `stream_redact`,
 * `stream_deny` (response). `deny`/`hold` may be a boolean or a set of reason strings.
 */
export const DECISION_RULES = ['deny', 'hold', 'allow', 'redact', 'stream_redact', 'stream_deny'] as const;
export type DecisionRule = (typeof DECISION_RULES)[number];

export interface StreamRule {
  pattern: string;
  maxLen: number;
}

export interface RedactRule {
  /** An RE2 pattern whose matches are masked. */
  pattern?: string;
  /** A span of the output text, [start, end) in UTF-16 code units. */
  span?: { start: number; end: number };
}

export interface Decision {
  /** The package the rules were read from, e.g. `sluice/policy`. */
  package: string;
  denyReasons: string[];
  holdReasons: string[];
  redact: RedactRule[];
  streamRedact: StreamRule[];
  streamDeny: StreamRule[];
}

/** The package holding the decision rules: the first (sorted) package that defines any of them. */
export function decisionPackage(policy: Policy): string | undefined {
  for (const entrypoint of policy.entrypoints) {
    const slash = entrypoint.lastIndexOf('/');
    if (slash < 0) continue;
    if ((DECISION_RULES as readonly string[]).includes(entrypoint.slice(slash + 1))) return entrypoint.slice(0, slash);
  }
  return undefined;
}

export interface EvaluateOptions {
  budgetMs: number;
  now: Date;
  /** Only these rules (default: all). */
  only?: readonly DecisionRule[];
}

/** Evaluates the decision rules the policy defines. Throws RegoError (including budget exhaustion). */
export function evaluateDecision(policy: Policy, input: unknown, opts: EvaluateOptions): Decision {
  const pkg = decisionPackage(policy);
  const decision: Decision = { package: pkg ?? '', denyReasons: [], holdReasons: [], redact: [], streamRedact: [], streamDeny: [] };
  if (pkg === undefined) return decision;
  const started = performance.now();
  const read = (rule: DecisionRule): unknown => {
    const entrypoint = `${pkg}/${rule}`;
    if (!policy.entrypoints.includes(entrypoint) || (opts.only && !opts.only.includes(rule))) return undefined;
    // One budget across all rules of a decision.
    const budgetMs = Math.max(1, opts.budgetMs - (performance.now() - started));
    return policy.evaluate(input, { entrypoint, budgetMs, now: opts.now }).result;
  };
  decision.denyReasons = reasonsOf(read('deny'), 'denied by policy');
  const allow = read('allow');
  if (allow === false && decision.denyReasons.length === 0) decision.denyReasons = ['not allowed by policy'];
  decision.holdReasons = reasonsOf(read('hold'), 'held for approval by policy');
  decision.redact = redactRulesOf(read('redact'));
  decision.streamRedact = streamRulesOf(read('stream_redact'));
  decision.streamDeny = streamRulesOf(read('stream_deny'));
  return decision;
}

/** `true` → [fallback]; a set/array of strings → the strings; objects give their `msg`/`reason`. */
export function reasonsOf(value: unknown, fallback: string): string[] {
  if (value === true) return [fallback];
  if (!Array.isArray(value)) return [];
  const out: string[] = [];
  for (const v of value) {
    if (typeof v === 'string') out.push(v);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      out.push(typeof o.msg === 'string' ? o.msg : typeof o.reason === 'string' ? o.reason : JSON.stringify(v));
    } else if (v !== false && v !== null && v !== undefined) out.push(String(v));
  }
  return out.sort();
}

function redactRulesOf(value: unknown): RedactRule[] {
  if (!Array.isArray(value)) return [];
  const out: RedactRule[] = [];
  for (const v of value) {
    if (typeof v === 'string') out.push({ pattern: v });
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.pattern === 'string') out.push({ pattern: o.pattern });
      else if (typeof o.start === 'number' && typeof o.end === 'number' && o.end > o.start) out.push({ span: { start: o.start, end: o.end } });
    }
  }
  return out;
}

function streamRulesOf(value: unknown): StreamRule[] {
  if (!Array.isArray(value)) return [];
  const out: StreamRule[] = [];
  for (const v of value) {
    if (!v || typeof v !== 'object') continue;
    const o = v as Record<string, unknown>;
    if (typeof o.pattern !== 'string') continue;
    const maxLen = typeof o.max_len === 'number' && o.max_len > 0 ? Math.floor(o.max_len) : 256;
    out.push({ pattern: o.pattern, maxLen });
  }
  return out;
}
