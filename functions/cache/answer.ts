import { gunzipSync, gzipSync } from 'node:zlib';
import type { Usage } from '../upstream/types.js';
import { MAX_ENTRY_BYTES } from './store.js';

/**
 * What a cache entry holds (gzipped JSON): the upstream's answer as the client's format
 * gives it without streaming — a chat.completion, a text_completion, an embedding list,
 * an Anthropic Message or a Responses `response` — whether the request that stored it
 * streamed or not. Replay renders it as that JSON or as a stream in the same format
 * (functions/cache/replay.ts). Never an upstream header: nothing of x-ratelimit-*,
 * openai-* or request ids is kept. The answer is the raw one (before the response-stage
 * policy), so the policy in force when it is served decides what the client sees.
 */
export interface StoredAnswer {
  v: 1;
  ingress: string;
  endpoint: string;
  body: Record<string, unknown>;
  /** The usage the answer carried (normalised), for the response policy and the cost saved. */
  usage?: Usage;
  /** Provider and resolved model it was priced as when stored (for the cost saved on a hit). */
  provider: string;
  model?: string;
}

export type EncodeOutcome = { ok: true; payload: Uint8Array } | { ok: false; reason: 'too_large'; bytes: number };

/** The entry payload, or `too_large` when its gzip is over MAX_ENTRY_BYTES. */
export function encodeAnswer(answer: StoredAnswer): EncodeOutcome {
  const payload = gzipSync(JSON.stringify(answer));
  if (payload.byteLength > MAX_ENTRY_BYTES) return { ok: false, reason: 'too_large', bytes: payload.byteLength };
  return { ok: true, payload };
}

/** The stored answer, or undefined for a payload that is not one (a damaged or foreign entry is a miss). */
export function decodeAnswer(payload: Uint8Array): StoredAnswer | undefined {
  try {
    const answer = JSON.parse(gunzipSync(payload).toString('utf8')) as StoredAnswer;
    if (answer?.v !== 1 || typeof answer.body !== 'object' || answer.body === null) return undefined;
    return answer;
  } catch {
    return undefined;
  }
}

/**
 * A chat.completion or text_completion folded from a stream the client asked no usage
 * chunk for (the gateway asked the upstream for it and hid it, or a translator left it
 * out) lacks the `usage` every plain answer has: it is filled from the usage the call was
 * metered with, in the shape the gateway's chat translators give (functions/providers/chat.ts).
 */
export function withWireUsage(endpoint: string, body: Record<string, unknown>, usage: Usage | undefined): Record<string, unknown> {
  if (body.usage || !usage || (endpoint !== 'chat.completions' && endpoint !== 'completions')) return body;
  return {
    ...body,
    usage: {
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.totalTokens,
      prompt_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
      completion_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    },
  };
}
