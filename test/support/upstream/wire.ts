/**
 * OpenAI wire objects, shaped field for field like the ones api.openai.com sends
 * (chat.completion, chat.completion.chunk, response + its stream events,
 * text_completion, embeddings list, model list, error bodies). Pure builders: the
 * server decides timing and framing.
 */
import { randomBytes } from 'node:crypto';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random id in OpenAI's style (`chatcmpl-…`, `resp_…`, `call_…`). */
export function openAIId(prefix: string, length = 24): string {
  const bytes = randomBytes(length);
  let id = '';
  for (const b of bytes) id += ALPHABET[b % ALPHABET.length];
  return `${prefix}${id}`;
}

export const SYSTEM_FINGERPRINT = 'fp_sluice_test';

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

// ---------------------------------------------------------------- usage

export interface ChatUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

export function chatUsage(promptTokens: number, completionTokens: number): ChatUsage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: 0,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
}

// ---------------------------------------------------------------- tool calls

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** The function names offered in a chat (`{type:'function', function:{name}}`) or responses (`{type:'function', name}`) request. */
export function offeredFunctionNames(tools: unknown): string[] {
  if (!Array.isArray(tools)) return [];
  return tools
    .map((t: { type?: unknown; name?: unknown; function?: { name?: unknown } }) =>
      t?.type === 'function' ? (t.function?.name ?? t.name) : undefined,
    )
    .filter((n): n is string => typeof n === 'string');
}

/**
 * Deterministic tool calls: call i uses the i-th offered function (cycling; `get_weather`
 * when none is offered) with arguments `{"query": <prompt>, "call": i}`.
 */
export function toolCallsFor(prompt: string, tools: unknown, count: number): ToolCall[] {
  const names = offeredFunctionNames(tools);
  return Array.from({ length: count }, (_, i) => ({
    id: openAIId('call_'),
    name: names.length ? names[i % names.length]! : 'get_weather',
    arguments: JSON.stringify({ query: prompt, call: i }),
  }));
}

/** Argument JSON split into fragments the way OpenAI streams it (several chunks per call). */
export function argumentFragments(args: string, size = 8): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i += size) out.push(args.slice(i, i + size));
  return out.length ? out : [''];
}

// ---------------------------------------------------------------- chat completions

export interface ChatAnswer {
  id: string;
  created: number;
  model: string;
  /** Text pieces (joined = the content); empty when the answer is tool calls. */
  pieces: string[];
  toolCalls: ToolCall[];
  finishReason: 'stop' | 'length' | 'tool_calls';
  usage: ChatUsage;
}

export function chatCompletion(a: ChatAnswer) {
  const content = a.toolCalls.length ? null : a.pieces.join('');
  return {
    id: a.id,
    object: 'chat.completion',
    created: a.created,
    model: a.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content,
          refusal: null,
          annotations: [],
          ...(a.toolCalls.length
            ? {
                tool_calls: a.toolCalls.map((c) => ({
                  id: c.id,
                  type: 'function',
                  function: { name: c.name, arguments: c.arguments },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: a.finishReason,
      },
    ],
    usage: a.usage,
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}

/**
 * The chunk sequence of a streamed chat completion: a role delta first, then content
 * (or tool-call) deltas, then an empty delta with finish_reason, then — only when
 * `stream_options.include_usage` — a usage chunk with `choices: []`. With include_usage
 * every earlier chunk carries `"usage": null`, as OpenAI sends it.
 */
export function chatChunks(a: ChatAnswer, includeUsage: boolean): object[] {
  const base = {
    id: a.id,
    object: 'chat.completion.chunk',
    created: a.created,
    model: a.model,
    service_tier: 'default',
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
  const chunk = (delta: object, finishReason: string | null = null) => ({
    ...base,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const chunks: object[] = [];
  if (a.toolCalls.length) {
    a.toolCalls.forEach((call, index) => {
      const opening = {
        index,
        id: call.id,
        type: 'function',
        function: { name: call.name, arguments: '' },
      };
      chunks.push(
        index === 0
          ? chunk({ role: 'assistant', content: null, tool_calls: [opening], refusal: null })
          : chunk({ tool_calls: [opening] }),
      );
      for (const fragment of argumentFragments(call.arguments)) {
        chunks.push(chunk({ tool_calls: [{ index, function: { arguments: fragment } }] }));
      }
    });
  } else {
    chunks.push(chunk({ role: 'assistant', content: '', refusal: null }));
    for (const piece of a.pieces) chunks.push(chunk({ content: piece }));
  }
  chunks.push(chunk({}, a.finishReason));
  if (includeUsage) chunks.push({ ...base, choices: [], usage: a.usage });
  return chunks;
}

// ---------------------------------------------------------------- legacy completions

export interface CompletionAnswer {
  id: string;
  created: number;
  model: string;
  /** One list of text pieces per prompt (choice). */
  choices: { pieces: string[]; finishReason: 'stop' | 'length' }[];
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
}

export function textCompletion(a: CompletionAnswer) {
  return {
    id: a.id,
    object: 'text_completion',
    created: a.created,
    model: a.model,
    choices: a.choices.map((c, index) => ({
      text: c.pieces.join(''),
      index,
      logprobs: null,
      finish_reason: c.finishReason,
    })),
    usage: a.usage,
    system_fingerprint: SYSTEM_FINGERPRINT,
  };
}

export function textCompletionChunks(a: CompletionAnswer, includeUsage: boolean): object[] {
  const base = { id: a.id, object: 'text_completion', created: a.created, model: a.model, system_fingerprint: SYSTEM_FINGERPRINT };
  const chunks: object[] = [];
  a.choices.forEach((c, index) => {
    for (const piece of c.pieces) {
      chunks.push({ ...base, choices: [{ text: piece, index, logprobs: null, finish_reason: null }], ...(includeUsage ? { usage: null } : {}) });
    }
    chunks.push({ ...base, choices: [{ text: '', index, logprobs: null, finish_reason: c.finishReason }], ...(includeUsage ? { usage: null } : {}) });
  });
  if (includeUsage) chunks.push({ ...base, choices: [], usage: a.usage });
  return chunks;
}

// ---------------------------------------------------------------- responses

export interface ResponsesUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export function responsesUsage(input: number, output: number): ResponsesUsage {
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + output,
  };
}

export interface ResponsesAnswer {
  id: string;
  createdAt: number;
  model: string;
  /** Echoed request fields (instructions, tools, metadata, …). */
  request: Record<string, unknown>;
  messageId: string;
  pieces: string[];
  toolCalls: (ToolCall & { itemId: string })[];
  truncated: boolean;
  usage: ResponsesUsage;
}

type OutputItem = Record<string, unknown>;

function messageItem(a: ResponsesAnswer, status: 'in_progress' | 'completed', text?: string): OutputItem {
  return {
    id: a.messageId,
    type: 'message',
    status,
    content: text === undefined ? [] : [outputTextPart(text)],
    role: 'assistant',
  };
}

const outputTextPart = (text: string) => ({ type: 'output_text', annotations: [], logprobs: [], text });

function functionCallItem(call: ResponsesAnswer['toolCalls'][number], status: 'in_progress' | 'completed', args: string): OutputItem {
  return { id: call.itemId, type: 'function_call', status, arguments: args, call_id: call.id, name: call.name };
}

function finalOutput(a: ResponsesAnswer): OutputItem[] {
  if (a.toolCalls.length) return a.toolCalls.map((c) => functionCallItem(c, 'completed', c.arguments));
  return [messageItem(a, 'completed', a.pieces.join(''))];
}

/** The `response` object; `status` decides which of output/usage are filled. */
export function responseObject(a: ResponsesAnswer, status: 'in_progress' | 'completed' | 'incomplete') {
  const r = a.request;
  const done = status !== 'in_progress';
  return {
    id: a.id,
    object: 'response',
    created_at: a.createdAt,
    status,
    background: false,
    error: null,
    incomplete_details: status === 'incomplete' ? { reason: 'max_output_tokens' } : null,
    instructions: r.instructions ?? null,
    max_output_tokens: r.max_output_tokens ?? null,
    max_tool_calls: null,
    model: a.model,
    output: done ? finalOutput(a) : [],
    parallel_tool_calls: r.parallel_tool_calls ?? true,
    previous_response_id: r.previous_response_id ?? null,
    reasoning: { effort: null, summary: null },
    service_tier: 'default',
    store: r.store ?? true,
    temperature: r.temperature ?? 1,
    text: { format: { type: 'text' }, verbosity: 'medium' },
    tool_choice: r.tool_choice ?? 'auto',
    tools: Array.isArray(r.tools) ? r.tools : [],
    top_logprobs: 0,
    top_p: r.top_p ?? 1,
    truncation: 'disabled',
    usage: done ? a.usage : null,
    user: r.user ?? null,
    metadata: r.metadata ?? {},
  };
}

/** A typed Responses stream event: the SSE `event:` name equals `data.type`. */
export interface TypedEvent {
  type: string;
  [field: string]: unknown;
}

/**
 * The event sequence OpenAI sends for a streamed response: created, in_progress,
 * per output item added → (content_part.added, output_text.delta…, output_text.done,
 * content_part.done | function_call_arguments.delta…, .done) → output_item.done, then
 * completed (or incomplete). sequence_number counts from 0. No `[DONE]` follows.
 */
export function responseEvents(a: ResponsesAnswer): TypedEvent[] {
  const events: { type: string; [field: string]: unknown }[] = [];
  events.push({ type: 'response.created', response: responseObject(a, 'in_progress') });
  events.push({ type: 'response.in_progress', response: responseObject(a, 'in_progress') });
  if (a.toolCalls.length) {
    a.toolCalls.forEach((call, output_index) => {
      events.push({ type: 'response.output_item.added', output_index, item: functionCallItem(call, 'in_progress', '') });
      for (const delta of argumentFragments(call.arguments)) {
        events.push({ type: 'response.function_call_arguments.delta', item_id: call.itemId, output_index, delta });
      }
      events.push({
        type: 'response.function_call_arguments.done',
        item_id: call.itemId,
        output_index,
        name: call.name,
        arguments: call.arguments,
      });
      events.push({ type: 'response.output_item.done', output_index, item: functionCallItem(call, 'completed', call.arguments) });
    });
  } else {
    const text = a.pieces.join('');
    const at = { item_id: a.messageId, output_index: 0, content_index: 0 };
    events.push({ type: 'response.output_item.added', output_index: 0, item: messageItem(a, 'in_progress') });
    events.push({ type: 'response.content_part.added', ...at, part: outputTextPart('') });
    for (const delta of a.pieces) events.push({ type: 'response.output_text.delta', ...at, delta, logprobs: [] });
    events.push({ type: 'response.output_text.done', ...at, text, logprobs: [] });
    events.push({ type: 'response.content_part.done', ...at, part: outputTextPart(text) });
    events.push({ type: 'response.output_item.done', output_index: 0, item: messageItem(a, 'completed', text) });
  }
  const final = a.truncated && !a.toolCalls.length ? 'incomplete' : 'completed';
  events.push({ type: `response.${final}`, response: responseObject(a, final) });
  // OpenAI puts sequence_number right after type.
  return events.map(({ type, ...rest }, sequence_number): TypedEvent => ({ type, sequence_number, ...rest }));
}

// ---------------------------------------------------------------- embeddings, models

export function embeddingList(model: string, vectors: (number[] | string)[], promptTokens: number) {
  return {
    object: 'list',
    data: vectors.map((embedding, index) => ({ object: 'embedding', index, embedding })),
    model,
    usage: { prompt_tokens: promptTokens, total_tokens: promptTokens },
  };
}

/** The models this upstream lists (any model name is accepted on the other endpoints). */
export const LISTED_MODELS = ['gpt-4o-mini', 'gpt-4o', 'gpt-3.5-turbo-instruct', 'text-embedding-3-small'] as const;
const MODEL_CREATED = 1_715_367_049;

export const modelObject = (id: string) => ({ id, object: 'model', created: MODEL_CREATED, owned_by: 'system' });

export function modelList() {
  return { object: 'list', data: LISTED_MODELS.map(modelObject) };
}

// ---------------------------------------------------------------- errors

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function errorBody(message: string, type: string, param: string | null = null, code: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

export interface ErrorReply {
  status: number;
  headers: Record<string, string>;
  body: OpenAIErrorBody;
}

/** Rate-limit headers as OpenAI sends them on every answer (remaining 0 on a 429). */
export function rateLimitHeaders(exhausted: boolean, retryAfterSeconds: number): Record<string, string> {
  return {
    'x-ratelimit-limit-requests': '10000',
    'x-ratelimit-remaining-requests': exhausted ? '0' : '9999',
    'x-ratelimit-reset-requests': exhausted ? `${retryAfterSeconds}s` : '6ms',
    'x-ratelimit-limit-tokens': '30000000',
    'x-ratelimit-remaining-tokens': exhausted ? '0' : '29999990',
    'x-ratelimit-reset-tokens': exhausted ? `${retryAfterSeconds}s` : '0s',
  };
}

/** The error answer OpenAI gives for each status the scenarios can request. */
export function scenarioError(status: number, retryAfterSeconds: number): ErrorReply {
  switch (status) {
    case 400:
      return { status, headers: {}, body: errorBody("Invalid value for 'temperature': test scenario 400.", 'invalid_request_error', 'temperature', 'invalid_value') };
    case 401:
      return { status, headers: {}, body: errorBody('Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', null, 'invalid_api_key') };
    case 403:
      return { status, headers: {}, body: errorBody('You are not allowed to sample from this model', 'invalid_request_error', null, 'model_not_allowed') };
    case 404:
      return { status, headers: {}, body: errorBody('The model `test-404` does not exist or you do not have access to it.', 'invalid_request_error', null, 'model_not_found') };
    case 429:
      return {
        status,
        headers: { 'retry-after': String(retryAfterSeconds), 'retry-after-ms': String(retryAfterSeconds * 1000), ...rateLimitHeaders(true, retryAfterSeconds) },
        body: errorBody(
          `Rate limit reached for requests per min (RPM): Limit 10000, Used 10000, Requested 1. Please try again in ${retryAfterSeconds}s.`,
          'requests',
          null,
          'rate_limit_exceeded',
        ),
      };
    case 503:
      return { status, headers: { 'retry-after': String(retryAfterSeconds) }, body: errorBody('The engine is currently overloaded, please try again later.', 'server_error', null, null) };
    case 502:
      return { status, headers: {}, body: errorBody('Bad gateway.', 'server_error', null, null) };
    case 504:
      return { status, headers: {}, body: errorBody('Gateway timeout.', 'server_error', null, null) };
    default:
      return {
        status: 500,
        headers: {},
        body: errorBody('The server had an error while processing your request. Sorry about that!', 'server_error', null, null),
      };
  }
}

// ---------------------------------------------------------------- reasoning models

/** OpenAI's reasoning models (o-series; gpt-5 family except `-chat`): what they refuse. */
const REASONING_MODEL = /^(o\d+|gpt-5)(?![0-9])/;

/**
 * OpenAI's 400 for a reasoning model given `max_tokens` or a non-default `temperature` /
 * `top_p` (message, param and code as OpenAI words them); undefined when the body is acceptable.
 */
export function reasoningModelRefusal(body: Record<string, unknown>): OpenAIErrorBody | undefined {
  const model = String(body.model ?? '');
  if (!REASONING_MODEL.test(model) || model.includes('-chat')) return undefined;
  if (body.max_tokens !== undefined) {
    return errorBody("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.", 'invalid_request_error', 'max_tokens', 'unsupported_parameter');
  }
  for (const param of ['temperature', 'top_p']) {
    const value = body[param];
    if (value !== undefined && value !== 1) {
      return errorBody(`Unsupported value: '${param}' does not support ${String(value)} with this model. Only the default (1) value is supported.`, 'invalid_request_error', param, 'unsupported_value');
    }
  }
  return undefined;
}
