import { describe, expect, it } from 'vitest';
import { buildInputDocument, type InputContext } from '../../../functions/governance/input-document.js';
import { evaluateDecision, reasonsOf } from '../../../functions/governance/decision.js';
import { signPolicy, verifiedRego } from '../../../functions/governance/signed-policy.js';
import { compile } from '../../../functions/rego/index.js';

const base: Omit<InputContext, 'endpoint' | 'body'> = {
  stage: 'request',
  proxy: { id: 'p', name: 'P' },
  org: { id: 'o' },
  key: { id: 'key_1' },
  ingress: 'openai',
  provider: 'openai',
  model: { requested: 'fast', resolved: 'gpt-4o-mini' },
  bodyBytes: 100,
  headers: { 'user-agent': 'ua', authorization: 'Bearer sk-sluice-secret', cookie: 'c=1' },
  session: { id: 's', turn: 2, strategy: 'header' },
  properties: { team: 'x' },
  now: new Date('2026-11-23T12:00:00Z'),
};
const doc = (endpoint: string, body: Record<string, unknown>) => buildInputDocument({ ...base, endpoint, body });

describe('the input document', () => {
  it('chat: messages with text of parts, tool calls and tool results, tools, user, allow-listed headers', () => {
    const d = doc('chat.completions', {
      user: 'ann',
      tool_choice: 'auto',
      messages: [
        { role: 'system', content: 'be nice' },
        { role: 'user', content: [{ type: 'text', text: 'hello' }, { type: 'image_url', image_url: { url: 'x' } }] },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup', arguments: '{"a":1}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'ok' },
      ],
      tools: [{ type: 'function', function: { name: 'lookup', description: 'd' } }, { type: 'function', function: { name: 'delete_database' } }],
    });
    expect(d.messages).toEqual([
      { role: 'system', text: 'be nice' },
      { role: 'user', text: 'hello' },
      { role: 'assistant', text: '', tool_calls: [{ id: 'c1', name: 'lookup', arguments: '{"a":1}' }] },
      { role: 'tool', text: 'ok', tool_result: { tool_call_id: 'c1' } },
    ]);
    expect(d).toMatchObject({ system: 'be nice', tool_names: ['lookup', 'delete_database'], tool_choice: 'auto', user: 'ann', tool_calls: [{ name: 'lookup' }] });
    expect(d.headers).toEqual({ 'user-agent': 'ua' });
    expect(d.session).toEqual({ id: 's', turn: 2, strategy: 'header' });
    expect(d.time).toEqual({ iso: '2026-11-23T12:00:00.000Z', unix_ms: Date.parse('2026-11-23T12:00:00Z') });
  });

  it('responses: input string or items, instructions as system, function calls and outputs', () => {
    expect(doc('responses', { input: 'hi', instructions: 'sys' })).toMatchObject({ messages: [{ role: 'user', text: 'hi' }], system: 'sys' });
    const d = doc('responses', {
      input: [
        { role: 'user', content: [{ type: 'input_text', text: 'q' }] },
        { type: 'function_call', call_id: 'c', name: 'f', arguments: '{}' },
        { type: 'function_call_output', call_id: 'c', output: 'r' },
      ],
      tools: [{ type: 'function', name: 'f' }],
    });
    expect(d.messages).toEqual([
      { role: 'user', text: 'q' },
      { role: 'assistant', text: '', tool_calls: [{ id: 'c', name: 'f', arguments: '{}' }] },
      { role: 'tool', text: 'r', tool_result: { tool_call_id: 'c' } },
    ]);
    expect(d.tool_names).toEqual(['f']);
  });

  it('Anthropic messages and Converse: system, tool_use/toolUse, tool_result/toolResult, tools', () => {
    const a = doc('anthropic.messages', {
      system: 'sys',
      metadata: { user_id: 'u1' },
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get', input: { x: 1 } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'done' }] },
      ],
      tools: [{ name: 'get' }],
    });
    expect(a).toMatchObject({ system: 'sys', user: 'u1', tool_names: ['get'] });
    expect(a.messages).toEqual([
      { role: 'user', text: 'hi' },
      { role: 'assistant', text: '', tool_calls: [{ id: 't1', name: 'get', arguments: '{"x":1}' }] },
      { role: 'user', text: 'done', tool_result: { tool_call_id: 't1' } },
    ]);
    const c = doc('bedrock.converse', {
      system: [{ text: 'sys' }],
      messages: [{ role: 'user', content: [{ text: 'hi' }] }, { role: 'assistant', content: [{ toolUse: { toolUseId: 'u', name: 'get', input: {} } }] }],
      toolConfig: { tools: [{ toolSpec: { name: 'get' } }] },
    });
    expect(c).toMatchObject({ system: 'sys', tool_names: ['get'], messages: [{ role: 'user', text: 'hi' }, { role: 'assistant', tool_calls: [{ id: 'u', name: 'get' }] }] });
  });

  it('data: the proxy static policy data, {} when there is none', () => {
    expect(doc('chat.completions', { messages: [] }).data).toEqual({});
    expect(buildInputDocument({ ...base, endpoint: 'chat.completions', body: { messages: [] }, data: { tier: 'gold', limits: [1, 2] } }).data).toEqual({ tier: 'gold', limits: [1, 2] });
  });

  it('completions: the prompt as user messages', () => {
    expect(doc('completions', { prompt: ['a', 'b'] }).messages).toEqual([{ role: 'user', text: 'a' }, { role: 'user', text: 'b' }]);
  });
});

describe('decisions', () => {
  const now = new Date();
  it('deny as a boolean or a set; allow false; hold; any package name', () => {
    const p = compile(`package acme.x
default allow := true
allow := false if input.user == "eve"
deny if input.user == "bob"
hold contains "big" if input.amount > 10
`);
    expect(evaluateDecision(p, { user: 'bob', amount: 1 }, { budgetMs: 200, now })).toMatchObject({ package: 'acme/x', denyReasons: ['denied by policy'], holdReasons: [] });
    expect(evaluateDecision(p, { user: 'eve', amount: 11 }, { budgetMs: 200, now })).toMatchObject({ denyReasons: ['not allowed by policy'], holdReasons: ['big'] });
    expect(evaluateDecision(p, { user: 'ann', amount: 1 }, { budgetMs: 200, now })).toMatchObject({ denyReasons: [], holdReasons: [] });
  });

  it('reason shapes', () => {
    expect(reasonsOf(['b', 'a'], 'x')).toEqual(['a', 'b']);
    expect(reasonsOf([{ msg: 'm' }, { reason: 'r' }], 'x')).toEqual(['m', 'r']);
    expect(reasonsOf(false, 'x')).toEqual([]);
  });

  it('stream rules and redact spans', () => {
    const p = compile(`package sluice.policy
stream_redact contains {"pattern": "a+", "max_len": 5}
stream_deny contains {"pattern": "b"}
redact contains {"start": 1, "end": 3}
`);
    expect(evaluateDecision(p, {}, { budgetMs: 200, now })).toMatchObject({ streamRedact: [{ pattern: 'a+', maxLen: 5 }], streamDeny: [{ pattern: 'b', maxLen: 256 }], redact: [{ span: { start: 1, end: 3 } }] });
  });
});

describe('signed policies', () => {
  it('verifies, refuses tampering, stripping and a missing key', () => {
    const signed = signPolicy('package a\n', 'k');
    expect(verifiedRego(signed, 'k')).toBe('package a\n');
    expect(() => verifiedRego(signed.replace('package a', 'package b'), 'k')).toThrow(/does not match/);
    expect(() => verifiedRego(signed, 'other')).toThrow(/does not match/);
    expect(() => verifiedRego('package a\n', 'k')).toThrow(/not signed/);
    expect(() => verifiedRego(signed, undefined)).toThrow(/not set/);
    expect(verifiedRego('package a\n', undefined)).toBe('package a\n');
  });
});
