/**
 * A wire-faithful OpenAI-compatible upstream for tests and benchmarks.
 *
 * It speaks OpenAI's HTTP protocol closely enough that the official `openai` SDK works
 * against it unchanged (test/integration/openai-upstream.test.ts proves that), which
 * makes it the reference for what a gateway must pass through:
 *
 * | route | plain | `stream: true` |
 * |---|---|---|
 * | `POST /v1/chat/completions` | `chat.completion` | `data: {chat.completion.chunk}` … `data: [DONE]`; role delta first, content or tool-call deltas, a finish_reason chunk, and with `stream_options.include_usage` a usage chunk with `choices: []` |
 * | `POST /v1/responses` | `response` | `event: <type>` + `data: {…, sequence_number}`: created, in_progress, output_item.added, content_part.added, output_text.delta…, output_text.done, content_part.done, output_item.done, completed (no `[DONE]`) |
 * | `POST /v1/completions` | `text_completion` | `data: {text_completion}` … `data: [DONE]` |
 * | `POST /v1/embeddings` | `list` of float vectors, or base64 float32 with `encoding_format: "base64"` | |
 * | `GET /v1/models`, `GET /v1/models/{id}` | model list / model | |
 *
 * Reasoning models (`o3`, `o4-mini`, `gpt-5…`, not `-chat`) refuse `max_tokens` and a
 * non-default `temperature`/`top_p` on chat completions with OpenAI's own 400s.
 *
 * Errors are `{"error":{"message","type","param","code"}}` with OpenAI's statuses and
 * headers (429 carries `retry-after` and `x-ratelimit-*`). Success answers carry
 * `x-request-id`, `openai-processing-ms`, `openai-version` and the rate-limit headers.
 *
 * Answers are deterministic (see upstream/content.ts): the reply is
 * `replyTo(<last user text>)` streamed one word per chunk; usage counts words. Tests
 * steer behaviour per request with the model name or the `x-test-scenario` header
 * (see upstream/scenario.ts): `test-slow`, `test-cut@after=3`, `test-hang@phase=body`,
 * `test-tools`, `test-429`, `test-500`, …
 *
 * Every request is recorded (method, path, headers, parsed body, arrival time) before
 * it is answered, so tests can assert what a gateway forwarded — or that nothing
 * reached the upstream at all.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal, readBody, upstreamHandle } from './local-server.js';
import {
  allText,
  completionPrompts,
  countTokens,
  DEFAULT_EMBEDDING_DIMENSIONS,
  embeddingFor,
  embeddingInputs,
  lastUserText,
  limitTokens,
  replyTo,
  responsesInputItems,
  splitIntoTokens,
  toBase64Float32,
} from './upstream/content.js';
import { resolveScenario, type Scenario, SCENARIO_HEADER, ScenarioSyntaxError } from './upstream/scenario.js';
import { dataFrame, DONE_FRAME, sleep, typedFrame, writeFrames } from './upstream/sse.js';
import {
  chatChunks,
  chatCompletion,
  chatUsage,
  embeddingList,
  errorBody,
  LISTED_MODELS,
  modelList,
  modelObject,
  nowSeconds,
  openAIId,
  type OpenAIErrorBody,
  rateLimitHeaders,
  reasoningModelRefusal,
  responseEvents,
  responseObject,
  responsesUsage,
  scenarioError,
  textCompletion,
  textCompletionChunks,
  toolCallsFor,
} from './upstream/wire.js';

export { countTokens, replyTo, splitIntoTokens, embeddingFor } from './upstream/content.js';
export { resolveScenario, SCENARIO_HEADER } from './upstream/scenario.js';

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Raw query string without `?` ('' when none). */
  query: string;
  /** Headers as Node parsed them (lower-case names). */
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; undefined for an empty or unparseable body. */
  body: unknown;
  rawBody: string;
  /** Date.now() when the request body had been fully received. */
  receivedAt: number;
}

export interface OpenAIUpstreamOptions {
  /** Port to listen on (default 0: a free port). The host is always 127.0.0.1. */
  port?: number;
  /**
   * When set, every request must carry `Authorization: Bearer <apiKey>`; otherwise
   * 401 as OpenAI answers it. When unset, any (or no) credential is accepted.
   */
  apiKey?: string;
  /** Record requests in `requests` (default true); benchmarks turn it off to keep memory flat. */
  record?: boolean;
}

export interface OpenAIUpstream {
  /** Base URL ending in /v1, e.g. `http://127.0.0.1:41234/v1`. */
  readonly url: string;
  readonly port: number;
  /** Every request received since start or the last reset(), oldest first (a live array). */
  readonly requests: RecordedRequest[];
  /** Forgets the recorded requests. */
  reset(): void;
  /** Stops listening and destroys every connection, hung ones included. */
  close(): Promise<void>;
}

type JsonObject = Record<string, unknown>;

const PROCESSING_MS = '7';

function commonHeaders(requestId: string): Record<string, string> {
  return {
    'x-request-id': requestId,
    'openai-version': '2020-10-01',
    'openai-organization': 'sluice-test',
    'openai-processing-ms': PROCESSING_MS,
  };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  res.end(payload);
}

function sendError(res: ServerResponse, status: number, body: OpenAIErrorBody, headers: Record<string, string> = {}): void {
  sendJson(res, status, body, { ...commonHeaders(openAIId('req_', 32)), ...headers });
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' };

const ROUTES: Record<string, string> = {
  '/v1/chat/completions': 'POST',
  '/v1/responses': 'POST',
  '/v1/completions': 'POST',
  '/v1/embeddings': 'POST',
  '/v1/models': 'GET',
};

const isObject = (v: unknown): v is JsonObject => !!v && typeof v === 'object' && !Array.isArray(v);

/** OpenAI's answer to a missing required field. */
const missing = (param: string) => errorBody(`Missing required parameter: '${param}'.`, 'invalid_request_error', param, 'missing_required_parameter');

class Answerer {
  constructor(
    private readonly res: ServerResponse,
    private readonly scenario: Scenario,
    private readonly signal: AbortSignal,
  ) {}

  private readonly requestId = openAIId('req_', 32);

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...commonHeaders(this.requestId), ...rateLimitHeaders(false, 0), ...extra };
  }

  /** Plain JSON, honouring the first delay and a `cut` (half the body, then the socket dies). */
  async json(body: unknown): Promise<void> {
    await sleep(this.scenario.firstDelayMs, this.signal);
    if (this.signal.aborted || this.res.destroyed) return;
    if (this.scenario.cutAfter !== undefined) {
      const payload = Buffer.from(JSON.stringify(body));
      this.res.writeHead(200, this.headers({ 'content-type': 'application/json', 'content-length': String(payload.length) }));
      this.res.write(payload.subarray(0, payload.length >> 1), () => this.res.socket?.destroy());
      return;
    }
    sendJson(this.res, 200, body, this.headers());
  }

  /** An SSE body; `stream-error` swaps the rest of the stream for an error event. */
  async stream(frames: string[], errorFrames: () => string[]): Promise<void> {
    const { errorAfter } = this.scenario;
    const body = errorAfter !== undefined ? [...frames.slice(0, errorAfter), ...errorFrames()] : frames;
    this.res.writeHead(200, this.headers(SSE_HEADERS));
    await writeFrames(this.res, body, this.scenario, this.signal);
  }
}

/** Mid-stream failure as OpenAI sends it on chat/completions streams. */
const chatStreamError = () => [
  dataFrame(errorBody('The server had an error while processing your request. Sorry about that!', 'server_error')),
  DONE_FRAME,
];

function handleChat(body: JsonObject, scenario: Scenario, answer: Answerer): Promise<void> | OpenAIErrorBody {
  if (typeof body.model !== 'string') return missing('model');
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    return errorBody("Invalid 'messages': empty array. Expected an array with minimum length 1, but got an empty array instead.", 'invalid_request_error', 'messages', 'empty_array');
  }
  const refused = reasoningModelRefusal(body);
  if (refused) return refused;
  const messages = body.messages as JsonObject[];
  const prompt = lastUserText(messages);
  const promptTokens = countTokens(allText(messages));
  const toolCalls = scenario.toolCalls ? toolCallsFor(prompt, body.tools, scenario.toolCalls) : [];
  const { pieces, truncated } = limitTokens(splitIntoTokens(replyTo(prompt)), body.max_completion_tokens ?? body.max_tokens);
  const completionTokens = toolCalls.length
    ? toolCalls.reduce((n, c) => n + countTokens(c.arguments), 0)
    : pieces.length;
  const chat = {
    id: openAIId('chatcmpl-'),
    created: nowSeconds(),
    model: body.model,
    pieces: toolCalls.length ? [] : pieces,
    toolCalls,
    finishReason: toolCalls.length ? ('tool_calls' as const) : truncated ? ('length' as const) : ('stop' as const),
    usage: chatUsage(promptTokens, completionTokens),
  };
  if (body.stream !== true) return answer.json(chatCompletion(chat));
  const includeUsage = isObject(body.stream_options) && body.stream_options.include_usage === true;
  const frames = [...chatChunks(chat, includeUsage).map(dataFrame), DONE_FRAME];
  return answer.stream(frames, chatStreamError);
}

function handleResponses(body: JsonObject, scenario: Scenario, answer: Answerer): Promise<void> | OpenAIErrorBody {
  if (typeof body.model !== 'string') return missing('model');
  const items = responsesInputItems(body.input);
  const prompt = lastUserText(items);
  const instructions = typeof body.instructions === 'string' ? body.instructions : '';
  const inputTokens = countTokens(`${instructions} ${allText(items)}`);
  const calls = scenario.toolCalls ? toolCallsFor(prompt, body.tools, scenario.toolCalls) : [];
  const { pieces, truncated } = limitTokens(splitIntoTokens(replyTo(prompt)), body.max_output_tokens);
  const outputTokens = calls.length ? calls.reduce((n, c) => n + countTokens(c.arguments), 0) : pieces.length;
  const response = {
    id: openAIId('resp_', 48),
    createdAt: nowSeconds(),
    model: body.model,
    request: body,
    messageId: openAIId('msg_', 48),
    pieces,
    toolCalls: calls.map((c) => ({ ...c, itemId: openAIId('fc_', 48) })),
    truncated,
    usage: responsesUsage(inputTokens, outputTokens),
  };
  if (body.stream !== true) {
    return answer.json(responseObject(response, truncated && !calls.length ? 'incomplete' : 'completed'));
  }
  const events = responseEvents(response);
  const errorEvent = () => [
    typedFrame({
      type: 'error',
      code: 'server_error',
      message: 'The server had an error while processing your request. Sorry about that!',
      param: null,
      sequence_number: scenario.errorAfter ?? 0,
    } as { type: string }),
  ];
  return answer.stream(events.map(typedFrame), errorEvent);
}

function handleCompletions(body: JsonObject, answer: Answerer): Promise<void> | OpenAIErrorBody {
  if (typeof body.model !== 'string') return missing('model');
  if (body.prompt === undefined) return missing('prompt');
  const prompts = completionPrompts(body.prompt);
  const choices = prompts.map((p) => {
    const { pieces, truncated } = limitTokens(splitIntoTokens(replyTo(p)), body.max_tokens ?? 16);
    return { pieces, finishReason: truncated ? ('length' as const) : ('stop' as const) };
  });
  const promptTokens = prompts.reduce((n, p) => n + countTokens(p), 0);
  const completionTokens = choices.reduce((n, c) => n + c.pieces.length, 0);
  const completion = {
    id: openAIId('cmpl-'),
    created: nowSeconds(),
    model: body.model,
    choices,
    usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
  };
  if (body.stream !== true) return answer.json(textCompletion(completion));
  const includeUsage = isObject(body.stream_options) && body.stream_options.include_usage === true;
  return answer.stream([...textCompletionChunks(completion, includeUsage).map(dataFrame), DONE_FRAME], chatStreamError);
}

function handleEmbeddings(body: JsonObject, answer: Answerer): Promise<void> | OpenAIErrorBody {
  if (typeof body.model !== 'string') return missing('model');
  const inputs = embeddingInputs(body.input);
  if (inputs.length === 0) return missing('input');
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64') {
    return errorBody(`Invalid value for 'encoding_format': '${String(format)}'. Supported values are: 'float' and 'base64'.`, 'invalid_request_error', 'encoding_format', 'invalid_value');
  }
  const dimensions = typeof body.dimensions === 'number' && body.dimensions > 0 ? Math.floor(body.dimensions) : DEFAULT_EMBEDDING_DIMENSIONS;
  const vectors = inputs.map((text) => {
    const vector = embeddingFor(text, dimensions);
    return format === 'base64' ? toBase64Float32(vector) : vector;
  });
  return answer.json(embeddingList(body.model, vectors, inputs.reduce((n, t) => n + countTokens(t), 0)));
}

function handleModels(path: string, answer: Answerer): Promise<void> | OpenAIErrorBody {
  if (path === '/v1/models') return answer.json(modelList());
  const id = decodeURIComponent(path.slice('/v1/models/'.length));
  if ((LISTED_MODELS as readonly string[]).includes(id)) return answer.json(modelObject(id));
  return errorBody(`The model '${id}' does not exist`, 'invalid_request_error', 'model', 'model_not_found');
}


function checkAuth(headers: IncomingHttpHeaders, apiKey: string | undefined): OpenAIErrorBody | undefined {
  if (apiKey === undefined) return undefined;
  const auth = headers.authorization;
  if (!auth) {
    return errorBody(
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      'invalid_request_error',
    );
  }
  // The key itself is never echoed: tests scan outputs for leaked secrets.
  if (auth !== `Bearer ${apiKey}`) return scenarioError(401, 0).body;
  return undefined;
}

export async function startOpenAIUpstream(opts: OpenAIUpstreamOptions = {}): Promise<OpenAIUpstream> {
  const requests: RecordedRequest[] = [];
  const closing = new AbortController();

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [path = '/', query = ''] = (req.url ?? '/').split('?', 2) as [string, string?];
    const rawBody = (await readBody(req)).toString('utf8');
    let body: unknown;
    let badJson = false;
    if (rawBody.length) {
      try {
        body = JSON.parse(rawBody);
      } catch {
        badJson = true;
      }
    }
    if (opts.record !== false) requests.push({ method: req.method ?? '', path, query, headers: req.headers, body, rawBody, receivedAt: Date.now() });

    const isModelPath = path.startsWith('/v1/models/');
    const expectedMethod = isModelPath ? 'GET' : ROUTES[path];
    if (!expectedMethod) {
      return sendError(res, 404, errorBody(`Invalid URL (${req.method} ${path})`, 'invalid_request_error'));
    }
    if (req.method !== expectedMethod) {
      return sendError(res, 405, errorBody(`Invalid method for URL (${req.method} ${path})`, 'invalid_request_error'));
    }
    if (badJson || (expectedMethod === 'POST' && !isObject(body))) {
      return sendError(
        res,
        400,
        errorBody(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
          'invalid_request_error',
        ),
      );
    }

    let scenario: Scenario;
    try {
      const header = req.headers[SCENARIO_HEADER];
      scenario = resolveScenario(isObject(body) ? body.model : undefined, Array.isArray(header) ? header.join('+') : header);
    } catch (e) {
      if (!(e instanceof ScenarioSyntaxError)) throw e;
      return sendError(res, 400, errorBody(e.message, 'invalid_request_error', 'model', 'invalid_test_scenario'));
    }

    const authError = checkAuth(req.headers, opts.apiKey);
    if (authError) return sendError(res, 401, authError);

    if (scenario.hang === 'headers') return; // never answered; close() destroys the socket
    if (scenario.hang === 'body') {
      const sse = isObject(body) && body.stream === true;
      res.writeHead(200, { ...commonHeaders(openAIId('req_', 32)), ...(sse ? SSE_HEADERS : { 'content-type': 'application/json' }) });
      res.flushHeaders();
      return;
    }
    if (scenario.redirect) {
      res.writeHead(307, { location: 'https://api.elsewhere.example/v1' + path, 'content-length': '0' });
      res.end();
      return;
    }
    if (scenario.errorStatus) {
      await sleep(scenario.firstDelayMs, closing.signal);
      const error = scenarioError(Number(scenario.errorStatus), scenario.retryAfterSeconds);
      return sendError(res, error.status, error.body, error.headers);
    }

    const answer = new Answerer(res, scenario, closing.signal);
    const payload = (isObject(body) ? body : {}) as JsonObject;
    const outcome =
      path === '/v1/chat/completions'
        ? handleChat(payload, scenario, answer)
        : path === '/v1/responses'
          ? handleResponses(payload, scenario, answer)
          : path === '/v1/completions'
            ? handleCompletions(payload, answer)
            : path === '/v1/embeddings'
              ? handleEmbeddings(payload, answer)
              : handleModels(path, answer);
    if (outcome instanceof Promise) return outcome;
    return sendError(res, outcome.error.code === 'model_not_found' ? 404 : 400, outcome);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        sendError(res, 500, errorBody(`test upstream failure: ${String(error)}`, 'server_error'));
      } else {
        res.destroy();
      }
    });
  });
  // Long keep-alive so benchmark clients never race a server-side idle close.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0;
  const local = await listenLocal(server, opts.port ?? 0);
  return { ...upstreamHandle(local, '/v1', requests, closing), port: local.port };
}
