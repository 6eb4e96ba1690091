/** The Anthropic ingress on OpenAI-compatible upstreams: Messages → chat and chunks → Anthropic events. */
import { describe, expect, it } from 'vitest';
import { anthropicToChatRequest } from '../../../functions/providers/anthropic-ingress/request.js';
import { chatToAnthropicMessage } from '../../../functions/providers/anthropic-ingress/response.js';
import { finishChatStream, newChatToAnthropicState, translateChatChunk } from '../../../functions/providers/anthropic-ingress/stream.js';

describe('Anthropic Messages → chat.completions', () => {
  it('tool results become tool messages before the user text; images become image_url; thinking is dropped; tool_choice any → required', () => {
    const out = anthropicToChatRequest(
      {
        model: 'x',
        max_tokens: 10,
        system: [{ type: 'text', text: 'S' }],
        stream: true,
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
        tools: [{ name: 'w', input_schema: { type: 'object' } }],
        messages: [
          { role: 'user', content: 'q' },
          { role: 'assistant', content: [{ type: 'thinking', thinking: 't', signature: 's' }, { type: 'text', text: 'ok' }, { type: 'tool_use', id: 'tu1', name: 'w', input: { a: 1 } }] },
          { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu1', content: 'r' }, { type: 'text', text: 'and?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AA==' } }] },
        ],
      },
      'gpt-x',
    );
    expect(out).toEqual({
      model: 'gpt-x',
      max_tokens: 10,
      stream: true,
      stream_options: { include_usage: true },
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'ok', tool_calls: [{ id: 'tu1', type: 'function', function: { name: 'w', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'tu1', content: 'r' },
        { role: 'user', content: [{ type: 'text', text: 'and?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] },
      ],
      tools: [{ type: 'function', function: { name: 'w', parameters: { type: 'object' } } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
    });
  });

  it('a chat.completion becomes a Message: text then tool_use, usage without the cached tokens in input_tokens', () => {
    const msg = chatToAnthropicMessage(
      {
        id: 'c1',
        model: 'gpt-x',
        choices: [{ index: 0, message: { role: 'assistant', content: 'hi', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'w', arguments: '{"a":1}' } }] }, finish_reason: 'tool_calls' }],
        usage: { prompt_tokens: 10, completion_tokens: 3, total_tokens: 13, prompt_tokens_details: { cached_tokens: 4 } },
      },
      'gpt-x',
    );
    expect(msg).toEqual({
      id: 'msg_c1',
      type: 'message',
      role: 'assistant',
      model: 'gpt-x',
      content: [{ type: 'text', text: 'hi' }, { type: 'tool_use', id: 'call_1', name: 'w', input: { a: 1 } }],
      stop_reason: 'tool_use',
      stop_sequence: null,
      usage: { input_tokens: 6, cache_creation_input_tokens: 0, cache_read_input_tokens: 4, output_tokens: 3 },
    });
  });

  it('chunks → events: one block per kind and tool index, closed in order, usage in message_delta', () => {
    const s = newChatToAnthropicState('gpt-x');
    const base = { id: 'c2', model: 'gpt-x', object: 'chat.completion.chunk' };
    const events = [
      ...translateChatChunk(s, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: 'Hel' } }] }),
      ...translateChatChunk(s, { ...base, choices: [{ index: 0, delta: { content: 'lo' } }] }),
      ...translateChatChunk(s, { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'w', arguments: '{"a"' } }] } }] }),
      ...translateChatChunk(s, { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] } }] }),
      ...translateChatChunk(s, { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'v', arguments: '{}' } }] }, finish_reason: 'tool_calls' }] }),
      ...translateChatChunk(s, { ...base, choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } }),
      ...finishChatStream(s),
    ];
    expect(events.map(([name, data]) => (name === 'content_block_delta' ? `${name}:${String(data.index)}` : name))).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta:0',
      'content_block_delta:0',
      'content_block_stop',
      'content_block_start',
      'content_block_delta:1',
      'content_block_delta:1',
      'content_block_stop',
      'content_block_start',
      'content_block_delta:2',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(events[5]![1]).toEqual({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'call_a', name: 'w', input: {} } });
    expect(events[12]![1]).toEqual({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 7 } });
  });
});
