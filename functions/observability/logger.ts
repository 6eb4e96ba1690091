import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Structured JSON logs (Powertools). Created once per process and injected.
 * Never log a raw key: use `secretFingerprint` from functions/stores/keys.ts.
 */
export function createLogger(serviceName = 'sluice', level = process.env.SLUICE_LOG_LEVEL ?? 'INFO'): Logger {
  return new Logger({ serviceName, logLevel: level as 'INFO' });
}
export type { Logger };
