/**
 * A wire-faithful Azure OpenAI upstream for tests: one resource, its deployments, and the
 * data-plane behaviour a gateway has to get right.
 *
 * | route | answer |
 * |---|---|
 * | `POST /openai/deployments/{deployment}/chat/completions?api-version=…` | `chat.completion` with `prompt_filter_results` and per-choice `content_filter_results`; streamed: a first chunk with `choices: []` and `prompt_filter_results` (empty `id`, `model`, `object`), then role, content and finish chunks carrying `content_filter_results`, a usage chunk with `stream_options.include_usage` (and `usage: null` on every other chunk then), `data: [DONE]` |
 * | `POST /openai/deployments/{deployment}/completions?api-version=…` | `text_completion` |
 * | `POST /openai/deployments/{deployment}/embeddings?api-version=…` | a `list` of float vectors |
 * | `POST /openai/v1/responses` | a `response` (v1 surface: no api-version; the deployment is the body's `model`); streamed: the typed Responses events ending in `response.completed` |
 * | `GET /openai/models?api-version=…` | the models the resource serves (not the deployment names), with `capabilities` and `lifecycle_status` |
 *
 * Azure's refusals, in Azure's shapes: no or wrong `api-key` (an `Authorization` header is
 * not accepted) → 401 `{"error":{"code":"401","message":"Access denied due to invalid
 * subscription key…"}}`; no `api-version` → 400 `MissingApiVersionParameter`; an
 * api-version it does not serve → 400 `{"error":{"code":"BadRequest","message":"API version
 * not supported"}}`; an unknown path → 404 `Resource not found`; an unknown deployment →
 * 404 `DeploymentNotFound`.
 * The last user message steers the content scenarios: text containing `[filter-prompt]` → 400
 * `content_filter` (`innererror.code: ResponsibleAIPolicyViolation`, violence filtered);
 * `[filter-output]` → `finish_reason: "content_filter"` with the filtered category;
 * `[rate-limit]` → 429 with `retry-after` and `retry-after-ms`; `[rate-limit-bare]` → 429 the
 * way some Azure deployments answer it: no `retry-after`, only `x-ratelimit-remaining-requests`,
 * `x-ratelimit-remaining-tokens` and the older `x-rate-limit-reset-tokens` (seconds).
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenLocal, readBody, upstreamHandle } from './local-server.js';

export const AZURE_API_VERSIONS = new Set(['2024-06-01', '2024-10-21', '2025-01-01-preview', '2025-04-01-preview']);

export interface AzureRecordedRequest {
  method: string;
  path: string;
  /** Raw query string without `?`. */
  query: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
  rawBody: string;
}

export interface AzureUpstreamOptions {
  /** The resource key expected in `api-key`. */
  apiKey: string;
  /** Deployment name → the model it serves. */
  deployments: Record<string, string>;
}

export interface AzureUpstream {
  /** `http://127.0.0.1:<port>` (append `/openai` for the resource's base URL). */
  url: string;
  requests: AzureRecordedRequest[];
  reset(): void;
  close(): Promise<void>;
}

type Json = Record<string, unknown>;

const SAFE = { filtered: false, severity: 'safe' } as const;
export const SAFE_FILTER_RESULTS = { hate: SAFE, self_harm: SAFE, sexual: SAFE, violence: SAFE };
const PROMPT_FILTER_RESULTS = [{ prompt_index: 0, content_filter_results: { ...SAFE_FILTER_RESULTS, jailbreak: { filtered: false, detected: false } } }];
const OUTPUT_FILTERED = { ...SAFE_FILTER_RESULTS, violence: { filtered: true, severity: 'high' } };

const azureError = (code: string, message: string, extra: Json = {}) => ({ error: { code, message, ...extra } });

export async function startAzureUpstream(opts: AzureUpstreamOptions): Promise<AzureUpstream> {
  const requests: AzureRecordedRequest[] = [];
  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: { code: 'InternalServerError', message: String(err) } });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://azure.test');
    const rawBody = (await readBody(req)).toString('utf8');
    let body: Json | undefined;
    try {
      body = rawBody ? (JSON.parse(rawBody) as Json) : undefined;
    } catch {
      body = undefined;
    }
    requests.push({ method: req.method ?? 'GET', path: url.pathname, query: url.search.slice(1), headers: req.headers, body, rawBody });

    if (req.headers['api-key'] !== opts.apiKey) {
      return send(res, 401, azureError('401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.'));
    }
    if (url.pathname === '/openai/v1/responses' && req.method === 'POST') return responses(res, body ?? {});

    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion === null) {
      return send(res, 400, azureError('MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.'));
    }
    // An api-version Azure does not serve is a generic BadRequest named only by its message.
    if (!AZURE_API_VERSIONS.has(apiVersion)) return send(res, 400, azureError('BadRequest', 'API version not supported'));
    res.setHeader('apim-request-id', '7e1c0d1e-0000-4000-8000-000000000001');

    if (url.pathname === '/openai/models' && req.method === 'GET') {
      // Azure lists the models the resource can deploy (not its deployments), with capabilities and lifecycle.
      const models = [...new Set(Object.values(opts.deployments))].sort();
      return send(res, 200, { object: 'list', data: models.map((id) => ({ id, status: 'succeeded', object: 'model', created_at: 1700000000, lifecycle_status: 'generally-available', capabilities: { chat_completion: !id.includes('embedding'), embeddings: id.includes('embedding'), completion: false, inference: true, fine_tune: false } })) });
    }
    const m = /^\/openai\/deployments\/([^/]+)\/(chat\/completions|completions|embeddings)$/.exec(url.pathname);
    if (!m || req.method !== 'POST') return send(res, 404, azureError('404', 'Resource not found'));
    const deployment = decodeURIComponent(m[1]!);
    const model = opts.deployments[deployment];
    if (model === undefined) {
      return send(res, 404, azureError('DeploymentNotFound', 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.'));
    }
    if (!body) return send(res, 400, azureError('BadRequest', 'The request body is not valid JSON.'));
    if (m[2] === 'embeddings') return embeddings(res, model, body);
    const text = lastUserText(body);
    if (text.includes('[rate-limit-bare]')) {
      res.setHeader('x-ratelimit-remaining-requests', '0');
      res.setHeader('x-ratelimit-remaining-tokens', '0');
      res.setHeader('x-rate-limit-reset-tokens', '37');
      return send(res, 429, azureError('429', `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${apiVersion} have exceeded token rate limit of your current AIServices S0 pricing tier. Please retry after 37 seconds.`));
    }
    if (text.includes('[rate-limit]')) {
      res.setHeader('retry-after', '6');
      res.setHeader('retry-after-ms', '6000');
      return send(res, 429, azureError('429', `Requests to the ChatCompletions_Create Operation under Azure OpenAI API version ${apiVersion} have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 6 seconds.`));
    }
    if (text.includes('[filter-prompt]')) {
      return send(res, 400, {
        error: {
          message: "The response was filtered due to the prompt triggering Azure OpenAI's content management policy. Please modify your prompt and retry.",
          type: null,
          param: 'prompt',
          code: 'content_filter',
          status: 400,
          innererror: {
            code: 'ResponsibleAIPolicyViolation',
            content_filter_result: { ...SAFE_FILTER_RESULTS, jailbreak: { filtered: false, detected: false }, violence: { filtered: true, severity: 'medium' } },
          },
        },
      });
    }
    if (m[2] === 'completions') return completions(res, model, body, text);
    return chat(res, model, body, text);
  }

  function chat(res: ServerResponse, model: string, body: Json, text: string): void {
    const filtered = text.includes('[filter-output]');
    const words = filtered ? ['Here', 'is'] : `Azure says: ${text}`.split(/\s+/).filter(Boolean);
    const usage = { prompt_tokens: countWords(body), completion_tokens: words.length, total_tokens: countWords(body) + words.length, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } };
    const finish = filtered ? 'content_filter' : 'stop';
    const filterResults = filtered ? OUTPUT_FILTERED : SAFE_FILTER_RESULTS;
    const id = 'chatcmpl-azure0001';
    if (body.stream !== true) {
      return send(res, 200, {
        choices: [{ content_filter_results: filterResults, finish_reason: finish, index: 0, logprobs: null, message: { content: words.join(' '), refusal: null, role: 'assistant' } }],
        created: 1700000000,
        id,
        model,
        object: 'chat.completion',
        prompt_filter_results: PROMPT_FILTER_RESULTS,
        system_fingerprint: 'fp_azure',
        usage,
      });
    }
    const includeUsage = (body.stream_options as Json | undefined)?.include_usage === true;
    const u = includeUsage ? { usage: null } : {};
    const frames: Json[] = [{ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: PROMPT_FILTER_RESULTS, ...u }];
    const chunk = (choice: Json) => ({ choices: [{ index: 0, logprobs: null, ...choice }], created: 1700000000, id, model, object: 'chat.completion.chunk', system_fingerprint: 'fp_azure', ...u });
    frames.push(chunk({ content_filter_results: {}, delta: { content: '', refusal: null, role: 'assistant' }, finish_reason: null }));
    words.forEach((w, i) => frames.push(chunk({ content_filter_results: SAFE_FILTER_RESULTS, delta: { content: i === 0 ? w : ` ${w}` }, finish_reason: null })));
    frames.push(chunk({ content_filter_results: filtered ? OUTPUT_FILTERED : {}, delta: {}, finish_reason: finish }));
    if (includeUsage) frames.push({ choices: [], created: 1700000000, id, model, object: 'chat.completion.chunk', system_fingerprint: 'fp_azure', usage });
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'apim-request-id': '7e1c0d1e-0000-4000-8000-000000000002' });
    for (const f of frames) res.write(`data: ${JSON.stringify(f)}\n\n`);
    res.end('data: [DONE]\n\n');
  }

  function completions(res: ServerResponse, model: string, body: Json, text: string): void {
    const words = `Azure completes: ${text}`.split(/\s+/).filter(Boolean);
    send(res, 200, {
      choices: [{ content_filter_results: SAFE_FILTER_RESULTS, finish_reason: 'stop', index: 0, logprobs: null, text: words.join(' ') }],
      created: 1700000000,
      id: 'cmpl-azure0001',
      model,
      object: 'text_completion',
      prompt_filter_results: PROMPT_FILTER_RESULTS,
      usage: { prompt_tokens: countWords(body), completion_tokens: words.length, total_tokens: countWords(body) + words.length },
    });
  }

  function embeddings(res: ServerResponse, model: string, body: Json): void {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const data = inputs.map((input, index) => ({ object: 'embedding', index, embedding: [String(input).length / 100, 0.5, -0.25] }));
    const tokens = inputs.reduce<number>((n, i) => n + String(i).split(/\s+/).length, 0);
    send(res, 200, { object: 'list', data, model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  function responses(res: ServerResponse, body: Json): void {
    const deployment = typeof body.model === 'string' ? body.model : '';
    const model = opts.deployments[deployment];
    if (model === undefined) {
      return send(res, 404, azureError('DeploymentNotFound', 'The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.'));
    }
    const input = typeof body.input === 'string' ? body.input : JSON.stringify(body.input ?? '');
    const text = `Azure responds: ${input}`;
    const words = text.split(/\s+/).length;
    const message = { id: 'msg_azure0001', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations: [] }] };
    const response = {
      id: 'resp_azure0001',
      object: 'response',
      created_at: 1700000000,
      status: 'completed',
      model,
      output: [message],
      usage: { input_tokens: input.split(/\s+/).length, output_tokens: words, total_tokens: input.split(/\s+/).length + words, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } },
    };
    if (body.stream !== true) return send(res, 200, response);
    // Responses streams are typed events without [DONE], as on OpenAI.
    const pending = { ...response, status: 'in_progress', output: [], usage: null };
    const events: Json[] = [
      { type: 'response.created', response: pending },
      { type: 'response.in_progress', response: pending },
      { type: 'response.output_item.added', output_index: 0, item: { ...message, status: 'in_progress', content: [] } },
      { type: 'response.content_part.added', item_id: message.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } },
      ...text.split(/(?= )/).map((delta) => ({ type: 'response.output_text.delta', item_id: message.id, output_index: 0, content_index: 0, delta })),
      { type: 'response.output_text.done', item_id: message.id, output_index: 0, content_index: 0, text },
      { type: 'response.content_part.done', item_id: message.id, output_index: 0, content_index: 0, part: message.content[0] },
      { type: 'response.output_item.done', output_index: 0, item: message },
      { type: 'response.completed', response },
    ];
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    events.forEach((e, i) => res.write(`event: ${String(e.type)}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`));
    res.end();
  }

  return upstreamHandle(await listenLocal(server), '', requests);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}


function lastUserText(body: Json): string {
  if (typeof body.prompt === 'string') return body.prompt;
  const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    if (m.role !== 'user') continue;
    if (typeof m.content === 'string') return m.content;
    if (Array.isArray(m.content)) return (m.content as Json[]).map((p) => (typeof p.text === 'string' ? p.text : '')).join(' ');
  }
  return '';
}

function countWords(body: Json): number {
  return Math.max(1, lastUserText(body).split(/\s+/).filter(Boolean).length);
}
