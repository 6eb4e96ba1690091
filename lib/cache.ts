import { Stack } from 'aws-cdk-lib';
import {
  FlowLogDestination,
  GatewayVpcEndpointAwsService,
  InterfaceVpcEndpointAwsService,
  Port,
  SecurityGroup,
  SubnetType,
  Vpc,
  type IVpc,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import { CfnServerlessCache } from 'aws-cdk-lib/aws-elasticache';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface CacheProps {
  /**
   * Number of Availability Zones of the VPC (each AZ adds one set of interface endpoint
   * ENIs, billed per hour). ElastiCache Serverless needs subnets in at least two AZs.
   * @default 2
   */
  readonly maxAzs?: number;
  /**
   * NAT gateways for the function's calls to provider APIs outside AWS (OpenAI, Anthropic…).
   * One is the cheapest; one per AZ survives an AZ outage.
   * @default 1
   */
  readonly natGateways?: number;
  /**
   * Major engine version of Valkey.
   * @default '8'
   */
  readonly majorEngineVersion?: string;
  /**
   * Upper bound of cached data, in GB; caps the cost of a runaway key space.
   * @default 1
   */
  readonly maxDataStorageGb?: number;
  /**
   * Retention of the VPC flow logs.
   * @default RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: RetentionDays;
}

/**
 * Opt-in shared cache: ElastiCache Serverless (Valkey; TLS is always on for serverless
 * caches) in a private VPC built for it. The gateway joins this VPC only when the cache
 * is enabled: a NAT gateway carries its calls to provider APIs, and VPC endpoints keep
 * AWS traffic (DynamoDB, Firehose, Bedrock runtime, Secrets Manager, SNS) off the NAT.
 */
export class Cache extends Construct {
  readonly vpc: IVpc;
  /** Subnets the cache clients (the gateway function) are placed in. */
  readonly clientSubnets: SubnetSelection;
  /** Security group to attach to cache clients; the cache admits only this group. */
  readonly clientSecurityGroup: SecurityGroup;
  readonly serverlessCache: CfnServerlessCache;
  /** `rediss://host:port` (TLS) for the gateway's `REDIS_URL`. */
  readonly redisUrl: string;

  constructor(scope: Construct, id: string, props: CacheProps = {}) {
    super(scope, id);
    this.vpc = new Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs ?? 2,
      natGateways: props.natGateways ?? 1,
      subnetConfiguration: [
        { name: 'public', subnetType: SubnetType.PUBLIC, cidrMask: 24 },
        { name: 'private', subnetType: SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      flowLogs: {
        all: {
          destination: FlowLogDestination.toCloudWatchLogs(
            new LogGroup(this, 'FlowLogs', { retention: props.flowLogRetention ?? RetentionDays.ONE_MONTH }),
          ),
        },
      },
    });
    this.clientSubnets = { subnetType: SubnetType.PRIVATE_WITH_EGRESS };

    // A gateway endpoint is free; interface endpoints are billed per AZ-hour.
    this.vpc.addGatewayEndpoint('DynamoDb', { service: GatewayVpcEndpointAwsService.DYNAMODB });
    this.clientSecurityGroup = new SecurityGroup(this, 'ClientSg', {
      vpc: this.vpc,
      description: 'Sluice cache clients (the gateway function)',
      allowAllOutbound: true,
    });
    const interfaceEndpoints = {
      Firehose: InterfaceVpcEndpointAwsService.KINESIS_FIREHOSE,
      BedrockRuntime: InterfaceVpcEndpointAwsService.BEDROCK_RUNTIME,
      SecretsManager: InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
      Sns: InterfaceVpcEndpointAwsService.SNS,
    };
    for (const [name, service] of Object.entries(interfaceEndpoints)) {
      // Closed by default, then HTTPS admitted from the gateway's security group only.
      const endpoint = this.vpc.addInterfaceEndpoint(name, {
        service,
        subnets: this.clientSubnets,
        privateDnsEnabled: true,
        open: false,
      });
      endpoint.connections.allowDefaultPortFrom(this.clientSecurityGroup, 'HTTPS from the gateway');
    }

    const cacheSg = new SecurityGroup(this, 'CacheSg', {
      vpc: this.vpc,
      description: 'Sluice ElastiCache Serverless: Valkey from the gateway only',
      allowAllOutbound: false,
    });
    // 6379: endpoint; 6380: reader endpoint of serverless caches.
    cacheSg.addIngressRule(this.clientSecurityGroup, Port.tcpRange(6379, 6380), 'Valkey (TLS) from the gateway');

    const privateSubnetIds = this.vpc.selectSubnets(this.clientSubnets).subnetIds;
    this.serverlessCache = new CfnServerlessCache(this, 'Valkey', {
      engine: 'valkey',
      majorEngineVersion: props.majorEngineVersion ?? '8',
      serverlessCacheName: `${Stack.of(this).stackName}-cache`.toLowerCase().slice(0, 40),
      description: 'Sluice identity, policy and session-chain cache',
      securityGroupIds: [cacheSg.securityGroupId],
      subnetIds: privateSubnetIds,
      cacheUsageLimits: { dataStorage: { maximum: props.maxDataStorageGb ?? 1, unit: 'GB' } },
    });
    this.redisUrl = `rediss://${this.serverlessCache.attrEndpointAddress}:${this.serverlessCache.attrEndpointPort}`;
  }
}
