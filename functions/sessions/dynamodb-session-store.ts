import {
  ConditionalCheckFailedException,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { DEFAULT_SESSION_TIMINGS, tracesToForget, type SessionStore, type SessionTimings, type TurnInput, type TurnResult } from './store.js';

/**
 * SessionStore on the state table (pk/sk, TTL attribute `ttl` in epoch seconds):
 *
 *   turn counter  pk session:<sessionId>   sk turn   proxyId, turn (N), expiresAt (N, epoch ms), ttl, turns (M traceId → N)
 *   link          pk <lookup key>          sk link   sessionId, ttl
 *
 * DynamoDB deletes expired items late (up to days), so every read treats an item whose
 * `ttl` has passed as absent. A turn is one conditional UpdateItem (atomic ADD) in the
 * common case; a new or lapsed session is claimed with one conditional PutItem.
 */
export interface DynamoSessionStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  now?: () => number;
  timings?: SessionTimings;
}

type Item = Record<string, AttributeValue>;

const TURN_SK = 'turn';
const LINK_SK = 'link';
const MAX_ATTEMPTS = 5;

export const sessionPk = (sessionId: string) => `session:${sessionId}`;

export class DynamoSessionStore implements SessionStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly now: () => number;
  private readonly timings: SessionTimings;

  constructor(options: DynamoSessionStoreOptions) {
    this.client = options.client;
    this.table = options.tableName;
    this.now = options.now ?? Date.now;
    this.timings = options.timings ?? DEFAULT_SESSION_TIMINGS;
  }

  async getLink(key: string): Promise<string | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: s(key), sk: s(LINK_SK) } }));
    const item = out.Item;
    if (!item || !isLive(item, this.now())) return undefined;
    return item.sessionId?.S;
  }

  async putLink(key: string, sessionId: string): Promise<void> {
    const now = this.now();
    await this.client.send(
      new PutItemCommand({
        TableName: this.table,
        Item: { pk: s(key), sk: s(LINK_SK), sessionId: s(sessionId), ttl: n(ttlSeconds(now + this.timings.retentionMs)) },
      }),
    );
  }

  async advanceTurn(input: TurnInput): Promise<TurnResult> {
    // A new session is one conditional PutItem; should the id exist after all, count the usual way.
    if (input.fresh && (await this.claim(input, this.now()))) return { owned: true, turn: 1 };
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const now = this.now();
      const counted = await this.increment(input, now);
      if (counted !== undefined) return { owned: true, turn: counted };

      const item = await this.readCounter(input.sessionId);
      const live = item && isLive(item, now) ? item : undefined;
      if (live && live.proxyId?.S !== input.proxyId) return { owned: false };
      const seen = live?.turns?.M?.[input.traceId]?.N;
      if (seen !== undefined) return { owned: true, turn: Number(seen) };
      if (live && Number(live.expiresAt?.N ?? 0) > now) continue; // changed under us: count again

      if (await this.claim(input, now)) return { owned: true, turn: 1 };
      // another request claimed or reset it first: count on top of theirs
    }
    throw new Error(`session turn for ${input.sessionId} could not be counted after ${MAX_ATTEMPTS} attempts`);
  }

  /** ADD 1 within a live window of a session this proxy owns; undefined when the condition fails. */
  private async increment(input: TurnInput, now: number): Promise<number | undefined> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: s(sessionPk(input.sessionId)), sk: s(TURN_SK) },
          // The trace's entry reads `turn` before the ADD applies, hence + 1.
          UpdateExpression: 'ADD #turn :one SET #turns.#trace = #turn + :one, expiresAt = :expiresAt, #ttl = :ttl',
          ConditionExpression: 'proxyId = :proxy AND expiresAt > :now AND #ttl > :nowS AND attribute_not_exists(#turns.#trace)',
          ExpressionAttributeNames: { '#turn': 'turn', '#turns': 'turns', '#trace': input.traceId, '#ttl': 'ttl' },
          ExpressionAttributeValues: {
            ':one': n(1),
            ':proxy': s(input.proxyId),
            ':now': n(now),
            ':nowS': n(Math.floor(now / 1000)),
            ':expiresAt': n(now + this.timings.turnWindowMs),
            ':ttl': n(ttlSeconds(now + this.timings.retentionMs)),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const attrs = out.Attributes ?? {};
      await this.forgetOldTraces(input.sessionId, attrs.turns?.M ?? {});
      return Number(attrs.turn?.N);
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
  }

  /** Starts the counter at 1 for this proxy: the session is new, its record expired, or its window lapsed. */
  private async claim(input: TurnInput, now: number): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: {
            pk: s(sessionPk(input.sessionId)),
            sk: s(TURN_SK),
            proxyId: s(input.proxyId),
            turn: n(1),
            expiresAt: n(now + this.timings.turnWindowMs),
            ttl: n(ttlSeconds(now + this.timings.retentionMs)),
            turns: { M: { [input.traceId]: n(1) } },
          },
          ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :nowS OR (proxyId = :proxy AND expiresAt <= :now)',
          ExpressionAttributeNames: { '#ttl': 'ttl' },
          ExpressionAttributeValues: { ':nowS': n(Math.floor(now / 1000)), ':proxy': s(input.proxyId), ':now': n(now) },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return false;
      throw err;
    }
  }

  private async readCounter(sessionId: string): Promise<Item | undefined> {
    const out = await this.client.send(
      new GetItemCommand({ TableName: this.table, Key: { pk: s(sessionPk(sessionId)), sk: s(TURN_SK) }, ConsistentRead: true }),
    );
    return out.Item;
  }

  /** Keeps the idempotency map bounded; removing an absent key is a no-op, so racing prunes are harmless. */
  private async forgetOldTraces(sessionId: string, turns: Record<string, AttributeValue>): Promise<void> {
    const forget = tracesToForget(Object.fromEntries(Object.entries(turns).map(([k, v]) => [k, Number(v.N)])));
    if (forget.length === 0) return;
    const names: Record<string, string> = { '#turns': 'turns' };
    forget.forEach((traceId, i) => (names[`#t${i}`] = traceId));
    await this.client.send(
      new UpdateItemCommand({
        TableName: this.table,
        Key: { pk: s(sessionPk(sessionId)), sk: s(TURN_SK) },
        UpdateExpression: `REMOVE ${forget.map((_, i) => `#turns.#t${i}`).join(', ')}`,
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: names,
      }),
    ).catch((err: unknown) => {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    });
  }
}

/** An item whose TTL has passed is absent, even if DynamoDB has not deleted it yet. */
function isLive(item: Item, now: number): boolean {
  const ttl = item.ttl?.N;
  return ttl === undefined || Number(ttl) > Math.floor(now / 1000);
}

const ttlSeconds = (epochMs: number) => Math.ceil(epochMs / 1000);
const s = (value: string): AttributeValue => ({ S: value });
const n = (value: number): AttributeValue => ({ N: String(value) });
