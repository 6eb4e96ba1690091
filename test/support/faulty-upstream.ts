import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An upstream that fails the way providers fail, with their real status lines, headers
 * and error bodies (OpenAI's error shape, Anthropic's on `anthropic-529`), for retry and
 * fallback tests. Every request is counted. `refusedUrl()` is an address nothing listens on.
 */
export type FaultMode =
  | { kind: 'status'; status: 500 | 502 | 503 | 504; retryAfterSeconds?: number }
  | { kind: 'rate-limit'; retryAfterSeconds: number }
  | { kind: 'insufficient-quota' }
  | { kind: 'anthropic-529' }
  | { kind: 'redirect' }
  | { kind: 'slow-headers'; delayMs: number }
  /** A 200 event stream whose body then fails before its first event: `stall` sends nothing more, `cut` resets the connection, `eof` ends it cleanly; `after-first` sends one chunk, then cuts. */
  | { kind: 'stream-fault'; fault: 'stall' | 'cut' | 'eof' | 'after-first' };

export interface FaultyUpstream {
  /** Base URL with OpenAI's /v1 prefix. */
  url: string;
  requests: number;
  close(): Promise<void>;
}

const openaiError = (message: string, type: string, code: string | null) => JSON.stringify({ error: { message, type, param: null, code } });

export async function startFaultyUpstream(mode: FaultMode): Promise<FaultyUpstream> {
  const state = { requests: 0 };
  const timers = new Set<NodeJS.Timeout>();
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      state.requests++;
      const json = (status: number, body: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req_fault_${state.requests}`, ...headers });
        res.end(body);
      };
      switch (mode.kind) {
        case 'status': {
          const retry: Record<string, string> = mode.retryAfterSeconds !== undefined ? { 'retry-after': String(mode.retryAfterSeconds) } : {};
          const message = mode.status === 503 ? 'The engine is currently overloaded, please try again later.' : 'The server had an error while processing your request. Sorry about that!';
          return json(mode.status, openaiError(message, 'server_error', null), retry);
        }
        case 'rate-limit':
          return json(429, openaiError('Rate limit reached for requests per min (RPM): Limit 500, Used 500, Requested 1.', 'requests', 'rate_limit_exceeded'), {
            'retry-after': String(mode.retryAfterSeconds),
            'x-ratelimit-limit-requests': '500',
            'x-ratelimit-remaining-requests': '0',
            'x-ratelimit-reset-requests': `${mode.retryAfterSeconds}s`,
          });
        case 'insufficient-quota':
          return json(
            429,
            openaiError('You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.', 'insufficient_quota', 'insufficient_quota'),
          );
        case 'anthropic-529':
          return json(529, JSON.stringify({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }), { 'request-id': `req_fault_${state.requests}` });
        case 'redirect':
          res.writeHead(307, { location: 'https://elsewhere.example/v1/chat/completions', 'content-length': '0' });
          return res.end();
        case 'stream-fault': {
          res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': `req_fault_${state.requests}` });
          res.flushHeaders();
          if (mode.fault === 'eof') return res.end();
          if (mode.fault === 'stall') return;
          const chunk = { id: 'chatcmpl-fault', object: 'chat.completion.chunk', created: 1, model: 'test-ok', choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' }, finish_reason: null }] };
          const t = setTimeout(() => {
            timers.delete(t);
            if (mode.fault === 'after-first') res.write(`data: ${JSON.stringify(chunk)}\n\n`);
            setTimeout(() => res.socket?.destroy(), 20);
          }, 20);
          timers.add(t);
          return;
        }
        case 'slow-headers': {
          const t = setTimeout(() => {
            timers.delete(t);
            if (!res.destroyed) json(200, '{}');
          }, mode.delayMs);
          timers.add(t);
          return;
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    get requests() {
      return state.requests;
    },
    set requests(n: number) {
      state.requests = n;
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A base URL whose port refuses connections (it was bound, then released). */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}
