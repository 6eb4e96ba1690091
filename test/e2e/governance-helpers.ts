/** Shared setup for the governance end-to-end tests: a gateway with an in-memory trace sink and per-test proxies. */
import OpenAI from 'openai';
import type { TraceBatch, TraceSink } from '../../functions/traces/sink.js';
import type { TraceStep } from '../../functions/traces/recorder.js';
import { setPolicy } from '../../functions/governance/policy-admin.js';
import { MASK_CHAR } from '../../functions/governance/redact.js';
import type { GovernanceConfig, GovernanceStage, ProxyConfig } from '../../functions/stores/types.js';
import type { TestGateway } from '../support/gateway.js';
import { pollFor } from '../support/traces.js';

export function memorySink(): TraceSink & { batches: TraceBatch[] } {
  const batches: TraceBatch[] = [];
  return { batches, write: async (b) => void batches.push(b) };
}

/** The steps of one trace, waiting briefly for persistence (it runs after the last byte). */
export async function stepsOf(sink: { batches: TraceBatch[] }, traceId: string | null, name?: string): Promise<TraceStep[]> {
  const steps = await pollFor(
    () => {
      const steps = sink.batches.filter((b) => b.record.traceId === traceId).flatMap((b) => b.record.steps);
      return steps.some((s) => s.name === 'request_finished') ? steps : undefined;
    },
    { everyMs: 20 },
  );
  if (!steps) throw new Error(`trace ${traceId} was not persisted`);
  return name ? steps.filter((s) => s.name === name) : steps;
}

let proxies = 0;

/** A fresh proxy (auth caches proxies, so each scenario gets its own) with its policies and a client. */
export async function governedProxy(
  gw: TestGateway,
  opts: { policies?: Partial<Record<GovernanceStage, string>>; governance?: Partial<GovernanceConfig>; maxRetries?: number; signingKey?: string; proxy?: Partial<ProxyConfig> },
) {
  const id = `gov-${process.pid}-${++proxies}`;
  await gw.addProxy({ ...opts.proxy, id, governance: { enabled: true, ...opts.governance } });
  for (const [stage, rego] of Object.entries(opts.policies ?? {})) {
    await setPolicy(gw.store, id, stage as GovernanceStage, rego, opts.signingKey ? { signingKey: opts.signingKey } : {});
  }
  const { key, record } = await gw.addKey({ proxyId: id });
  const client = new OpenAI({ baseURL: `${gw.url}/a/${id}/openai/v1`, apiKey: key, maxRetries: opts.maxRetries ?? 0 });
  return { id, key, keyId: record.id, client };
}

export const QUICKSTART_POLICY = `package sluice.policy

deny if {
  some tool in input.tool_names
  tool == "delete_database"
}
`;

/** The action tests' policy: the quickstart policy, a hold rule for refunds over 100, and a redact pattern for card tokens. */
export const ACTION_POLICY = `${QUICKSTART_POLICY}
hold contains "refunds over 100 need a human" if {
  input.action == "refund"
  input.arguments.amount > 100
}

redact contains "tok_[a-z0-9]{8,}"
`;

/**
 * Response-stage rules for the response and stream tests. The test upstreams answer
 * "You said: <prompt>", one word per stream chunk or event: "ACCT 1234 5678" spans three.
 */
export const STREAM_RULES = `package sluice.policy
stream_redact contains {"pattern": "ACCT [0-9]{4} [0-9]{4}", "max_len": 14}
stream_deny contains {"pattern": "rm -rf /", "max_len": 8}
`;
export const FULL_RULES = `package sluice.policy
redact contains "ACCT [0-9]{4} [0-9]{4}"
deny contains "no launch codes" if contains(input.output.text, "launch code")
`;
/** `s` as the redaction leaves it. */
export const masked = (s: string) => MASK_CHAR.repeat(s.length);
