import { describe, expect, it } from 'vitest';
import { runProxiesCommand } from '../../../bin/commands/proxies.js';
import { generateGatewayKey } from '../../../functions/stores/keys.js';
import { storeCommandHarness } from './support.js';

const NOW = new Date('2026-04-01T12:00:00.000Z');
const cli = storeCommandHarness(runProxiesCommand, NOW);
const { run } = cli;

describe('sluice proxies create', () => {
  it('stores every option', async () => {
    const r = await run(
      'create', 'team-a', '--provider', 'groq', '--base-url', 'https://api.groq.com/openai/v1/',
      '--credential', 'secret:sluice/providers/groq', '--allowed-models', 'llama-3.1-8b,llama-3.3-70b',
      '--allowed-models', 'mixtral', '--alias', 'fast=llama-3.1-8b', '--alias', 'big=llama-3.3-70b',
      '--org', 'acme', '--name', 'Team A',
    );
    expect(r).toMatchObject({ code: 0, err: '' });
    expect(r.out).toContain('Created proxy team-a (groq → https://api.groq.com/openai/v1).');
    expect(await cli.reader.getProxy('team-a')).toEqual({
      id: 'team-a',
      orgId: 'acme',
      name: 'Team A',
      provider: 'groq',
      baseUrl: 'https://api.groq.com/openai/v1',
      credentialRef: 'secret:sluice/providers/groq',
      allowedModels: ['llama-3.1-8b', 'llama-3.3-70b', 'mixtral'],
      modelAliases: { fast: 'llama-3.1-8b', big: 'llama-3.3-70b' },
      byok: false,
      allowPrivateNetwork: false,
      createdAt: NOW.toISOString(),
    });
  });

  it('fills in the provider base URL, the name and the org, and hints at a missing credential', async () => {
    const r = await run('create', 'p1', '--provider', 'openai');
    expect(r.code).toBe(0);
    // What really happens: no key is sent, the upstream decides (OpenAI's API answers 401).
    expect(r.out).toContain('No credential set: requests go to https://api.openai.com/v1 without a provider key. An upstream that needs one answers 401');
    expect(r.out).not.toMatch(/will fail/);
    const vertex = await run('create', 'v1', '--provider', 'vertex', '--gcp-project', 'acme-ml', '--gcp-location', 'europe-west4');
    expect(vertex.out).toContain('No credential set: calls answer 502 upstream_credential_missing');
    expect(await cli.reader.getProxy('p1')).toEqual({
      id: 'p1', orgId: 'default', name: 'p1', provider: 'openai', baseUrl: 'https://api.openai.com/v1',
      byok: false, allowPrivateNetwork: false, createdAt: NOW.toISOString(),
    });
  });

  it('accepts BYOK and a private http upstream when asked', async () => {
    expect((await run('create', 'byok', '--provider', 'openai', '--byok')).code).toBe(0);
    expect((await cli.reader.getProxy('byok'))?.byok).toBe(true);
    const r = await run('create', 'local', '--provider', 'vllm', '--base-url', 'http://127.0.0.1:8000/v1', '--allow-private-network');
    expect(r.code).toBe(0);
    expect(r.out).not.toContain('No credential set');
    expect(await cli.reader.getProxy('local')).toMatchObject({ baseUrl: 'http://127.0.0.1:8000/v1', allowPrivateNetwork: true });
  });

  it('points AWS users at Secrets Manager when they give an env: reference', async () => {
    cli.deps.aws = true;
    const env = await run('create', 'p1', '--provider', 'openai', '--credential', 'env:OPENAI_API_KEY');
    expect(env.code).toBe(0);
    expect(env.err).toContain('--credential secret:sluice/providers/<name>');
    const secret = await run('create', 'p2', '--provider', 'openai', '--credential', 'secret:sluice/providers/openai');
    expect(secret).toMatchObject({ code: 0, err: '' });
    cli.deps.aws = false;
    expect((await run('create', 'p3', '--provider', 'openai', '--credential', 'env:OPENAI_API_KEY')).err).toBe('');
  });

  describe('with --aws: the provider-secret prefix of the stack outputs', () => {
    const target = { controlTable: 'c', stateTable: 's', functionUrl: 'https://x/', region: 'eu-west-1', providerSecretPrefix: 'team/llm/' };
    const useAws = () => {
      const forgotten: string[][] = [];
      cli.deps.aws = true;
      cli.deps.awsTarget = async () => target;
      cli.deps.forgetCached = async (keys) => void forgotten.push(keys);
      return forgotten;
    };

    it('refuses a secret name the deployed role cannot read, and stores nothing', async () => {
      useAws();
      const outside = await run('create', 'p1', '--provider', 'openai', '--credential', 'secret:sluice/providers/openai');
      expect(outside.code).toBe(2);
      expect(outside.err).toContain('secret:sluice/providers/openai: the deployed gateway may read only secrets named team/llm/<name> (stack output ProviderSecretPrefix)');
      const bare = await run('create', 'p1', '--provider', 'openai', '--credential', 'secret:team/llm/');
      expect(bare.code).toBe(2);
      const upstream = await run(
        'create', 'p1', '--provider', 'openai', '--credential', 'secret:team/llm/openai', '--upstream-selection',
        '--upstream', 'eu=openai,https://eu.example.com/v1,secret:prod/eu',
      );
      expect(upstream.code).toBe(2);
      expect(upstream.err).toContain('secret:prod/eu: the deployed gateway may read only secrets named team/llm/<name>');
      const otherRegion = await run('create', 'p1', '--provider', 'openai', '--credential', 'secret:arn:aws:secretsmanager:us-east-1:111111111111:secret:team/llm/openai-AbCdEf');
      expect(otherRegion.code).toBe(2);
      expect(otherRegion.err).toContain('in its own Region (eu-west-1) only');
      expect(await cli.reader.getProxy('p1')).toBeUndefined();
    });

    it('takes a name or an ARN under the prefix; env: gets the Secrets Manager hint with that prefix', async () => {
      useAws();
      expect(await run('create', 'p1', '--provider', 'openai', '--credential', 'secret:team/llm/openai')).toMatchObject({ code: 0, err: '' });
      const arn = 'secret:arn:aws:secretsmanager:eu-west-1:111111111111:secret:team/llm/openai-AbCdEf';
      expect(await run('create', 'p2', '--provider', 'openai', '--credential', arn)).toMatchObject({ code: 0, err: '' });
      const env = await run('create', 'p3', '--provider', 'openai', '--credential', 'env:OPENAI_API_KEY');
      expect(env.err).toContain('--credential secret:team/llm/<name>');
    });

    it('replace and delete say when the deployed gateway applies them and drop the DynamoDB cache copies', async () => {
      const forgotten = useAws();
      const created = await run('create', 'p1', '--provider', 'openai');
      expect(created.out).not.toContain('In AWS this applies');
      expect(forgotten).toEqual([]);
      const replaced = await run('create', 'p1', '--provider', 'groq', '--replace');
      expect(replaced.out).toContain('In AWS this applies within 5 minutes (SLUICE_AUTH_CACHE_TTL_MS)');
      expect(forgotten).toEqual([['proxy:p1']]);
      const { hash, id } = generateGatewayKey();
      await cli.reader.putKey({ id, hash, proxyId: 'p1', orgId: 'default', createdAt: NOW.toISOString() });
      const deleted = await run('delete', 'p1');
      expect(deleted.out).toContain('In AWS this applies within 5 minutes');
      expect(forgotten[1]).toEqual(['proxy:p1', `auth:${hash}`]);
    });

    it('a failed cache delete is a warning: the change is made', async () => {
      useAws();
      await run('create', 'p1', '--provider', 'openai');
      cli.deps.forgetCached = async () => {
        throw new Error('AccessDeniedException: not allowed');
      };
      const replaced = await run('create', 'p1', '--provider', 'groq', '--replace');
      expect(replaced.code).toBe(0);
      expect(replaced.err).toContain('Warning: could not delete the cached copies in the state table (AccessDeniedException: not allowed)');
      expect((await cli.reader.getProxy('p1'))?.provider).toBe('groq');
    });
  });

  it('refuses to overwrite unless --replace, which keeps the creation time', async () => {
    await run('create', 'p1', '--provider', 'openai');
    const again = await run('create', 'p1', '--provider', 'groq');
    expect(again.code).toBe(1);
    expect(again.err).toContain("proxy 'p1' already exists; pass --replace");
    expect((await cli.reader.getProxy('p1'))?.provider).toBe('openai');
    const later = new Date('2026-05-01T00:00:00.000Z');
    cli.deps.now = () => later;
    expect((await run('create', 'p1', '--provider', 'groq', '--replace')).code).toBe(0);
    expect(await cli.reader.getProxy('p1')).toMatchObject({ provider: 'groq', createdAt: NOW.toISOString() });
  });

  const usageErrors: [string, string[], RegExp][] = [
    ['missing id', ['create', '--provider', 'openai'], /missing <id>/],
    ['uppercase id', ['create', 'Team', '--provider', 'openai'], /invalid proxy id 'Team'/],
    ['id starting with -', ['create', '_x', '--provider', 'openai'], /invalid proxy id/],
    ['64-character id', ['create', 'a'.repeat(64), '--provider', 'openai'], /invalid proxy id/],
    ['id with a slash', ['create', 'a/b', '--provider', 'openai'], /invalid proxy id/],
    ['missing provider', ['create', 'p1'], /missing --provider/],
    ['unknown provider', ['create', 'p1', '--provider', 'azure-ish'], /unknown provider 'azure-ish' \(expected one of openai, groq/],
    ['provider without a default URL', ['create', 'p1', '--provider', 'vllm'], /missing --base-url/],
    ['relative URL', ['create', 'p1', '--provider', 'vllm', '--base-url', 'api/v1'], /not a valid absolute URL/],
    ['ftp URL', ['create', 'p1', '--provider', 'vllm', '--base-url', 'ftp://x.example/v1'], /http\(s\) URL/],
    ['plain http', ['create', 'p1', '--provider', 'vllm', '--base-url', 'http://vllm.internal/v1'], /must use https/],
    ['query string', ['create', 'p1', '--provider', 'openai', '--base-url', 'https://a.example/v1?x=1'], /query string/],
    ['bad credential', ['create', 'p1', '--provider', 'openai', '--credential', 'OPENAI_API_KEY'], /env:NAME or secret:NAME/],
    ['env ref with bad name', ['create', 'p1', '--provider', 'openai', '--credential', 'env:1X'], /env:NAME/],
    ['byok with credential', ['create', 'p1', '--provider', 'openai', '--byok', '--credential', 'env:K'], /cannot be combined/],
    ['alias without =', ['create', 'p1', '--provider', 'openai', '--alias', 'fast'], /client-name=upstream-model/],
    ['alias with empty side', ['create', 'p1', '--provider', 'openai', '--alias', '=gpt'], /client-name=upstream-model/],
    ['duplicate alias', ['create', 'p1', '--provider', 'openai', '--alias', 'a=x', '--alias', 'a=y'], /given twice/],
    ['alias outside allowed models', ['create', 'p1', '--provider', 'openai', '--allowed-models', 'gpt-4o', '--alias', 'a=o1'], /not in --allowed-models/],
    ['empty model name', ['create', 'p1', '--provider', 'openai', '--allowed-models', 'a,,b'], /empty model name/],
    ['bad org', ['create', 'p1', '--provider', 'openai', '--org', 'a b'], /invalid --org/],
    ['unknown option', ['create', 'p1', '--provider', 'openai', '--frobnicate'], /Unknown option '--frobnicate'/],
    ['missing option value', ['create', 'p1', '--provider'], /--provider/],
    ['extra argument', ['create', 'p1', 'p2', '--provider', 'openai'], /unexpected argument 'p2'/],
    ['unknown command', ['frob'], /unknown command 'frob'/],
  ];
  for (const [name, argv, message] of usageErrors) {
    it(`exits 2 on ${name}`, async () => {
      const r = await run(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(message);
      expect(r.err).toContain("Run 'sluice proxies --help' for usage.");
      expect(await cli.reader.listProxies()).toEqual([]);
    });
  }

  it('never echoes a credential or a URL password in its errors', async () => {
    const raw = await run('create', 'p1', '--provider', 'openai', '--credential', 'sk-proj-SECRETSECRETSECRET');
    expect(raw.code).toBe(2);
    expect(raw.err).not.toContain('SECRETSECRET');
    const inUrl = await run('create', 'p1', '--provider', 'openai', '--base-url', 'https://user:hunter2pass@api.example.com/v1');
    expect(inUrl.code).toBe(2);
    expect(inUrl.err).toContain('must not contain a user name or password');
    expect(inUrl.err).not.toContain('hunter2pass');
  });

  it('validates before touching the store', async () => {
    cli.deps.openStore = () => Promise.reject(new Error('store must not be opened'));
    expect((await run('create', 'BAD', '--provider', 'openai')).code).toBe(2);
    expect((await run('create', '--help')).code).toBe(0);
  });
});

describe('sluice proxies list / show / delete', () => {
  it('lists nothing helpfully, then a table, then JSON', async () => {
    expect((await run('list')).out).toContain('No proxies yet');
    await run('create', 'b-proxy', '--provider', 'openai', '--credential', 'env:OPENAI_API_KEY');
    await run('create', 'a-proxy', '--provider', 'vllm', '--base-url', 'http://10.0.0.2:8000/v1', '--allow-private-network', '--byok', '--allowed-models', 'm1,m2');
    const table = (await run('list')).out.trimEnd().split('\n');
    expect(table[0]).toMatch(/^ID\s+PROVIDER\s+BASE URL\s+CREDENTIAL\s+PRIVATE NET\s+MODELS$/);
    expect(table[1]).toMatch(/^a-proxy\s+vllm\s+http:\/\/10\.0\.0\.2:8000\/v1\s+byok\s+yes\s+m1,m2$/);
    expect(table[2]).toMatch(/^b-proxy\s+openai\s+https:\/\/api\.openai\.com\/v1\s+env:OPENAI_API_KEY\s+no\s+any$/);
    const json = JSON.parse((await run('list', '--json')).out);
    expect(json).toEqual(await cli.reader.listProxies());
    expect(json).toHaveLength(2);
  });

  it('shows one proxy with its key counts, or as JSON', async () => {
    await run('create', 'p1', '--provider', 'openai', '--alias', 'fast=gpt-4o-mini');
    for (const revokedAt of [undefined, '2026-03-01T00:00:00.000Z']) {
      const { id, hash } = generateGatewayKey();
      await cli.reader.putKey({ id, hash, proxyId: 'p1', orgId: 'default', createdAt: NOW.toISOString(), ...(revokedAt ? { revokedAt } : {}) });
    }
    const text = await run('show', 'p1');
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/^provider:\s+openai$/m);
    expect(text.out).toMatch(/^aliases:\s+fast → gpt-4o-mini$/m);
    expect(text.out).toMatch(/^keys:\s+1 active, 1 revoked or expired$/m);
    expect(JSON.parse((await run('show', 'p1', '--json')).out)).toEqual(await cli.reader.getProxy('p1'));
  });

  it('fails clearly on an unknown or invalid proxy', async () => {
    const unknown = await run('show', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("unknown proxy 'nope'");
    expect((await run('delete', 'nope')).code).toBe(1);
    expect((await run('show', 'No!')).code).toBe(2);
    expect((await run('show')).err).toContain('missing <id>');
  });

  it('deletes a proxy and revokes its active keys so a re-created proxy cannot revive them', async () => {
    await run('create', 'p1', '--provider', 'openai');
    await run('create', 'p2', '--provider', 'openai');
    const mine = generateGatewayKey();
    const other = generateGatewayKey();
    await cli.reader.putKey({ id: mine.id, hash: mine.hash, proxyId: 'p1', orgId: 'default', createdAt: NOW.toISOString() });
    await cli.reader.putKey({ id: other.id, hash: other.hash, proxyId: 'p2', orgId: 'default', createdAt: NOW.toISOString() });
    const r = await run('delete', 'p1');
    expect(r).toMatchObject({ code: 0, out: 'Deleted proxy p1; revoked 1 active key.\n' });
    expect(await cli.reader.getProxy('p1')).toBeUndefined();
    expect((await cli.reader.getKeyByHash(mine.hash))?.revokedAt).toBe(NOW.toISOString());
    expect((await cli.reader.getKeyByHash(other.hash))?.revokedAt).toBeUndefined();
  });
});

describe('sluice proxies help', () => {
  it('prints help on --help (exit 0) and on a bare group (stderr, exit 2)', async () => {
    const help = await run('--help');
    expect(help.code).toBe(0);
    expect(help.out).toContain('Usage: sluice proxies <command>');
    expect(help.out).toContain('openai, groq, openrouter, together, vllm, openai-compatible, anthropic, bedrock');
    const bare = await run();
    expect(bare.code).toBe(2);
    expect(bare.err).toContain('Usage: sluice proxies');
    expect((await run('list', '-h')).code).toBe(0);
  });
});
