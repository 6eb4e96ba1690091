import type { ResponseCacheStore } from '../../functions/cache/store.js';
import type { ControlStore } from '../../functions/stores/types.js';
import type { AwsTarget } from './aws-target.js';
import { CommandError, EXIT_OK, EXIT_USAGE, expectPositionals, flag, parseCommand, runReportingErrors, stringOption, UsageError, writeLine, type CliIo } from './args.js';
import { requireProxyId } from './proxies.js';

export const CACHE_HELP = `Usage: sluice cache <command> [options]

Commands:
  purge --proxy <id> [--key <digest>]   delete a proxy's response-cache entries (all, or the
                                        one whose key digest is given: the 64 hex characters
                                        a trace's cache step records)

Which store: locally REDIS_URL's Redis/Valkey (or SLUICE_RESPONSE_CACHE_STORE); with --aws the
deployed stack's store when the CLI can reach it (the DynamoDB state table). The embedded
store of npm start lives in that process's memory: restart it to empty it.`;

export interface CacheCommandDeps {
  openStore(): Promise<ControlStore>;
  /** The response-cache store to purge, or a CommandError saying why it cannot be reached. */
  openResponseCache(): Promise<ResponseCacheStore>;
}

export async function runCacheCommand(argv: string[], io: CliIo, deps: CacheCommandDeps): Promise<number> {
  const [command, ...rest] = argv;
  return runReportingErrors(io, `cache ${command ?? ''}`.trim(), async () => {
    switch (command) {
      case undefined:
        writeLine(io.stderr, CACHE_HELP);
        return EXIT_USAGE;
      case '-h':
      case '--help':
      case 'help':
        writeLine(io.stdout, CACHE_HELP);
        return EXIT_OK;
      case 'purge':
        return purge(rest, io, deps);
      default:
        throw new UsageError(`unknown cache command '${command}' (expected purge)`);
    }
  });
}

async function purge(argv: string[], io: CliIo, deps: CacheCommandDeps): Promise<number> {
  const { positionals, values } = parseCommand(argv, { proxy: { type: 'string' }, key: { type: 'string' } });
  if (flag(values, 'help')) {
    writeLine(io.stdout, CACHE_HELP);
    return EXIT_OK;
  }
  expectPositionals(positionals, []);
  const proxyId = stringOption(values, 'proxy');
  if (proxyId === undefined) throw new UsageError('missing --proxy <id>');
  requireProxyId(proxyId);
  const digest = stringOption(values, 'key');
  if (digest !== undefined && !/^[0-9a-f]{64}$/.test(digest)) throw new UsageError('--key takes a key digest: 64 lowercase hex characters (a trace\'s cache step shows it)');
  const proxy = await (await deps.openStore()).getProxy(proxyId);
  if (!proxy) throw new CommandError(`unknown proxy '${proxyId}' (see: sluice proxies list)`);
  const store = await deps.openResponseCache();
  const n = await store.purge({ orgId: proxy.orgId, proxyId, ...(digest ? { digest } : {}) });
  writeLine(io.stdout, `Purged ${n} response-cache ${n === 1 ? 'entry' : 'entries'} of proxy ${proxyId}${digest ? ` (key ${digest.slice(0, 8)}…)` : ''}.`);
  return EXIT_OK;
}

/** The store `cache purge` works on: the deployed stack's with --aws, else the environment's. */
export async function openResponseCacheForCli(env: NodeJS.ProcessEnv, awsTarget?: () => Promise<AwsTarget>): Promise<ResponseCacheStore> {
  if (awsTarget) {
    const target = await awsTarget();
    if (target.responseCacheStore === 'redis') {
      throw new CommandError(
        'this stack keeps the response cache in ElastiCache inside its VPC, which the CLI cannot reach; entries expire after their proxy\'s --cache-ttl (at most 7 days). Purging them from outside the VPC is not implemented yet.',
      );
    }
    const [{ DynamoDBClient }, { DynamoResponseCacheStore }] = await Promise.all([
      import('@aws-sdk/client-dynamodb'),
      import('../../functions/cache/dynamodb-store.js'),
    ]);
    return new DynamoResponseCacheStore({ client: new DynamoDBClient({ region: target.region }), tableName: target.stateTable });
  }
  const { responseCacheStoreKind } = await import('../../functions/cache/store-from-env.js');
  const kind = responseCacheStoreKind(env);
  if (kind === 'memory') {
    throw new CommandError(
      'the embedded response cache lives in the memory of the running gateway (npm start / sluice dev): restart it to empty it, or set REDIS_URL so gateway and CLI share a Redis/Valkey store.',
    );
  }
  if (kind === 'redis') {
    const url = env.REDIS_URL?.trim();
    if (!url) throw new CommandError('SLUICE_RESPONSE_CACHE_STORE is redis but REDIS_URL is not set');
    const { RedisResponseCacheStore } = await import('../../functions/cache/redis-store.js');
    return closingAfterPurge(new RedisResponseCacheStore({ url }));
  }
  const table = env.SLUICE_STATE_TABLE?.trim();
  if (!table) throw new CommandError('the DynamoDB response cache needs SLUICE_STATE_TABLE (or use --aws)');
  const [{ DynamoDBClient }, { DynamoResponseCacheStore }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    import('../../functions/cache/dynamodb-store.js'),
  ]);
  const region = env.AWS_REGION?.trim();
  return new DynamoResponseCacheStore({ client: new DynamoDBClient(region ? { region } : {}), tableName: table });
}

/** The Redis client keeps the process alive: disconnect once the purge is done. */
function closingAfterPurge(store: import('../../functions/cache/redis-store.js').RedisResponseCacheStore): ResponseCacheStore {
  return {
    get: (k) => store.get(k),
    set: (k, e) => store.set(k, e),
    purge: async (scope) => {
      try {
        return await store.purge(scope);
      } finally {
        store.close();
      }
    },
  };
}
