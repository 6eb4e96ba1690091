import { BatchGetItemCommand, DeleteItemCommand, PutItemCommand, QueryCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { formatPeriod, parsePeriod, validateBudget, validateLimit, type BudgetDefinition, type BudgetScope, type LimitDefinition, type LimitScope } from './definitions.js';
import { refId, type ScopeRef, type SpendConfigStore } from './config-store.js';

/**
 * Definitions on the control table, next to proxies and keys:
 *
 *   budget  pk BUDGET#<scope>#<id>  sk BUDGET  gsi1pk BUDGETS  gsi1sk <scope>#<id>  limitUsd, period, updatedAt
 *   limit   pk LIMIT#<scope>#<id>   sk LIMIT   gsi1pk LIMITS   gsi1sk <scope>#<id>  rpm?, tpm?, updatedAt
 */
export class DynamoSpendConfigStore implements SpendConfigStore {
  constructor(private readonly opts: { client: DynamoDBClient; tableName: string }) {}

  async getBudgets(refs: readonly ScopeRef<BudgetScope>[]): Promise<BudgetDefinition[]> {
    return (await this.batchGet(refs.map((r) => `BUDGET#${refId(r)}`), 'BUDGET')).map(budgetFrom);
  }

  async listBudgets(): Promise<BudgetDefinition[]> {
    return (await this.queryAll('BUDGETS')).map(budgetFrom);
  }

  async putBudget(b: BudgetDefinition): Promise<void> {
    validateBudget(b);
    await this.put({
      pk: s(`BUDGET#${refId(b)}`),
      sk: s('BUDGET'),
      gsi1pk: s('BUDGETS'),
      gsi1sk: s(refId(b)),
      scope: s(b.scope),
      scopeId: s(b.scopeId),
      limitUsd: n(b.limitUsd),
      period: s(formatPeriod(b.period)),
      updatedAt: s(b.updatedAt),
    });
  }

  async deleteBudget(ref: ScopeRef<BudgetScope>): Promise<boolean> {
    return this.delete(`BUDGET#${refId(ref)}`, 'BUDGET');
  }

  async getLimits(refs: readonly ScopeRef<LimitScope>[]): Promise<LimitDefinition[]> {
    return (await this.batchGet(refs.map((r) => `LIMIT#${refId(r)}`), 'LIMIT')).map(limitFrom);
  }

  async listLimits(): Promise<LimitDefinition[]> {
    return (await this.queryAll('LIMITS')).map(limitFrom);
  }

  async putLimit(l: LimitDefinition): Promise<void> {
    validateLimit(l);
    await this.put({
      pk: s(`LIMIT#${refId(l)}`),
      sk: s('LIMIT'),
      gsi1pk: s('LIMITS'),
      gsi1sk: s(refId(l)),
      scope: s(l.scope),
      scopeId: s(l.scopeId),
      ...(l.rpm !== undefined ? { rpm: n(l.rpm) } : {}),
      ...(l.tpm !== undefined ? { tpm: n(l.tpm) } : {}),
      updatedAt: s(l.updatedAt),
    });
  }

  async deleteLimit(ref: ScopeRef<LimitScope>): Promise<boolean> {
    return this.delete(`LIMIT#${refId(ref)}`, 'LIMIT');
  }

  private async batchGet(pks: string[], sk: string): Promise<Record<string, AttributeValue>[]> {
    if (pks.length === 0) return [];
    const out = await this.opts.client.send(
      new BatchGetItemCommand({ RequestItems: { [this.opts.tableName]: { Keys: pks.map((pk) => ({ pk: s(pk), sk: s(sk) })) } } }),
    );
    const items = out.Responses?.[this.opts.tableName] ?? [];
    // Keep the caller's order (key, proxy, org): budgets are reserved in it.
    return pks.map((pk) => items.find((i) => i.pk?.S === pk)).filter((i): i is Record<string, AttributeValue> => i !== undefined);
  }

  private async queryAll(partition: string): Promise<Record<string, AttributeValue>[]> {
    const items: Record<string, AttributeValue>[] = [];
    let start: Record<string, AttributeValue> | undefined;
    do {
      const out = await this.opts.client.send(
        new QueryCommand({
          TableName: this.opts.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: 'gsi1pk = :p',
          ExpressionAttributeValues: { ':p': s(partition) },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(out.Items ?? []));
      start = out.LastEvaluatedKey;
    } while (start);
    return items;
  }

  private async put(item: Record<string, AttributeValue>): Promise<void> {
    await this.opts.client.send(new PutItemCommand({ TableName: this.opts.tableName, Item: item }));
  }

  private async delete(pk: string, sk: string): Promise<boolean> {
    const out = await this.opts.client.send(new DeleteItemCommand({ TableName: this.opts.tableName, Key: { pk: s(pk), sk: s(sk) }, ReturnValues: 'ALL_OLD' }));
    return out.Attributes !== undefined;
  }
}

function budgetFrom(item: Record<string, AttributeValue>): BudgetDefinition {
  return validateBudget({
    scope: str(item, 'scope') as BudgetScope,
    scopeId: str(item, 'scopeId'),
    limitUsd: Number(item.limitUsd?.N),
    period: parsePeriod(str(item, 'period')),
    updatedAt: str(item, 'updatedAt'),
  });
}

function limitFrom(item: Record<string, AttributeValue>): LimitDefinition {
  return validateLimit({
    scope: str(item, 'scope') as LimitScope,
    scopeId: str(item, 'scopeId'),
    ...(item.rpm?.N !== undefined ? { rpm: Number(item.rpm.N) } : {}),
    ...(item.tpm?.N !== undefined ? { tpm: Number(item.tpm.N) } : {}),
    updatedAt: str(item, 'updatedAt'),
  });
}

const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });
const str = (item: Record<string, AttributeValue>, name: string): string => item[name]?.S ?? '';
