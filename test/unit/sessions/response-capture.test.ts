import { describe, expect, it } from 'vitest';
import { SseSplitter } from '../../../functions/upstream/sse.js';
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

  it('Anthropic Messages stream: text and tool_use blocks assembled in index order', () => {
    const ev = (type: string, data: Record<string, unknown>) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
    const text = [
      ev('message_start', { message: { id: 'msg_1', type: 'message', role: 'assistant', content: [] } }),
      ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Let me ' } }),
      ev('ping', {}),
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'check.' } }),
      ev('content_block_stop', { index: 0 }),
      ev('content_block_start', { index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} } }),
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '{"city":' } }),
      ev('content_block_delta', { index: 1, delta: { type: 'input_json_delta', partial_json: '"Oslo"}' } }),
      ev('content_block_stop', { index: 1 }),
      ev('message_delta', { delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 5 } }),
      ev('message_stop', {}),
    ].join('');
    expect(captureSse(text, [33, 200])).toEqual({
      assistant: {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me check.' },
          { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } },
        ],
      },
    });
  });

  it('Anthropic and Bedrock plain answers: the content blocks', () => {
    const anthropic = new ResponseCapture();
    anthropic.onChunk(Buffer.from(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', content: [{ type: 'text', text: 'Hi' }] })));
    expect(anthropic.result()).toEqual({ assistant: { role: 'assistant', content: [{ type: 'text', text: 'Hi' }] } });
    const bedrock = new ResponseCapture();
    bedrock.onChunk(Buffer.from(JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'Hi' }] } }, stopReason: 'end_turn' })));
    expect(bedrock.result()).toEqual({ assistant: { role: 'assistant', content: [{ text: 'Hi' }] } });
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
