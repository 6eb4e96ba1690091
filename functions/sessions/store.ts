/**
 * Session state: the turn counter of each session (with its owning proxy) and the
 * links that map a lookup key — `respchain:…`, `usersession:…`, `chain:…` — to a
 * session id. One interface, two implementations: DynamoDB (the state table) and a
 * file under the data dir for the local runtime. Layout in docs/sessions.md.
 */
export interface TurnInput {
  sessionId: string;
  proxyId: string;
  /** The request's trace id: counting the same trace twice returns the first turn. */
  traceId: string;
  /** A just-minted id: the store can start the counter without looking for an existing one. */
  fresh?: boolean;
}

/** `owned: false` — the session belongs to another proxy; nothing was counted. */
export type TurnResult = { owned: true; turn: number } | { owned: false };

export interface SessionStore {
  /** The session a lookup key points at; undefined when absent or expired. */
  getLink(key: string): Promise<string | undefined>;
  /** Points a lookup key at a session (replacing any previous target) for the retention period. */
  putLink(key: string, sessionId: string): Promise<void>;
  /**
   * Counts one turn: claims the session for the proxy when it is new (or its record
   * expired), adds one within the sliding turn window, restarts at 1 after the window
   * lapsed, and refuses a session owned by another proxy.
   */
  advanceTurn(input: TurnInput): Promise<TurnResult>;
}

export interface SessionTimings {
  /** Sliding expiry of the turn counter: a session idle for longer restarts at turn 1. */
  turnWindowMs: number;
  /** How long a session's ownership and its links are kept after their last write. */
  retentionMs: number;
}

export const DEFAULT_SESSION_TIMINGS: SessionTimings = {
  turnWindowMs: 30 * 60 * 1000,
  retentionMs: 7 * 24 * 60 * 60 * 1000,
};

/** Trace ids remembered per session for idempotency; pruned back to KEEP when above MAX. */
export const MAX_REMEMBERED_TRACES = 64;
export const KEEP_REMEMBERED_TRACES = 32;

/** A session's counter record, as the file store keeps it (the DynamoDB item has the same fields). */
export interface TurnRecord {
  proxyId: string;
  turn: number;
  /** Epoch ms: the turn window ends here. */
  expiresAt: number;
  /** Epoch ms: the record (and the session's ownership) is forgotten here. */
  retainUntil: number;
  /** traceId → the turn it was counted as. */
  turns: Record<string, number>;
}

/**
 * The turn counter's semantics as a pure function: given the stored record (or none)
 * and the clock, the record to store and the answer. The DynamoDB store implements
 * the same rules with conditional writes.
 */
export function nextTurn(
  record: TurnRecord | undefined,
  input: TurnInput,
  now: number,
  timings: SessionTimings,
): { record?: TurnRecord; result: TurnResult } {
  const live = record && record.retainUntil > now ? record : undefined;
  if (live && live.proxyId !== input.proxyId) return { result: { owned: false } };
  const seen = live?.turns[input.traceId];
  if (seen !== undefined) return { result: { owned: true, turn: seen } };
  const windows = { expiresAt: now + timings.turnWindowMs, retainUntil: now + timings.retentionMs };
  if (!live || live.expiresAt <= now) {
    return { record: { proxyId: input.proxyId, turn: 1, ...windows, turns: { [input.traceId]: 1 } }, result: { owned: true, turn: 1 } };
  }
  const turn = live.turn + 1;
  const turns = pruneRemembered({ ...live.turns, [input.traceId]: turn });
  return { record: { proxyId: live.proxyId, turn, ...windows, turns }, result: { owned: true, turn } };
}

/** Keeps the most recent trace ids once there are more than MAX_REMEMBERED_TRACES. */
export function pruneRemembered(turns: Record<string, number>): Record<string, number> {
  const entries = Object.entries(turns);
  if (entries.length <= MAX_REMEMBERED_TRACES) return turns;
  return Object.fromEntries(entries.sort(([, a], [, b]) => b - a).slice(0, KEEP_REMEMBERED_TRACES));
}

/** Trace ids to forget so that only the KEEP_REMEMBERED_TRACES most recent stay. */
export function tracesToForget(turns: Record<string, number>): string[] {
  const entries = Object.entries(turns);
  if (entries.length <= MAX_REMEMBERED_TRACES) return [];
  return entries
    .sort(([, a], [, b]) => b - a)
    .slice(KEEP_REMEMBERED_TRACES)
    .map(([traceId]) => traceId);
}
