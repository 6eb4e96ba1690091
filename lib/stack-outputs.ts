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
} as const;

/** Default stack name (`sluice:stackName` context, `--stack` option). */
export const DEFAULT_STACK_NAME = 'Sluice';
