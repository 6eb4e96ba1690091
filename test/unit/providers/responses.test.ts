/** The Responses API layer for providers without one: request → chat, chunks → events. */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/upstream/errors.js';
import { responsesToChatRequest } from '../../../functions/providers/responses/request.js';
import { chatToResponse } from '../../../functions/providers/responses/response.js';
import { chatChunkToResponseEvents, finishResponseEvents, newResponsesStreamState } from '../../../functions/providers/responses/stream.js';

describe('Responses request → chat request', () => {
  it('instructions, message items, function calls (merged into one assistant turn) and their outputs', () => {
    expect(
      responsesToChatRequest({
        model: 'm',
        instructions: 'Be brief.',
        max_output_tokens: 50,
        reasoning: { effort: 'low' },
        tool_choice: { type: 'function', name: 'w' },
        tools: [{ type: 'function', name: 'w', parameters: { type: 'object' } }],
        input: [
          { role: 'user', content: [{ type: 'input_text', text: 'q' }, { type: 'input_image', image_url: 'data:image/png;base64,AA==' }] },
          { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{"a":1}' },
          { type: 'function_call', call_id: 'c2', name: 'w', arguments: '{"a":2}' },
          { type: 'function_call_output', call_id: 'c1', output: 'one' },
          { type: 'function_call_output', call_id: 'c2', output: 'two' },
          { type: 'reasoning', id: 'rs_1', summary: [] },
        ],
      }),
    ).toEqual({
      model: 'm',
      max_completion_tokens: 50,
      reasoning_effort: 'low',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'q' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'c1', type: 'function', function: { name: 'w', arguments: '{"a":1}' } },
            { id: 'c2', type: 'function', function: { name: 'w', arguments: '{"a":2}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'one' },
        { role: 'tool', tool_call_id: 'c2', content: 'two' },
      ],
      tools: [{ type: 'function', function: { name: 'w', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'w' } },
    });
  });

  it('built-in tools and previous_response_id are refused', () => {
    expect(() => responsesToChatRequest({ input: 'x', tools: [{ type: 'web_search' }] })).toThrow(GatewayError);
    expect(() => responsesToChatRequest({ input: 'x', previous_response_id: 'resp_1' })).toThrow(/previous_response_id/);
  });
});

describe('chat → Responses answers', () => {
  it('a length stop is an incomplete response with max_output_tokens', () => {
    const r = chatToResponse({ id: 'msg_9', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'cut' }, finish_reason: 'length' }], usage: { prompt_tokens: 3, completion_tokens: 2 } }, { max_output_tokens: 2 }, 1700000000);
    expect(r).toMatchObject({ id: 'resp_9', status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, usage: { input_tokens: 3, output_tokens: 2, total_tokens: 5 } });
    expect(r.output).toEqual([{ type: 'message', id: 'msg_9', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'cut', annotations: [] }] }]);
  });

  it('stream events are numbered from 0 without gaps, text before function calls', () => {
    const s = newResponsesStreamState('x', 'm', 1700000000, {});
    const events = [
      ...chatChunkToResponseEvents(s, { choices: [{ index: 0, delta: { role: 'assistant', content: 'Hi' } }] }),
      ...chatChunkToResponseEvents(s, { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'c1', function: { name: 'w', arguments: '{"a"' } }] } }] }),
      ...chatChunkToResponseEvents(s, { choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: ':1}' } }] }, finish_reason: 'tool_calls' }] }),
      ...finishResponseEvents(s, { prompt_tokens: 4, completion_tokens: 6 }),
    ];
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(events.map((e) => e.type)).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.delta',
      'response.output_item.added',
      'response.function_call_arguments.delta',
      'response.function_call_arguments.delta',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.function_call_arguments.done',
      'response.output_item.done',
      'response.completed',
    ]);
    const completed = events.at(-1)!.response as { output: Array<{ type: string; arguments?: string }>; usage: { total_tokens: number } };
    expect(completed.output.map((o) => o.type)).toEqual(['message', 'function_call']);
    expect(completed.output[1]!.arguments).toBe('{"a":1}');
    expect(completed.usage.total_tokens).toBe(10);
  });
});
