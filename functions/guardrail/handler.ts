import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { bedrockJudge } from './bedrock-judge.js';
import { handleScore, type ScorerDeps } from './scorer.js';

/**
 * The reference intent scorer as a Lambda Function URL (buffered): GUARDRAIL_SECRET (or
 * the secret named by GUARDRAIL_SECRET_ARN, read once), GUARDRAIL_MODEL_ID (the judge).
 */
export function createScorerHandler(depsFor: () => Promise<ScorerDeps>) {
  let deps: Promise<ScorerDeps> | undefined;
  return async (event: LambdaFunctionURLEvent): Promise<LambdaFunctionURLResult> => {
    deps ??= depsFor();
    deps.catch(() => {
      deps = undefined;
    });
    const body = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
    const res = await handleScore(await deps, {
      method: event.requestContext.http.method,
      path: event.rawPath,
      ...(event.headers?.authorization ? { authorization: event.headers.authorization } : {}),
      body,
    });
    return { statusCode: res.status, headers: { 'content-type': 'application/json' }, body: res.body };
  };
}

export function scorerDepsFromEnv(env: NodeJS.ProcessEnv): () => Promise<ScorerDeps> {
  return async () => {
    let secret = env.GUARDRAIL_SECRET;
    if (!secret && env.GUARDRAIL_SECRET_ARN) {
      const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
      secret = (await new SecretsManagerClient({}).send(new GetSecretValueCommand({ SecretId: env.GUARDRAIL_SECRET_ARN }))).SecretString;
    }
    const { BedrockRuntimeClient } = await import('@aws-sdk/client-bedrock-runtime');
    const client = Promise.resolve(new BedrockRuntimeClient({ ...(env.GUARDRAIL_BEDROCK_ENDPOINT ? { endpoint: env.GUARDRAIL_BEDROCK_ENDPOINT } : {}), maxAttempts: 2 }));
    return { secret, complete: bedrockJudge(client, env.GUARDRAIL_MODEL_ID ?? 'anthropic.claude-3-5-haiku-20241022-v1:0') };
  };
}

export const handler = createScorerHandler(scorerDepsFromEnv(process.env));
