import { isCredentialRef, isProviderName, isValidProxyId, PROVIDER_NAMES } from '../../functions/stores/validation.js';
import type { ApiKeyRecord, NamedUpstream, ProviderName, ProxyConfig, ResponseCacheConfig, RoutingConfig } from '../../functions/stores/types.js';
import { DEFAULT_RETRIES, DEFAULT_RETRY_ON, MAX_RETRIES } from '../../functions/routing/retry-policy.js';
import { AZURE_API_VERSION, AZURE_DEFAULT_API_VERSION, AZURE_RESOURCE, azureBaseUrl } from '../../functions/providers/azure-openai/api.js';
import { UPSTREAM_ALIASES } from '../../functions/gateway/upstream-selection.js';
import { GCP_LOCATION, GCP_PROJECT, vertexBaseUrlFor } from '../../functions/providers/vertex/api.js';
import {
  CommandError,
  EXIT_OK,
  EXIT_USAGE,
  expectPositionals,
  flag,
  listOption,
  parseCommand,
  runReportingErrors,
  stringOption,
  UsageError,
  writeLine,
  type CliIo,
  type StoreCommandDeps,
} from './args.js';
import { DEFAULT_PROVIDER_SECRET_PREFIX } from '../../lib/stack-outputs.js';
import { APPLIES_IN_AWS, authCacheKey, proxyCacheKey, reportAwsChange, secretRefProblem } from './aws-apply.js';
import { formatTable, writeJson } from './output.js';

export const PROXIES_HELP = `Usage: sluice proxies <command> [options]

Commands:
  create <id> --provider <p> [--base-url <url>] [options]   create a proxy (or --replace it)
  list [--json]                                              list proxies
  show <id> [--json]                                         show one proxy
  delete <id>                                                delete a proxy and revoke its keys

Options for create:
  --provider <p>              ${PROVIDER_NAMES.join(', ')}
  --base-url <url>            upstream base URL incl. version prefix; defaults exist for
                              openai, groq, openrouter, together, anthropic and gemini
                              (vertex: from --gcp-location; azure-openai: from --azure-resource)
  --bedrock-region <r>        bedrock: the Region to call (base URL
                              https://bedrock-runtime.<r>.amazonaws.com); without it and
                              without --base-url, the gateway function's own Region
  --azure-resource <name>     azure-openai: base URL https://<name>.openai.azure.com/openai
  --azure-api-version <v>     azure-openai: api-version (default ${AZURE_DEFAULT_API_VERSION})
  --gcp-project <id>          vertex: Google Cloud project (required for vertex)
  --gcp-location <loc>        vertex: location, e.g. us-central1 or global (required for
                              vertex; base URL https://<loc>-aiplatform.googleapis.com/v1)
  --upstream-selection        let requests pick their upstream with X-Sluice-Upstream
                              (docs/providers.md); otherwise those headers are refused (403)
  --upstream <spec>           a named upstream requests may pick (repeatable; needs
                              --upstream-selection):
                              name=provider,baseUrl[,env:NAME|secret:NAME…][,api-version=V]
                              [,project=P,location=L][,private-network]; several credential
                              references are keys in rotation
  --fallback <target>         try this target when the proxy's own upstream fails (repeatable,
                              in order): a named --upstream of this proxy, or another proxy's
                              id (same org; its own fallbacks are not followed)
  --balance <target=weight>   weighted load balancing (repeatable), e.g. --balance west=30:
                              this proxy's own upstream takes 100 minus the others' weights
                              unless given as --balance <its id>=W; the targets not chosen
                              follow as fallbacks
  --timeout-connect <ms>      this proxy's upstream timeouts (also when it serves as another
  --timeout-first-byte <ms>   proxy's fallback): connect, status line, between bytes, total
  --timeout-idle <ms>         (total at most SLUICE_UPSTREAM_DEADLINE_MS, default 280000)
  --timeout-total <ms>
  --retries <n>               retries per target on a retryable failure (default 2, at most 5)
  --retry-on <list>           statuses retried (default 429,500,502,503,504,529; refused
                              connections count as 502, timeouts as 504)
  --cache-ttl <seconds>       answer repeated requests from the response cache for this long
                              (1 to ${7 * 24 * 3600}, 7 days; docs/cache.md); without it the cache is off
  --cache-scope proxy|key     share entries between all keys of the proxy (default) or per key
  --credential <ref>          env:NAME (environment variable) or secret:NAME (Secrets Manager);
                              a reference, never the key itself; vertex also takes
                              gcp-wif:<pool provider audience>[,service-account=<email>]
                              (workload identity federation: no GCP key)
  --allowed-models <a,b>      only these upstream models may be requested (repeatable)
  --alias <client=upstream>   model alias (repeatable)
  --byok                      callers bring their own provider key (no --credential);
                              on Bedrock, their own AWS credentials (X-Sluice-AWS-*)
  --allow-private-network     allow an upstream on a private or loopback address
  --org <id>                  organization id (default: default)
  --name <name>               display name (default: the id)
  --replace                   overwrite an existing proxy of that id (keys stay valid)
  --json                      print the proxy as JSON

Global options: --data-dir <dir> (local store, default .sluice), --aws [--stack NAME] [--region R]`;

/** Base URLs of providers that have exactly one public endpoint. */
const DEFAULT_BASE_URLS: Partial<Record<ProviderName, string>> = {
  openai: 'https://api.openai.com/v1',
  groq: 'https://api.groq.com/openai/v1',
  openrouter: 'https://openrouter.ai/api/v1',
  together: 'https://api.together.xyz/v1',
  anthropic: 'https://api.anthropic.com/v1',
  gemini: 'https://generativelanguage.googleapis.com/v1beta',
};

/** Providers that normally need a credential, so a proxy without one gets a hint. */
const CREDENTIALED: ReadonlySet<ProviderName> = new Set(['openai', 'groq', 'openrouter', 'together', 'anthropic', 'gemini', 'vertex', 'azure-openai']);

const UPSTREAM_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

const ORG_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export async function runProxiesCommand(argv: string[], io: CliIo, deps: StoreCommandDeps): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    writeLine(sub === undefined ? io.stderr : io.stdout, PROXIES_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  const now = deps.now ?? (() => new Date());
  return runReportingErrors(io, `proxies ${sub}`, async () => {
    switch (sub) {
      case 'create':
        return createProxy(rest, io, deps, now);
      case 'list':
        return listProxies(rest, io, deps);
      case 'show':
        return showProxy(rest, io, deps, now);
      case 'delete':
        return deleteProxy(rest, io, deps, now);
      default:
        throw new UsageError(`unknown command '${sub}' (expected create, list, show or delete)`);
    }
  });
}

async function createProxy(argv: string[], io: CliIo, deps: StoreCommandDeps, now: () => Date): Promise<number> {
  const { positionals, values } = parseCommand(argv, {
    provider: { type: 'string' },
    'base-url': { type: 'string' },
    'bedrock-region': { type: 'string' },
    'azure-resource': { type: 'string' },
    'azure-api-version': { type: 'string' },
    'gcp-project': { type: 'string' },
    'gcp-location': { type: 'string' },
    'upstream-selection': { type: 'boolean' },
    upstream: { type: 'string', multiple: true },
    fallback: { type: 'string', multiple: true },
    balance: { type: 'string', multiple: true },
    'timeout-connect': { type: 'string' },
    'timeout-first-byte': { type: 'string' },
    'timeout-idle': { type: 'string' },
    'timeout-total': { type: 'string' },
    retries: { type: 'string' },
    'retry-on': { type: 'string' },
    'cache-ttl': { type: 'string' },
    'cache-scope': { type: 'string' },
    credential: { type: 'string', multiple: true },
    'allowed-models': { type: 'string', multiple: true },
    alias: { type: 'string', multiple: true },
    byok: { type: 'boolean' },
    'allow-private-network': { type: 'boolean' },
    org: { type: 'string' },
    name: { type: 'string' },
    replace: { type: 'boolean' },
    json: { type: 'boolean' },
  });
  if (flag(values, 'help')) return help(io);
  const [id] = expectPositionals(positionals, ['<id>']) as [string];
  const draft = buildProxy(id, values, now());

  const target = deps.awsTarget ? await deps.awsTarget() : undefined;
  if (target) {
    // The deployed role reads only <ProviderSecretPrefix>*: refuse a name it could never read.
    const refs = [draft.credentialRef, ...(draft.routing?.credentials ?? []), ...Object.values(draft.upstreams ?? {}).flatMap((u) => u.credentialRefs ?? [u.credentialRef])];
    const problem = refs.map((ref) => (ref ? secretRefProblem(ref, target) : undefined)).find(Boolean);
    if (problem) throw new UsageError(problem);
  }
  const store = await deps.openStore();
  await checkFallbacks(draft, store);
  const existing = await store.getProxy(id);
  if (existing && !flag(values, 'replace')) {
    throw new CommandError(`proxy '${id}' already exists; pass --replace to overwrite it`);
  }
  const proxy = existing ? { ...draft, createdAt: existing.createdAt } : draft;
  await store.putProxy(proxy);
  const applies = { note: APPLIES_IN_AWS.proxy, staleCacheKeys: existing ? [proxyCacheKey(id)] : [] };

  if (flag(values, 'json')) {
    writeJson(io, proxy);
    await reportAwsChange(io, deps, { ...applies, json: true });
    return EXIT_OK;
  }
  writeLine(io.stdout, `${existing ? 'Replaced' : 'Created'} proxy ${proxy.id} (${proxy.provider} → ${proxy.baseUrl}).`);
  if (!proxy.credentialRef && !proxy.byok && CREDENTIALED.has(proxy.provider)) {
    writeLine(io.stdout, missingCredentialNote(proxy));
  }
  if (deps.aws && proxy.credentialRef?.startsWith('env:')) {
    writeLine(
      io.stderr,
      `Note: in AWS, ${proxy.credentialRef} is read from the Lambda function's environment; ` +
        `provider keys belong in Secrets Manager: --credential secret:${target?.providerSecretPrefix ?? DEFAULT_PROVIDER_SECRET_PREFIX}<name>.`,
    );
  }
  if (existing) await reportAwsChange(io, deps, applies);
  else writeLine(io.stdout, `Next: sluice keys create --proxy ${proxy.id}`);
  return EXIT_OK;
}

/** What a proxy without a credential does (printed by create): the gateway sends no key; what then happens is the upstream's call. */
export function missingCredentialNote(proxy: Pick<ProxyConfig, 'provider' | 'baseUrl'>): string {
  if (proxy.provider === 'vertex') {
    return 'No credential set: calls answer 502 upstream_credential_missing until you add a service-account key (--credential secret:NAME), or use --byok (callers send their own OAuth access token).';
  }
  return (
    `No credential set: requests go to ${proxy.baseUrl} without a provider key. An upstream that needs one ` +
    `answers 401, which the caller gets; one that needs none (a local server) just works. ` +
    'To send a key: --credential env:NAME or secret:NAME (--replace), or --byok for callers to bring theirs.'
  );
}

/** Validates every option and builds the record; throws UsageError naming the bad option. */
export function buildProxy(id: string, values: Record<string, unknown>, createdAt: Date): ProxyConfig {
  const v = values as Parameters<typeof stringOption>[0];
  requireProxyId(id);
  const provider = stringOption(v, 'provider');
  if (provider === undefined) throw new UsageError('missing --provider');
  if (!isProviderName(provider)) {
    throw new UsageError(`unknown provider '${provider}' (expected one of ${PROVIDER_NAMES.join(', ')})`);
  }
  const allowPrivateNetwork = flag(v, 'allow-private-network');
  const baseUrlOption = stringOption(v, 'base-url');
  const bedrockRegion = stringOption(v, 'bedrock-region');
  if (bedrockRegion !== undefined && (provider !== 'bedrock' || baseUrlOption !== undefined)) {
    throw new UsageError('--bedrock-region is for --provider bedrock without --base-url');
  }
  if (bedrockRegion !== undefined && !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(bedrockRegion)) throw new UsageError(`invalid --bedrock-region '${bedrockRegion}' (e.g. us-east-1)`);
  // Bedrock: the Region is part of the endpoint host; the Region-less host means the function's own Region.
  const bedrockDefault = provider === 'bedrock' ? `https://${bedrockRegion ? `bedrock-runtime.${bedrockRegion}` : 'bedrock-runtime'}.amazonaws.com` : undefined;
  const azure = azureOptions(v, provider, baseUrlOption);
  const gcp = gcpOptions(v, provider);
  const providerDefault = provider === 'azure-openai' ? azure.baseUrl : provider === 'vertex' && gcp ? vertexBaseUrlFor(gcp.location) : DEFAULT_BASE_URLS[provider];
  const baseUrl = baseUrlOption ?? bedrockDefault ?? providerDefault;
  if (baseUrl === undefined) {
    const hint = provider === 'azure-openai' ? ' or --azure-resource' : '';
    throw new UsageError(`missing --base-url${hint} (provider '${provider}' has no default)`);
  }
  const upstreamSelection = flag(v, 'upstream-selection');
  const upstreams = parseUpstreams(listOption(v, 'upstream'));
  const routing = routingOptions(v, id);
  if (upstreams && !upstreamSelection && !routing?.fallbacks) throw new UsageError('--upstream needs --upstream-selection (requests pick a named upstream with X-Sluice-Upstream) or --fallback naming it');

  const byok = flag(v, 'byok');
  const credentialRefs = listOption(v, 'credential');
  const credentialRef = credentialRefs[0];
  if (credentialRefs.length > 1) {
    // Keys in rotation: each an env: or secret: reference, none twice (values never echoed: a key may be pasted by mistake).
    if (credentialRefs.some((ref) => !/^(env|secret):/.test(ref) || !isCredentialRef(ref))) throw new UsageError('a repeated --credential must each be env:NAME or secret:NAME (a reference to a key, never the key itself)');
    if (new Set(credentialRefs).size !== credentialRefs.length) throw new UsageError('--credential: the same reference is given twice');
    if (credentialRefs.length > 16) throw new UsageError('--credential: at most 16 keys in rotation');
  }
  if (credentialRef !== undefined && !isCredentialRef(credentialRef)) {
    // The value is not echoed: it may be a key pasted by mistake.
    throw new UsageError(
      credentialRef.startsWith('gcp-wif:')
        ? '--credential gcp-wif: needs //iam.googleapis.com/projects/<number>/locations/global/workloadIdentityPools/<pool>/providers/<provider>, optionally ,service-account=<name>@<project>.iam.gserviceaccount.com'
        : '--credential must be env:NAME or secret:NAME (a reference to the key, never the key itself)',
    );
  }
  if (credentialRef?.startsWith('gcp-wif:') && provider !== 'vertex') throw new UsageError('--credential gcp-wif:… (workload identity federation) is for --provider vertex');
  if (credentialRef !== undefined && byok) {
    throw new UsageError("--byok and --credential cannot be combined: with BYOK the caller's own provider key is used");
  }

  const allowedModels = parseModelList(listOption(v, 'allowed-models'));
  const modelAliases = parseAliases(listOption(v, 'alias'), allowedModels);

  const orgId = stringOption(v, 'org') ?? 'default';
  if (!ORG_ID_PATTERN.test(orgId)) throw new UsageError(`invalid --org '${orgId}' (letters, digits, _ and -, up to 64)`);
  const name = stringOption(v, 'name') ?? id;
  if (name.trim() === '' || name.length > 200) throw new UsageError('--name must be 1 to 200 characters');

  const proxy: ProxyConfig = {
    id,
    orgId,
    name,
    provider,
    baseUrl: normalizeBaseUrl(baseUrl, allowPrivateNetwork),
    byok,
    allowPrivateNetwork,
    createdAt: createdAt.toISOString(),
  };
  if (credentialRef !== undefined) proxy.credentialRef = credentialRef;
  if (allowedModels !== undefined) proxy.allowedModels = allowedModels;
  if (modelAliases !== undefined) proxy.modelAliases = modelAliases;
  if (azure.settings) proxy.azure = azure.settings;
  if (gcp) proxy.gcp = gcp;
  if (upstreamSelection) proxy.upstreamSelection = true;
  if (upstreams) proxy.upstreams = upstreams;
  if (routing) proxy.routing = routing;
  if (credentialRefs.length > 1) proxy.routing = { ...proxy.routing, credentials: credentialRefs };
  const cache = cacheOptions(v);
  if (cache) proxy.cache = cache;
  return proxy;
}

/** Seven days: the longest an answer may be served from the response cache. */
export const MAX_CACHE_TTL_SECONDS = 7 * 24 * 3600;

/** --cache-ttl / --cache-scope (docs/cache.md). Without --cache-ttl the cache is off. */
function cacheOptions(v: Parameters<typeof stringOption>[0]): ResponseCacheConfig | undefined {
  const ttlText = stringOption(v, 'cache-ttl');
  const scope = stringOption(v, 'cache-scope');
  if (scope !== undefined && scope !== 'proxy' && scope !== 'key') throw new UsageError(`--cache-scope must be proxy or key, not '${scope}'`);
  if (ttlText === undefined) {
    if (scope !== undefined) throw new UsageError('--cache-scope needs --cache-ttl (the cache is off without a TTL)');
    return undefined;
  }
  const ttlSeconds = /^\d+$/.test(ttlText) ? Number(ttlText) : NaN;
  if (!(ttlSeconds >= 1 && ttlSeconds <= MAX_CACHE_TTL_SECONDS)) {
    throw new UsageError(`--cache-ttl takes whole seconds from 1 to ${MAX_CACHE_TTL_SECONDS} (7 days), not '${ttlText}'`);
  }
  return scope ? { ttlSeconds, scope } : { ttlSeconds };
}

/** --fallback / --retries / --retry-on, syntax only (checkFallbacks looks the targets up). */
function routingOptions(v: Parameters<typeof stringOption>[0], id: string): RoutingConfig | undefined {
  const fallbacks = listOption(v, 'fallback');
  const retriesText = stringOption(v, 'retries');
  const retryOnText = stringOption(v, 'retry-on');
  const routing: RoutingConfig = {};
  for (const name of fallbacks) {
    if (!UPSTREAM_NAME.test(name)) throw new UsageError(`invalid --fallback '${name}' (a named upstream or a proxy id)`);
    if (name === id) throw new UsageError(`--fallback '${name}' is this proxy itself`);
    if (fallbacks.indexOf(name) !== fallbacks.lastIndexOf(name)) throw new UsageError(`--fallback '${name}' is given twice`);
  }
  if (fallbacks.length) routing.fallbacks = fallbacks;
  const balance: Record<string, number> = {};
  for (const option of listOption(v, 'balance')) {
    const [name = '', weightText = ''] = option.split('=');
    if (!UPSTREAM_NAME.test(name) || !/^\d{1,4}$/.test(weightText) || Number(weightText) < 1) throw new UsageError(`--balance '${option}' must look like target=weight (a whole weight from 1 to 9999)`);
    if (Object.hasOwn(balance, name)) throw new UsageError(`--balance '${name}' is given twice`);
    balance[name] = Number(weightText);
  }
  if (Object.keys(balance).length) {
    if (!Object.hasOwn(balance, id)) {
      const rest = 100 - Object.values(balance).reduce((a, b) => a + b, 0);
      if (rest < 1) throw new UsageError(`--balance weights add up to 100 or more: give this proxy's own upstream a weight with --balance ${id}=W`);
      balance[id] = rest;
    }
    routing.balance = balance;
  }
  if (retriesText !== undefined) {
    const n = Number(retriesText);
    if (!/^\d+$/.test(retriesText) || n > MAX_RETRIES) throw new UsageError(`--retries must be a whole number from 0 to ${MAX_RETRIES}`);
    routing.retries = n;
  }
  if (retryOnText !== undefined) {
    const statuses = retryOnText.split(',').map((t) => t.trim());
    if (statuses.some((t) => !/^[45]\d\d$/.test(t))) throw new UsageError('--retry-on takes HTTP statuses 400-599, comma-separated (e.g. 429,500,502,503,504)');
    routing.retryOn = [...new Set(statuses.map(Number))];
  }
  const timeouts: NonNullable<RoutingConfig['timeouts']> = {};
  for (const [option, field] of [['timeout-connect', 'connectMs'], ['timeout-first-byte', 'firstByteMs'], ['timeout-idle', 'idleMs'], ['timeout-total', 'totalMs']] as const) {
    const text = stringOption(v, option);
    if (text === undefined) continue;
    if (!/^\d{1,7}$/.test(text) || Number(text) < 1) throw new UsageError(`--${option} takes milliseconds, 1 to 9999999`);
    timeouts[field] = Number(text);
  }
  if (Object.keys(timeouts).length) routing.timeouts = timeouts;
  return Object.keys(routing).length ? routing : undefined;
}

/** The targets a proxy names besides its own upstream. */
function referencesOf(p: ProxyConfig): string[] {
  return [...(p.routing?.fallbacks ?? []), ...Object.keys(p.routing?.balance ?? {}).filter((n) => n !== p.id)].filter((n) => !Object.hasOwn(p.upstreams ?? {}, n));
}

/** Fallback proxies exist in the same org, and none falls back to this one (a cycle). */
async function checkFallbacks(proxy: ProxyConfig, store: { getProxy(id: string): Promise<ProxyConfig | undefined> }): Promise<void> {
  const names = [...(proxy.routing?.fallbacks ?? []), ...Object.keys(proxy.routing?.balance ?? {}).filter((n) => n !== proxy.id)];
  for (const name of names) {
    if (proxy.upstreams && Object.hasOwn(proxy.upstreams, name)) continue;
    const other = await store.getProxy(name);
    if (!other) throw new UsageError(`--fallback '${name}' is neither a named --upstream of this proxy nor an existing proxy`);
    if (other.orgId !== proxy.orgId) throw new UsageError(`--fallback '${name}' belongs to another org`);
    if (referencesOf(other).includes(proxy.id)) throw new UsageError(`--fallback '${name}' falls back to '${proxy.id}': cycles are refused`);
  }
}

/** --azure-resource / --azure-api-version: for azure-openai only; the resource names the default base URL. */
function azureOptions(v: Parameters<typeof stringOption>[0], provider: ProviderName, baseUrlOption: string | undefined): { baseUrl?: string; settings?: { apiVersion: string } } {
  const resource = stringOption(v, 'azure-resource');
  const apiVersion = stringOption(v, 'azure-api-version');
  if ((resource !== undefined || apiVersion !== undefined) && provider !== 'azure-openai') {
    throw new UsageError('--azure-resource and --azure-api-version are for --provider azure-openai');
  }
  if (resource !== undefined && baseUrlOption !== undefined) throw new UsageError('give --azure-resource or --base-url, not both');
  if (resource !== undefined && !AZURE_RESOURCE.test(resource)) throw new UsageError(`invalid --azure-resource '${resource}' (2 to 64 lower-case letters, digits or -)`);
  if (apiVersion !== undefined && !AZURE_API_VERSION.test(apiVersion)) throw new UsageError(`invalid --azure-api-version '${apiVersion}' (YYYY-MM-DD or YYYY-MM-DD-preview)`);
  return { ...(resource !== undefined ? { baseUrl: azureBaseUrl(resource) } : {}), ...(apiVersion !== undefined ? { settings: { apiVersion } } : {}) };
}

/** --gcp-project / --gcp-location: required together for vertex, refused elsewhere. */
function gcpOptions(v: Parameters<typeof stringOption>[0], provider: ProviderName): { project: string; location: string } | undefined {
  const project = stringOption(v, 'gcp-project');
  const location = stringOption(v, 'gcp-location');
  if (provider !== 'vertex') {
    if (project !== undefined || location !== undefined) throw new UsageError('--gcp-project and --gcp-location are for --provider vertex');
    return undefined;
  }
  if (project === undefined || location === undefined) throw new UsageError('--provider vertex needs --gcp-project and --gcp-location');
  if (!GCP_PROJECT.test(project)) throw new UsageError(`invalid --gcp-project '${project}' (6 to 30 lower-case letters, digits or -, starting with a letter)`);
  if (!GCP_LOCATION.test(location)) throw new UsageError(`invalid --gcp-location '${location}' (e.g. us-central1, europe-west4, global)`);
  return { project, location };
}

/**
 * `--upstream name=provider,baseUrl[,env:NAME|secret:NAME…][,api-version=V][,project=P,location=L][,private-network]`
 * (several credential references: keys in rotation). Names shadow the built-in aliases (azure, openrouter, vertex) on this proxy.
 */
export function parseUpstreams(options: string[]): Record<string, NamedUpstream> | undefined {
  if (options.length === 0) return undefined;
  const upstreams: Record<string, NamedUpstream> = {};
  for (const option of options) {
    const eq = option.indexOf('=');
    const name = option.slice(0, eq).trim();
    const [provider, baseUrl, ...extras] = option.slice(eq + 1).split(',').map((p) => p.trim());
    if (eq < 0 || !provider || !baseUrl) throw new UsageError(`--upstream '${name || option}' must look like name=provider,baseUrl[,credential][,…]`);
    if (!UPSTREAM_NAME.test(name)) throw new UsageError(`invalid --upstream name '${name}' (lower-case letters, digits, _ and -, up to 63)`);
    if (Object.hasOwn(upstreams, name)) throw new UsageError(`--upstream '${name}' is given twice`);
    if (!isProviderName(provider)) throw new UsageError(`--upstream '${name}': unknown provider '${provider}' (expected one of ${PROVIDER_NAMES.join(', ')})`);
    const upstream: NamedUpstream = { provider, baseUrl: '' };
    let project: string | undefined;
    let location: string | undefined;
    for (const extra of extras) {
      if (extra === 'private-network') upstream.allowPrivateNetwork = true;
      else if (extra.startsWith('env:') || extra.startsWith('secret:')) {
        // The value is not echoed: it may be a key pasted by mistake.
        if (!isCredentialRef(extra)) throw new UsageError(`--upstream '${name}': the credential must be env:NAME or secret:NAME`);
        // Several references: keys in rotation, like a repeated --credential.
        const refs = [...(upstream.credentialRefs ?? (upstream.credentialRef ? [upstream.credentialRef] : [])), extra];
        if (new Set(refs).size < refs.length) throw new UsageError(`--upstream '${name}': ${extra} is given twice`);
        if (refs.length > 16) throw new UsageError(`--upstream '${name}': at most 16 keys in rotation`);
        upstream.credentialRef = refs[0]!;
        if (refs.length > 1) upstream.credentialRefs = refs;
      } else if (extra.startsWith('api-version=')) {
        const apiVersion = extra.slice('api-version='.length);
        if (provider !== 'azure-openai' || !AZURE_API_VERSION.test(apiVersion)) throw new UsageError(`--upstream '${name}': api-version= takes YYYY-MM-DD[-preview] and is for azure-openai`);
        upstream.azure = { apiVersion };
      } else if (extra.startsWith('project=')) project = extra.slice('project='.length);
      else if (extra.startsWith('location=')) location = extra.slice('location='.length);
      else throw new UsageError(`--upstream '${name}': unknown part (expected a credential reference, api-version=, project=, location= or private-network)`);
    }
    if (project !== undefined || location !== undefined) {
      if (provider !== 'vertex' || project === undefined || location === undefined || !GCP_PROJECT.test(project) || !GCP_LOCATION.test(location)) {
        throw new UsageError(`--upstream '${name}': project= and location= go together, for vertex, e.g. project=acme-ml,location=us-central1`);
      }
      upstream.gcp = { project, location };
    } else if (provider === 'vertex') throw new UsageError(`--upstream '${name}': a vertex upstream needs project= and location=`);
    try {
      upstream.baseUrl = normalizeBaseUrl(baseUrl, upstream.allowPrivateNetwork === true);
    } catch (err) {
      throw new UsageError(`--upstream '${name}': ${(err as Error).message.replace('--base-url', 'the base URL')}`);
    }
    upstreams[name] = upstream;
  }
  return upstreams;
}

export function requireProxyId(id: string): void {
  if (!isValidProxyId(id)) {
    throw new UsageError(
      `invalid proxy id '${id}': use 1 to 63 lowercase letters, digits, _ and -, starting with a letter or digit`,
    );
  }
}

/**
 * Syntax only: the gateway SSRF-checks the resolved address on every call. Plain
 * http is accepted only for private-network upstreams (a vLLM in the VPC, local
 * development), since the provider key would otherwise cross the internet in clear.
 */
function normalizeBaseUrl(text: string, allowPrivateNetwork: boolean): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError('--base-url is not a valid absolute URL (e.g. https://api.openai.com/v1)');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError('--base-url must be an http(s) URL');
  if (url.protocol === 'http:' && !allowPrivateNetwork) {
    throw new UsageError('--base-url must use https (plain http is allowed only with --allow-private-network)');
  }
  if (url.username || url.password) {
    throw new UsageError('--base-url must not contain a user name or password; use --credential');
  }
  if (url.search || url.hash) throw new UsageError('--base-url must not have a query string or fragment');
  return url.href.replace(/\/+$/, '');
}

function parseModelList(options: string[]): string[] | undefined {
  if (options.length === 0) return undefined;
  const models = options.flatMap((o) => o.split(',')).map((m) => m.trim());
  if (models.some((m) => m === '')) throw new UsageError('--allowed-models has an empty model name');
  return [...new Set(models)];
}

function parseAliases(options: string[], allowedModels: string[] | undefined): Record<string, string> | undefined {
  if (options.length === 0) return undefined;
  const aliases: Record<string, string> = {};
  for (const option of options) {
    const eq = option.indexOf('=');
    const client = option.slice(0, eq).trim();
    const upstream = option.slice(eq + 1).trim();
    if (eq < 0 || client === '' || upstream === '') {
      throw new UsageError(`--alias '${option}' must look like client-name=upstream-model`);
    }
    if (Object.hasOwn(aliases, client)) throw new UsageError(`--alias '${client}' is given twice`);
    if (allowedModels && !allowedModels.includes(upstream)) {
      throw new UsageError(`--alias '${client}' points at '${upstream}', which is not in --allowed-models`);
    }
    aliases[client] = upstream;
  }
  return aliases;
}

async function listProxies(argv: string[], io: CliIo, deps: StoreCommandDeps): Promise<number> {
  const { positionals, values } = parseCommand(argv, { json: { type: 'boolean' } });
  if (flag(values, 'help')) return help(io);
  expectPositionals(positionals, []);
  const proxies = await (await deps.openStore()).listProxies();
  if (flag(values, 'json')) {
    writeJson(io, proxies);
    return EXIT_OK;
  }
  if (proxies.length === 0) {
    writeLine(io.stdout, 'No proxies yet. Create one with: sluice proxies create <id> --provider openai');
    return EXIT_OK;
  }
  const rows = proxies.map((p) => [
    p.id,
    p.provider,
    p.baseUrl,
    p.byok ? 'byok' : (p.credentialRef ?? '-'),
    p.allowPrivateNetwork ? 'yes' : 'no',
    p.allowedModels ? p.allowedModels.join(',') : 'any',
  ]);
  writeLine(io.stdout, formatTable(['id', 'provider', 'base url', 'credential', 'private net', 'models'], rows));
  return EXIT_OK;
}

async function showProxy(argv: string[], io: CliIo, deps: StoreCommandDeps, now: () => Date): Promise<number> {
  const { positionals, values } = parseCommand(argv, { json: { type: 'boolean' } });
  if (flag(values, 'help')) return help(io);
  const [id] = expectPositionals(positionals, ['<id>']) as [string];
  requireProxyId(id);
  const store = await deps.openStore();
  const proxy = await store.getProxy(id);
  if (!proxy) throw new CommandError(`unknown proxy '${id}' (see: sluice proxies list)`);
  if (flag(values, 'json')) {
    writeJson(io, proxy);
    return EXIT_OK;
  }
  const keys = await store.listKeys(id);
  const active = keys.filter((k) => isActive(k, now())).length;
  const aliases = Object.entries(proxy.modelAliases ?? {}).map(([from, to]) => `${from} → ${to}`);
  const lines: [string, string][] = [
    ['id', proxy.id],
    ['name', proxy.name],
    ['org', proxy.orgId],
    ['provider', proxy.provider],
    ['base url', proxy.baseUrl],
    ['credential', proxy.byok ? (proxy.provider === 'bedrock' ? "byok (caller signs with its own AWS credentials)" : 'byok (caller sends its provider key)') : proxy.routing?.credentials ? `${proxy.routing.credentials.length} keys in rotation: ${proxy.routing.credentials.join(', ')}` : (proxy.credentialRef ?? 'none')],
    ['private network', proxy.allowPrivateNetwork ? 'allowed' : 'refused'],
    ['allowed models', proxy.allowedModels?.join(', ') ?? 'any'],
    ['aliases', aliases.length ? aliases.join(', ') : 'none'],
    ...(proxy.azure?.apiVersion ? [['azure api', proxy.azure.apiVersion] as [string, string]] : []),
    ...(proxy.gcp ? [['gcp', `${proxy.gcp.project} (${proxy.gcp.location})`] as [string, string]] : []),
    ['selection', proxy.upstreamSelection ? `X-Sluice-Upstream allowed (${[...Object.keys(proxy.upstreams ?? {}), ...UPSTREAM_ALIASES.filter((a) => !Object.hasOwn(proxy.upstreams ?? {}, a))].join(', ')}, https URLs)` : 'refused'],
    ...Object.entries(proxy.upstreams ?? {}).map(([n, u]) => [`  ${n}`, `${u.provider} → ${u.baseUrl}${u.credentialRefs ? ` (${u.credentialRefs.length} keys in rotation: ${u.credentialRefs.join(', ')})` : u.credentialRef ? ` (${u.credentialRef})` : ' (caller credential)'}`] as [string, string]),
    ['targets', [proxy.id, ...(proxy.routing?.fallbacks ?? [])].join(' → ')],
    ...(proxy.routing?.balance ? [['balance', Object.entries(proxy.routing.balance).map(([n, w]) => `${n}=${w}`).join(', ')] as [string, string]] : []),
    ...(proxy.routing?.timeouts ? [['timeouts', Object.entries(proxy.routing.timeouts).map(([k, ms]) => `${k.replace(/Ms$/, '')} ${ms} ms`).join(', ')] as [string, string]] : []),
    ['retries', `${proxy.routing?.retries ?? DEFAULT_RETRIES} on ${(proxy.routing?.retryOn ?? DEFAULT_RETRY_ON).join(',')}`],
    ['response cache', proxy.cache ? `ttl ${proxy.cache.ttlSeconds} s, shared per ${proxy.cache.scope ?? 'proxy'}` : 'off'],
    ['keys', `${active} active, ${keys.length - active} revoked or expired`],
    ['created', proxy.createdAt],
  ];
  for (const [label, value] of lines) writeLine(io.stdout, `${(label + ':').padEnd(17)}${value}`);
  return EXIT_OK;
}

async function deleteProxy(argv: string[], io: CliIo, deps: StoreCommandDeps, now: () => Date): Promise<number> {
  const { positionals, values } = parseCommand(argv, {});
  if (flag(values, 'help')) return help(io);
  const [id] = expectPositionals(positionals, ['<id>']) as [string];
  requireProxyId(id);
  const store = await deps.openStore();
  if (!(await store.getProxy(id))) throw new CommandError(`unknown proxy '${id}' (see: sluice proxies list)`);
  const referrers = (await store.listProxies()).filter((p) => p.id !== id && referencesOf(p).includes(id));
  if (referrers.length) throw new CommandError(`proxy '${id}' is a fallback of ${referrers.map((p) => p.id).join(', ')}; remove it there first (proxies create … --replace)`);
  // Revoke first: a proxy re-created later with the same id must not revive old keys.
  const at = now();
  const active = (await store.listKeys(id)).filter((k) => isActive(k, at));
  for (const key of active) await store.revokeKey(key.id, at.toISOString());
  await store.deleteProxy(id);
  writeLine(io.stdout, `Deleted proxy ${id}; revoked ${active.length} active key${active.length === 1 ? '' : 's'}.`);
  await reportAwsChange(io, deps, { note: APPLIES_IN_AWS.proxy, staleCacheKeys: [proxyCacheKey(id), ...active.map((k) => authCacheKey(k.hash))] });
  return EXIT_OK;
}

export function isActive(key: ApiKeyRecord, at: Date): boolean {
  if (key.revokedAt !== undefined) return false;
  return key.expiresAt === undefined || Date.parse(key.expiresAt) > at.getTime();
}

function help(io: CliIo): number {
  writeLine(io.stdout, PROXIES_HELP);
  return EXIT_OK;
}
