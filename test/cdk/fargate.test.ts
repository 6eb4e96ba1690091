import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { addSluiceStack } from '../../lib/app.js';
import { configFromContext } from '../../lib/config.js';
import { CORS_MAX_AGE_SECONDS, corsPolicyFromEnv, EXPOSED_HEADERS } from '../../functions/local/cors.js';
import { CDK_JSON_CONTEXT, renderCfn, resourcesOfType, synthesizeApp } from './helpers.js';

const ACCOUNT = '111111111111';
const REGION = 'eu-west-1';
const PIN = { 'sluice:account': ACCOUNT, 'sluice:region': REGION };
const CERTIFICATE_ARN = `arn:aws:acm:${REGION}:${ACCOUNT}:certificate/0a1b2c3d-1111-2222-3333-444455556666`;
const FARGATE = { ...PIN, 'sluice:runtime': 'fargate', 'sluice:certificateArn': CERTIFICATE_ARN };
const BEDROCK = { foundationModelIds: ['anthropic.claude-3-haiku-20240307-v1:0'] };

type Props = Record<string, unknown>;
const one = (template: ReturnType<typeof synthesizeApp>['template'], type: string): Props => {
  const found = resourcesOfType(template, type);
  expect(found, type).toHaveLength(1);
  return renderCfn(found[0]![1]) as Props;
};
const attributes = (props: Props, key: string): Record<string, string> =>
  Object.fromEntries((props[key] as { Key: string; Value: string }[]).map((a) => [a.Key, a.Value]));

describe('cdk synth -c sluice:runtime=fargate -c sluice:certificateArn=<ARN> (pinned env)', () => {
  const s = synthesizeApp(FARGATE);

  it('passes cdk-nag and has no gateway Lambda', () => {
    expect(s.validationError).toBeUndefined();
    expect(s.stack.gateway).toBeUndefined();
    const fns = resourcesOfType(s.template, 'AWS::Lambda::Function').map(([, f]) => renderCfn(f) as { Environment?: { Variables?: Record<string, string> } });
    expect(fns.some((f) => f.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'sluice-gateway')).toBe(false);
  });

  it('load balancer: internet-facing, idle timeout past the 300 s request timeout (not the 60 s default), access logs, invalid headers dropped', () => {
    const lb = one(s.template, 'AWS::ElasticLoadBalancingV2::LoadBalancer');
    expect(lb.Scheme).toBe('internet-facing');
    const attrs = attributes(lb, 'LoadBalancerAttributes');
    expect(Number(attrs['idle_timeout.timeout_seconds'])).toBe(305);
    expect(attrs['access_logs.s3.enabled']).toBe('true');
    expect(attrs['routing.http.drop_invalid_header_fields.enabled']).toBe('true');
  });

  it('the idle timeout, deregistration delay and the container server\'s request limit follow sluice:timeoutSeconds', () => {
    const long = synthesizeApp({ ...FARGATE, 'sluice:timeoutSeconds': '900' });
    const attrs = attributes(one(long.template, 'AWS::ElasticLoadBalancingV2::LoadBalancer'), 'LoadBalancerAttributes');
    expect(Number(attrs['idle_timeout.timeout_seconds'])).toBe(905);
    const tg = attributes(one(long.template, 'AWS::ElasticLoadBalancingV2::TargetGroup'), 'TargetGroupAttributes');
    expect(Number(tg['deregistration_delay.timeout_seconds'])).toBe(900);
    const [container] = one(long.template, 'AWS::ECS::TaskDefinition').ContainerDefinitions as { Environment: { Name: string; Value: string }[] }[];
    expect(container!.Environment).toContainEqual({ Name: 'SLUICE_REQUEST_TIMEOUT_SECONDS', Value: '900' });
  });

  it('listeners: HTTPS 443 with the certificate and a TLS 1.2+ policy, HTTP 80 only redirects', () => {
    const listeners = resourcesOfType(s.template, 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => renderCfn(l) as Props);
    expect(listeners.map((l) => l.Port).sort()).toEqual([443, 80]);
    const httpsListener = listeners.find((l) => l.Port === 443)!;
    expect(httpsListener.Protocol).toBe('HTTPS');
    expect(httpsListener.Certificates).toEqual([{ CertificateArn: CERTIFICATE_ARN }]);
    expect(String(httpsListener.SslPolicy)).toMatch(/TLS13|TLS-1-2/);
    const http = listeners.find((l) => l.Port === 80)!;
    expect((http.DefaultActions as { Type: string; RedirectConfig: Props }[])[0]).toMatchObject({ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } });
    const outputs = s.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(String(renderCfn(outputs.FunctionUrl!.Value))).toMatch(/^https:\/\/\$\{FargateLoadBalancer[0-9A-F]+\.DNSName\}\/$/);
  });

  it('target group: IP targets on 8080, health check GET /healthz, deregistration delay = request timeout', () => {
    const tg = one(s.template, 'AWS::ElasticLoadBalancingV2::TargetGroup');
    expect(tg).toMatchObject({ TargetType: 'ip', Port: 8080, Protocol: 'HTTP', HealthCheckPath: '/healthz', Matcher: { HttpCode: '200' } });
    expect(Number(attributes(tg, 'TargetGroupAttributes')['deregistration_delay.timeout_seconds'])).toBe(300);
  });

  it('service: private subnets, no public IP, circuit breaker; autoscaling 2..10 on CPU 60 % and requests per target', () => {
    const service = one(s.template, 'AWS::ECS::Service');
    const net = (service.NetworkConfiguration as { AwsvpcConfiguration: { AssignPublicIp: string; Subnets: string[] } }).AwsvpcConfiguration;
    expect(net.AssignPublicIp).toBe('DISABLED');
    expect(net.Subnets.every((id) => /PrivateSubnet|privateSubnet/.test(id))).toBe(true);
    expect(service.DeploymentConfiguration).toMatchObject({ DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100 });
    expect(one(s.template, 'AWS::ApplicationAutoScaling::ScalableTarget')).toMatchObject({ MinCapacity: 2, MaxCapacity: 10 });
    const policies = resourcesOfType(s.template, 'AWS::ApplicationAutoScaling::ScalingPolicy').map(([, p]) => renderCfn(p) as { TargetTrackingScalingPolicyConfiguration: { TargetValue: number; PredefinedMetricSpecification: { PredefinedMetricType: string } } });
    const byMetric = Object.fromEntries(policies.map((p) => [p.TargetTrackingScalingPolicyConfiguration.PredefinedMetricSpecification.PredefinedMetricType, p.TargetTrackingScalingPolicyConfiguration.TargetValue]));
    expect(byMetric).toEqual({ ECSServiceAverageCPUUtilization: 60, ALBRequestCountPerTarget: 600 });
    // A NAT gateway carries the tasks' calls to provider APIs.
    expect(resourcesOfType(s.template, 'AWS::EC2::NatGateway')).toHaveLength(1);
  });

  it('container: the image asset, non-root, read-only root, stop timeout past the SIGTERM drain, blocking awslogs with retention', () => {
    const task = one(s.template, 'AWS::ECS::TaskDefinition');
    expect(task.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    const [container] = task.ContainerDefinitions as Props[];
    // An image asset: pushed by `cdk deploy` to the bootstrap repository, tagged with the context hash.
    expect(JSON.stringify(container!.Image)).toMatch(new RegExp(`cdk-hnb659fds-container-assets-${ACCOUNT}-${REGION}:[0-9a-f]{64}`));
    expect(container).toMatchObject({ User: 'node', ReadonlyRootFilesystem: true, StopTimeout: 30, PortMappings: [{ ContainerPort: 8080 }] });
    expect(container!.MountPoints).toEqual([{ ContainerPath: '/tmp', SourceVolume: 'tmp', ReadOnly: false }]);
    const log = container!.LogConfiguration as { LogDriver: string; Options: Record<string, string> };
    expect(log.LogDriver).toBe('awslogs');
    expect(log.Options.mode).toBe('blocking');
    const groups = resourcesOfType(s.template, 'AWS::Logs::LogGroup').map(([, g]) => g.RetentionInDays);
    expect(groups.every((days) => days === 30)).toBe(true);
  });

  it('tasks admit the gateway port from the load balancer only', () => {
    const ingress = resourcesOfType(s.template, 'AWS::EC2::SecurityGroupIngress').map(([, i]) => renderCfn(i) as Props);
    const toTasks = ingress.filter((i) => i.FromPort === 8080);
    expect(toTasks).toHaveLength(1);
    expect(String(toTasks[0]!.SourceSecurityGroupId)).toMatch(/^\$\{FargateLoadBalancerSg[0-9A-F]+\.GroupId\}$/);
  });
});

describe('monitoring on Fargate reads the gateway EMF metrics (as the Lambda does)', () => {
  const s = synthesizeApp({ ...FARGATE, 'sluice:governance': 'true' });
  const EMF = { Namespace: 'Sluice', Dimensions: [{ Name: 'service', Value: 'sluice-gateway' }] };

  it('the tasks emit EMF (POWERTOOLS_METRICS_NAMESPACE set); the only log metric filter left is TraceRowsLost', () => {
    const task = one(s.template, 'AWS::ECS::TaskDefinition') as { ContainerDefinitions: Array<{ Environment: Array<{ Name: string; Value: string }> }> };
    const env = Object.fromEntries(task.ContainerDefinitions[0]!.Environment.map((e) => [e.Name, e.Value]));
    expect(env).toMatchObject({ POWERTOOLS_METRICS_NAMESPACE: 'Sluice', POWERTOOLS_SERVICE_NAME: 'sluice-gateway' });
    expect(resourcesOfType(s.template, 'AWS::Logs::MetricFilter').map(([, f]) => (renderCfn(f) as any).MetricTransformations[0].MetricName)).toEqual(['TraceRowsLost']);
  });

  it('refusal, policy-error and hold alarms on the EMF namespace and [service] dimension; runtime alarms on the load balancer', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('budgets or rate limits'),
      Metrics: Match.arrayWith([Match.objectLike({ Id: 'inv', MetricStat: Match.objectLike({ Metric: { MetricName: 'Requests', ...EMF } }) })]),
    });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'PolicyErrors', ...EMF });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'Policy_hold', ...EMF });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'HTTPCode_ELB_5XX_Count', Namespace: 'AWS/ApplicationELB' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'UnHealthyHostCount' });
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'TargetResponseTime', ExtendedStatistic: 'p99', Threshold: 240 });
  });

  it('the dashboard graphs the request metrics', () => {
    const body = String((one(s.template, 'AWS::CloudWatch::Dashboard') as { DashboardBody: unknown }).DashboardBody);
    for (const name of ['Requests', 'Errors', 'LatencyMs', 'TtftMs', 'InputTokens', 'OutputTokens', 'CostUsd']) {
      expect(body).toContain(`"Sluice","${name}","service","sluice-gateway"`);
    }
  });
});

describe('CORS on Fargate is the Function URL\'s (one definition, functions/local/cors.ts)', () => {
  it('the Lambda Function URL is configured from the values the container server answers with', () => {
    const url = one(synthesizeApp(PIN).template, 'AWS::Lambda::Url') as { Cors: Record<string, unknown> };
    expect(url.Cors).toEqual({ AllowHeaders: ['*'], AllowMethods: ['*'], AllowOrigins: ['*'], ExposeHeaders: [...EXPOSED_HEADERS], MaxAge: CORS_MAX_AGE_SECONDS });
  });

  it('sluice:allowedOrigins reaches the tasks as SLUICE_CORS_ALLOWED_ORIGINS (default *)', () => {
    const envOf = (ctx: Record<string, unknown>) => {
      const [container] = one(synthesizeApp(ctx).template, 'AWS::ECS::TaskDefinition').ContainerDefinitions as { Environment: { Name: string; Value: string }[] }[];
      return Object.fromEntries(container!.Environment.map((e) => [e.Name, e.Value]));
    };
    expect(envOf({ ...FARGATE, 'sluice:allowedOrigins': 'https://a.example, https://b.example' }).SLUICE_CORS_ALLOWED_ORIGINS).toBe('https://a.example,https://b.example');
    expect(corsPolicyFromEnv({ SLUICE_CORS_ALLOWED_ORIGINS: 'https://a.example,https://b.example' })).toEqual({ allowedOrigins: ['https://a.example', 'https://b.example'] });
  });
});

describe('the Fargate task carries the same environment and grants as the Lambda', () => {
  const context = { ...PIN, 'sluice:traces': 's3', 'sluice:governance': 'true', 'sluice:bedrock': BEDROCK, 'sluice:otlpEndpoint': 'https://api.honeycomb.io' };
  const lambda = synthesizeApp(context);
  const fargate = synthesizeApp({ ...context, 'sluice:runtime': 'fargate', 'sluice:certificateArn': CERTIFICATE_ARN });

  it('environment', () => {
    const fns = resourcesOfType(lambda.template, 'AWS::Lambda::Function').map(([, f]) => renderCfn(f) as { Environment: { Variables: Record<string, string> } });
    const lambdaEnv = fns.find((f) => f.Environment.Variables.POWERTOOLS_SERVICE_NAME === 'sluice-gateway')!.Environment.Variables;
    const [container] = one(fargate.template, 'AWS::ECS::TaskDefinition').ContainerDefinitions as { Environment: { Name: string; Value: string }[] }[];
    const taskEnv = Object.fromEntries(container!.Environment.map((e) => [e.Name, e.Value]));
    // NODE_OPTIONS=--enable-source-maps maps the Lambda's bundle back to the sources; the
    // container runs the sources themselves (tsx), so it has no bundle to map.
    const { NODE_OPTIONS, ...lambdaOwn } = lambdaEnv;
    expect(NODE_OPTIONS).toBe('--enable-source-maps');
    // The Lambda's limit is its function timeout; the container server enforces the same one itself.
    const { SLUICE_REQUEST_TIMEOUT_SECONDS, SLUICE_CORS_ALLOWED_ORIGINS, ...taskOwn } = taskEnv;
    expect(SLUICE_REQUEST_TIMEOUT_SECONDS).toBe('300');
    // The Lambda's CORS is its Function URL's; the container server does the same itself.
    expect(SLUICE_CORS_ALLOWED_ORIGINS).toBe('*');
    const sorted = (env: Record<string, string>) => JSON.stringify(Object.keys(env).sort().map((k) => [k, env[k]]));
    expect(sorted(taskOwn)).toBe(sorted(lambdaOwn));
    expect(taskEnv.SLUICE_TRACE_SINK).toBe('firehose,otlp');
  });

  it('IAM statements (DynamoDB, Firehose, secrets, Bedrock, SNS, approvals)', () => {
    const statementsOf = (template: typeof lambda.template, roleRef: RegExp) =>
      resourcesOfType(template, 'AWS::IAM::Policy')
        .map(([, p]) => renderCfn(p) as { Roles: string[]; PolicyDocument: { Statement: unknown[] } })
        .filter((p) => p.Roles.some((r) => roleRef.test(r)))
        .flatMap((p) => p.PolicyDocument.Statement.map((st) => JSON.stringify(st)))
        .sort();
    const lambdaStatements = statementsOf(lambda.template, /^\$\{GatewayFunctionServiceRole/);
    const taskStatements = statementsOf(fargate.template, /^\$\{FargateTaskTaskRole/);
    expect(lambdaStatements.length).toBeGreaterThan(5);
    expect(taskStatements).toEqual(lambdaStatements);
    expect(taskStatements.join()).toContain('bedrock:InvokeModelWithResponseStream');
  });
});

describe('HTTPS by default', () => {
  it('sluice:runtime=fargate without a certificate is refused, naming the escape hatch', () => {
    expect(() => configFromContext((k) => ({ ...PIN, 'sluice:runtime': 'fargate' }) [k as never])).toThrow(/sluice:certificateArn=<ACM certificate ARN>.*sluice:allowHttp=true/s);
  });

  it('without a pinned env, or with a certificate of another Region, it is refused too', () => {
    expect(() => configFromContext((k) => ({ 'sluice:runtime': 'fargate', 'sluice:certificateArn': CERTIFICATE_ARN }) [k as never])).toThrow(/needs sluice:account and sluice:region/);
    const elsewhere = CERTIFICATE_ARN.replace(REGION, 'us-east-1');
    expect(() => configFromContext((k) => ({ ...PIN, 'sluice:runtime': 'fargate', 'sluice:certificateArn': elsewhere }) [k as never])).toThrow(/in us-east-1, the stack in eu-west-1/);
    expect(() => configFromContext((k) => ({ 'sluice:certificateArn': CERTIFICATE_ARN }) [k as never])).toThrow(/only used with sluice:runtime=fargate/);
  });

  it('Lambda-only settings are refused on Fargate rather than ignored', () => {
    const withFargate = (extra: Record<string, unknown>) => () => configFromContext((k) => ({ ...FARGATE, ...extra }) [k as never]);
    expect(withFargate({ 'sluice:reservedConcurrency': '50' })).toThrow(/does not support sluice:reservedConcurrency/);
    expect(withFargate({ 'sluice:xrayTracing': 'true' })).toThrow(/does not support sluice:xrayTracing=true/);
    expect(withFargate({ 'sluice:xrayTracing': 'false', 'sluice:memorySize': '2048' })).not.toThrow();
  });

  it('sluice:allowHttp=true: one plain HTTP listener forwarding to the tasks', () => {
    const s = synthesizeApp({ ...PIN, 'sluice:runtime': 'fargate', 'sluice:allowHttp': 'true' });
    expect(s.validationError).toBeUndefined();
    const listeners = resourcesOfType(s.template, 'AWS::ElasticLoadBalancingV2::Listener').map(([, l]) => renderCfn(l) as Props);
    expect(listeners).toHaveLength(1);
    expect(listeners[0]).toMatchObject({ Port: 80, Protocol: 'HTTP' });
    expect((listeners[0]!.DefaultActions as { Type: string }[])[0]!.Type).toBe('forward');
  });
});

describe('the image is staged at synth, not built (no Docker daemon needed for cdk synth)', () => {
  it('cdk.out holds the build context (only what the Dockerfile copies) and an arm64 docker image asset', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'sluice-fargate-'));
    try {
      const app = new App({ outdir, context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...FARGATE, 'sluice:nag': false } });
      const stack = addSluiceStack(app);
      app.synth();
      const manifest = JSON.parse(readFileSync(join(outdir, `${stack.stackName}.assets.json`), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; platform: string } }> };
      const images = Object.values(manifest.dockerImages);
      expect(images).toHaveLength(1);
      expect(images[0]!.source.platform).toBe('linux/arm64');
      const context = join(outdir, images[0]!.source.directory);
      expect(readdirSync(context).sort()).toEqual(['.dockerignore', 'Dockerfile', 'console', 'functions', 'package-lock.json', 'package.json', 'tsconfig.json']);
      expect(existsSync(join(context, 'functions/local/container.ts'))).toBe(true);
      expect(existsSync(join(context, 'node_modules'))).toBe(false);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
