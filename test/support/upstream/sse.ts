/**
 * Writing a response body over time: SSE framing, delays, cuts and hangs. The server
 * builds the frames; this module decides when (and whether) each one reaches the wire.
 */
import type { ServerResponse } from 'node:http';

/** `data: <json>\n\n` — chat and legacy completions streams. */
export const dataFrame = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`;

/** `event: <type>\ndata: <json>\n\n` — Responses API streams name every event. */
export const typedFrame = (event: { type: string }): string =>
  `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;

export const DONE_FRAME = 'data: [DONE]\n\n';

/** Resolves after `ms`, or at once when the signal aborts (server closing). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** True once the client went away or the server closed: stop writing. */
const gone = (res: ServerResponse, signal: AbortSignal): boolean => signal.aborted || res.destroyed;

/** Writes and waits until the bytes were handed to the kernel. */
function writeFlushed(res: ServerResponse, chunk: string): Promise<void> {
  return new Promise((resolve) => res.write(chunk, () => resolve()));
}

/**
 * Destroys the connection mid-body. The chunked body has no terminating chunk, so an
 * HTTP client sees a premature close — what a crashed upstream or a dropped connection
 * looks like.
 */
export function cutConnection(res: ServerResponse): void {
  res.socket?.destroy();
}

export interface StreamTiming {
  firstDelayMs: number;
  gapMs: number;
  /** Destroy the socket after this many frames (undefined: never). */
  cutAfter: number | undefined;
  /** End the body cleanly after this many frames, the rest (the terminal event) never sent (undefined: never). */
  eofAfter?: number | undefined;
}

/**
 * Sends frames one write each: status and headers go out at once, the first frame after
 * `firstDelayMs`, the rest `gapMs` apart; with `cutAfter` the socket is destroyed once
 * that many frames have been flushed.
 */
export async function writeFrames(
  res: ServerResponse,
  frames: readonly string[],
  timing: StreamTiming,
  signal: AbortSignal,
): Promise<void> {
  res.flushHeaders();
  await sleep(timing.firstDelayMs, signal);
  for (let i = 0; i < frames.length; i++) {
    if (gone(res, signal)) return;
    if (timing.cutAfter !== undefined && i >= timing.cutAfter) {
      cutConnection(res);
      return;
    }
    if (timing.eofAfter !== undefined && i >= timing.eofAfter) break;
    if (i > 0) {
      await sleep(timing.gapMs, signal);
      if (gone(res, signal)) return;
    }
    const frame = frames[i]!;
    if (timing.cutAfter !== undefined) await writeFlushed(res, frame);
    else res.write(frame);
  }
  if (timing.cutAfter !== undefined) {
    // Fewer frames than `cutAfter`: still cut, before the terminating chunk.
    cutConnection(res);
    return;
  }
  if (!gone(res, signal)) res.end();
}
