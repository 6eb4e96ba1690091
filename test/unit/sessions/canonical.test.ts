import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHistory, historyFingerprint, lookupPrefixes, stableStringify } from '../../../functions/sessions/canonical.js';
import { ResponseCapture } from '../../../functions/sessions/response-capture.js';
import { SseSplitter } from '../../../functions/upstream/sse.js';
import { startOpenAIUpstream, type OpenAIUpstream } from '../../support/openai-upstream.js';

describe('canonical form', () => {
  it('keeps role, text, tool-call id/name/arguments and tool_call_id; sorts keys; drops nulls and unknown fields', () => {
    const canonical = canonicalHistory([
      { role: 'system', content: 'Be brief.', name: 'ops' },
      { content: [{ type: 'text', text: 'Hello ' }, { type: 'image_url', image_url: { url: 'data:…' } }, { type: 'text', text: 'there' }], role: 'user' },
      {
        role: 'assistant',
        content: null,
        refusal: null,
        annotations: [],
        tool_calls: [{ type: 'function', id: 'call_1', function: { arguments: '{"b": 2, "a": [1, {"y": null, "x": 1}]}', name: 'lookup' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'ok', extra: { nested: true } },
    ]);
    expect(canonical).toBe(
      '[{"content":"Be brief.","role":"system"},{"content":"Hello there","role":"user"},' +
        '{"role":"assistant","tool_calls":[{"arguments":"{\\"a\\":[1,{\\"x\\":1}],\\"b\\":2}","id":"call_1","name":"lookup"}]},' +
        '{"content":"ok","role":"tool","tool_call_id":"call_1"}]',
    );
  });

  it('is the same for a string and the same text as parts, for empty and null content, for re-encoded arguments', () => {
    const a = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: '', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{"q":"x","n":1}' } }] },
    ];
    const b = [
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
      { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: JSON.stringify({ n: 1, q: 'x' }, null, 2) } }] },
    ];
    expect(historyFingerprint(a)).toBe(historyFingerprint(b));
    expect(historyFingerprint(a)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('differs when anything that survives a re-send differs', () => {
    const base = [
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'hello', tool_calls: [{ id: 'c1', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'c1', content: 'r' },
    ];
    const variants = [
      [{ role: 'user', content: 'hi!' }, base[1], base[2]],
      [{ role: 'system', content: 'hi' }, base[1], base[2]],
      [base[0], { ...base[1], content: 'hello.' }, base[2]],
      [base[0], { role: 'assistant', content: 'hello', tool_calls: [{ id: 'c2', function: { name: 'f', arguments: '{}' } }] }, base[2]],
      [base[0], { role: 'assistant', content: 'hello', tool_calls: [{ id: 'c1', function: { name: 'g', arguments: '{}' } }] }, base[2]],
      [base[0], { role: 'assistant', content: 'hello', tool_calls: [{ id: 'c1', function: { name: 'f', arguments: '{"a":1}' } }] }, base[2]],
      [base[0], base[1], { ...base[2], tool_call_id: 'c2' }],
      [base[0], base[1]],
    ];
    const hashes = new Set([base, ...variants].map((m) => historyFingerprint(m)));
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('content blocks (Anthropic Messages, Bedrock Converse): text, tool uses as tool calls, tool results', () => {
    const anthropic = [
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
      {
        role: 'assistant',
        content: [
          { type: 'thinking', thinking: 'hmm', signature: 'sig' },
          { type: 'text', text: 'Checking.', citations: null },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { unit: 'C', city: 'Oslo' } },
        ],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: '3C' }] }] },
    ];
    expect(canonicalHistory(anthropic)).toBe(
      '[{"content":"Weather?","role":"user"},' +
        '{"content":"Checking.","role":"assistant","tool_calls":[{"arguments":"{\\"city\\":\\"Oslo\\",\\"unit\\":\\"C\\"}","id":"toolu_1","name":"get_weather"}]},' +
        '{"role":"user","tool_results":[{"content":"3C","tool_call_id":"toolu_1"}]}]',
    );
    const bedrock = [
      { role: 'user', content: [{ text: 'Weather?' }] },
      { role: 'assistant', content: [{ text: 'Checking.' }, { toolUse: { toolUseId: 'toolu_1', name: 'get_weather', input: { city: 'Oslo', unit: 'C' } } }] },
      { role: 'user', content: [{ toolResult: { toolUseId: 'toolu_1', content: [{ text: '3C' }] } }] },
    ];
    expect(historyFingerprint(bedrock)).toBe(historyFingerprint(anthropic));
    // A string tool result and a text-block tool result are the same.
    const stringResult = [anthropic[0], anthropic[1], { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '3C' }] }];
    expect(historyFingerprint(stringResult)).toBe(historyFingerprint(anthropic));
  });

  it('stableStringify sorts keys at every depth and drops null members', () => {
    expect(stableStringify({ b: 1, a: { d: null, c: [3, { z: 1, y: null }] } })).toBe('{"a":{"c":[3,{"z":1}]},"b":1}');
  });

  it('lookupPrefixes: nothing for a first turn, messages[:-1], and the history up to the last assistant message', () => {
    const u = (t: string) => ({ role: 'user', content: t });
    const a = { role: 'assistant', content: 'x' };
    const tool = (id: string) => ({ role: 'tool', tool_call_id: id, content: 'r' });
    expect(lookupPrefixes([{ role: 'system', content: 's' }, u('q')])).toEqual([]);
    expect(lookupPrefixes([u('q'), a, u('q2')])).toEqual([[u('q'), a]]);
    expect(lookupPrefixes([u('q'), a, tool('1'), tool('2')])).toEqual([
      [u('q'), a, tool('1')],
      [u('q'), a],
    ]);
  });
});

/**
 * The official SDK drives a conversation against the wire-faithful upstream; every
 * request's `messages[:-1]` must fingerprint like the previous request's messages plus
 * the assistant message captured from the previous raw response (plain and streamed,
 * tool turns included) — which is exactly what the session plugin writes and looks up.
 */
describe('histories re-sent by the official SDK', () => {
  let upstream: OpenAIUpstream;
  const captured: ReturnType<ResponseCapture['result']>[] = [];
  const tee: typeof fetch = async (input, init) => {
    const response = await fetch(input, init);
    const text = await response.clone().text();
    const capture = new ResponseCapture();
    if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      for (const event of new SseSplitter().push(text)) capture.onEvent(event);
    } else {
      capture.onChunk(Buffer.from(text));
    }
    captured.push(capture.result());
    return response;
  };
  let client: OpenAI;
  beforeAll(async () => {
    upstream = await startOpenAIUpstream();
    client = new OpenAI({ baseURL: upstream.url, apiKey: 'sk-test', maxRetries: 0, fetch: tee });
  });
  afterAll(() => upstream?.close());

  it('plain, streamed and tool turns: each next prefix matches the previous turn plus its captured answer', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const messages: OpenAI.ChatCompletionMessageParam[] = [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Weather in Lima?' },
    ];
    // 1: streamed tool calls, accumulated by the SDK's stream helper.
    const first = await client.chat.completions.stream({ model: 'test-tools', messages, tools }).finalChatCompletion();
    messages.push(first.choices[0]!.message);
    for (const call of first.choices[0]!.message.tool_calls ?? []) messages.push({ role: 'tool', tool_call_id: call.id, content: '22C' });
    // 2: plain answer after the tool results.
    const second = await client.chat.completions.create({ model: 'gpt-4o-mini', messages, tools });
    messages.push(second.choices[0]!.message, { role: 'user', content: [{ type: 'text', text: 'And tomorrow?' }] });
    // 3: plain tool call.
    const third = await client.chat.completions.create({ model: 'test-tools@calls=1', messages, tools });
    messages.push(third.choices[0]!.message, { role: 'tool', tool_call_id: third.choices[0]!.message.tool_calls![0]!.id, content: 'rain' });
    // 4: streamed text.
    const fourth = await client.chat.completions.stream({ model: 'gpt-4o-mini', messages, tools }).finalChatCompletion();
    messages.push(fourth.choices[0]!.message, { role: 'user', content: 'Thanks' });
    await client.chat.completions.create({ model: 'gpt-4o-mini', messages });

    const sent = upstream.requests.map((r) => (r.body as { messages: unknown[] }).messages);
    expect(sent).toHaveLength(5);
    for (let i = 1; i < sent.length; i++) {
      const written = historyFingerprint([...sent[i - 1]!, captured[i - 1]!.assistant]);
      const lookedUp = lookupPrefixes(sent[i]!).map((p) => historyFingerprint(p));
      expect(lookedUp, `turn ${i + 1}`).toContain(written);
    }
    // The SDK re-sends fields the canonical form ignores (refusal, annotations, …).
    expect(JSON.stringify(sent[4])).toContain('"refusal":null');
  });
});
