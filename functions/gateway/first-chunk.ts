import type { Readable } from 'node:stream';
import type { RelayObserver } from '../upstream/body-relay.js';
import type { GatewayError } from '../upstream/errors.js';
import type { AttemptKit } from './attempts.js';
import type { SseEvent } from '../upstream/sse.js';
import type { GatewayResponse, RequestState } from './types.js';

/**
 * Holds the status line of an attempt until its body's first chunk (docs/providers.md
 * "Retries and fallbacks"): a stream that stalls, errors or closes after the upstream's
 * headers but before its first body byte can still fail over, since the client has
 * been sent nothing. The plugins' observers (trace, spend, response policy, sessions)
 * see nothing of an attempt until it is committed, so a discarded body completes no
 * trace and settles no spend.
 *
 * Loaded with import() by functions/gateway/attempts.ts only for an attempt a later target
 * follows; what it uses of the gateway is injected, not imported (a static import from
 * here would make esbuild split a shared chunk, whose glue costs Lambda init bytes).
 */

/** What committing a held attempt needs of the gateway (attempts.ts passes its own imports). */
type CommitKit = Pick<AttemptKit, 'toUpstreamError' | 'gatewayTimeout'>;

/**
 * Holds one attempt: the plugins' observers of `state` are swapped for one gate until
 * `commit` (the body's first chunk), and put back by `release` when the attempt is over.
 */
export function holdAttempt(kit: CommitKit, state: RequestState, now: () => number): { commit(response: GatewayResponse, firstByteMs: number | undefined, started: number): Promise<void>; release(): void } {
  const gate = new ObserverGate(state.observers.slice());
  const observers = state.observers.splice(0, state.observers.length, gate);
  return {
    commit: (response, firstByteMs, started) => committedOnFirstChunk(kit, state, response, gate, firstByteMs ? started + firstByteMs - now() : undefined, firstByteMs),
    release: () => void state.observers.splice(0, state.observers.length, ...observers),
  };
}

/**
 * Waits for the body's first chunk before the status line is committed, then opens the
 * gate: a body that fails (stalls past the idle timeout, is cut, or ends without its
 * terminal event) or sends nothing within the target's first-byte timeout (counted from
 * sending) is thrown as the attempt's error, so it fails over like a failed status line.
 * The upstream's 200 is then not the attempt's status: the error's 502 / 504 is, and
 * what the discarded body told (usage, first byte) is forgotten.
 */
async function committedOnFirstChunk(kit: CommitKit, state: RequestState, response: GatewayResponse, gate: ObserverGate, leftMs: number | undefined, firstByteMs: number | undefined): Promise<void> {
  if (typeof response.body === 'string') return gate.openOn(undefined);
  const body = response.body;
  const outcome = await firstChunk(body, gate, leftMs);
  if (outcome === 'data') return gate.openOn(body);
  body.on('error', () => undefined);
  body.destroy();
  delete state.trace.record.attributes.status;
  delete state.usage;
  delete state.firstByteAt;
  const err: GatewayError =
    outcome === 'timeout' ? kit.gatewayTimeout(`Upstream sent no body within ${firstByteMs} ms.`) : kit.toUpstreamError(gate.endedEarly?.error ?? new Error('upstream body failed before its first byte'));
  throw err;
}

type Held = { chunk: Buffer } | { event: SseEvent } | { end: { error?: Error } };

/**
 * Stands in for the plugins' observers during one attempt. It holds what it is told
 * until `openOn(body)`, then replays it when the consumer starts reading the body (the
 * stream's 'resume', after every plugin's `after` has run — the response check exists
 * by then) and passes everything on from there. Bound: what is held is what the body
 * buffered before the client read it — the relay and the translated bodies stop reading
 * upstream at the stream's high-water mark (16 KiB) until it is consumed.
 */
export class ObserverGate implements RelayObserver {
  private held: Held[] = [];
  private targets: RelayObserver[] | undefined;
  /** Set when the body ended before the gate opened (`error`: it failed). */
  endedEarly: { error?: Error } | undefined;

  constructor(private readonly observers: RelayObserver[]) {}

  onChunk(chunk: Buffer): void {
    if (this.targets) for (const o of this.targets) o.onChunk?.(chunk);
    else this.held.push({ chunk });
  }
  onEvent(event: SseEvent): void {
    if (this.targets) for (const o of this.targets) o.onEvent?.(event);
    else this.held.push({ event });
  }
  onEnd(outcome: { error?: Error }): void {
    if (this.targets) return tellAll(this.targets, outcome);
    this.endedEarly ??= outcome;
    this.held.push({ end: outcome });
  }

  /** Committed: replay what was held once the body is first read (or closed unread), then pass through. */
  openOn(body: Readable | undefined): void {
    if (!body) return this.open();
    const open = () => {
      body.off('resume', open);
      body.off('close', open);
      this.open();
    };
    body.once('resume', open);
    body.once('close', open);
  }

  private open(): void {
    if (this.targets) return;
    const held = this.held;
    this.held = [];
    this.targets = this.observers;
    for (const h of held) {
      if ('chunk' in h) this.onChunk(h.chunk);
      else if ('event' in h) this.onEvent(h.event);
      else tellAll(this.observers, h.end);
    }
  }
}

function tellAll(observers: RelayObserver[], outcome: { error?: Error }): void {
  for (const o of observers) {
    try {
      o.onEnd?.(outcome);
    } catch {
      // observers never break the stream
    }
  }
}

export type FirstChunk = 'data' | 'failed' | 'timeout';

/**
 * Resolves when the body has its first chunk buffered (or ended cleanly: `data`), when it
 * failed before that (`failed`, the gate saw its end with an error) or after `limitMs`
 * (`timeout`). Nothing is read: a 'readable' listener only makes the body fill its buffer,
 * and once removed the body is consumed by pipe() as before.
 */
export function firstChunk(body: Readable, gate: ObserverGate, limitMs: number | undefined): Promise<FirstChunk> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const done = (outcome: FirstChunk) => {
      if (settled) return;
      settled = true;
      body.off('readable', onReadable);
      body.off('error', onError);
      body.off('close', onReadable);
      clearTimeout(timer);
      resolve(outcome);
    };
    // A stream's end emits 'readable' from inside push(null), before its relay tells observers why it ended: decide a microtask later.
    const onReadable = () => queueMicrotask(() => done(gate.endedEarly?.error ? 'failed' : 'data'));
    const onError = () => done('failed');
    body.on('readable', onReadable);
    body.on('error', onError);
    body.on('close', onReadable);
    if (limitMs !== undefined) timer = setTimeout(() => done('timeout'), Math.max(0, limitMs));
  });
}
