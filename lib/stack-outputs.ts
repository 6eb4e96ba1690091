/**
 * Names of the stack outputs the CLI reads (`sluice … --aws`). Their own module so the
 * CLI imports them without loading aws-cdk-lib. Renaming one breaks deployed CLIs.
 */
export const STACK_OUTPUTS = {
  controlTable: 'ControlTableName',
  stateTable: 'StateTableName',
  functionUrl: 'FunctionUrl',
} as const;

/**
 * Outputs only some configurations have: the ClickHouse URL secret (with
 * `sluice:traces=clickhouse`), which `sluice traces list --aws` reads.
 */
export const OPTIONAL_STACK_OUTPUTS = {
  clickhouseUrlSecretArn: 'ClickHouseUrlSecretArn',
  /**
   * The name prefix of the provider-key secrets the gateway may read; `proxies create --aws`
   * refuses `secret:` names outside it. Stacks deployed before it existed grant the default.
   */
  providerSecretPrefix: 'ProviderSecretPrefix',
  /** `redis` (ElastiCache, inside the stack's VPC) or `dynamodb` (the state table): the response cache's store. */
  responseCacheStore: 'ResponseCacheStore',
} as const;

/** The provider-secret prefix the gateway role is granted when nothing else is configured. */
export const DEFAULT_PROVIDER_SECRET_PREFIX = 'sluice/providers/';

/** Default stack name (`sluice:stackName` context, `--stack` option). */
export const DEFAULT_STACK_NAME = 'Sluice';
