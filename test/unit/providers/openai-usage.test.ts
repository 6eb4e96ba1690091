import { describe, expect, it } from 'vitest';
import { StreamUsageTracker } from '../../../functions/providers/openai/stream.js';
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
