import {
  DeleteItemCommand,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  UpdateItemCommand,
  type AttributeValue,
  type DynamoDBClient,
  type QueryCommandInput,
} from '@aws-sdk/client-dynamodb';
import { ControlStoreError, DuplicateKeyError } from './errors.js';
import { isProviderName } from './validation.js';
import type { ApiKeyRecord, ControlStore, ProxyConfig } from './types.js';

/**
 * ControlStore on the single control table (pk/sk, GSI gsi1). The item layout
 * and access patterns are documented in docs/data-model.md:
 *
 *   proxy        pk PROXY#<id>    sk PROXY   gsi1pk PROXIES  gsi1sk PROXY#<id>
 *   key          pk KEY#<sha256>  sk KEY     gsi1pk KEYS     gsi1sk PROXY#<proxyId>#KEY#<createdAt>#<keyId>
 *   key id       pk KEYID#<keyId> sk KEY     (no GSI; points at the key's hash)
 *
 * The auth hot path, a key by hash, is one GetItem.
 */
export interface DynamoControlStoreOptions {
  client: DynamoDBClient;
  tableName: string;
  /** The GSI name; `gsi1` in the stack. */
  indexName?: string;
  /**
   * Strongly consistent GetItems (twice the read cost). The CLI turns this on so a
   * command sees what the previous one wrote; the gateway reads behind its cache
   * and does not need it.
   */
  consistentReads?: boolean;
}

type Item = Record<string, AttributeValue>;

const PROXY_SK = 'PROXY';
const KEY_SK = 'KEY';
const PROXIES_PARTITION = 'PROXIES';
const KEYS_PARTITION = 'KEYS';

export const proxyPk = (id: string) => `PROXY#${id}`;
export const keyPk = (hash: string) => `KEY#${hash}`;
export const keyIdPk = (id: string) => `KEYID#${id}`;

export class DynamoControlStore implements ControlStore {
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly index: string;
  private readonly consistent: boolean;

  constructor(options: DynamoControlStoreOptions) {
    this.client = options.client;
    this.table = options.tableName;
    this.index = options.indexName ?? 'gsi1';
    this.consistent = options.consistentReads ?? false;
  }

  async getProxy(id: string): Promise<ProxyConfig | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: s(proxyPk(id)), sk: s(PROXY_SK) },
        ConsistentRead: this.consistent,
      }),
    );
    return out.Item ? proxyFromItem(out.Item) : undefined;
  }

  async putProxy(proxy: ProxyConfig): Promise<void> {
    await this.client.send(new PutItemCommand({ TableName: this.table, Item: proxyToItem(proxy) }));
  }

  async listProxies(): Promise<ProxyConfig[]> {
    const items = await this.queryIndex({
      KeyConditionExpression: 'gsi1pk = :p',
      ExpressionAttributeValues: { ':p': s(PROXIES_PARTITION) },
    });
    return items.map(proxyFromItem);
  }

  async deleteProxy(id: string): Promise<boolean> {
    const out = await this.client.send(
      new DeleteItemCommand({
        TableName: this.table,
        Key: { pk: s(proxyPk(id)), sk: s(PROXY_SK) },
        ReturnValues: 'ALL_OLD',
      }),
    );
    return out.Attributes !== undefined;
  }

  async getKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const out = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: s(keyPk(hash)), sk: s(KEY_SK) },
        ConsistentRead: this.consistent,
      }),
    );
    return out.Item ? keyFromItem(out.Item) : undefined;
  }

  /**
   * Two conditional puts (dynalite, our test double, has no transactions): first
   * the id reservation, then the key by hash. If the second fails, the
   * reservation is removed. A crash in between leaves only an unused id
   * reservation, never a working key without its id, since auth reads the hash item.
   */
  async putKey(key: ApiKeyRecord): Promise<void> {
    const reservation: Item = {
      pk: s(keyIdPk(key.id)),
      sk: s(KEY_SK),
      type: s('key-id'),
      id: s(key.id),
      hash: s(key.hash),
      proxyId: s(key.proxyId),
    };
    if (!(await this.putIfAbsent(reservation))) throw new DuplicateKeyError('id', key.id);
    let stored = false;
    try {
      stored = await this.putIfAbsent(keyToItem(key));
    } finally {
      if (!stored) await this.removeReservation(key);
    }
    if (!stored) throw new DuplicateKeyError('hash', key.id);
  }

  async listKeys(proxyId?: string): Promise<ApiKeyRecord[]> {
    const items = await this.queryIndex(
      proxyId === undefined
        ? { KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': s(KEYS_PARTITION) } }
        : {
            KeyConditionExpression: 'gsi1pk = :p AND begins_with(gsi1sk, :prefix)',
            ExpressionAttributeValues: { ':p': s(KEYS_PARTITION), ':prefix': s(`PROXY#${proxyId}#`) },
          },
    );
    return items.map(keyFromItem);
  }

  async revokeKey(id: string, at: string): Promise<boolean> {
    const reservation = await this.client.send(
      new GetItemCommand({
        TableName: this.table,
        Key: { pk: s(keyIdPk(id)), sk: s(KEY_SK) },
        ConsistentRead: true,
      }),
    );
    const hash = reservation.Item?.hash?.S;
    if (!hash) return false;
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: s(keyPk(hash)), sk: s(KEY_SK) },
          // A second revoke keeps the first time.
          UpdateExpression: 'SET revokedAt = if_not_exists(revokedAt, :at)',
          ConditionExpression: 'attribute_exists(pk) AND #id = :id',
          ExpressionAttributeNames: { '#id': 'id' },
          ExpressionAttributeValues: { ':at': s(at), ':id': s(id) },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false; // an orphaned reservation
      throw error;
    }
  }

  private async putIfAbsent(item: Item): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailure(error)) return false;
      throw error;
    }
  }

  private async removeReservation(key: ApiKeyRecord): Promise<void> {
    try {
      await this.client.send(
        new DeleteItemCommand({
          TableName: this.table,
          Key: { pk: s(keyIdPk(key.id)), sk: s(KEY_SK) },
          ConditionExpression: '#hash = :h', // HASH is a reserved word
          ExpressionAttributeNames: { '#hash': 'hash' },
          ExpressionAttributeValues: { ':h': s(key.hash) },
        }),
      );
    } catch (error) {
      if (!isConditionalCheckFailure(error)) throw error;
    }
  }

  private async queryIndex(input: Omit<QueryCommandInput, 'TableName' | 'IndexName'>): Promise<Item[]> {
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({ ...input, TableName: this.table, IndexName: this.index, ExclusiveStartKey: startKey }),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return items;
  }
}

function proxyToItem(p: ProxyConfig): Item {
  const item: Item = {
    pk: s(proxyPk(p.id)),
    sk: s(PROXY_SK),
    gsi1pk: s(PROXIES_PARTITION),
    gsi1sk: s(`PROXY#${p.id}`),
    type: s('proxy'),
    id: s(p.id),
    orgId: s(p.orgId),
    name: s(p.name),
    provider: s(p.provider),
    baseUrl: s(p.baseUrl),
    byok: { BOOL: p.byok },
    allowPrivateNetwork: { BOOL: p.allowPrivateNetwork },
    createdAt: s(p.createdAt),
  };
  if (p.credentialRef !== undefined) item.credentialRef = s(p.credentialRef);
  // Lists and maps, not string sets: order matters and they may be empty.
  if (p.allowedModels !== undefined) item.allowedModels = { L: p.allowedModels.map(s) };
  if (p.modelAliases !== undefined) {
    item.modelAliases = { M: Object.fromEntries(Object.entries(p.modelAliases).map(([k, v]) => [k, s(v)])) };
  }
  // Governance is read as a whole by the policy and intent plugins: one JSON attribute.
  if (p.governance !== undefined) item.governance = s(JSON.stringify(p.governance));
  // Provider settings and per-request upstreams are read whole by routing: JSON attributes.
  if (p.azure !== undefined) item.azure = s(JSON.stringify(p.azure));
  if (p.gcp !== undefined) item.gcp = s(JSON.stringify(p.gcp));
  if (p.upstreamSelection !== undefined) item.upstreamSelection = { BOOL: p.upstreamSelection };
  if (p.upstreams !== undefined) item.upstreams = s(JSON.stringify(p.upstreams));
  if (p.routing !== undefined) item.routing = s(JSON.stringify(p.routing));
  if (p.cache !== undefined) item.cache = s(JSON.stringify(p.cache));
  return item;
}

function proxyFromItem(item: Item): ProxyConfig {
  const provider = str(item, 'provider');
  if (!isProviderName(provider)) throw new ControlStoreError(`proxy item ${str(item, 'pk')} has an unknown provider`);
  const proxy: ProxyConfig = {
    id: str(item, 'id'),
    orgId: str(item, 'orgId'),
    name: str(item, 'name'),
    provider,
    baseUrl: str(item, 'baseUrl'),
    byok: bool(item, 'byok'),
    allowPrivateNetwork: bool(item, 'allowPrivateNetwork'),
    createdAt: str(item, 'createdAt'),
  };
  const credentialRef = item.credentialRef?.S;
  if (credentialRef !== undefined) proxy.credentialRef = credentialRef;
  const models = item.allowedModels?.L;
  if (models !== undefined) proxy.allowedModels = models.map((v) => v.S ?? '');
  const aliases = item.modelAliases?.M;
  if (aliases !== undefined) {
    proxy.modelAliases = Object.fromEntries(Object.entries(aliases).map(([k, v]) => [k, v.S ?? '']));
  }
  const governance = item.governance?.S;
  if (governance !== undefined) proxy.governance = JSON.parse(governance) as ProxyConfig['governance'];
  if (item.azure?.S !== undefined) proxy.azure = JSON.parse(item.azure.S) as ProxyConfig['azure'];
  if (item.gcp?.S !== undefined) proxy.gcp = JSON.parse(item.gcp.S) as ProxyConfig['gcp'];
  if (item.upstreamSelection?.BOOL !== undefined) proxy.upstreamSelection = item.upstreamSelection.BOOL;
  if (item.upstreams?.S !== undefined) proxy.upstreams = JSON.parse(item.upstreams.S) as ProxyConfig['upstreams'];
  if (item.routing?.S !== undefined) proxy.routing = JSON.parse(item.routing.S) as ProxyConfig['routing'];
  if (item.cache?.S !== undefined) proxy.cache = JSON.parse(item.cache.S) as ProxyConfig['cache'];
  return proxy;
}

function keyToItem(k: ApiKeyRecord): Item {
  const item: Item = {
    pk: s(keyPk(k.hash)),
    sk: s(KEY_SK),
    gsi1pk: s(KEYS_PARTITION),
    gsi1sk: s(`PROXY#${k.proxyId}#KEY#${k.createdAt}#${k.id}`),
    type: s('key'),
    id: s(k.id),
    hash: s(k.hash),
    proxyId: s(k.proxyId),
    orgId: s(k.orgId),
    createdAt: s(k.createdAt),
  };
  if (k.name !== undefined) item.name = s(k.name);
  if (k.expiresAt !== undefined) item.expiresAt = s(k.expiresAt);
  if (k.revokedAt !== undefined) item.revokedAt = s(k.revokedAt);
  return item;
}

function keyFromItem(item: Item): ApiKeyRecord {
  const key: ApiKeyRecord = {
    id: str(item, 'id'),
    hash: str(item, 'hash'),
    proxyId: str(item, 'proxyId'),
    orgId: str(item, 'orgId'),
    createdAt: str(item, 'createdAt'),
  };
  for (const field of ['name', 'expiresAt', 'revokedAt'] as const) {
    const value = item[field]?.S;
    if (value !== undefined) key[field] = value;
  }
  return key;
}

function s(value: string): AttributeValue {
  return { S: value };
}

function str(item: Item, name: string): string {
  const value = item[name]?.S;
  if (value === undefined) throw new ControlStoreError(`control item is missing string attribute ${name}`);
  return value;
}

function bool(item: Item, name: string): boolean {
  return item[name]?.BOOL === true;
}

function isConditionalCheckFailure(error: unknown): boolean {
  return error instanceof Error && error.name === 'ConditionalCheckFailedException';
}
