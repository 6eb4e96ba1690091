import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { watchDataDir } from '../stores/data-dir-watch.js';
import { withFileLock } from '../stores/file-lock.js';
import { validateBudget, validateLimit, type BudgetDefinition, type BudgetScope, type LimitDefinition, type LimitScope } from './definitions.js';
import { refId, type ScopeRef, type SpendConfigStore } from './config-store.js';

interface Document {
  budgets: Record<string, BudgetDefinition>;
  limits: Record<string, LimitDefinition>;
}

/**
 * Definitions in `<dataDir>/spend.json`: read whole, written whole under the data
 * directory's lock file, replaced by rename so readers see one version or the next.
 */
export class FileSpendConfigStore implements SpendConfigStore {
  private readonly file: string;
  private readonly lock: string;

  private readonly dataDir: string;

  constructor(opts: { dataDir: string }) {
    this.dataDir = opts.dataDir;
    this.file = join(opts.dataDir, 'spend.json');
    this.lock = join(opts.dataDir, 'spend.json.lock');
  }

  /** Bumped by fs.watch when spend.json changes: the gateway's definitions cache keys on it. */
  generation(): number | undefined {
    return watchDataDir(this.dataDir).generation('spend.json');
  }

  async getBudgets(refs: readonly ScopeRef<BudgetScope>[]): Promise<BudgetDefinition[]> {
    const doc = await this.read();
    return refs.map((r) => doc.budgets[refId(r)]).filter((b): b is BudgetDefinition => b !== undefined);
  }

  async listBudgets(): Promise<BudgetDefinition[]> {
    return Object.values((await this.read()).budgets);
  }

  async putBudget(budget: BudgetDefinition): Promise<void> {
    validateBudget(budget);
    await this.update((doc) => {
      doc.budgets[refId(budget)] = budget;
    });
  }

  async deleteBudget(ref: ScopeRef<BudgetScope>): Promise<boolean> {
    return this.update((doc) => delete doc.budgets[refId(ref)]);
  }

  async getLimits(refs: readonly ScopeRef<LimitScope>[]): Promise<LimitDefinition[]> {
    const doc = await this.read();
    return refs.map((r) => doc.limits[refId(r)]).filter((l): l is LimitDefinition => l !== undefined);
  }

  async listLimits(): Promise<LimitDefinition[]> {
    return Object.values((await this.read()).limits);
  }

  async putLimit(limit: LimitDefinition): Promise<void> {
    validateLimit(limit);
    await this.update((doc) => {
      doc.limits[refId(limit)] = limit;
    });
  }

  async deleteLimit(ref: ScopeRef<LimitScope>): Promise<boolean> {
    return this.update((doc) => delete doc.limits[refId(ref)]);
  }

  private async read(): Promise<Document> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { budgets: {}, limits: {} };
      throw err;
    }
    const doc = JSON.parse(text) as Partial<Document>;
    return { budgets: doc.budgets ?? {}, limits: doc.limits ?? {} };
  }

  private async update<T>(change: (doc: Document) => T): Promise<T> {
    await fs.mkdir(join(this.file, '..'), { recursive: true });
    return withFileLock(this.lock, {}, async () => {
      const doc = await this.read();
      const result = change(doc);
      const temp = `${this.file}.${randomBytes(4).toString('hex')}.tmp`;
      await fs.writeFile(temp, `${JSON.stringify(doc, null, 2)}\n`, 'utf8');
      await fs.rename(temp, this.file);
      watchDataDir(this.dataDir).wrote('spend.json'); // readers in this process see it at once
      return result;
    });
  }
}
