import { describe, expect, it } from 'vitest';
import { StreamUsageTracker, withoutUsage } from '../../../functions/providers/openai/stream.js';
import { translateRequest } from '../../../functions/providers/openai/request.js';
import type { RequestBody } from '../../../functions/gateway/types.js';

const ev = (payload: unknown) => {
  const data = JSON.stringify(payload);
  return { data, raw: `data: ${data}\n\n` };
};

describe('OpenAI-family usage', () => {
  it('is taken from whichever chunk carries it, also one that still has choices (Groq, vLLM style)', () => {
    const t = new StreamUsageTracker();
    t.onEvent(ev({ choices: [{ index: 0, delta: { content: 'hi' } }] }));
    t.onEvent(ev({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9, prompt_tokens_details: { cached_tokens: 3 } } }));
    expect(t.usage).toEqual({ promptTokens: 7, completionTokens: 2, totalTokens: 9, cachedTokens: 3 });
  });

  it('a stream is always asked for usage; the client’s own stream_options are kept', () => {
    const body = (json: Record<string, unknown>): RequestBody => ({ json, raw: Buffer.from(JSON.stringify(json)), model: 'm', stream: json.stream === true, includeUsage: (json.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true });
    const asked = translateRequest(body({ model: 'm', stream: true, stream_options: { include_usage: true } }), 'm');
    expect(asked.stripUsage).toBe(false);
    const notAsked = translateRequest(body({ model: 'm', stream: true, stream_options: { continuous_usage_stats: true } }), 'm');
    expect(notAsked.stripUsage).toBe(true);
    expect(JSON.parse(notAsked.body.toString())).toEqual({ model: 'm', stream: true, stream_options: { continuous_usage_stats: true, include_usage: true } });
    const plain = body({ model: 'm' });
    expect(translateRequest(plain, 'm').body).toBe(plain.raw);
    expect(translateRequest(body({ model: 'm', stream: true }), 'm', 'embeddings').stripUsage).toBe(false);
  });
});

describe('usage: null on every chunk (OpenAI and Azure with include_usage)', () => {
  const raw = (data: string) => ({ data, raw: `data: ${data}\n\n` });

  it('the tracker skips null usage and still reads the usage object, compact or spaced', () => {
    const t = new StreamUsageTracker();
    t.onEvent(raw('{"id":"c1","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}'));
    expect(t.usage).toBeUndefined();
    t.onEvent(raw('{"id": "c1", "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 1, "total_tokens": 5}}'));
    expect(t.usage).toMatchObject({ promptTokens: 4, completionTokens: 1, totalTokens: 5 });
    // A later null does not erase it.
    t.onEvent(raw('{"id":"c1","choices":[],"usage":null}'));
    expect(t.usage?.totalTokens).toBe(5);
  });

  it('withoutUsage cuts a trailing null usage as text, keeping every other byte', () => {
    const data = '{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a \\"usage\\":null} b"}}],"usage":null}';
    const out = withoutUsage(raw(data));
    expect(out?.data).toBe('{"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a \\"usage\\":null} b"}}]}');
    expect(JSON.parse(out!.data)).toEqual(((j: Record<string, unknown>) => (delete j.usage, j))(JSON.parse(data)));
    expect(out?.raw).toBe(`data: ${out?.data}\n\n`);
    // Spaced JSON (Python servers) is cut the same way.
    expect(withoutUsage(raw('{"id": "c1", "choices": [], "usage": null}'))?.data).toBe('{"id": "c1", "choices": []}');
  });

  it('a nested usage member is not the chunk usage: the event passes unchanged', () => {
    const data = '{"id":"c1","choices":[{"index":0,"delta":{}}],"meta":{"usage":null}}';
    expect(withoutUsage(raw(data))?.data).toBe(data);
  });

  it('the usage-only last chunk is still dropped, and usage on a chunk with choices removed', () => {
    expect(withoutUsage(raw('{"id":"c1","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'))).toBeUndefined();
    const kept = withoutUsage(raw('{"id":"c1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}'));
    expect(JSON.parse(kept!.data)).toEqual({ id: 'c1', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] });
  });
});
