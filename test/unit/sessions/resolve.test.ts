/** Strategy priority and fall-through, on a real file store and LRU cache. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSessionStore } from '../../../functions/sessions/file-session-store.js';
import { CachedSessionLinks, linkKeys } from '../../../functions/sessions/links.js';
import { chainKeyAfterTurn, resolveSession, type ResolveDeps } from '../../../functions/sessions/resolve.js';
import { historyFingerprint } from '../../../functions/sessions/canonical.js';
import { LruCache } from '../../../functions/stores/lru-cache.js';

let dir: string;
let deps: ResolveDeps;
let store: FileSessionStore;
let ids = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-resolve-'));
  store = new FileSessionStore({ dataDir: dir });
  deps = { store, links: new CachedSessionLinks(store, new LruCache({ maxEntries: 100 })), newId: () => `new-${++ids}` };
});
afterAll(async () => {
  await store?.idle();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const base = { keyHash: 'k1', proxyId: 'p1' };
const trace = () => crypto.randomUUID();
const history = [
  { role: 'user', content: 'q1' },
  { role: 'assistant', content: 'a1' },
];

describe('resolveSession', () => {
  beforeAll(async () => {
    await deps.links.put(linkKeys.responseChain('k1', 'resp_1'), 'from-response');
    await deps.links.put(linkKeys.userSession('k1', '04f8996da763b7a969b1028ee3007569eaf3a635486ddab211d512c85b9df8fb'), 'from-user'); // sha256("user")
    await deps.links.put(linkKeys.chain('k1', historyFingerprint(history)), 'from-chain');
  });

  it('priority: header > previous_response_id > user > fingerprint > new', async () => {
    const body = { previous_response_id: 'resp_1', user: 'user', messages: [...history, { role: 'user', content: 'q2' }] };
    const header = await resolveSession(deps, { ...base, traceId: trace(), headerSessionId: 'from-header', body });
    expect(header).toMatchObject({ id: 'from-header', strategy: 'header', turn: 1 });
    expect(await resolveSession(deps, { ...base, traceId: trace(), body })).toMatchObject({ id: 'from-response', strategy: 'previous_response_id' });
    const { previous_response_id: _p, ...noResponse } = body;
    expect(await resolveSession(deps, { ...base, traceId: trace(), body: noResponse })).toMatchObject({ id: 'from-user', strategy: 'user' });
    const { user: _u, ...noUser } = noResponse;
    expect(await resolveSession(deps, { ...base, traceId: trace(), body: noUser })).toMatchObject({ id: 'from-chain', strategy: 'fingerprint' });
    expect(await resolveSession(deps, { ...base, traceId: trace(), body: { messages: [{ role: 'user', content: 'q' }] } })).toMatchObject({ strategy: 'new', turn: 1 });
  });

  it('an unknown response id falls through; lookups never cross keys', async () => {
    const r1 = await resolveSession(deps, { ...base, traceId: trace(), body: { previous_response_id: 'resp_unknown', messages: [...history, { role: 'user', content: 'x' }] } });
    expect(r1).toMatchObject({ id: 'from-chain', strategy: 'fingerprint' });
    const r2 = await resolveSession(deps, { keyHash: 'k2', proxyId: 'p1', traceId: trace(), body: { messages: [...history, { role: 'user', content: 'x' }] } });
    expect(r2.strategy).toBe('new');
  });

  it('a new user gets a new session, and keeps it', async () => {
    const first = await resolveSession(deps, { ...base, traceId: trace(), body: { user: 'carol', messages: [] } });
    const second = await resolveSession(deps, { ...base, traceId: trace(), body: { user: 'carol', messages: [] } });
    expect(first.strategy).toBe('user');
    expect(second).toMatchObject({ id: first.id, strategy: 'user', turn: 2 });
  });

  it('another proxy’s session is refused: fresh session, turn 1, the refused id reported', async () => {
    await resolveSession(deps, { ...base, traceId: trace(), headerSessionId: 'owned-by-p1' });
    const probe = await resolveSession(deps, { keyHash: 'k9', proxyId: 'p2', traceId: trace(), headerSessionId: 'owned-by-p1' });
    expect(probe).toMatchObject({ strategy: 'new', turn: 1, refusedId: 'owned-by-p1' });
    expect(probe.id).not.toBe('owned-by-p1');
  });

  it('chainKeyAfterTurn is the key the next turn looks up', () => {
    const answer = { role: 'assistant', content: 'a2', refusal: null };
    const next = [...history, { role: 'user', content: 'q2' }];
    expect(chainKeyAfterTurn('k1', next, answer)).toBe(linkKeys.chain('k1', historyFingerprint([...next, { role: 'assistant', content: 'a2' }])));
  });
});
