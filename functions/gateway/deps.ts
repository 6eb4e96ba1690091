import { randomBytes } from 'node:crypto';
import { createLogger } from '../observability/logger.js';
import { createUpstreamGuard } from '../net/index.js';
import { createControlStore } from '../stores/factory.js';
import { createSessionStore } from '../sessions/factory.js';
import { spendFromEnv } from '../spend/from-env.js';
import { cacheFromEnv } from '../stores/cache-from-env.js';
import { responseCacheFromEnv } from '../cache/store-from-env.js';
import { pricingFromEnv, traceBodyBytesFromEnv, traceSinkFromEnv } from '../traces/sink-from-env.js';
import { createCredentialResolver } from './credentials.js';
import { metricsEmitterFromEnv } from '../observability/metrics-emitter.js';
import { governanceFromEnv } from '../governance/governance-deps.js';
import type { GatewayDeps } from './types.js';

/** Epoch milliseconds with sub-millisecond resolution (monotonic within a process). */
export const preciseNow = () => performance.timeOrigin + performance.now();

/**
 * Builds the handler's dependencies from the environment. No I/O happens here:
 * stores connect and secrets are read on first use, so cold starts stay short.
 */
export function depsFromEnv(env: NodeJS.ProcessEnv): GatewayDeps {
  const logger = createLogger('sluice', env.SLUICE_LOG_LEVEL ?? 'INFO');
  const readSecret = async (secretId: string) => {
    // Loaded on demand: only deployments that use Secrets Manager pay for the client.
    const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const client = new SecretsManagerClient({});
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
    if (!out.SecretString) throw new Error(`secret ${secretId} has no string value`);
    return out.SecretString;
  };
  return {
    env,
    store: createControlStore(env),
    cache: cacheFromEnv(env, logger),
    traceSink: traceSinkFromEnv(env, logger, readSecret),
    logger,
    credentials: createCredentialResolver(env, readSecret),
    upstreamGuard: createUpstreamGuard(),
    identitySigningKey: identityKeyFrom(env, readSecret, logger),
    authCacheTtlMs: numberFrom(env.SLUICE_AUTH_CACHE_TTL_MS, 300_000),
    upstreamIdleTimeoutMs: numberFrom(env.SLUICE_UPSTREAM_IDLE_TIMEOUT_MS, 60_000),
    // Inside the function's 300 s timeout, with room to answer and trace.
    upstreamDeadlineMs: numberFrom(env.SLUICE_UPSTREAM_DEADLINE_MS, 280_000),
    now: preciseNow,
    pricing: pricingFromEnv(env),
    ...optional('metrics', metricsEmitterFromEnv(env, (message) => logger.warn('metrics', { error: message }))),
    traceBodyBytes: traceBodyBytesFromEnv(env),
    sessions: createSessionStore(env),
    spend: spendFromEnv(env),
    responseCache: responseCacheFromEnv(env, logger),
    governance: governanceFromEnv(env),
  };
}

const optional = <K extends string, V>(key: K, value: V | undefined) => (value === undefined ? {} : ({ [key]: value } as Record<K, V>));

/**
 * The key that signs cached identities: SLUICE_IDENTITY_SIGNING_KEY, or in AWS the
 * secret named by SLUICE_IDENTITY_SIGNING_KEY_SECRET_ARN (read once per container).
 * Without either, a random per-process key: fine for the in-process cache, but every
 * instance sharing a cache must be given the same key.
 */
function identityKeyFrom(env: NodeJS.ProcessEnv, readSecret: (id: string) => Promise<string>, logger: ReturnType<typeof createLogger>): () => Promise<Buffer> {
  let key: Promise<Buffer> | undefined;
  return () => {
    key ??= (async () => {
      if (env.SLUICE_IDENTITY_SIGNING_KEY) return Buffer.from(env.SLUICE_IDENTITY_SIGNING_KEY, 'utf8');
      if (env.SLUICE_IDENTITY_SIGNING_KEY_SECRET_ARN) return Buffer.from(await readSecret(env.SLUICE_IDENTITY_SIGNING_KEY_SECRET_ARN), 'utf8');
      logger.info('SLUICE_IDENTITY_SIGNING_KEY not set: using a per-process random key for cached identities');
      return randomBytes(32);
    })();
    key.catch(() => {
      key = undefined;
    });
    return key;
  };
}

function numberFrom(value: string | undefined, fallback: number): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}
