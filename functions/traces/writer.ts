import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../observability/logger.js';
import type { TraceStepRow } from './rows.js';
import { UndeliveredRowsError, type TraceBatch, type TraceSink } from './sink.js';

export interface TraceWriterOptions {
  sink: TraceSink;
  logger: Pick<Logger, 'warn'>;
  /** Sink writes in flight at once; more wait their turn (default 8). */
  maxConcurrent?: number;
  /** Local runtime: undeliverable rows are appended here as JSONL (absent in Lambda). */
  spoolDir?: string;
  /**
   * A sink write still pending after this long counts as failed, so a hung sink never
   * holds an invocation open (default 15 s). Rows it delivers later are harmless: the
   * store collapses repeats.
   */
  writeTimeoutMs?: number;
}

export interface TraceWriterStats {
  written: number;
  undelivered: number;
  spooled: number;
  inFlight: number;
  queued: number;
}

/**
 * The persistence front every request uses: bounded concurrency in front of a sink, and
 * the rule that a sink failure never fails a request. Writes always resolve; rows a
 * sink could not deliver are counted, logged (ids only) and spooled to disk locally.
 */
export class TraceWriter implements TraceSink {
  readonly stats: TraceWriterStats = { written: 0, undelivered: 0, spooled: 0, inFlight: 0, queued: 0 };
  private readonly waiting: (() => void)[] = [];
  private readonly maxConcurrent: number;

  constructor(private readonly opts: TraceWriterOptions) {
    this.maxConcurrent = Math.max(1, opts.maxConcurrent ?? 8);
  }

  async write(batch: TraceBatch): Promise<void> {
    await this.acquire();
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeoutMs = this.opts.writeTimeoutMs ?? 15_000;
      await Promise.race([
        this.opts.sink.write(batch),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`sink write still pending after ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      this.stats.written += rowCount(batch);
    } catch (err) {
      const rows = err instanceof UndeliveredRowsError ? err.rows : batch.rows;
      this.stats.written += rowCount(batch) - rows.length;
      await this.giveUp(batch.record.traceId, rows, err as Error);
    } finally {
      clearTimeout(timer);
      this.release();
    }
  }

  private async giveUp(traceId: string, rows: TraceStepRow[], err: Error): Promise<void> {
    this.stats.undelivered += rows.length;
    this.opts.logger.warn('trace rows undeliverable', { traceId, rows: rows.length, undeliveredTotal: this.stats.undelivered, error: err.message });
    if (!this.opts.spoolDir || rows.length === 0) return;
    try {
      await mkdir(this.opts.spoolDir, { recursive: true });
      await appendFile(join(this.opts.spoolDir, `${new Date().toISOString().slice(0, 10)}.jsonl`), rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
      this.stats.spooled += rows.length;
    } catch (spoolErr) {
      this.opts.logger.warn('trace spool failed', { traceId, error: (spoolErr as Error).message });
    }
  }

  private acquire(): Promise<void> {
    if (this.stats.inFlight < this.maxConcurrent) {
      this.stats.inFlight++;
      return Promise.resolve();
    }
    this.stats.queued++;
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.stats.queued--;
        this.stats.inFlight++;
        resolve();
      }),
    );
  }

  private release(): void {
    this.stats.inFlight--;
    this.waiting.shift()?.();
  }
}

/** Counted without building rows a lazy batch's sink never asked for. */
function rowCount(batch: TraceBatch): number {
  return batch.rowCount ?? batch.rows.length;
}
