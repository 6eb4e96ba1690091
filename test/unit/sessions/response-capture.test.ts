import { describe, expect, it } from 'vitest';
import { SseSplitter } from '../../../functions/gateway/sse.js';
import { ResponseCapture } from '../../../functions/sessions/response-capture.js';

const sse = (events: unknown[]) => events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('');

function captureSse(text: string, splitAt: number[] = []): ReturnType<ResponseCapture['result']> {
  const capture = new ResponseCapture();
  const splitter = new SseSplitter();
  let last = 0;
  for (const at of [...splitAt, text.length]) {
    for (const event of splitter.push(text.slice(last, at))) capture.onEvent(event);
    last = at;
  }
  return capture.result();
}

describe('ResponseCapture', () => {
  it('streamed chat: text deltas of the first choice only, however the bytes are split', () => {
    const text = sse([
      { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { role: 'assistant', content: '' } }] },
      { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'Hel' } }, { index: 1, delta: { content: 'XX' } }] },
      { object: 'chat.completion.chunk', choices: [{ index: 0, delta: { content: 'lo' }, finish_reason: null }] },
      { object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] },
      { object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
      '[DONE]',
    ]);
    expect(captureSse(text, [7, 50, 51, 130])).toEqual({ assistant: { role: 'assistant', content: 'Hello' } });
  });

  it('streamed chat: parallel tool calls assembled from fragments by index', () => {
    const text = sse([
      { choices: [{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_', arguments: '' } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { name: 'weather', arguments: '{"ci' } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } }] } }] },
      { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] } }] },
      '[DONE]',
    ]);
    expect(captureSse(text)).toEqual({
      assistant: {
        role: 'assistant',
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
          { id: 'call_b', type: 'function', function: { name: 'get_time', arguments: '{}' } },
        ],
      },
    });
  });

  it('plain chat completion: the first choice message, split across chunks', () => {
    const body = JSON.stringify({ object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', refusal: null } }] });
    const capture = new ResponseCapture();
    capture.onChunk(Buffer.from(body.slice(0, 10)));
    capture.onChunk(Buffer.from(body.slice(10)));
    expect(capture.result()).toEqual({ assistant: { role: 'assistant', content: 'Hi', refusal: null } });
  });

  it('Responses API: the response id, plain or from the stream', () => {
    const plain = new ResponseCapture();
    plain.onChunk(Buffer.from(JSON.stringify({ id: 'resp_1', object: 'response', output: [] })));
    expect(plain.result()).toEqual({ responseId: 'resp_1' });
    const streamed = captureSse(
      [
        'event: response.created\ndata: {"type":"response.created","response":{"id":"resp_2","object":"response"}}\n\n',
        'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":"x"}\n\n',
        'event: response.completed\ndata: {"type":"response.completed","response":{"id":"resp_2","object":"response"}}\n\n',
      ].join(''),
    );
    expect(streamed).toEqual({ responseId: 'resp_2' });
  });

  it('nothing to capture: embeddings, errors, garbage', () => {
    for (const body of ['{"object":"list","data":[]}', 'not json', '{"error":{"message":"x"}}']) {
      const c = new ResponseCapture();
      c.onChunk(Buffer.from(body));
      expect(c.result()).toEqual({});
    }
    expect(captureSse(sse(['{oops', { object: 'text_completion', choices: [{ text: 'x' }] }]))).toEqual({});
  });
});
