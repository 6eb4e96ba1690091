import { ConditionalCheckFailedException, GetItemCommand, PutItemCommand, QueryCommand, UpdateItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { consumeOutcome, effectiveStatus, pendingRecord, type ApprovalRecord, type ApprovalStatus, type ApprovalStore, type ConsumeOutcome, type NewHold } from './approvals.js';

/**
 * Approvals on the control table (pk/sk, gsi1), items documented in docs/policies.md:
 *
 *   approval   pk APPROVAL#<id>                           sk APPROVAL  gsi1pk APPROVALS#<proxyId>  gsi1sk <createdAt>#<id>
 *   hold link  pk HOLD#<proxyId>#<keyId>#<bodyHash>       sk HOLD      (the pending approval of that request)
 *
 * Every transition is a conditional write, so concurrent holds share one approval and an
 * approval is consumed exactly once. Items carry `ttl` (epoch seconds, a day past expiry).
 */
type Item = Record<string, AttributeValue>;
const s = (v: string): AttributeValue => ({ S: v });

export class DynamoApprovalStore implements ApprovalStore {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly table: string,
    private readonly index = 'gsi1',
  ) {}

  async hold(h: NewHold, now: number): Promise<{ record: ApprovalRecord; created: boolean }> {
    const linkKey = { pk: s(`HOLD#${h.proxyId}#${h.keyId}#${h.bodyHash}`), sk: s('HOLD') };
    for (let attempt = 0; attempt < 20; attempt++) {
      const link = (await this.client.send(new GetItemCommand({ TableName: this.table, Key: linkKey, ConsistentRead: true }))).Item;
      const linkedId = link?.approvalId?.S;
      if (linkedId) {
        const existing = await this.get(linkedId);
        if (existing && effectiveStatus(existing, now) === 'pending') return { record: existing, created: false };
        if (!existing) {
          // Claimed by a concurrent hold that is still writing its approval: wait for it.
          await new Promise((r) => setTimeout(r, 25));
          continue;
        }
      }
      const record = pendingRecord(h, now);
      try {
        // Claim the link first: of two concurrent holds, one wins and the other finds its approval.
        await this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: { ...linkKey, approvalId: s(record.id), ttl: ttlOf(record) },
            ...(linkedId
              ? { ConditionExpression: 'approvalId = :seen', ExpressionAttributeValues: { ':seen': s(linkedId) } }
              : { ConditionExpression: 'attribute_not_exists(pk)' }),
          }),
        );
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) continue;
        throw err;
      }
      await this.client.send(new PutItemCommand({ TableName: this.table, Item: toItem(record), ConditionExpression: 'attribute_not_exists(pk)' }));
      return { record, created: true };
    }
    throw new Error('approval hold: too much contention on the same request');
  }

  async get(id: string): Promise<ApprovalRecord | undefined> {
    const out = await this.client.send(new GetItemCommand({ TableName: this.table, Key: { pk: s(`APPROVAL#${id}`), sk: s('APPROVAL') }, ConsistentRead: true }));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async list(filter: { proxyId?: string; status?: ApprovalStatus } = {}, now = Date.now()): Promise<ApprovalRecord[]> {
    if (filter.proxyId === undefined) throw new Error('listing approvals on DynamoDB needs a proxy id');
    const items: Item[] = [];
    let startKey: Item | undefined;
    do {
      const out = await this.client.send(
        new QueryCommand({ TableName: this.table, IndexName: this.index, KeyConditionExpression: 'gsi1pk = :p', ExpressionAttributeValues: { ':p': s(`APPROVALS#${filter.proxyId}`) }, ExclusiveStartKey: startKey }),
      );
      items.push(...(out.Items ?? []));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return items.map(fromItem).filter((r) => filter.status === undefined || effectiveStatus(r, now) === filter.status);
  }

  async decide(id: string, decision: 'approved' | 'denied', by: string, now: number): Promise<ApprovalRecord | undefined> {
    try {
      const out = await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: s(`APPROVAL#${id}`), sk: s('APPROVAL') },
          UpdateExpression: 'SET #s = :d, decidedBy = :by, decidedAt = :at',
          ConditionExpression: '#s = :pending AND expiresAt > :now',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':d': s(decision), ':by': s(by), ':at': s(new Date(now).toISOString()), ':pending': s('pending'), ':now': s(new Date(now).toISOString()) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes ? fromItem(out.Attributes) : undefined;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) return undefined;
      throw err;
    }
  }

  async consume(id: string, binding: { proxyId: string; keyId: string; bodyHash: string }, now: number): Promise<ConsumeOutcome> {
    const iso = new Date(now).toISOString();
    try {
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.table,
          Key: { pk: s(`APPROVAL#${id}`), sk: s('APPROVAL') },
          UpdateExpression: 'SET #s = :consumed, consumedAt = :at',
          ConditionExpression: '#s = :approved AND expiresAt > :at AND proxyId = :p AND keyId = :k AND bodyHash = :h',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':consumed': s('consumed'), ':approved': s('approved'), ':at': s(iso), ':p': s(binding.proxyId), ':k': s(binding.keyId), ':h': s(binding.bodyHash) },
        }),
      );
      return 'consumed';
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
    // Why it failed, from the record as it is now (a racing consumer shows up as `used`).
    const outcome = consumeOutcome(await this.get(id), binding, now);
    return outcome === 'consumed' ? 'used' : outcome;
  }
}

function ttlOf(r: ApprovalRecord): AttributeValue {
  return { N: String(Math.floor(Date.parse(r.expiresAt) / 1000) + 86_400) };
}

function toItem(r: ApprovalRecord): Item {
  const item: Item = {
    pk: s(`APPROVAL#${r.id}`),
    sk: s('APPROVAL'),
    gsi1pk: s(`APPROVALS#${r.proxyId}`),
    gsi1sk: s(`${r.createdAt}#${r.id}`),
    type: s('approval'),
    id: s(r.id),
    proxyId: s(r.proxyId),
    keyId: s(r.keyId),
    bodyHash: s(r.bodyHash),
    reasons: { L: r.reasons.map(s) },
    traceId: s(r.traceId),
    status: s(r.status),
    createdAt: s(r.createdAt),
    expiresAt: s(r.expiresAt),
    ttl: ttlOf(r),
  };
  if (r.policyVersion !== undefined) item.policyVersion = { N: String(r.policyVersion) };
  return item;
}

function fromItem(item: Item): ApprovalRecord {
  const str = (name: string) => item[name]?.S ?? '';
  const r: ApprovalRecord = {
    id: str('id'),
    proxyId: str('proxyId'),
    keyId: str('keyId'),
    bodyHash: str('bodyHash'),
    reasons: (item.reasons?.L ?? []).map((v) => v.S ?? ''),
    traceId: str('traceId'),
    status: str('status') as ApprovalRecord['status'],
    createdAt: str('createdAt'),
    expiresAt: str('expiresAt'),
  };
  if (item.policyVersion?.N) r.policyVersion = Number(item.policyVersion.N);
  if (item.decidedBy?.S) r.decidedBy = item.decidedBy.S;
  if (item.decidedAt?.S) r.decidedAt = item.decidedAt.S;
  if (item.consumedAt?.S) r.consumedAt = item.consumedAt.S;
  return r;
}
