import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DEFAULT_DATA_DIR } from '../stores/factory.js';
import type { FailMode } from '../stores/types.js';
import { FileApprovalStore, type ApprovalStore } from './approvals.js';
import { snsNotifier, webhookNotifier, type Notifier } from './notifier.js';
import { PolicyCache } from './policy-cache.js';
import { DynamoApprovalStore } from './approvals-dynamodb.js';

/** What the policy and intent plugins need, injected like the rest of GatewayDeps. */
export interface GovernanceDeps {
  policies: PolicyCache;
  approvals: ApprovalStore;
  /** Absent: holds and escalations are traced and logged but nobody is notified. */
  notifier?: Notifier;
  /** Failures counted per kind (also logged with `governance_event`); read by tests and the bench. */
  counters: Record<string, number>;
  intent?: { url: string; secret?: () => Promise<string | undefined>; failMode: FailMode; timeoutMs: number };
  /** Random source for intent sampling (default Math.random). */
  random?: () => number;
}

export function count(g: GovernanceDeps, name: string): void {
  g.counters[name] = (g.counters[name] ?? 0) + 1;
}

/**
 * From the environment: SLUICE_POLICY_SIGNING_KEY; approvals in the control table when
 * SLUICE_STORE=dynamodb, else in SLUICE_DATA_DIR; notifications to SLUICE_NOTIFY_TOPIC_ARN
 * (SNS) or SLUICE_NOTIFY_WEBHOOK_URL; the intent scorer at GUARDRAIL_URL.
 */
export function governanceFromEnv(env: NodeJS.ProcessEnv, approvals?: ApprovalStore): GovernanceDeps {
  const signingKey = env.SLUICE_POLICY_SIGNING_KEY?.trim() || undefined;
  const topic = env.SLUICE_NOTIFY_TOPIC_ARN?.trim();
  const webhook = env.SLUICE_NOTIFY_WEBHOOK_URL?.trim();
  const notifier = topic ? snsNotifier(topic) : webhook ? webhookNotifier(webhook) : undefined;
  const guardrail = env.GUARDRAIL_URL?.trim();
  return {
    policies: new PolicyCache(signingKey ? { signingKey } : {}),
    approvals: approvals ?? approvalsFromEnv(env),
    ...(notifier ? { notifier } : {}),
    counters: {},
    ...(guardrail
      ? {
          intent: {
            url: guardrail.replace(/\/+$/, ''),
            secret: guardrailSecret(env),
            failMode: env.SLUICE_INTENT_FAIL_MODE?.trim() === 'closed' ? 'closed' : 'open',
            timeoutMs: 15_000,
          },
        }
      : {}),
  };
}

/** On the control table with SLUICE_STORE=dynamodb (the client is built on first use), else approvals.json in the data directory. */
export function approvalsFromEnv(env: NodeJS.ProcessEnv, client?: DynamoDBClient): ApprovalStore {
  const table = env.SLUICE_CONTROL_TABLE?.trim();
  if (env.SLUICE_STORE?.trim() === 'dynamodb' && table) {
    const region = env.AWS_REGION?.trim();
    return new DynamoApprovalStore(client ?? new DynamoDBClient(region ? { region } : {}), table);
  }
  return new FileApprovalStore(env.SLUICE_DATA_DIR?.trim() || DEFAULT_DATA_DIR);
}

/** GUARDRAIL_SECRET, or in AWS the secret named by GUARDRAIL_SECRET_ARN (read once per container, retried after a failure). */
function guardrailSecret(env: NodeJS.ProcessEnv): () => Promise<string | undefined> {
  let value: Promise<string | undefined> | undefined;
  return () => {
    value ??= (async () => {
      if (env.GUARDRAIL_SECRET) return env.GUARDRAIL_SECRET;
      if (!env.GUARDRAIL_SECRET_ARN) return undefined;
      const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      return (await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: env.GUARDRAIL_SECRET_ARN }))).SecretString;
    })();
    value.catch(() => {
      value = undefined;
    });
    return value;
  };
}
