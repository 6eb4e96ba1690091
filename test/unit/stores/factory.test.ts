import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { DynamoControlStore } from '../../../functions/stores/dynamodb-store.js';
import { ControlStoreError } from '../../../functions/stores/errors.js';
import { createControlStore } from '../../../functions/stores/factory.js';
import { FileControlStore } from '../../../functions/stores/file-store.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await fs.rm(dir, { recursive: true, force: true });
});

describe('createControlStore', () => {
  it('defaults to the file store under .sluice', () => {
    const store = createControlStore({});
    expect(store).toBeInstanceOf(FileControlStore);
    expect((store as FileControlStore).dataDir).toBe('.sluice');
  });

  it('uses SLUICE_DATA_DIR for the file store, and the store works there', async () => {
    const dir = await fs.mkdtemp(join(tmpdir(), 'sluice-factory-'));
    dirs.push(dir);
    const store = createControlStore({ SLUICE_STORE: 'file', SLUICE_DATA_DIR: dir });
    await store.putProxy({
      id: 'p1', orgId: 'o', name: 'p1', provider: 'groq', baseUrl: 'https://api.groq.com/openai/v1',
      byok: false, allowPrivateNetwork: false, createdAt: '2026-01-01T00:00:00.000Z',
    });
    expect(JSON.parse(await fs.readFile(join(dir, 'control.json'), 'utf8')).proxies.p1.provider).toBe('groq');
  });

  it('chooses DynamoDB with a table name, and refuses it without one', () => {
    const client = new DynamoDBClient({ region: 'eu-west-1' });
    expect(createControlStore({ SLUICE_STORE: 'dynamodb', SLUICE_CONTROL_TABLE: 't' }, client)).toBeInstanceOf(DynamoControlStore);
    expect(createControlStore({ SLUICE_STORE: 'dynamodb', SLUICE_CONTROL_TABLE: 't', AWS_REGION: 'eu-west-1' })).toBeInstanceOf(DynamoControlStore);
    expect(() => createControlStore({ SLUICE_STORE: 'dynamodb' })).toThrow(/SLUICE_CONTROL_TABLE/);
    client.destroy();
  });

  it('rejects an unknown store kind', () => {
    expect(() => createControlStore({ SLUICE_STORE: 'redis' })).toThrow(ControlStoreError);
  });
});
