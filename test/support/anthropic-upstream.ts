/**
 * A wire-faithful Anthropic Messages upstream for tests and benchmarks.
 *
 * | route | plain | `stream: true` |
 * |---|---|---|
 * | `POST /v1/messages` | `message` | `event: message_start`, `content_block_start`, `ping`, `content_block_delta` (text_delta, input_json_delta, thinking_delta, signature_delta), `content_block_stop`, `message_delta` (stop_reason, cumulative usage), `message_stop` |
 * | `POST /v1/messages/count_tokens` | `{"input_tokens"}` | |
 * | `GET /v1/models` | one page of models (`MODEL_PAGE`) | |
 *
 * It checks what Anthropic checks and a translator can get wrong: `x-api-key` (when
 * configured) and `anthropic-version`, `max_tokens` present, roles only user/assistant,
 * temperature in [0, 1], every tool_result answering a tool_use of the previous turn,
 * tool_choice needing tools. Errors are `{"type":"error","error":{"type","message"}}`.
 *
 * Behaviour is chosen by `+` suffixes on the model name (any gateway forwards them):
 * `claude-sonnet-4-5+tools+thinking`. Suffixes: `tools` (one tool_use per offered tool,
 * up to 2), `text-tool` (two text blocks, then the tool calls), `thinking` (a thinking
 * block with signature first), `signature-only` (a thinking block with an empty text and
 * only a signature), `cache` (cache read 100 and write 20 tokens), `error=<status>`
 * (429 with retry-after, 529 overloaded, 400 context length with `context`),
 * `stream-error=<n>` (an overloaded `error` event after n events), `cut=<n>` (socket
 * destroyed after n events), `eof=<n>` (the body ends cleanly after n events, without
 * message_stop), `slow` (20 ms between events), `max` (stop_reason
 * max_tokens), `refusal`.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal, readBody, upstreamHandle } from './local-server.js';
import { createHash } from 'node:crypto';
import { countTokens, replyTo, splitIntoTokens } from './upstream/content.js';

export { replyTo } from './upstream/content.js';

/** `GET /v1/models`: one page as Anthropic answers it (fields the SDK reads). */
export const MODEL_PAGE = {
  data: [
    { type: 'model', id: 'claude-sonnet-4-5-20250929', display_name: 'Claude Sonnet 4.5', created_at: '2025-09-29T00:00:00Z' },
    { type: 'model', id: 'claude-haiku-4-5-20251001', display_name: 'Claude Haiku 4.5', created_at: '2025-10-15T00:00:00Z' },
  ],
  has_more: false,
  first_id: 'claude-sonnet-4-5-20250929',
  last_id: 'claude-haiku-4-5-20251001',
};

export interface AnthropicRecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

export interface AnthropicUpstream {
  /** Base URL ending in /v1. */
  readonly url: string;
  readonly requests: AnthropicRecordedRequest[];
  reset(): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

export interface Options {
  scenario: Set<string>;
  params: Map<string, string>;
}

export function scenarioOf(model: string): Options {
  const [, ...parts] = model.split('+');
  const scenario = new Set<string>();
  const params = new Map<string, string>();
  for (const p of parts) {
    const [name, value] = p.split('=') as [string, string | undefined];
    scenario.add(name);
    if (value !== undefined) params.set(name, value);
  }
  return { scenario, params };
}

const errorBody = (type: string, message: string) => ({ type: 'error', error: { type, message } });

export class InvalidRequest extends Error {}

function check(cond: unknown, message: string): void {
  if (!cond) throw new InvalidRequest(message);
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return (content as Json[]).map((b) => (b.type === 'text' ? String(b.text) : b.type === 'tool_result' ? textOf(b.content) : '')).filter(Boolean).join(' ');
}

/** Validates a Messages request the way the API does for the fields translators write. */
export function validate(body: Json, countOnly: boolean): void {
  check(typeof body.model === 'string', 'model: Field required');
  if (!countOnly) check(Number.isInteger(body.max_tokens) && (body.max_tokens as number) > 0, 'max_tokens: Field required');
  check(Array.isArray(body.messages) && body.messages.length > 0, 'messages: at least one message is required');
  if (body.temperature !== undefined) check(typeof body.temperature === 'number' && body.temperature >= 0 && body.temperature <= 1, 'temperature: Input should be less than or equal to 1');
  if (body.tool_choice !== undefined) check(Array.isArray(body.tools) || (body.tool_choice as Json).type === 'none', 'tool_choice may only be specified while providing tools.');
  const messages = body.messages as Json[];
  check(messages[0]!.role === 'user', 'messages: first message must use the "user" role');
  let previousToolUses = new Set<string>();
  messages.forEach((m, i) => {
    check(m.role === 'user' || m.role === 'assistant', `messages.${i}.role: Input should be 'user' or 'assistant'`);
    if (i > 0) check(messages[i - 1]!.role !== m.role, `messages: roles must alternate between "user" and "assistant" (messages.${i})`);
    const blocks = Array.isArray(m.content) ? (m.content as Json[]) : [];
    if (m.role === 'user') {
      for (const b of blocks) {
        if (b.type === 'tool_result') check(previousToolUses.has(String(b.tool_use_id)), `messages.${i}: tool_result block(s) provided when previous message does not contain a matching tool_use (${String(b.tool_use_id)})`);
        if (b.type === 'image') {
          const src = b.source as Json;
          check(src.type === 'base64' || src.type === 'url', `messages.${i}: image source type must be base64 or url`);
        }
      }
    }
    previousToolUses = new Set(m.role === 'assistant' ? blocks.filter((b) => b.type === 'tool_use').map((b) => String(b.id)) : []);
    if (m.role === 'assistant') {
      const firstNonThinking = blocks.findIndex((b) => b.type !== 'thinking' && b.type !== 'redacted_thinking');
      const lastThinking = blocks.map((b) => b.type).lastIndexOf('thinking');
      check(firstNonThinking < 0 || lastThinking < firstNonThinking, `messages.${i}: thinking blocks must come first`);
      for (const b of blocks) if (b.type === 'thinking') check(typeof b.signature === 'string', `messages.${i}: thinking.signature: Field required`);
    }
  });
}

function lastUserText(messages: Json[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    const blocks = Array.isArray(m.content) ? (m.content as Json[]) : [];
    const texts = typeof m.content === 'string' ? [m.content] : blocks.filter((b) => b.type === 'text').map((b) => String(b.text));
    if (texts.length > 0) return texts.join(' ');
    if (blocks.some((b) => b.type === 'tool_result')) return `results ${textOf(m.content)}`;
  }
  return '';
}

export function inputTokens(body: Json): number {
  const system = Array.isArray(body.system) ? textOf(body.system) : typeof body.system === 'string' ? body.system : '';
  return countTokens(system) + (body.messages as Json[]).reduce((n, m) => n + countTokens(textOf(m.content)), 0);
}

/** The content blocks the "model" answers with, and why it stopped. */
export function answer(body: Json, opts: Options): { blocks: Json[]; stopReason: string } {
  const messages = body.messages as Json[];
  const prompt = lastUserText(messages);
  const blocks: Json[] = [];
  const turn = messages.length;
  if (opts.scenario.has('thinking')) blocks.push({ type: 'thinking', thinking: `Thinking about ${prompt}`, signature: `sig-${turn}-abc` });
  if (opts.scenario.has('signature-only')) blocks.push({ type: 'thinking', thinking: '', signature: `sig-only-${turn}` });
  const tools = Array.isArray(body.tools) ? (body.tools as Json[]) : [];
  const choice = (body.tool_choice as Json | undefined)?.type;
  const wantsTools = (opts.scenario.has('tools') || opts.scenario.has('text-tool')) && tools.length > 0 && choice !== 'none';
  if (opts.scenario.has('text-tool')) {
    blocks.push({ type: 'text', text: 'Let me check.' });
    blocks.push({ type: 'text', text: ' One moment.' });
  } else if (!wantsTools) {
    blocks.push({ type: 'text', text: opts.scenario.has('refusal') ? '' : replyTo(prompt) });
  }
  if (wantsTools) {
    const offered = choice === 'tool' ? tools.filter((t) => t.name === (body.tool_choice as Json).name) : tools.slice(0, 2);
    offered.forEach((t, i) => {
      const props = Object.keys(((t.input_schema as Json | undefined)?.properties as Json | undefined) ?? {});
      const input = props.length > 0 ? { [props[0]!]: prompt } : {};
      const id = `toolu_${createHash('sha256').update(`${turn}:${i}:${JSON.stringify(messages)}`).digest('hex').slice(0, 20)}`;
      blocks.push({ type: 'tool_use', id, name: t.name, input });
    });
  }
  const stopReason = wantsTools ? 'tool_use' : opts.scenario.has('max') ? 'max_tokens' : opts.scenario.has('refusal') ? 'refusal' : 'end_turn';
  return { blocks, stopReason };
}

export function usageFor(body: Json, blocks: Json[], opts: Options): Json {
  const cache = opts.scenario.has('cache');
  const output = blocks.reduce((n, b) => n + (b.type === 'text' ? splitIntoTokens(String(b.text)).length : b.type === 'tool_use' ? 5 : b.type === 'thinking' ? countTokens(String(b.thinking)) + 1 : 0), 0);
  return {
    input_tokens: inputTokens(body),
    cache_creation_input_tokens: cache ? 20 : 0,
    cache_read_input_tokens: cache ? 100 : 0,
    output_tokens: output,
  };
}

export function streamEvents(id: string, model: string, blocks: Json[], stopReason: string, usage: Json): Array<[string, Json]> {
  const events: Array<[string, Json]> = [];
  events.push(['message_start', { type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usage, output_tokens: 1 } } }]);
  events.push(['ping', { type: 'ping' }]);
  blocks.forEach((b, index) => {
    if (b.type === 'text') {
      events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }]);
      for (const piece of splitIntoTokens(String(b.text))) events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: piece } }]);
    } else if (b.type === 'tool_use') {
      events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } }]);
      const json = JSON.stringify(b.input);
      const cut = Math.ceil(json.length / 2);
      for (const part of [json.slice(0, cut), json.slice(cut)]) events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: part } }]);
    } else if (b.type === 'thinking') {
      events.push(['content_block_start', { type: 'content_block_start', index, content_block: { type: 'thinking', thinking: '', signature: '' } }]);
      for (const piece of splitIntoTokens(String(b.thinking))) events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'thinking_delta', thinking: piece } }]);
      events.push(['content_block_delta', { type: 'content_block_delta', index, delta: { type: 'signature_delta', signature: b.signature } }]);
    }
    events.push(['content_block_stop', { type: 'content_block_stop', index }]);
    if (index === 0) events.push(['ping', { type: 'ping' }]);
  });
  events.push(['message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: usage.output_tokens } }]);
  events.push(['message_stop', { type: 'message_stop' }]);
  return events;
}

export async function startAnthropicUpstream(opts: { apiKey?: string } = {}): Promise<AnthropicUpstream> {
  const requests: AnthropicRecordedRequest[] = [];
  const closing = new AbortController();
  let counter = 0;

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${++counter}`, ...headers });
    res.end(JSON.stringify(body));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0]!;
    let body: Json | undefined;
    try {
      body = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      body = undefined;
    }
    requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
    if (req.method === 'GET' && path === '/v1/models') {
      if (opts.apiKey !== undefined && req.headers['x-api-key'] !== opts.apiKey) return send(res, 401, errorBody('authentication_error', 'invalid x-api-key'));
      return send(res, 200, MODEL_PAGE);
    }
    if (req.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens')) {
      return send(res, 404, errorBody('not_found_error', `Not found: ${path}`));
    }
    if (opts.apiKey !== undefined && req.headers['x-api-key'] !== opts.apiKey) return send(res, 401, errorBody('authentication_error', 'invalid x-api-key'));
    if (!req.headers['anthropic-version']) return send(res, 400, errorBody('invalid_request_error', 'anthropic-version: header is required'));
    if (!body) return send(res, 400, errorBody('invalid_request_error', 'The request body is not valid JSON.'));
    const countOnly = path.endsWith('/count_tokens');
    try {
      validate(body, countOnly);
    } catch (err) {
      if (err instanceof InvalidRequest) return send(res, 400, errorBody('invalid_request_error', err.message));
      throw err;
    }
    if (countOnly) return send(res, 200, { input_tokens: inputTokens(body) });

    const model = String(body.model);
    const o = scenarioOf(model);
    const status = o.params.get('error');
    if (status !== undefined) {
      const code = Number(status);
      const message = code === 400 && o.scenario.has('context') ? 'prompt is too long: 210000 tokens > 200000 maximum' : code === 529 ? 'Overloaded' : `Scenario error ${code}`;
      return send(res, code, errorBody(ERROR_TYPES[code] ?? 'api_error', message), code === 429 ? { 'retry-after': '7' } : {});
    }
    const { blocks, stopReason } = answer(body, o);
    const usage = usageFor(body, blocks, o);
    const id = `msg_${String(++counter).padStart(6, '0')}`;
    if (body.stream !== true) {
      return send(res, 200, { id, type: 'message', role: 'assistant', model, content: blocks, stop_reason: stopReason, stop_sequence: null, usage });
    }
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': `req_${counter}` });
    const events = streamEvents(id, model, blocks, stopReason, usage);
    const errorAfter = o.params.has('stream-error') ? Number(o.params.get('stream-error')) : undefined;
    const cutAfter = o.params.has('cut') ? Number(o.params.get('cut')) : undefined;
    const eofAfter = o.params.has('eof') ? Number(o.params.get('eof')) : undefined;
    const gap = o.scenario.has('slow') ? 20 : 0;
    for (let i = 0; i < events.length; i++) {
      if (closing.signal.aborted || res.destroyed) return;
      if (eofAfter === i) break;
      if (errorAfter === i) {
        res.end(`event: error\ndata: ${JSON.stringify(errorBody('overloaded_error', 'Overloaded'))}\n\n`);
        return;
      }
      if (cutAfter === i) {
        res.socket?.destroy();
        return;
      }
      const [name, data] = events[i]!;
      await new Promise<void>((resolve) => res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`, () => resolve()));
      if (gap) await new Promise((r) => setTimeout(r, gap));
    }
    res.end();
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) send(res, 500, errorBody('api_error', 'test upstream failed'));
      else res.destroy();
    });
  });
  return upstreamHandle(await listenLocal(server), '/v1', requests, closing);
}
