import http from 'node:http';
import { listenLocal } from './local-server.js';

/** A stack as DescribeStacks reports it. */
export interface StandInStack {
  name: string;
  status?: string;
  outputs: Record<string, string>;
}

export interface DescribeStacksCall {
  stackName: string | undefined;
  /** Region of the SigV4 credential scope the caller signed with. */
  region: string | undefined;
  /** Service of the credential scope (`cloudformation`). */
  service: string | undefined;
}

export interface CloudFormationStandIn {
  /** Endpoint for AWS_ENDPOINT_URL_CLOUDFORMATION. */
  url: string;
  calls: DescribeStacksCall[];
  close(): Promise<void>;
}

const XMLNS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function describeStacksXml(stack: StandInStack, region: string): string {
  const outputs = Object.entries(stack.outputs)
    .map(([k, v]) => `<member><OutputKey>${xmlEscape(k)}</OutputKey><OutputValue>${xmlEscape(v)}</OutputValue></member>`)
    .join('');
  return `<DescribeStacksResponse xmlns="${XMLNS}"><DescribeStacksResult><Stacks><member>` +
    `<StackId>arn:aws:cloudformation:${region}:123456789012:stack/${xmlEscape(stack.name)}/6c5e2c50-0000-11f0-0000-0a1b2c3d4e5f</StackId>` +
    `<StackName>${xmlEscape(stack.name)}</StackName><CreationTime>2026-01-01T00:00:00.000Z</CreationTime>` +
    `<StackStatus>${stack.status ?? 'CREATE_COMPLETE'}</StackStatus><Outputs>${outputs}</Outputs>` +
    `</member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata></DescribeStacksResponse>`;
}

function errorXml(code: string, message: string): string {
  return `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>c0ffee00-0000-0000-0000-000000000000</RequestId></ErrorResponse>`;
}

/**
 * A local stand-in for CloudFormation's DescribeStacks, speaking its query protocol
 * (form-encoded POST, XML answers, `ValidationError` for an unknown stack) on 127.0.0.1.
 * Refuses unsigned requests, as the real service does.
 */
export async function startCloudFormationStandIn(stacks: StandInStack[]): Promise<CloudFormationStandIn> {
  const calls: DescribeStacksCall[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: string) => {
        res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': 'c0ffee00-0000-0000-0000-000000000000' });
        res.end(body);
      };
      const auth = req.headers.authorization ?? '';
      const scope = /Credential=[^/]+\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth);
      if (req.method !== 'POST' || !scope) {
        send(403, errorXml('MissingAuthenticationToken', 'Request is missing Authentication Token'));
        return;
      }
      const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
      if (form.get('Action') !== 'DescribeStacks' || form.get('Version') !== '2010-05-15') {
        send(400, errorXml('InvalidAction', `Unsupported action ${form.get('Action')}`));
        return;
      }
      const stackName = form.get('StackName') ?? undefined;
      calls.push({ stackName, region: scope[1], service: scope[2] });
      const stack = stacks.find((s) => s.name === stackName);
      if (!stack) {
        send(400, errorXml('ValidationError', `Stack with id ${stackName ?? ''} does not exist`));
        return;
      }
      send(200, describeStacksXml(stack, scope[1]!));
    });
  });
  const local = await listenLocal(server);
  return { url: `http://127.0.0.1:${local.port}`, calls, close: local.close };
}
