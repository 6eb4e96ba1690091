import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI chat-completions upstream that answers by the provider key it is sent
 * (`Authorization: Bearer <key>`), the way OpenAI answers: a revoked key 401
 * `invalid_api_key`, a rate-limited key 429 `rate_limit_exceeded` (with or without
 * Retry-After), any other key a `chat.completion`. Requests are counted per key, so
 * key-rotation tests can see which key each request used.
 */
export type KeyAnswer = 'ok' | 'revoked' | { rateLimited: true; retryAfterSeconds?: number };

export interface KeyedUpstream {
  url: string;
  /** Requests per key (the last 4 characters of the key: the test knows its keys). */
  hits: Record<string, number>;
  /** Change how a key answers from now on. */
  set(key: string, answer: KeyAnswer): void;
  close(): Promise<void>;
}

const openaiError = (message: string, type: string, code: string | null) => JSON.stringify({ error: { message, type, param: null, code } });

export async function startKeyedUpstream(answers: Record<string, KeyAnswer>): Promise<KeyedUpstream> {
  const hits: Record<string, number> = {};
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      n++;
      const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
      hits[key] = (hits[key] ?? 0) + 1;
      const json = (status: number, body: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_keyed_${n}`, ...headers });
        res.end(body);
      };
      const answer = answers[key];
      if (answer === undefined || answer === 'revoked') {
        return json(401, openaiError(`Incorrect API key provided: ${key.slice(0, 3)}*****${key.slice(-4)}. You can find your API key at https://platform.openai.com/account/api-keys.`, 'invalid_request_error', 'invalid_api_key'));
      }
      if (answer !== 'ok') {
        return json(429, openaiError('Rate limit reached for requests per min (RPM): Limit 3, Used 3, Requested 1.', 'requests', 'rate_limit_exceeded'), {
          'x-ratelimit-limit-requests': '3',
          'x-ratelimit-remaining-requests': '0',
          ...(answer.retryAfterSeconds !== undefined ? { 'retry-after': String(answer.retryAfterSeconds) } : {}),
        });
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as { model?: string };
      json(
        200,
        JSON.stringify({
          id: `chatcmpl-keyed${n}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: body.model ?? 'gpt-4o-mini',
          choices: [{ index: 0, message: { role: 'assistant', content: 'served', refusal: null }, logprobs: null, finish_reason: 'stop' }],
          usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
          system_fingerprint: 'fp_keyed',
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    hits,
    set(key, answer) {
      answers[key] = answer;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
