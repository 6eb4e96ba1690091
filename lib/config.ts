import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { BedrockModelAccess } from './bedrock-arns.js';
import type { SluiceStackProps } from './sluice-stack.js';
import { DEFAULT_STACK_NAME } from './stack-outputs.js';

/**
 * The `cdk.json` context keys (also settable with `cdk deploy -c key=value`). Values set
 * with `-c` arrive as strings, so every reader accepts both the JSON type and its string form.
 */
export const CONTEXT_KEYS = {
  stackName: 'sluice:stackName',
  cache: 'sluice:cache',
  bedrock: 'sluice:bedrock',
  timeoutSeconds: 'sluice:timeoutSeconds',
  memorySize: 'sluice:memorySize',
  reservedConcurrency: 'sluice:reservedConcurrency',
  xrayTracing: 'sluice:xrayTracing',
  allowedOrigins: 'sluice:allowedOrigins',
  logLevel: 'sluice:logLevel',
  logRetentionDays: 'sluice:logRetentionDays',
  retainTables: 'sluice:retainTables',
  nag: 'sluice:nag',
  governance: 'sluice:governance',
  traces: 'sluice:traces',
  clickhouseUrlSecret: 'sluice:clickhouseUrlSecret',
  otlpEndpoint: 'sluice:otlpEndpoint',
  otlpProtocol: 'sluice:otlpProtocol',
  otlpHeadersSecret: 'sluice:otlpHeadersSecret',
  otlpCaptureContent: 'sluice:otlpCaptureContent',
  runtime: 'sluice:runtime',
  certificateArn: 'sluice:certificateArn',
  allowHttp: 'sluice:allowHttp',
  account: 'sluice:account',
  region: 'sluice:region',
} as const;

/** `sluice:traces`: where trace rows go in AWS. */
export const TRACE_MODES = ['logs', 's3', 'clickhouse'] as const;
export type TraceMode = (typeof TRACE_MODES)[number];

/**
 * A complete Secrets Manager secret ARN (with the 6-character suffix Secrets Manager
 * appends). A bare name would need a `name-??????` wildcard grant, which cdk-nag flags.
 */
const COMPLETE_SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

export interface SluiceAppConfig {
  readonly stackName: string;
  /** Run the cdk-nag AwsSolutions checks at synth. */
  readonly nag: boolean;
  readonly stackProps: SluiceStackProps;
}

type ContextReader = (key: string) => unknown;

function parseMaybeJson(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  if (trimmed === '' || !/^[[{]|^(true|false|null|-?\d)/.test(trimmed)) return value;
  try {
    return JSON.parse(trimmed);
  } catch {
    return value;
  }
}

function readBoolean(get: ContextReader, key: string, fallback: boolean): boolean {
  const raw = parseMaybeJson(get(key));
  if (raw === undefined || raw === null) return fallback;
  if (typeof raw === 'boolean') return raw;
  throw new Error(`context ${key} must be true or false, got ${JSON.stringify(raw)}`);
}

function readPositiveInt(get: ContextReader, key: string): number | undefined {
  const raw = parseMaybeJson(get(key));
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0) return raw;
  throw new Error(`context ${key} must be a non-negative integer, got ${JSON.stringify(raw)}`);
}

function readStringArray(get: ContextReader, key: string): string[] | undefined {
  const raw = parseMaybeJson(get(key));
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'string') return raw.split(',').map((s) => s.trim()).filter(Boolean);
  if (Array.isArray(raw) && raw.every((s) => typeof s === 'string')) return raw;
  throw new Error(`context ${key} must be a list of strings, got ${JSON.stringify(raw)}`);
}

function readBedrock(get: ContextReader): BedrockModelAccess | undefined {
  const raw = parseMaybeJson(get(CONTEXT_KEYS.bedrock));
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new Error(`context ${CONTEXT_KEYS.bedrock} must be an object {foundationModelIds, inferenceProfiles, applicationInferenceProfileArns}`);
  }
  const o = raw as Record<string, unknown>;
  const strings = (v: unknown, what: string): string[] => {
    if (v === undefined) return [];
    if (Array.isArray(v) && v.every((s) => typeof s === 'string')) return v;
    throw new Error(`context ${CONTEXT_KEYS.bedrock}.${what} must be a list of strings`);
  };
  const profiles = o.inferenceProfiles ?? [];
  if (!Array.isArray(profiles)) throw new Error(`context ${CONTEXT_KEYS.bedrock}.inferenceProfiles must be a list`);
  return {
    foundationModelIds: strings(o.foundationModelIds, 'foundationModelIds'),
    inferenceProfiles: profiles.map((p: unknown, i) => {
      const profile = p as { id?: unknown; regions?: unknown };
      if (typeof profile?.id !== 'string') throw new Error(`context ${CONTEXT_KEYS.bedrock}.inferenceProfiles[${i}].id must be a string`);
      return { id: profile.id, regions: strings(profile.regions, `inferenceProfiles[${i}].regions`) };
    }),
    applicationInferenceProfileArns: strings(o.applicationInferenceProfileArns, 'applicationInferenceProfileArns'),
  };
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR'] as const;

function readString(get: ContextReader, key: string): string | undefined {
  const raw = get(key);
  if (raw === undefined || raw === null || raw === '') return undefined;
  if (typeof raw === 'string') return raw.trim();
  throw new Error(`context ${key} must be a string, got ${JSON.stringify(raw)}`);
}

function readChoice<T extends string>(get: ContextReader, key: string, choices: readonly T[], fallback: T): T {
  const raw = readString(get, key);
  if (raw === undefined) return fallback;
  if (!(choices as readonly string[]).includes(raw)) throw new Error(`context ${key} must be one of ${choices.join(', ')}, got ${JSON.stringify(raw)}`);
  return raw as T;
}

function readTraces(get: ContextReader): SluiceStackProps['traces'] | undefined {
  const mode = readChoice(get, CONTEXT_KEYS.traces, TRACE_MODES, 'logs');
  const secret = readString(get, CONTEXT_KEYS.clickhouseUrlSecret);
  if (mode !== 'clickhouse') {
    if (secret !== undefined) throw new Error(`context ${CONTEXT_KEYS.clickhouseUrlSecret} is only used with ${CONTEXT_KEYS.traces}=clickhouse`);
    return mode === 's3' ? {} : undefined;
  }
  if (secret === undefined) throw new Error(`context ${CONTEXT_KEYS.traces}=clickhouse needs ${CONTEXT_KEYS.clickhouseUrlSecret}=<complete secret ARN>`);
  if (!COMPLETE_SECRET_ARN.test(secret)) {
    throw new Error(
      `context ${CONTEXT_KEYS.clickhouseUrlSecret} must be a complete secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf, as \`aws secretsmanager describe-secret\` prints it); a name or partial ARN would need a wildcard grant`,
    );
  }
  return { clickhouseUrlSecretArn: secret };
}

/** `sluice:otlpEndpoint` (+ protocol, headers secret, content capture): OpenTelemetry export from the gateway. */
function readOtlp(get: ContextReader): SluiceStackProps['otlp'] | undefined {
  const endpoint = readString(get, CONTEXT_KEYS.otlpEndpoint);
  const secret = readString(get, CONTEXT_KEYS.otlpHeadersSecret);
  const protocol = readString(get, CONTEXT_KEYS.otlpProtocol);
  const capture = readBoolean(get, CONTEXT_KEYS.otlpCaptureContent, false);
  if (endpoint === undefined) {
    if (secret !== undefined || protocol !== undefined || capture) throw new Error(`context ${CONTEXT_KEYS.otlpHeadersSecret}, ${CONTEXT_KEYS.otlpProtocol} and ${CONTEXT_KEYS.otlpCaptureContent} need ${CONTEXT_KEYS.otlpEndpoint}`);
    return undefined;
  }
  if (!/^https:\/\/[^\s/]+/.test(endpoint)) throw new Error(`context ${CONTEXT_KEYS.otlpEndpoint} must be an https:// URL (the OTLP/HTTP base, e.g. https://api.honeycomb.io)`);
  if (protocol !== undefined && protocol !== 'http/protobuf' && protocol !== 'http/json') throw new Error(`context ${CONTEXT_KEYS.otlpProtocol} must be http/protobuf or http/json`);
  if (secret !== undefined && !COMPLETE_SECRET_ARN.test(secret)) throw new Error(`context ${CONTEXT_KEYS.otlpHeadersSecret} must be a complete secret ARN (…:secret:NAME-AbCdEf); a name would need a wildcard grant`);
  return { endpoint, ...(protocol ? { protocol: protocol as 'http/protobuf' | 'http/json' } : {}), ...(secret ? { headersSecretArn: secret } : {}), ...(capture ? { captureContent: true } : {}) };
}

/** `sluice:runtime` values. */
export const RUNTIMES = ['lambda', 'fargate'] as const;

const ACM_CERTIFICATE_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+$/;

/** `sluice:runtime` (+ `sluice:certificateArn`, `sluice:allowHttp` for Fargate). */
function readRuntime(get: ContextReader, env: { account: string; region: string } | undefined): Pick<SluiceStackProps, 'runtime' | 'fargate'> {
  const runtime = readChoice(get, CONTEXT_KEYS.runtime, RUNTIMES, 'lambda');
  const certificateArn = readString(get, CONTEXT_KEYS.certificateArn);
  const allowHttp = readBoolean(get, CONTEXT_KEYS.allowHttp, false);
  if (runtime === 'lambda') {
    if (certificateArn !== undefined || allowHttp) throw new Error(`context ${CONTEXT_KEYS.certificateArn} and ${CONTEXT_KEYS.allowHttp} are only used with ${CONTEXT_KEYS.runtime}=fargate (a Function URL always serves HTTPS)`);
    return {};
  }
  if (certificateArn !== undefined && !ACM_CERTIFICATE_ARN.test(certificateArn)) {
    throw new Error(`context ${CONTEXT_KEYS.certificateArn} must be an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID), got ${JSON.stringify(certificateArn)}`);
  }
  if (certificateArn === undefined && !allowHttp) {
    throw new Error(
      `context ${CONTEXT_KEYS.runtime}=fargate needs ${CONTEXT_KEYS.certificateArn}=<ACM certificate ARN> for the HTTPS listener: without TLS, gateway keys cross the internet in clear text. For a throwaway test stack, ${CONTEXT_KEYS.allowHttp}=true deploys a plain HTTP listener instead.`,
    );
  }
  // The load balancer's access logs are delivered by the Region's ELB account, which CDK
  // only knows for a literal Region; the certificate is Regional too.
  if (env === undefined) throw new Error(`context ${CONTEXT_KEYS.runtime}=fargate needs ${CONTEXT_KEYS.account} and ${CONTEXT_KEYS.region} (the load balancer's access-log delivery and the certificate are per Region)`);
  if (certificateArn !== undefined && certificateArn.split(':')[3] !== env.region) {
    throw new Error(`context ${CONTEXT_KEYS.certificateArn} is in ${certificateArn.split(':')[3]}, the stack in ${env.region}: a load balancer takes certificates of its own Region only`);
  }
  if (certificateArn !== undefined && allowHttp) throw new Error(`context ${CONTEXT_KEYS.allowHttp} and ${CONTEXT_KEYS.certificateArn} exclude each other`);
  return { runtime, fargate: certificateArn !== undefined ? { certificateArn } : { allowHttp: true } };
}

/** `sluice:account` + `sluice:region` pin the stack's env; neither leaves it environment-agnostic. */
function readEnv(get: ContextReader): { account: string; region: string } | undefined {
  const account = readString(get, CONTEXT_KEYS.account);
  const region = readString(get, CONTEXT_KEYS.region);
  if (account === undefined && region === undefined) return undefined;
  if (account === undefined || region === undefined) throw new Error(`context ${CONTEXT_KEYS.account} and ${CONTEXT_KEYS.region} go together (both pin the stack's env)`);
  if (!/^\d{12}$/.test(account)) throw new Error(`context ${CONTEXT_KEYS.account} must be a 12-digit AWS account id, got ${JSON.stringify(account)}`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new Error(`context ${CONTEXT_KEYS.region} must be an AWS Region such as eu-west-1, got ${JSON.stringify(region)}`);
  return { account, region };
}

/** Reads and validates the app configuration from CDK context (`app.node.tryGetContext`). */
export function configFromContext(get: ContextReader): SluiceAppConfig {
  const stackName = get(CONTEXT_KEYS.stackName);
  const logLevel = get(CONTEXT_KEYS.logLevel);
  if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel as (typeof LOG_LEVELS)[number])) {
    throw new Error(`context ${CONTEXT_KEYS.logLevel} must be one of ${LOG_LEVELS.join(', ')}`);
  }
  const timeoutSeconds = readPositiveInt(get, CONTEXT_KEYS.timeoutSeconds);
  if (timeoutSeconds !== undefined && (timeoutSeconds < 1 || timeoutSeconds > 900)) {
    throw new Error(`context ${CONTEXT_KEYS.timeoutSeconds} must be 1..900 (Lambda's limit)`);
  }
  const memorySize = readPositiveInt(get, CONTEXT_KEYS.memorySize);
  const reservedConcurrency = readPositiveInt(get, CONTEXT_KEYS.reservedConcurrency);
  const allowedOrigins = readStringArray(get, CONTEXT_KEYS.allowedOrigins);
  const logRetention = readPositiveInt(get, CONTEXT_KEYS.logRetentionDays) as RetentionDays | undefined;
  const bedrock = readBedrock(get);
  const retainTables = readBoolean(get, CONTEXT_KEYS.retainTables, true);
  const traces = readTraces(get);
  const env = readEnv(get);
  const otlp = readOtlp(get);
  const runtime = readRuntime(get, env);

  if (runtime.runtime === 'fargate') {
    // Lambda-only settings would be ignored silently on Fargate: refuse them instead.
    // (sluice:memorySize stays allowed: cdk.json sets it, and it sizes only the Lambda.)
    const lambdaOnly = [
      reservedConcurrency !== undefined ? `${CONTEXT_KEYS.reservedConcurrency} (Fargate caps tasks instead)` : undefined,
      readBoolean(get, CONTEXT_KEYS.xrayTracing, false) ? `${CONTEXT_KEYS.xrayTracing}=true (no X-Ray daemon in the task)` : undefined,
    ].filter(Boolean);
    if (lambdaOnly.length > 0) throw new Error(`context ${CONTEXT_KEYS.runtime}=fargate does not support ${lambdaOnly.join(', ')}`);
  }

  const stackProps: SluiceStackProps = {
    cache: readBoolean(get, CONTEXT_KEYS.cache, false),
    xrayTracing: readBoolean(get, CONTEXT_KEYS.xrayTracing, false),
    ...(readBoolean(get, CONTEXT_KEYS.governance, false) ? { governance: true } : {}),
    tableRemovalPolicy: retainTables ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    ...(timeoutSeconds !== undefined ? { timeout: Duration.seconds(timeoutSeconds) } : {}),
    ...(memorySize !== undefined ? { memorySize } : {}),
    ...(reservedConcurrency !== undefined ? { reservedConcurrency } : {}),
    ...(allowedOrigins ? { allowedOrigins } : {}),
    ...(logLevel !== undefined ? { logLevel: logLevel as SluiceStackProps['logLevel'] } : {}),
    ...(logRetention !== undefined ? { logRetention } : {}),
    ...(bedrock ? { bedrock } : {}),
    ...(traces ? { traces } : {}),
    ...(otlp ? { otlp } : {}),
    ...(env ? { env } : {}),
    ...runtime,
  };
  return {
    stackName: typeof stackName === 'string' && stackName !== '' ? stackName : DEFAULT_STACK_NAME,
    nag: readBoolean(get, CONTEXT_KEYS.nag, true),
    stackProps,
  };
}
