import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient, type UpdateItemCommandInput } from '@aws-sdk/client-dynamodb';
import { toNano, type BudgetDefinition } from './definitions.js';
import { budgetKey, CALENDAR_RETENTION_MS, type BudgetLedger, type BudgetUsage, type Hold, type ReserveOutcome } from './ledger.js';
import { rollingRetryAfterMs, slotOf, type PeriodSlot } from './periods.js';

/**
 * Budget counters on the state table, one item per budget and period:
 *
 *   pk budget#<scope>#<id>   sk <period id>   used (N), reserved (N), ttl
 *   rolling windows add      b<day> (N) per live day, floor (N: first live day)
 *
 * `used` is settled spend plus reservations, so "fits" is a single comparison that
 * DynamoDB can check in the same UpdateItem that adds the amount: used ≤ limit − amount
 * (condition expressions have no arithmetic, so the subtraction is done here). No
 * transactions: a request over several budgets reserves them one by one and undoes
 * the earlier ones when a later one refuses (reserveAll).
 *
 * Rolling windows age out without a job: a reservation also requires floor ≥ the
 * first live day; when that fails the expired day buckets are removed (and subtracted
 * from `used`) by one update conditioned on the floor it read, then the reservation is
 * retried.
 */
export class DynamoBudgetLedger implements BudgetLedger {
  private readonly client: DynamoDBClient;
  private readonly table: string;

  constructor(opts: { client: DynamoDBClient; tableName: string }) {
    this.client = opts.client;
    this.table = opts.tableName;
  }

  async reserve(budget: BudgetDefinition, amountNano: number, now: number): Promise<ReserveOutcome> {
    const slot = slotOf(budget.period, now);
    const limitNano = toNano(budget.limitUsd);
    const key = { pk: s(budgetKey(budget)), sk: s(slot.id) };
    if (amountNano > limitNano) {
      const item = await this.read(key);
      return { ok: false, usedNano: num(item, 'used'), limitNano, retryAfterMs: undefined };
    }
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await this.client.send(new UpdateItemCommand(reserveUpdate(this.table, key, slot, amountNano, limitNano, now)));
        return { ok: true, hold: { key: budgetKey(budget), slot, amount: amountNano } };
      } catch (err) {
        if (!(err instanceof ConditionalCheckFailedException)) throw err;
      }
      const item = await this.read(key);
      const used = num(item, 'used');
      if (slot.firstLiveDay !== undefined && item?.floor?.N !== undefined && Number(item.floor.N) < slot.firstLiveDay) {
        await this.ageOut(key, item, slot.firstLiveDay);
        continue;
      }
      if (used + amountNano <= limitNano) continue; // a settlement freed room in between
      const retryAfterMs =
        slot.endsAt !== undefined ? slot.endsAt - now : rollingRetryAfterMs(bucketsOf(item), budget.period.kind === 'rolling' ? budget.period.days : 1, used + amountNano - limitNano, now);
      return { ok: false, usedNano: used, limitNano, retryAfterMs };
    }
    throw new Error(`budget ${budgetKey(budget)}: reservation kept conflicting`);
  }

  async settle(hold: Hold, actualNano: number): Promise<void> {
    const key = { pk: s(hold.key), sk: s(hold.slot.id) };
    const delta = actualNano - hold.amount;
    if (hold.slot.day === undefined) {
      await this.client.send(
        new UpdateItemCommand({ TableName: this.table, Key: key, UpdateExpression: 'ADD #u :d, #r :r', ExpressionAttributeNames: NAMES, ExpressionAttributeValues: { ':d': n(delta), ':r': n(-hold.amount) } }),
      );
      return;
    }
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: 'ADD #u :d, #r :r, #b :d',
          ConditionExpression: 'attribute_exists(#b)',
          ExpressionAttributeNames: { ...NAMES, '#b': `b${hold.slot.day}` },
          ExpressionAttributeValues: { ':d': n(delta), ':r': n(-hold.amount) },
        }),
      );
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
      // The day aged out of the window: it no longer counts, only the reservation goes.
      await this.client.send(new UpdateItemCommand({ TableName: this.table, Key: key, UpdateExpression: 'ADD #r :r', ExpressionAttributeNames: { '#r': 'reserved' }, ExpressionAttributeValues: { ':r': n(-hold.amount) } }));
    }
  }

  async usage(budget: BudgetDefinition, now: number): Promise<BudgetUsage> {
    const slot = slotOf(budget.period, now);
    const item = await this.read({ pk: s(budgetKey(budget)), sk: s(slot.id) });
    const reserved = num(item, 'reserved');
    let used = num(item, 'used');
    if (slot.firstLiveDay !== undefined) {
      for (const [day, amount] of bucketsOf(item)) if (day < slot.firstLiveDay) used -= amount;
    }
    return { slot, spentNano: Math.max(0, used - reserved), reservedNano: reserved };
  }

  private async read(key: Record<string, AttributeValue>): Promise<Record<string, AttributeValue> | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    return out.Item;
  }

  private async ageOut(key: Record<string, AttributeValue>, item: Record<string, AttributeValue>, firstLiveDay: number): Promise<void> {
    const expired = [...bucketsOf(item)].filter(([day]) => day < firstLiveDay);
    const freed = expired.reduce((sum, [, amount]) => sum + amount, 0);
    const names: Record<string, string> = {};
    expired.forEach(([day], i) => (names[`#x${i}`] = `b${day}`));
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: key,
          UpdateExpression: `SET #f = :live ADD #u :freed${expired.length ? ` REMOVE ${Object.keys(names).join(', ')}` : ''}`,
          ConditionExpression: '#f = :seen',
          ExpressionAttributeNames: { '#f': 'floor', '#u': 'used', ...names },
          ExpressionAttributeValues: { ':live': n(firstLiveDay), ':freed': n(-freed), ':seen': item.floor! },
        }),
      );
    } catch (err) {
      // Another instance aged it out first.
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
}

function reserveUpdate(table: string, key: Record<string, AttributeValue>, slot: PeriodSlot, amount: number, limit: number, now: number): UpdateItemCommandInput {
  const values: Record<string, AttributeValue> = { ':a': n(amount), ':max': n(limit - amount) };
  if (slot.day === undefined) {
    values[':ttl'] = n(Math.ceil((slot.endsAt! + CALENDAR_RETENTION_MS) / 1000));
    return {
      TableName: table,
      Key: key,
      UpdateExpression: 'SET #ttl = :ttl ADD #u :a, #r :a',
      ConditionExpression: 'attribute_not_exists(#u) OR #u <= :max',
      ExpressionAttributeNames: { ...NAMES, '#ttl': 'ttl' },
      ExpressionAttributeValues: values,
    };
  }
  values[':live'] = n(slot.firstLiveDay!);
  values[':ttl'] = n(Math.ceil((now + CALENDAR_RETENTION_MS + (slot.day! - slot.firstLiveDay! + 1) * 86_400_000) / 1000));
  return {
    TableName: table,
    Key: key,
    UpdateExpression: 'SET #f = if_not_exists(#f, :live), #ttl = :ttl ADD #u :a, #r :a, #b :a',
    ConditionExpression: '(attribute_not_exists(#u) OR #u <= :max) AND (attribute_not_exists(#f) OR #f >= :live)',
    ExpressionAttributeNames: { ...NAMES, '#f': 'floor', '#ttl': 'ttl', '#b': `b${slot.day}` },
    ExpressionAttributeValues: values,
  };
}

function bucketsOf(item: Record<string, AttributeValue> | undefined): Map<number, number> {
  const out = new Map<number, number>();
  for (const [name, value] of Object.entries(item ?? {})) {
    const m = /^b(\d+)$/.exec(name);
    if (m && value.N !== undefined) out.set(Number(m[1]), Number(value.N));
  }
  return out;
}

const NAMES = { '#u': 'used', '#r': 'reserved' };
const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });
const num = (item: Record<string, AttributeValue> | undefined, name: string): number => Number(item?.[name]?.N ?? 0);
