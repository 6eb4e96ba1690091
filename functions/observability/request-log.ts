import type { Logger } from './logger.js';

type Extra = Record<string, unknown>;

/**
 * A request's view of the process logger: every line carries the trace id and the
 * keys added during the request. A Powertools child logger per request would do the
 * same but costs far more (it rebuilds its configuration from the environment).
 */
export interface RequestLog {
  debug(message: string, extra?: Extra): void;
  info(message: string, extra?: Extra): void;
  warn(message: string, extra?: Extra): void;
  error(message: string, extra?: Extra): void;
  /** Adds keys to every later line of this request. */
  appendKeys(keys: Extra): void;
}

export function requestLog(logger: Logger, keys: Extra): RequestLog {
  const context: Extra = { ...keys };
  return {
    debug: (message, extra) => logger.debug(message, { ...context, ...extra }),
    info: (message, extra) => logger.info(message, { ...context, ...extra }),
    warn: (message, extra) => logger.warn(message, { ...context, ...extra }),
    error: (message, extra) => logger.error(message, { ...context, ...extra }),
    appendKeys: (more) => void Object.assign(context, more),
  };
}
