import { ConditionalCheckFailedException, GetItemCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { windowOf, WINDOW_MS, type RateLimiter, type RateLimits, type RateOutcome, type RateWindow } from './rate-limiter.js';

/**
 * Rate counters on the state table: pk rate#<scope>#<id>, sk the minute index,
 * rq (requests) and tk (tokens), ttl two minutes after the window. One conditional
 * UpdateItem checks both limits and adds both counts.
 */
export class DynamoRateLimiter implements RateLimiter {
  constructor(private readonly opts: { client: DynamoDBClient; tableName: string }) {}

  async consume(key: string, limits: RateLimits, tokens: number, now: number): Promise<RateOutcome> {
    const window = windowOf(now);
    const resetsAt = (window + 1) * WINDOW_MS;
    const Key = { pk: s(key), sk: s(String(window)) };
    const conditions: string[] = [];
    const values: Record<string, AttributeValue> = { ':one': n(1), ':t': n(tokens), ':ttl': n(Math.ceil(resetsAt / 1000) + 120) };
    if (limits.rpm !== undefined) {
      conditions.push('(attribute_not_exists(rq) OR rq <= :rmax)');
      values[':rmax'] = n(limits.rpm - 1);
    }
    if (limits.tpm !== undefined) {
      conditions.push('(attribute_not_exists(tk) OR tk <= :tmax)');
      values[':tmax'] = n(limits.tpm - tokens);
    }
    // A fresh window passes attribute_not_exists: a request larger than the whole TPM is refused here.
    const tooLarge = limits.tpm !== undefined && tokens > limits.tpm;
    try {
      if (tooLarge) throw new ConditionalCheckFailedException({ message: 'request larger than the limit', $metadata: {} });
      const out = await this.opts.client.send(
        new UpdateItemCommand({
          TableName: this.opts.tableName,
          Key,
          UpdateExpression: 'SET #ttl = :ttl ADD rq :one, tk :t',
          ...(conditions.length ? { ConditionExpression: conditions.join(' AND ') } : {}),
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: values,
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { ok: true, window: { key, window }, requests: num(out.Attributes, 'rq'), tokens: num(out.Attributes, 'tk'), resetsAt };
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    const found = await this.opts.client.send(new GetItemCommand({ TableName: this.opts.tableName, Key, ConsistentRead: true }));
    return { ok: false, window: { key, window }, requests: num(found.Item, 'rq'), tokens: num(found.Item, 'tk'), resetsAt };
  }

  async refund(w: RateWindow, tokens: number): Promise<void> {
    await this.opts.client.send(
      new UpdateItemCommand({
        TableName: this.opts.tableName,
        Key: { pk: s(w.key), sk: s(String(w.window)) },
        UpdateExpression: 'ADD rq :minus, tk :t',
        ExpressionAttributeValues: { ':minus': n(-1), ':t': n(-tokens) },
      }),
    );
  }
}

const s = (v: string): AttributeValue => ({ S: v });
const n = (v: number): AttributeValue => ({ N: String(v) });
const num = (item: Record<string, AttributeValue> | undefined, name: string): number => Number(item?.[name]?.N ?? 0);
