import type { Server } from 'node:http';

/**
 * Graceful stop for a long-running gateway process (the local runtime behind `npm start`,
 * and the container server built on it): on SIGTERM or SIGINT stop accepting connections,
 * let the requests in flight finish for at most a grace period, flush what they still
 * write (traces, session turns: an invocation counts as in flight until its handler has
 * resolved, which is after those writes), then exit 0.
 */

/** What the local runtime exposes for a graceful stop. */
export interface Drainable {
  /** Stops accepting, waits for in-flight invocations (at most graceMs), then closes every connection. */
  drain(graceMs: number): Promise<DrainResult>;
}

export interface DrainResult {
  /** Invocations still running when the grace period ran out (their connections were cut). */
  abandoned: number;
}

/** Default grace period for in-flight requests on a stop signal. */
export const DRAIN_GRACE_MS = 10_000;

/**
 * Drains a node:http server whose in-flight invocations are `inflight` (each promise
 * settles when its handler has finished, trace writes included). Idle keep-alive
 * connections close at once; busy ones close as soon as their request is done.
 */
export async function drainHttpServer(server: Server, inflight: ReadonlySet<Promise<unknown>>, graceMs: number): Promise<DrainResult> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  // server.close() stops accepting and closes idle connections; a connection whose
  // request is still running is closed once it turns idle (checked below as they finish).
  server.closeIdleConnections();
  const pending = [...inflight];
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), graceMs);
  });
  const idleSweep = setInterval(() => server.closeIdleConnections(), 50);
  const outcome = await Promise.race([Promise.allSettled(pending).then(() => 'done' as const), expired]);
  clearTimeout(timer);
  clearInterval(idleSweep);
  const abandoned = outcome === 'done' ? 0 : inflight.size;
  server.closeAllConnections();
  await closed;
  return { abandoned };
}

export interface StopSignalOptions {
  /** Default: the current process. */
  proc?: Pick<NodeJS.Process, 'once' | 'off' | 'exit'>;
  /** Where to say what is happening (default: stderr). */
  log?: (line: string) => void;
  /** Grace period for in-flight requests (default 10 s). */
  graceMs?: number;
  /** Runs after the drain, before exit (e.g. flush a batching trace sink). */
  flush?: () => Promise<unknown>;
}

const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/**
 * Installs SIGTERM/SIGINT handlers that drain `target`, run `flush`, and exit 0. A second
 * signal while draining exits at once (status 1), as users expect from a second Ctrl-C.
 * Returns a function that removes the handlers.
 */
export function exitOnStopSignals(target: Drainable, opts: StopSignalOptions = {}): () => void {
  const proc = opts.proc ?? process;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const graceMs = opts.graceMs ?? DRAIN_GRACE_MS;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      log(`Sluice: ${signal} again, exiting without waiting.`);
      proc.exit(1);
      return;
    }
    stopping = true;
    // Stay subscribed, so a second signal is ours and not Node's default (instant death).
    for (const s of STOP_SIGNALS) proc.once(s, onSignal);
    log(`Sluice: ${signal} received, finishing in-flight requests (up to ${Math.round(graceMs / 1000)} s)…`);
    void (async () => {
      let code = 0;
      try {
        const { abandoned } = await target.drain(graceMs);
        if (abandoned > 0) log(`Sluice: ${abandoned} request(s) still running after ${Math.round(graceMs / 1000)} s were cut off.`);
        await opts.flush?.();
      } catch (err) {
        log(`Sluice: error while stopping: ${(err as Error).message}`);
        code = 1;
      }
      log('Sluice: stopped.');
      proc.exit(code);
    })();
  };
  for (const s of STOP_SIGNALS) proc.once(s, onSignal);
  return () => {
    for (const s of STOP_SIGNALS) proc.off(s, onSignal);
  };
}
