import type { RequestState } from './types.js';

/**
 * Runs bookkeeping that needs the complete body (finishing the trace and its log line,
 * the session link for the next turn) once the response's last bytes have been handed
 * to the socket instead of before: the end of the body is written in the ticks that
 * follow the upstream's last byte, and `setImmediate` comes after them, in the same
 * turn of the event loop, before any further I/O is read (so a client's next request
 * always finds the work done). Tracked in `state.pending`, which the invocation awaits
 * before it resolves, as Lambda requires. Like a body observer, the work never fails
 * the request.
 */
export function afterFlush(state: RequestState, work: () => void): void {
  state.pending.push(
    new Promise<void>((resolve) => {
      setImmediate(() => {
        try {
          work();
        } catch {
          // bookkeeping never breaks the request (as observers in tellEnd)
        }
        resolve();
      });
    }),
  );
}
