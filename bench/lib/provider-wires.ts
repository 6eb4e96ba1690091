/**
 * The one answer bench/providers.ts streams, as each upstream sends it: ~300 text tokens
 * (one event or chunk each) and two tool calls, the shapes of the wire-faithful test
 * upstreams in test/support. Pure builders: strings and event objects, no I/O.
 */
import { SAFE_FILTER_RESULTS } from '../../test/support/azure-upstream.js';

export type Json = Record<string, unknown>;

export const WORDS: readonly string[] = Array.from({ length: 300 }, (_, i) => `w${i}`);

/** The wire as it arrives: one network chunk per event (`\n\n` or Gemini's `\r\n\r\n`). */
export const chunksOf = (wire: string): string[] => wire.split(/(?<=\n\n|\r\n\r\n)/);

/**
 * OpenAI chat.completion.chunk SSE as OpenAI sends it when the gateway asks for usage:
 * `"usage": null` on every chunk, then the usage chunk, then [DONE].
 */
export function openaiStream(): string {
  const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt' };
  const frames = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] }];
  for (const w of WORDS) frames.push({ ...base, choices: [{ index: 0, delta: { content: ` ${w}` } as never, finish_reason: null }] });
  for (const i of [0, 1]) {
    frames.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, id: `call_${i}`, type: 'function', function: { name: 'f', arguments: '' } }] } as never, finish_reason: null }] });
    frames.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: i, function: { arguments: '{"q":"x"}' } }] } as never, finish_reason: null }] });
  }
  frames.push({ ...base, choices: [{ index: 0, delta: {} as never, finish_reason: 'tool_calls' as never }] });
  const usage = { ...base, choices: [], usage: { prompt_tokens: 300, completion_tokens: 310, total_tokens: 610 } };
  // `usage` last, as OpenAI orders it.
  return [...frames.map((f) => ({ ...f, usage: null })), usage].map((f) => `data: ${JSON.stringify(f)}\n\n`).join('') + 'data: [DONE]\n\n';
}

/**
 * Azure OpenAI's version of the same stream when the gateway asked for usage: a first
 * chunk with `choices: []` and `prompt_filter_results` (empty id, model, object),
 * `content_filter_results` on every choice, `usage: null` on every chunk but the usage
 * chunk, then [DONE] (test/support/azure-upstream.ts).
 */
export function azureStream(): string {
  const promptFilter = [{ prompt_index: 0, content_filter_results: { ...SAFE_FILTER_RESULTS, jailbreak: { filtered: false, detected: false } } }];
  const base = { created: 1700000000, id: 'chatcmpl-azure0001', model: 'gpt-4o-mini-2024-07-18', object: 'chat.completion.chunk', system_fingerprint: 'fp_azure' };
  const chunk = (choice: Json): Json => ({ choices: [{ index: 0, logprobs: null, ...choice }], ...base, usage: null });
  const frames: Json[] = [{ choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: promptFilter, usage: null }];
  frames.push(chunk({ content_filter_results: {}, delta: { content: '', refusal: null, role: 'assistant' }, finish_reason: null }));
  for (const w of WORDS) frames.push(chunk({ content_filter_results: SAFE_FILTER_RESULTS, delta: { content: ` ${w}` }, finish_reason: null }));
  for (const i of [0, 1]) {
    frames.push(chunk({ content_filter_results: {}, delta: { tool_calls: [{ index: i, id: `call_${i}`, type: 'function', function: { name: 'f', arguments: '' } }] }, finish_reason: null }));
    frames.push(chunk({ content_filter_results: {}, delta: { tool_calls: [{ index: i, function: { arguments: '{"q":"x"}' } }] }, finish_reason: null }));
  }
  frames.push(chunk({ content_filter_results: {}, delta: {}, finish_reason: 'tool_calls' }));
  frames.push({ choices: [], ...base, usage: { prompt_tokens: 300, completion_tokens: 310, total_tokens: 610, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } } });
  return frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join('') + 'data: [DONE]\n\n';
}

export function anthropicEvents(): Json[] {
  const ev: Json[] = [{ type: 'message_start', message: { id: 'msg_1', model: 'claude', usage: { input_tokens: 300, output_tokens: 1 } } }, { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }];
  for (const w of WORDS) ev.push({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: ` ${w}` } });
  ev.push({ type: 'content_block_stop', index: 0 });
  for (const i of [1, 2]) {
    ev.push({ type: 'content_block_start', index: i, content_block: { type: 'tool_use', id: `toolu_${i}`, name: 'f', input: {} } });
    ev.push({ type: 'content_block_delta', index: i, delta: { type: 'input_json_delta', partial_json: '{"q":"x"}' } });
    ev.push({ type: 'content_block_stop', index: i });
  }
  ev.push({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 310 } }, { type: 'message_stop' });
  return ev;
}

export function bedrockEvents(): Json[] {
  const ev: Json[] = [{ messageStart: { role: 'assistant' } }];
  for (const w of WORDS) ev.push({ contentBlockDelta: { contentBlockIndex: 0, delta: { text: ` ${w}` } } });
  ev.push({ contentBlockStop: { contentBlockIndex: 0 } });
  for (const i of [1, 2]) {
    ev.push({ contentBlockStart: { contentBlockIndex: i, start: { toolUse: { toolUseId: `tooluse_${i}`, name: 'f' } } } });
    ev.push({ contentBlockDelta: { contentBlockIndex: i, delta: { toolUse: { input: '{"q":"x"}' } } } });
    ev.push({ contentBlockStop: { contentBlockIndex: i } });
  }
  ev.push({ messageStop: { stopReason: 'tool_use' } }, { metadata: { usage: { inputTokens: 300, outputTokens: 310, totalTokens: 610 } } });
  return ev;
}

/**
 * streamGenerateContent?alt=sse: one whole GenerateContentResponse per chunk
 * (`data: {json}\r\n\r\n`, no terminal event), each with the usage so far, modelVersion
 * and responseId; one text token per chunk (as many events as the other wires: Gemini
 * itself and the test upstream group several tokens per chunk), each functionCall whole
 * in its own chunk, and a last chunk with an empty text part and finishReason STOP.
 */
export function geminiStream(): string {
  const common = { modelVersion: 'gemini-2.5-flash', responseId: 'resp-000001' };
  const usage = (n: number): Json => ({ promptTokenCount: 300, candidatesTokenCount: n, totalTokenCount: 300 + n, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 300 }] });
  const chunk = (parts: Json[], n: number, finishReason?: string): Json => ({ candidates: [{ content: { parts, role: 'model' }, ...(finishReason ? { finishReason } : {}), index: 0 }], usageMetadata: usage(n), ...common });
  const frames = WORDS.map((w, i) => chunk([{ text: i === 0 ? w : ` ${w}` }], i + 1));
  for (const i of [0, 1]) frames.push(chunk([{ functionCall: { name: 'f', args: { q: 'x' } } }], 300 + 5 * (i + 1)));
  frames.push(chunk([{ text: '' }], 310, 'STOP'));
  return frames.map((f) => `data: ${JSON.stringify(f)}\r\n\r\n`).join('');
}
