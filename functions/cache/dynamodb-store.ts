import {
  BatchWriteItemCommand,
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  type AttributeValue,
  type DynamoDBClient,
  type WriteRequest,
} from '@aws-sdk/client-dynamodb';
import { MAX_ENTRY_BYTES, type CacheKey, type CachedAnswer, type ResponseCacheStore } from './store.js';
import { CacheEntryTooLargeError, assertDigest, assertKey, scopeSegment } from './scope-key.js';

/**
 * The response cache on the state table (lib/control-tables.ts: `pk`/`sk`, TTL attribute
 * `ttl` in epoch seconds), for a deployment without ElastiCache. One partition per org and
 * proxy, `pk = rcache#<org>:<proxy>`, sort key the digest; attributes `payload` (binary),
 * `storedAt`, `expiresAt` (epoch ms) and `ttl`. DynamoDB's TTL deletion lags by up to days
 * and dynalite never deletes, so every read compares `expiresAt` with the injected clock.
 * A purge Queries the partition (keys only) and deletes with BatchWriteItem.
 *
 * A DynamoDB item is at most 400 KB, so this store refuses payloads over
 * DYNAMODB_MAX_PAYLOAD_BYTES (the plugin records `too_large`) — below the contract's 1 MiB.
 */
export interface DynamoResponseCacheStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  now?: () => number;
}

/** 400 KB item limit less room for the key and the other attributes. */
export const DYNAMODB_MAX_PAYLOAD_BYTES = 400 * 1024 - 1024;
const BATCH = 25; // BatchWriteItem's limit
const UNPROCESSED_ROUNDS = 5;

export const responseCachePk = (scope: { orgId: string; proxyId: string }) => `rcache#${scopeSegment(scope)}`;

export class DynamoResponseCacheStore implements ResponseCacheStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly now: () => number;

  constructor(options: DynamoResponseCacheStoreOptions) {
    this.client = options.client;
    this.table = options.tableName;
    this.now = options.now ?? Date.now;
  }

  async get(key: CacheKey): Promise<CachedAnswer | undefined> {
    assertKey(key);
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: this.keyOf(key) }));
    const item = out.Item;
    const payload = item?.payload?.B;
    const storedAt = Number(item?.storedAt?.N);
    const expiresAt = Number(item?.expiresAt?.N);
    if (!payload || !Number.isFinite(storedAt) || !(expiresAt > this.now())) return undefined;
    return { storedAt, expiresAt, payload };
  }

  async set(key: CacheKey, entry: CachedAnswer): Promise<void> {
    assertKey(key);
    const limit = Math.min(MAX_ENTRY_BYTES, DYNAMODB_MAX_PAYLOAD_BYTES);
    if (entry.payload.byteLength > limit) throw new CacheEntryTooLargeError(entry.payload.byteLength, limit);
    if (!(entry.expiresAt > this.now())) {
      await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: this.keyOf(key) }));
      return;
    }
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: {
          ...this.keyOf(key),
          payload: { B: entry.payload },
          storedAt: { N: String(Math.floor(entry.storedAt)) },
          expiresAt: { N: String(Math.ceil(entry.expiresAt)) },
          ttl: { N: String(Math.ceil(entry.expiresAt / 1000)) },
        },
      }),
    );
  }

  async purge(scope: { orgId: string; proxyId: string; digest?: string }): Promise<number> {
    if (scope.digest !== undefined) {
      assertDigest(scope.digest);
      const out = await this.client.send(
        new DeleteItemCommand({ TableName: this.table, Key: this.keyOf({ ...scope, digest: scope.digest }), ReturnValues: 'ALL_OLD' }),
      );
      return out.Attributes ? 1 : 0;
    }
    let deleted = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: responseCachePk(scope) } },
          ProjectionExpression: 'pk, sk',
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      const keys = page.Items ?? [];
      for (let i = 0; i < keys.length; i += BATCH) {
        await this.deleteBatch(keys.slice(i, i + BATCH).map((k) => ({ DeleteRequest: { Key: { pk: k.pk!, sk: k.sk! } } })));
      }
      deleted += keys.length;
      start = page.LastEvaluatedKey;
    } while (start);
    return deleted;
  }

  /** One BatchWriteItem, re-sending what DynamoDB left unprocessed a bounded number of times. */
  private async deleteBatch(requests: WriteRequest[]): Promise<void> {
    let pending = requests;
    for (let round = 0; pending.length > 0; round++) {
      if (round === UNPROCESSED_ROUNDS) throw new Error(`cache purge: ${pending.length} deletes left unprocessed by DynamoDB`);
      if (round > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** round));
      const out = await this.client.send(new BatchWriteItemCommand({ RequestItems: { [this.table]: pending } }));
      pending = out.UnprocessedItems?.[this.table] ?? [];
    }
  }

  private keyOf(key: CacheKey) {
    return { pk: { S: responseCachePk(key) }, sk: { S: key.digest } };
  }
}
