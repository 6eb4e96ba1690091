import type { BedrockRuntimeClient } from '@aws-sdk/client-bedrock-runtime';

/** The judge model through Bedrock Converse (the function's IAM role signs the call). */
export function bedrockJudge(client: Promise<BedrockRuntimeClient>, modelId: string, timeoutMs = 12_000) {
  return async (system: string, prompt: string): Promise<string> => {
    const { ConverseCommand } = await import('@aws-sdk/client-bedrock-runtime');
    const out = await (await client).send(
      new ConverseCommand({
        modelId,
        system: [{ text: system }],
        messages: [{ role: 'user', content: [{ text: prompt }] }],
        inferenceConfig: { maxTokens: 200, temperature: 0 },
      }),
      { abortSignal: AbortSignal.timeout(timeoutMs) },
    );
    return (out.output?.message?.content ?? []).map((b) => b.text ?? '').join('');
  };
}
