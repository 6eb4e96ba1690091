/**
 * Coalesced stdout for the long-running local runtime (`npm start` / `sluice dev`, the
 * container server). stdout to a pipe or file is a blocking write(2) per line in Node, and
 * each request logs a "request finished" line from the upstream body's end, so the syscall
 * sat on the response's path. Batched, the lines written in one event-loop turn go out in
 * one write at setImmediate: every line is kept, in order, at most one turn later.
 *
 * Bound: at most `maxBytes` (default 64 KiB) are held; a write that reaches it flushes at
 * once (synchronously, as before). A write's callback (node:console passes one with every
 * line) is called with the result of the write that carries its chunk; writes with an
 * encoding argument flush what is held first and are passed through, so ordering holds. Held lines are flushed on process 'exit' (process.exit,
 * the stop-signal drain, an uncaught exception); only a SIGKILL can lose a turn's lines.
 * Not used in Lambda, where the runtime may freeze the process right after the response.
 */

export interface WritableLike {
  write(chunk: string | Uint8Array, ...rest: unknown[]): boolean;
}

export interface BatchOptions {
  /** Held bytes that force a synchronous flush (default 64 KiB). */
  maxBytes?: number;
  /** Runs a flush later (default setImmediate). */
  schedule?: (flush: () => void) => void;
  /** Where 'exit' is listened for (default the current process; null: not at all). */
  proc?: Pick<NodeJS.Process, 'on' | 'off'> | null;
}

export interface BatchedWrites {
  /** Writes what is held now. */
  flush(): void;
  /** Flushes and puts the stream's own write back. */
  restore(): void;
}

export const DEFAULT_BATCH_BYTES = 64 * 1024;

export function batchWrites(stream: WritableLike, opts: BatchOptions = {}): BatchedWrites {
  const maxBytes = opts.maxBytes ?? DEFAULT_BATCH_BYTES;
  const schedule = opts.schedule ?? ((fn: () => void) => void setImmediate(fn));
  const proc = opts.proc === undefined ? process : opts.proc;
  const original = stream.write;
  let held: (string | Uint8Array)[] = [];
  let callbacks: ((err?: Error | null) => void)[] = [];
  let heldBytes = 0;
  let scheduled = false;

  const flush = () => {
    scheduled = false;
    if (held.length === 0) return;
    const chunks = held;
    const done = callbacks;
    held = [];
    callbacks = [];
    heldBytes = 0;
    const allText = chunks.every((c) => typeof c === 'string');
    const data = allText ? chunks.join('') : Buffer.concat(chunks.map((c) => (typeof c === 'string' ? Buffer.from(c) : c)));
    if (done.length === 0) original.call(stream, data);
    else original.call(stream, data, (err?: Error | null) => done.forEach((cb) => cb(err)));
  };

  const batched = function (this: unknown, chunk: string | Uint8Array, ...rest: unknown[]): boolean {
    const callback = rest.length === 1 && typeof rest[0] === 'function' ? (rest[0] as (err?: Error | null) => void) : undefined;
    // An encoding argument (or anything but a chunk and an optional callback): passed through after what is held.
    if ((rest.length > 0 && !callback) || (typeof chunk !== 'string' && !(chunk instanceof Uint8Array))) {
      flush();
      return original.call(stream, chunk, ...rest);
    }
    held.push(chunk);
    if (callback) callbacks.push(callback);
    heldBytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (heldBytes >= maxBytes) flush();
    else if (!scheduled) {
      scheduled = true;
      schedule(flush);
    }
    return true;
  };
  stream.write = batched;
  proc?.on('exit', flush);

  return {
    flush,
    restore() {
      flush();
      if (stream.write === batched) stream.write = original;
      proc?.off('exit', flush);
    },
  };
}
