import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import type { BudgetDefinition } from './definitions.js';
import type { BudgetLedger, BudgetUsage, Hold, ReserveOutcome } from './ledger.js';
import { MemoryBudgetLedger, type LedgerSnapshot } from './memory-ledger.js';

/**
 * The local runtime's ledger: the in-process one (atomic in one process), loaded from
 * `<dataDir>/spend-ledger.json` on first use and written back after changes (coalesced,
 * replaced by rename), so spend survives a restart and `sluice budgets show` can read
 * it. One gateway process per data directory.
 */
export class FileBudgetLedger implements BudgetLedger {
  private readonly inner = new MemoryBudgetLedger();
  private readonly file: string;
  private loaded: Promise<void> | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(opts: { dataDir: string }) {
    this.file = join(opts.dataDir, 'spend-ledger.json');
  }

  async reserve(budget: BudgetDefinition, amountNano: number, now: number): Promise<ReserveOutcome> {
    await this.load();
    const out = await this.inner.reserve(budget, amountNano, now);
    if (out.ok) this.persist();
    return out;
  }

  async settle(hold: Hold, actualNano: number): Promise<void> {
    await this.load();
    await this.inner.settle(hold, actualNano);
    this.persist();
  }

  async usage(budget: BudgetDefinition, now: number): Promise<BudgetUsage> {
    await this.load();
    return this.inner.usage(budget, now);
  }

  /** Resolves when every change so far is on disk. */
  async flush(): Promise<void> {
    while (this.dirty) await this.writing;
    await this.writing;
  }

  private load(): Promise<void> {
    this.loaded ??= fs.readFile(this.file, 'utf8').then(
      (text) => this.inner.restore(JSON.parse(text) as LedgerSnapshot),
      (err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw err;
      },
    );
    return this.loaded;
  }

  private persist(): void {
    if (this.dirty) return;
    this.dirty = true;
    this.writing = this.writing.then(async () => {
      await new Promise((r) => setImmediate(r));
      this.dirty = false;
      const temp = `${this.file}.${process.pid}.tmp`;
      try {
        await fs.mkdir(dirname(this.file), { recursive: true });
        await fs.writeFile(temp, JSON.stringify(this.inner.snapshot()), 'utf8');
        await fs.rename(temp, this.file);
      } catch {
        // The counters stay right in memory; the next change writes them again.
      }
    });
  }
}
