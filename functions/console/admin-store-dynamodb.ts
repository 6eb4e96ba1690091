import { ConditionalCheckFailedException, DeleteItemCommand, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomUUID } from 'node:crypto';
import type { AdminKeyRecord } from './admin-keys.js';
import type { AdminStore, AuditEntry, ConsoleSession, SignInNonce } from './admin-store.js';

/**
 * The admin store on the control table, in its own key space (never the gateway-key items):
 *
 *   admin key     pk ADMKEY#<sha256>      sk ADMKEY   gsi1pk ADMKEYS  gsi1sk <createdAt>#<id>
 *   admin key id  pk ADMKEYID#<id>        sk ADMKEY   (points at the hash)
 *   session       pk ADMSESSION#<sha256>  sk SESSION  ttl at expiry
 *   nonce         pk ADMNONCE#<sha256>    sk NONCE    ttl at expiry; taken by a DeleteItem (single use)
 *   audit entry   pk ADMAUDIT#<yyyy-mm-dd> sk <at>#<uuid>
 *
 * Items store the record as JSON in `doc`.
 */
type Item = Record<string, AttributeValue>;
const s = (v: string): AttributeValue => ({ S: v });
const ttl = (iso: string): AttributeValue => ({ N: String(Math.ceil(Date.parse(iso) / 1000)) });

export class DynamoAdminStore implements AdminStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly index = 'gsi1',
  ) {}

  async putKey(r: AdminKeyRecord) {
    try {
      await this.client.send(new PutItemCommand({ TableName: this.table, Item: { pk: s(`ADMKEYID#${r.id}`), sk: s('ADMKEY'), hash: s(r.hash) }, ConditionExpression: 'attribute_not_exists(pk)' }));
      await this.client.send(
        new PutItemCommand({
          TableName: this.table,
          Item: { pk: s(`ADMKEY#${r.hash}`), sk: s('ADMKEY'), gsi1pk: s('ADMKEYS'), gsi1sk: s(`${r.createdAt}#${r.id}`), doc: s(JSON.stringify(r)) },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) throw new Error(`admin key ${r.id} exists`);
      throw err;
    }
  }

  async getKeyByHash(hash: string) {
    return this.getDoc<AdminKeyRecord>(`ADMKEY#${hash}`, 'ADMKEY');
  }

  async getKey(id: string) {
    const pointer = (await this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: s(`ADMKEYID#${id}`), sk: s('ADMKEY') }, ConsistentRead: true }))).Item;
    return pointer?.hash?.S ? this.getKeyByHash(pointer.hash.S) : undefined;
  }

  async listKeys() {
    const out: AdminKeyRecord[] = [];
    let start: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({ TableName: this.table, IndexName: this.index, KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': s('ADMKEYS') }, ...(start ? { ExclusiveStartKey: start } : {}) }),
      );
      for (const item of page.Items ?? []) if (item.doc?.S) out.push(JSON.parse(item.doc.S) as AdminKeyRecord);
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async revokeKey(id: string, at: string) {
    const key = await this.getKey(id);
    if (!key) return false;
    if (!key.revokedAt) {
      await this.client.send(
        new UpdateItemCommand({ TableName: this.table, Key: { pk: s(`ADMKEY#${key.hash}`), sk: s('ADMKEY') }, UpdateExpression: 'SET doc = :d', ExpressionAttributeValues: { ':d': s(JSON.stringify({ ...key, revokedAt: at })) } }),
      );
    }
    return true;
  }

  async putSession(session: ConsoleSession) {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: { pk: s(`ADMSESSION#${session.hash}`), sk: s('SESSION'), doc: s(JSON.stringify(session)), ttl: ttl(session.expiresAt) } }));
  }

  async getSession(hash: string, now: number) {
    const session = await this.getDoc<ConsoleSession>(`ADMSESSION#${hash}`, 'SESSION');
    return session && Date.parse(session.expiresAt) > now ? session : undefined;
  }

  async deleteSession(hash: string) {
    await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { pk: s(`ADMSESSION#${hash}`), sk: s('SESSION') } }));
  }

  async putNonce(nonce: SignInNonce) {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: { pk: s(`ADMNONCE#${nonce.hash}`), sk: s('NONCE'), doc: s(JSON.stringify(nonce)), ttl: ttl(nonce.expiresAt) } }));
  }

  async takeNonce(hash: string, now: number) {
    const out = await this.client.send(new DeleteItemCommand({ TableName: this.table, Key: { pk: s(`ADMNONCE#${hash}`), sk: s('NONCE') }, ReturnValues: 'ALL_OLD' }));
    const nonce = out.Attributes?.doc?.S ? (JSON.parse(out.Attributes.doc.S) as SignInNonce) : undefined;
    return nonce && Date.parse(nonce.expiresAt) > now ? nonce : undefined;
  }

  async audit(entry: AuditEntry) {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: { pk: s(`ADMAUDIT#${entry.at.slice(0, 10)}`), sk: s(`${entry.at}#${randomUUID()}`), doc: s(JSON.stringify(entry)) } }));
  }

  /** Today's and yesterday's entries (UTC days), newest first. */
  async listAudit(limit: number) {
    const out: AuditEntry[] = [];
    for (const day of [0, 1].map((d) => new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10))) {
      const page = await this.client.send(
        new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :p', ExpressionAttributeValues: { ':p': s(`ADMAUDIT#${day}`) }, ScanIndexForward: false, Limit: limit - out.length }),
      );
      for (const item of page.Items ?? []) if (item.doc?.S) out.push(JSON.parse(item.doc.S) as AuditEntry);
      if (out.length >= limit) break;
    }
    return out;
  }

  private async getDoc<T>(pk: string, sk: string): Promise<T | undefined> {
    const item = (await this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: s(pk), sk: s(sk) }, ConsistentRead: true }))).Item;
    return item?.doc?.S ? (JSON.parse(item.doc.S) as T) : undefined;
  }
}
