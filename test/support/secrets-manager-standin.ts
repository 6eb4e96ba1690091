import http from 'node:http';
import { listenLocal } from './local-server.js';

export interface SecretsManagerStandIn {
  /** Endpoint for AWS_ENDPOINT_URL_SECRETS_MANAGER. */
  url: string;
  /** SecretIds asked for, in order. */
  calls: string[];
  close(): Promise<void>;
}

/**
 * A local stand-in for Secrets Manager's GetSecretValue, speaking its JSON 1.1 protocol
 * (`X-Amz-Target: secretsmanager.GetSecretValue`, `ResourceNotFoundException` for an
 * unknown id) on 127.0.0.1. Secrets are looked up by complete ARN or by name; unsigned
 * requests are refused, as the real service does.
 */
export async function startSecretsManagerStandIn(secrets: Record<string, string>): Promise<SecretsManagerStandIn> {
  const calls: string[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'c0ffee00-0000-0000-0000-000000000001' });
        res.end(JSON.stringify(body));
      };
      if (!/Credential=[^/]+\/\d{8}\/[^/]+\/secretsmanager\/aws4_request/.test(req.headers.authorization ?? '')) {
        send(400, { __type: 'UnrecognizedClientException', message: 'The security token included in the request is invalid.' });
        return;
      }
      if (req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
        send(400, { __type: 'InvalidAction', message: `unsupported target ${String(req.headers['x-amz-target'])}` });
        return;
      }
      const { SecretId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId: string };
      calls.push(SecretId);
      const arn = Object.keys(secrets).find((a) => a === SecretId || a.split(':secret:')[1]?.replace(/-[A-Za-z0-9]{6}$/, '') === SecretId);
      if (!arn) {
        send(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
        return;
      }
      send(200, { ARN: arn, Name: arn.split(':secret:')[1]!.replace(/-[A-Za-z0-9]{6}$/, ''), SecretString: secrets[arn], VersionId: 'a1b2c3d4-0000-4000-8000-000000000000', VersionStages: ['AWSCURRENT'], CreatedDate: 1767225600 });
    });
  });
  const local = await listenLocal(server);
  return { url: `http://127.0.0.1:${local.port}`, calls, close: local.close };
}
