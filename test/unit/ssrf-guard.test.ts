import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createUpstreamGuard, SsrfError, type ResolvedAddress, type Resolver } from '../../functions/net/index.js';

interface GuardCase {
  name: string;
  url: string;
  allowPrivateNetwork: boolean;
  /** Absent: the resolver must not be called. A string: the lookup fails with that code. */
  resolve?: ResolvedAddress[] | string;
  expect: 'allowed' | 'blocked';
  reason?: string;
  address?: string;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/ssrf/cases.json', import.meta.url), 'utf8')) as {
  cases: GuardCase[];
};

function fixtureResolver(c: GuardCase): Resolver {
  return async (hostname) => {
    if (c.resolve === undefined) throw new Error(`resolver called for ${hostname}, but ${c.name} needs no DNS`);
    if (typeof c.resolve === 'string') throw Object.assign(new Error(`lookup ${hostname} failed`), { code: c.resolve });
    return c.resolve;
  };
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    return await promise;
  } catch (err) {
    return err;
  }
}

describe('SSRF matrix (test/fixtures/ssrf/cases.json)', () => {
  it('covers both allow-private settings and every reason category', () => {
    const reasons = new Set(fixture.cases.map((c) => c.reason).filter(Boolean));
    for (const r of ['metadata', 'link-local', 'unspecified', 'loopback', 'private', 'shared-address', 'unique-local', 'multicast', 'broadcast', 'documentation', 'reserved', 'scheme', 'userinfo', 'invalid-url', 'unresolvable', 'not-an-ip-address']) {
      expect(reasons, r).toContain(r);
    }
    expect(fixture.cases.filter((c) => c.allowPrivateNetwork).length).toBeGreaterThan(50);
    expect(fixture.cases.filter((c) => !c.allowPrivateNetwork).length).toBeGreaterThan(50);
  });

  it.each(fixture.cases)('$name: $url (allowPrivateNetwork $allowPrivateNetwork) → $expect $reason', async (c) => {
    const guard = createUpstreamGuard({ resolve: fixtureResolver(c) });
    const result = await outcome(guard.check(c.url, { allowPrivateNetwork: c.allowPrivateNetwork }));
    if (c.expect === 'allowed') {
      expect(result).not.toBeInstanceOf(Error);
      const target = result as { address: string; family: number; port: number; url: URL };
      expect(target.address).toBe(c.address);
      expect(target.family).toBe(c.address?.includes(':') ? 6 : 4);
      const url = new URL(c.url);
      expect(target.port).toBe(url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);
      expect(target.url.href).toBe(url.href);
    } else {
      expect(result).toBeInstanceOf(SsrfError);
      expect((result as SsrfError).reason).toBe(c.reason);
    }
  });
});

describe('createUpstreamGuard', () => {
  it('never puts URL credentials in the error message', async () => {
    const guard = createUpstreamGuard({ resolve: async () => [{ address: '93.184.216.34', family: 4 }] });
    const err = await outcome(guard.check('https://admin:hunter2-pass@api.example.com/v1', { allowPrivateNetwork: false }));
    expect(err).toBeInstanceOf(SsrfError);
    expect((err as Error).message).toContain('api.example.com');
    expect((err as Error).message).not.toContain('hunter2');
    expect((err as Error).message).not.toContain('admin');
    const invalid = await outcome(guard.check('https://sk-sluice-abc:x@[bad/', { allowPrivateNetwork: false }));
    expect((invalid as SsrfError).reason).toBe('invalid-url');
    expect((invalid as Error).message).not.toContain('sk-sluice');
  });

  it('names the host and the resolved address when refusing', async () => {
    const guard = createUpstreamGuard({ resolve: async () => [{ address: '10.1.2.3', family: 4 }] });
    const err = (await outcome(guard.check('https://internal.example.com/v1', { allowPrivateNetwork: false }))) as SsrfError;
    expect(err.message).toBe(
      'upstream internal.example.com resolves to 10.1.2.3, which is a blocked address (private) unless the proxy allows private networks',
    );
  });

  it('names the literal host, and its canonical form when it differs, when refusing', async () => {
    const guard = createUpstreamGuard({ resolve: async () => { throw new Error('no DNS for literals'); } });
    const v4 = (await outcome(guard.check('https://0x7f.1/', { allowPrivateNetwork: false }))) as SsrfError;
    expect(v4.message).toBe('upstream 127.0.0.1 is a blocked address (loopback) unless the proxy allows private networks');
    const v6 = (await outcome(guard.check('https://[::ffff:a9fe:a9fe]/', { allowPrivateNetwork: true }))) as SsrfError;
    expect(v6.message).toBe('upstream ::ffff:a9fe:a9fe (::ffff:169.254.169.254) is a blocked address (metadata)');
  });

  it('caches a checked target for ttlMs: no DNS per request, then re-resolves', async () => {
    let clock = 1_000;
    let calls = 0;
    const answers: ResolvedAddress[][] = [[{ address: '93.184.216.34', family: 4 }], [{ address: '127.0.0.1', family: 4 }]];
    const guard = createUpstreamGuard({
      resolve: async () => answers[Math.min(calls++, answers.length - 1)] as ResolvedAddress[],
      ttlMs: 30_000,
      now: () => clock,
    });
    const first = await guard.check('https://rebind.example.com/v1', { allowPrivateNetwork: false });
    clock += 29_999;
    const second = await guard.check('https://rebind.example.com/v1', { allowPrivateNetwork: false });
    expect(calls).toBe(1);
    expect(second.address).toBe(first.address);
    clock += 1;
    const after = await outcome(guard.check('https://rebind.example.com/v1', { allowPrivateNetwork: false }));
    expect(calls).toBe(2);
    expect((after as SsrfError).reason).toBe('loopback');
  });

  it('keeps allow-private and strict checks of the same URL apart', async () => {
    let calls = 0;
    const guard = createUpstreamGuard({ resolve: async () => (calls++, [{ address: '10.0.0.9', family: 4 }]) });
    expect((await guard.check('https://vllm.internal/v1', { allowPrivateNetwork: true })).address).toBe('10.0.0.9');
    const strict = await outcome(guard.check('https://vllm.internal/v1', { allowPrivateNetwork: false }));
    expect((strict as SsrfError).reason).toBe('private');
    expect(calls).toBe(2);
  });

  it('shares one resolution between concurrent checks and caches refusals', async () => {
    let calls = 0;
    const guard = createUpstreamGuard({
      resolve: async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 10));
        return [{ address: '169.254.169.254', family: 4 }];
      },
    });
    const results = await Promise.all(
      Array.from({ length: 5 }, () => outcome(guard.check('https://evil.example.com/', { allowPrivateNetwork: true }))),
    );
    expect(results.every((r) => r instanceof SsrfError && r.reason === 'metadata')).toBe(true);
    await outcome(guard.check('https://evil.example.com/', { allowPrivateNetwork: true }));
    expect(calls).toBe(1);
  });

  it('retries a failed lookup on the next check instead of caching it', async () => {
    let calls = 0;
    const guard = createUpstreamGuard({
      resolve: async (hostname) => {
        calls++;
        if (calls === 1) throw Object.assign(new Error(`getaddrinfo EAI_AGAIN ${hostname}`), { code: 'EAI_AGAIN' });
        return [{ address: '93.184.216.34', family: 4 }];
      },
    });
    const first = (await outcome(guard.check('https://flaky.example.com/', { allowPrivateNetwork: false }))) as SsrfError;
    expect(first.reason).toBe('unresolvable');
    expect(first.message).toBe('upstream flaky.example.com could not be resolved (EAI_AGAIN)');
    expect((await guard.check('https://flaky.example.com/', { allowPrivateNetwork: false })).address).toBe('93.184.216.34');
    expect(calls).toBe(2);
  });

  it('bounds the cache', async () => {
    let calls = 0;
    const guard = createUpstreamGuard({ resolve: async () => (calls++, [{ address: '93.184.216.34', family: 4 }]), maxEntries: 2 });
    const opts = { allowPrivateNetwork: false };
    await guard.check('https://a.example.com/', opts);
    await guard.check('https://b.example.com/', opts);
    await guard.check('https://c.example.com/', opts); // evicts a
    await guard.check('https://c.example.com/', opts);
    expect(calls).toBe(3);
    await guard.check('https://a.example.com/', opts);
    expect(calls).toBe(4);
  });

  it('uses the operating system resolver by default (localhost)', async () => {
    const guard = createUpstreamGuard();
    const strict = await outcome(guard.check('https://localhost/', { allowPrivateNetwork: false }));
    expect((strict as SsrfError).reason).toBe('loopback');
    const target = await guard.check('http://localhost:8080/v1', { allowPrivateNetwork: true });
    expect(['127.0.0.1', '::1']).toContain(target.address);
    expect(target.hostname).toBe('localhost');
    expect(target.port).toBe(8080);
  });
});
