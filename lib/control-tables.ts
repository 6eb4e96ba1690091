import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Grant, type IGrantable } from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

export interface ControlTablesProps {
  /**
   * What happens to the tables (and their data) when the stack is deleted or a table is
   * replaced. Proxies, key hashes and policies live here, so they are kept by default.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Encryption at rest. `AWS_MANAGED` uses the account's `aws/dynamodb` key (no key to
   * pay for or rotate); `CUSTOMER_MANAGED` creates a KMS key per table.
   * @default TableEncryption.AWS_MANAGED
   */
  readonly encryption?: TableEncryption.AWS_MANAGED | TableEncryption.CUSTOMER_MANAGED;
}

/** Name of the TTL attribute on both tables (epoch seconds). */
export const TTL_ATTRIBUTE = 'ttl';
/** The control table's one GSI: list-by-owner access patterns (keys of a proxy, proxies of an org). */
export const CONTROL_GSI = 'gsi1';

/**
 * Item-level actions the stores use. Narrower than the L2 `grantReadData` family, which
 * adds Scan, DescribeTable and the stream actions the code never calls (the tables have no streams).
 */
export const READ_ACTIONS = ['dynamodb:GetItem', 'dynamodb:BatchGetItem', 'dynamodb:Query'] as const;
export const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
  'dynamodb:ConditionCheckItem',
] as const;

/**
 * The two DynamoDB tables of the gateway (layout fixed by the backbone contract):
 * - control: proxies, key hashes, policies, intents, budgets, approvals — `pk`/`sk`,
 *   GSI `gsi1` (`gsi1pk`/`gsi1sk`, projection ALL), TTL `ttl`;
 * - state: session turn counters and chains (later budgets and rate limits) — `pk`/`sk`, TTL `ttl`.
 * Both on-demand (no cost at idle), point-in-time recovery on, encrypted.
 */
export class ControlTables extends Construct {
  readonly controlTable: Table;
  readonly stateTable: Table;

  constructor(scope: Construct, id: string, props: ControlTablesProps = {}) {
    super(scope, id);
    const common = {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      sortKey: { name: 'sk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: props.encryption ?? TableEncryption.AWS_MANAGED,
      timeToLiveAttribute: TTL_ATTRIBUTE,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    };
    this.controlTable = new Table(this, 'Control', common);
    this.controlTable.addGlobalSecondaryIndex({
      indexName: CONTROL_GSI,
      partitionKey: { name: 'gsi1pk', type: AttributeType.STRING },
      sortKey: { name: 'gsi1sk', type: AttributeType.STRING },
    });
    this.stateTable = new Table(this, 'State', common);
  }

  /** Read the control table and its index (the gateway's view: it resolves keys and proxies). */
  grantControlRead(grantee: IGrantable): Grant {
    return this.grantControl(grantee, [...READ_ACTIONS]);
  }

  /** Read and write the control table (the CLI's and the admin functions' view). */
  grantControlReadWrite(grantee: IGrantable): Grant {
    return this.grantControl(grantee, [...READ_ACTIONS, ...WRITE_ACTIONS]);
  }

  /** Read the state table. */
  grantStateRead(grantee: IGrantable): Grant {
    return this.stateTable.grant(grantee, ...READ_ACTIONS);
  }

  /** Read and write the state table (counters are updated on every request). */
  grantStateReadWrite(grantee: IGrantable): Grant {
    return this.stateTable.grant(grantee, ...READ_ACTIONS, ...WRITE_ACTIONS);
  }

  /** The control table and its one index by name (no `index/*` wildcard). */
  private grantControl(grantee: IGrantable, actions: string[]): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions,
      resourceArns: [this.controlTable.tableArn, `${this.controlTable.tableArn}/index/${CONTROL_GSI}`],
    });
  }

  /** Read both tables. */
  grantReadData(grantee: IGrantable): void {
    this.grantControlRead(grantee);
    this.grantStateRead(grantee);
  }

  /** Read and write both tables. */
  grantReadWriteData(grantee: IGrantable): void {
    this.grantControlReadWrite(grantee);
    this.grantStateReadWrite(grantee);
  }
}
