import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/upstream/errors.js';
import { walkMessages, type MessageBlocks } from '../../../functions/providers/message-walk.js';
import type { ChatMessage } from '../../../functions/providers/chat.js';

/** Block builders that name what they were given, so the walk's grouping is visible. */
const blocks: MessageBlocks = {
  provider: 'TestProvider',
  system: (m) => [{ sys: m.content }],
  user: (m) => (m.content === '' ? [] : [{ text: m.content }]),
  assistant: (m) => [{ said: m.content }],
  tool: (m, _where, id) => [{ result: m.content, id }],
};

const walk = (messages: unknown[], b: MessageBlocks = blocks) => walkMessages(messages as ChatMessage[], b);

function refusal(fn: () => unknown): { status: number; code: string | null | undefined; param: string | null | undefined; message: string } {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    const body = (err as GatewayError).toBody().error;
    return { status: (err as GatewayError).status, code: body.code, param: body.param, message: body.message };
  }
  throw new Error('expected a refusal');
}

describe('walkMessages', () => {
  it('collects system and developer messages apart, in order, wherever they stand', () => {
    const out = walk([
      { role: 'system', content: 's1' },
      { role: 'user', content: 'u1' },
      { role: 'developer', content: 's2' },
      { role: 'assistant', content: 'a1' },
    ]);
    expect(out.system).toEqual([{ sys: 's1' }, { sys: 's2' }]);
    expect(out.turns).toEqual([
      { role: 'user', content: [{ text: 'u1' }] },
      { role: 'assistant', content: [{ said: 'a1' }] },
    ]);
  });

  it('merges consecutive same-role messages, tool results included in the user turn', () => {
    const out = walk([
      { role: 'user', content: 'u1' },
      { role: 'user', content: 'u2' },
      { role: 'assistant', content: 'a1' },
      { role: 'tool', tool_call_id: 'call_1', content: 'r1' },
      { role: 'tool', tool_call_id: 'call_2', content: 'r2' },
      { role: 'user', content: 'u3' },
    ]);
    expect(out.turns).toEqual([
      { role: 'user', content: [{ text: 'u1' }, { text: 'u2' }] },
      { role: 'assistant', content: [{ said: 'a1' }] },
      { role: 'user', content: [{ result: 'r1', id: 'call_1' }, { result: 'r2', id: 'call_2' }, { text: 'u3' }] },
    ]);
  });

  it('a message with no blocks adds no turn and does not split a merge', () => {
    const out = walk([
      { role: 'assistant', content: 'a1' },
      { role: 'user', content: '' },
      { role: 'assistant', content: 'a2' },
    ]);
    expect(out.turns).toEqual([{ role: 'assistant', content: [{ said: 'a1' }, { said: 'a2' }] }]);
  });

  it('applies the message mark to each message’s own blocks, system included', () => {
    const marked: MessageBlocks = { ...blocks, mark: (bs, m) => (m.name === 'cached' ? [...bs, { cachePoint: true }] : bs) };
    const out = walk(
      [
        { role: 'system', content: 's', name: 'cached' },
        { role: 'user', content: 'u1', name: 'cached' },
        { role: 'user', content: 'u2' },
      ],
      marked,
    );
    expect(out.system).toEqual([{ sys: 's' }, { cachePoint: true }]);
    expect(out.turns).toEqual([{ role: 'user', content: [{ text: 'u1' }, { cachePoint: true }, { text: 'u2' }] }]);
  });

  it('refuses a tool message without tool_call_id and an unknown role with a 400 naming the field', () => {
    expect(refusal(() => walk([{ role: 'user', content: 'u' }, { role: 'tool', content: 'r' }]))).toMatchObject({ status: 400, code: 'missing_required_parameter', param: 'messages[1].tool_call_id' });
    const role = refusal(() => walk([{ role: 'robot', content: 'x' }]));
    expect(role).toMatchObject({ status: 400, code: 'invalid_value', param: 'messages[0].role' });
    expect(role.message).toContain('TestProvider');
  });

  it('takes the legacy function role only from providers that map it, and runs the shape check first', () => {
    expect(refusal(() => walk([{ role: 'function', name: 'f', content: '1' }]))).toMatchObject({ status: 400, param: 'messages[0].role' });
    const withFunction: MessageBlocks = { ...blocks, function: (m) => [{ fn: m.name }] };
    expect(walk([{ role: 'function', name: 'f', content: '1' }], withFunction).turns).toEqual([{ role: 'user', content: [{ fn: 'f' }] }]);
    const seen: string[] = [];
    const checked: MessageBlocks = { ...blocks, check: (_m, where) => void seen.push(where) };
    walk([{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }], checked);
    expect(seen).toEqual(['messages[0]', 'messages[1]']);
  });
});
