import type { StreamEnd } from '../../upstream/body-relay.js';
import { eventType, type SseEvent } from '../../upstream/sse.js';
import type { Usage } from '../../upstream/types.js';
import type { Endpoint } from '../../upstream/endpoints.js';
import type { GatewayError } from '../../upstream/errors.js';
import { normalizeUsage } from './usage.js';

/**
 * Usage from an OpenAI-format stream, taken from whichever event carries it: the
 * final usage chunk of chat/completions (also chunks that still carry choices), or
 * `response.completed` on the Responses API. Per-stream state lives in this object.
 */
export class StreamUsageTracker {
  usage: Usage | undefined;

  onEvent(event: SseEvent): void {
    const data = event.data;
    // Most chunks carry no usage, or (OpenAI and Azure with include_usage) `"usage":null`:
    // only an object value is worth parsing the chunk for.
    if (!data.includes('"usage"') || !USAGE_OBJECT.test(data)) return;
    try {
      const json = JSON.parse(data) as Record<string, unknown>;
      const usage = normalizeUsage(json.usage) ?? normalizeUsage((json.response as Record<string, unknown> | undefined)?.usage);
      if (usage) this.usage = usage;
    } catch {
      // not JSON: nothing to take
    }
  }
}

/**
 * Removes the usage the gateway asked for on the client's behalf: the usage-only chunk
 * (`choices: []`) is dropped; a chunk that carries choices keeps them without `usage`.
 * Every other event passes byte for byte. Undefined means: drop the event.
 */
export function withoutUsage(event: SseEvent): SseEvent | undefined {
  if (!event.data.includes('"usage"')) return event;
  // The common case, `…,"usage":null}` closing the chunk (OpenAI and Azure with include_usage on
  // every chunk but the last): cut as text. Only a top-level member can end right before the
  // closing brace, so this is exact; everything else is parsed.
  const trailing = TRAILING_NULL_USAGE.exec(event.data);
  if (trailing) return reframe(event, `${event.data.slice(0, trailing.index)}}`);
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(event.data) as Record<string, unknown>;
  } catch {
    return event;
  }
  if (!('usage' in json)) return event;
  // Only a chunk that carries usage is the usage chunk: Azure's first chunk (`choices: []`,
  // `prompt_filter_results`, `usage: null`) reaches the client.
  if (Array.isArray(json.choices) && json.choices.length === 0 && json.usage != null) return undefined;
  delete json.usage;
  return reframe(event, JSON.stringify(json));
}

/** A `"usage"` member whose value is an object (not null). */
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
/** `,"usage":null` as the last member of the top-level object. */
const TRAILING_NULL_USAGE = /,\s*"usage"\s*:\s*null\s*\}\s*$/;

function reframe(event: SseEvent, data: string): SseEvent {
  const raw = `${event.event !== undefined ? `event: ${event.event}\n` : ''}data: ${data}\n\n`;
  return event.event !== undefined ? { event: event.event, data, raw } : { data, raw };
}

/** The closing bytes of a stream the upstream broke: an error event in the endpoint's format, then [DONE]. */
export function streamErrorEvent(endpoint: Endpoint, error: GatewayError): string {
  const body = error.toBody();
  if (endpoint === 'responses') {
    const payload = { type: 'error', code: body.error.code, message: body.error.message, param: body.error.param, error: body.error };
    return `event: error\ndata: ${JSON.stringify(payload)}\n\ndata: [DONE]\n\n`;
  }
  return `data: ${JSON.stringify(body)}\n\ndata: [DONE]\n\n`;
}

/** A chunk with a finish reason (`"finish_reason":"stop"`, not `null`). */
const FINISH_REASON = /"finish_reason"\s*:\s*"/;
/** An error chunk of the upstream's own (`data: {"error":…}`). */
const ERROR_CHUNK = /^\s*\{\s*"error"\s*:/;
/** The Responses API's last events: the response finished, failed or stopped short, or an error. */
const RESPONSES_TERMINAL = new Set(['response.completed', 'response.failed', 'response.incomplete', 'error']);

/**
 * The terminal event of an OpenAI-format stream: on chat/completions and completions a
 * finish reason then `[DONE]` (a `[DONE]` before any finish reason is a truncated answer),
 * on the Responses API `response.completed` (or its failed / incomplete / error ends).
 */
export function openaiStreamEnd(endpoint: Endpoint): StreamEnd {
  let done = false;
  if (endpoint === 'responses') {
    return {
      terminal: 'response.completed',
      see(event) {
        if (!done && RESPONSES_TERMINAL.has(event.event ?? eventType(event.data) ?? '')) done = true;
        return done ? 'done' : 'more';
      },
    };
  }
  let finished = false;
  return {
    terminal: 'finish_reason and [DONE]',
    see(event) {
      if (done) return 'done';
      if (event.data === '[DONE]') {
        if (!finished) return 'incomplete';
        done = true;
        return 'done';
      }
      if (ERROR_CHUNK.test(event.data)) {
        // The upstream told the client itself; whatever follows (usually [DONE]) ends it.
        done = true;
        return 'done';
      }
      if (FINISH_REASON.test(event.data)) finished = true;
      return 'more';
    },
  };
}
