/**
 * Gemini translators beyond the fixtures: malformed client input is always a 400 (never a
 * crash), the paths and headers of a call, embeddings both ways, and schema edge cases.
 */
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../functions/upstream/errors.js';
import { geminiHeaders, geminiPath } from '../../../functions/providers/gemini/api.js';
import { fromGeminiEmbeddings, toGeminiEmbedRequest } from '../../../functions/providers/gemini/embeddings.js';
import { geminiBodyFor, toGeminiRequest } from '../../../functions/providers/gemini/request.js';
import { toGeminiParameters, toGeminiSchema } from '../../../functions/providers/gemini/schema.js';
import { geminiTokenCounts } from '../../../functions/providers/gemini/usage.js';

type Json = Record<string, unknown>;
const user = (content: unknown) => ({ model: 'g', messages: [{ role: 'user', content }] });

function status(run: () => unknown): number | string {
  try {
    run();
    return 'no error';
  } catch (err) {
    return err instanceof GatewayError ? err.status : `crash: ${(err as Error).message}`;
  }
}

describe('malformed chat requests are 400s, never crashes', () => {
  const cases: Array<[string, Json]> = [
    ['content is a number', user(5)],
    ['content holds a string instead of parts', { model: 'g', messages: [{ role: 'user', content: ['hi'] }] }],
    ['system content is an object', { model: 'g', messages: [{ role: 'system', content: { text: 'x' } }, { role: 'user', content: 'hi' }] }],
    ['a text part without text', user([{ type: 'text' }])],
    ['an unknown part type', user([{ type: 'video_url', video_url: 'x' }])],
    ['an image part without url', user([{ type: 'image_url', image_url: {} }])],
    ['an image URL of another scheme', user([{ type: 'image_url', image_url: { url: 'ftp://x/y.png' } }])],
    ['a gs:// URI without a known extension', user([{ type: 'image_url', image_url: { url: 'gs://b/obj' } }])],
    ['a file part with a file id', user([{ type: 'file', file: { file_id: 'file-1' } }])],
    ['only a system message', { model: 'g', messages: [{ role: 'system', content: 'x' }] }],
    ['an unknown role', { model: 'g', messages: [{ role: 'robot', content: 'x' }] }],
    ['tool_calls not an array', { model: 'g', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: {} }] }],
    ['a tool call without a name', { model: 'g', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: {} }] }] }],
    ['tool call arguments as an object', { model: 'g', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: { a: 1 } } }] }] }],
    ['a tool message without tool_call_id', { model: 'g', messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'r' }] }],
    ['tools not an array', { ...user('x'), tools: { a: 1 } }],
    ['a non-function tool', { ...user('x'), tools: [{ type: 'web_search' }] }],
    ['tool parameters not an object', { ...user('x'), tools: [{ type: 'function', function: { name: 'f', parameters: 'object' } }] }],
    ['a false schema', { ...user('x'), tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: false } } } }] }],
    ['an unknown schema type', { ...user('x'), tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'date' } } } } }] }],
    ['a $ref to nothing', { ...user('x'), tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { $ref: '#/$defs/Nope' } } } } }] }],
    ['tool_choice nonsense', { ...user('x'), tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'sometimes' }],
    ['temperature a string', { ...user('x'), temperature: '1' }],
    ['top_p above 1', { ...user('x'), top_p: 1.5 }],
    ['n zero', { ...user('x'), n: 0 }],
    ['stop a number', { ...user('x'), stop: 3 }],
    ['max_tokens negative', { ...user('x'), max_tokens: -1 }],
    ['response_format of an unknown type', { ...user('x'), response_format: { type: 'yaml' } }],
    ['json_schema without schema', { ...user('x'), response_format: { type: 'json_schema', json_schema: { name: 'n' } } }],
    ['reasoning_effort unknown', { ...user('x'), reasoning_effort: 'extreme' }],
    ['top_logprobs', { ...user('x'), top_logprobs: 3 }],
    ['audio output', { ...user('x'), audio: { voice: 'x' } }],
  ];
  for (const [name, body] of cases) {
    it(name, () => {
      expect(status(() => toGeminiRequest(body, 'gemini-2.5-flash'))).toBe(400);
    });
  }
});

describe('other ingresses through the chat translation', () => {
  it('the Responses API: instructions → systemInstruction, input → a user turn', () => {
    expect(geminiBodyFor('responses', 'openai', { model: 'g', instructions: 'Be brief.', input: 'hello' }, 'g')).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'hello' }] }],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
    });
  });

  it('native Anthropic Messages: system, tool_use and tool_result blocks → systemInstruction, functionCall, functionResponse', () => {
    const body = {
      model: 'g',
      max_tokens: 50,
      system: 'Be brief.',
      messages: [
        { role: 'user', content: 'time?' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'now', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: '10:00' }] },
      ],
      tools: [{ name: 'now', input_schema: { type: 'object', properties: { tz: { type: 'string' } } } }],
    };
    expect(geminiBodyFor('anthropic.messages', 'anthropic', body, 'g')).toEqual({
      contents: [
        { role: 'user', parts: [{ text: 'time?' }] },
        { role: 'model', parts: [{ functionCall: { id: 'toolu_1', name: 'now', args: {} } }] },
        { role: 'user', parts: [{ functionResponse: { id: 'toolu_1', name: 'now', response: { output: '10:00' } } }] },
      ],
      systemInstruction: { parts: [{ text: 'Be brief.' }] },
      tools: [{ functionDeclarations: [{ name: 'now', parameters: { type: 'OBJECT', properties: { tz: { type: 'STRING' } } } }] }],
      generationConfig: { maxOutputTokens: 50 },
    });
  });
});

describe('call ids per target', () => {
  const history = {
    model: 'g',
    messages: [
      { role: 'user', content: 'x' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'fc_7', type: 'function', function: { name: 'f', arguments: '{}' } }, { id: 'call_made_up', type: 'function', function: { name: 'g', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'fc_7', content: 'one' },
      { role: 'tool', tool_call_id: 'call_made_up', content: 'two' },
    ],
  };
  const callParts = (body: { contents: Array<{ parts: Array<Record<string, unknown>> }> }) => body.contents.flatMap((c) => c.parts).filter((p) => p.functionCall || p.functionResponse);

  it('the Gemini API (default) gets back the ids Gemini issued, never the gateway-made call_ ones', () => {
    expect(callParts(toGeminiRequest(history, 'gemini-2.5-flash'))).toEqual([
      { functionCall: { id: 'fc_7', name: 'f', args: {} } },
      { functionCall: { name: 'g', args: {} } },
      { functionResponse: { id: 'fc_7', name: 'f', response: { output: 'one' } } },
      { functionResponse: { name: 'g', response: { output: 'two' } } },
    ]);
  });

  it('Vertex (callIds: false) gets no ids at all, on every ingress', () => {
    const expected = [
      { functionCall: { name: 'f', args: {} } },
      { functionCall: { name: 'g', args: {} } },
      { functionResponse: { name: 'f', response: { output: 'one' } } },
      { functionResponse: { name: 'g', response: { output: 'two' } } },
    ];
    expect(callParts(toGeminiRequest(history, 'gemini-2.5-flash', { callIds: false }))).toEqual(expected);
    expect(callParts(geminiBodyFor('chat.completions', 'openai', history, 'gemini-2.5-flash', { callIds: false }))).toEqual(expected);
    const messages = {
      model: 'g',
      max_tokens: 10,
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'one' }] },
      ],
    };
    expect(callParts(geminiBodyFor('anthropic.messages', 'anthropic', messages, 'gemini-2.5-flash', { callIds: false }))).toEqual([
      { functionCall: { name: 'f', args: {} } },
      { functionResponse: { name: 'f', response: { output: 'one' } } },
    ]);
  });
});

describe('paths and headers', () => {
  it('the model is URL-encoded into its path segment; streams ask for SSE; a models/ prefix is accepted', () => {
    expect(geminiPath('gemini-2.5-flash', 'generateContent')).toBe('/models/gemini-2.5-flash:generateContent');
    expect(geminiPath('models/gemini-2.5-flash', 'streamGenerateContent')).toBe('/models/gemini-2.5-flash:streamGenerateContent?alt=sse');
    expect(geminiPath('../../v1/files?x', 'generateContent')).toBe('/models/..%2F..%2Fv1%2Ffiles%3Fx:generateContent');
  });

  it('the key goes in x-goog-api-key, never elsewhere', () => {
    const h = geminiHeaders('AIzaKey', Buffer.from('{}'), true);
    expect(h).toMatchObject({ 'x-goog-api-key': 'AIzaKey', accept: 'text/event-stream', 'content-length': '2' });
    expect(Object.entries(h).filter(([, v]) => v.includes('AIzaKey')).map(([k]) => k)).toEqual(['x-goog-api-key']);
  });
});

describe('embeddings', () => {
  it('one request per input, the model named models/<id>, dimensions → outputDimensionality', () => {
    expect(toGeminiEmbedRequest({ input: ['a', 'b'], dimensions: 8 }, 'gemini-embedding-001')).toEqual({
      requests: [
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a' }] }, outputDimensionality: 8 },
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'b' }] }, outputDimensionality: 8 },
      ],
    });
  });

  it('token arrays, more than 100 inputs and bad dimensions are 400s', () => {
    expect(status(() => toGeminiEmbedRequest({ input: [1, 2, 3] }, 'm'))).toBe(400);
    expect(status(() => toGeminiEmbedRequest({ input: Array.from({ length: 101 }, () => 'x') }, 'm'))).toBe(400);
    expect(status(() => toGeminiEmbedRequest({ input: 'x', dimensions: 0 }, 'm'))).toBe(400);
    expect(status(() => toGeminiEmbedRequest({ input: 'x', encoding_format: 'int8' }, 'm'))).toBe(400);
  });

  it('vectors back in order; base64 is little-endian float32; usage 0 when Gemini reports none', () => {
    const answer = { embeddings: [{ values: [0.5, -1] }, { values: [0.25, 2] }] };
    expect(fromGeminiEmbeddings(answer, { input: ['a', 'b'] }, 'm')).toEqual({
      object: 'list',
      model: 'm',
      data: [
        { object: 'embedding', index: 0, embedding: [0.5, -1] },
        { object: 'embedding', index: 1, embedding: [0.25, 2] },
      ],
      usage: { prompt_tokens: 0, total_tokens: 0 },
    });
    const b64 = fromGeminiEmbeddings({ embeddings: [{ values: [1, -2] }] }, { input: 'a', encoding_format: 'base64' }, 'm');
    const bytes = Buffer.alloc(8);
    bytes.writeFloatLE(1, 0);
    bytes.writeFloatLE(-2, 4);
    expect((b64.data as Json[])[0]!.embedding).toBe(bytes.toString('base64'));
  });

  it('an answer without one vector per input is refused', () => {
    expect(() => fromGeminiEmbeddings({ embeddings: [{ values: [1] }] }, { input: ['a', 'b'] }, 'm')).toThrow(/one embedding per input/);
  });
});

describe('schema edge cases', () => {
  it('a tool with no properties (or no parameters) sends no parameters', () => {
    expect(toGeminiParameters({ type: 'object', properties: {} }, 'p')).toBeUndefined();
    expect(toGeminiParameters({ type: 'object' }, 'p')).toBeUndefined();
    expect(toGeminiParameters(undefined, 'p')).toBeUndefined();
  });

  it('siblings of a $ref win over the referenced schema; JSON pointers with escapes resolve', () => {
    const schema = { $defs: { 'a/b': { type: 'string', description: 'inner' } }, type: 'object', properties: { x: { $ref: '#/$defs/a~1b', description: 'outer' } } };
    expect(toGeminiSchema(schema, 'p')).toEqual({ type: 'OBJECT', properties: { x: { type: 'STRING', description: 'outer' } } });
  });

  it('anyOf and oneOf together, or a null-only union, are 400s', () => {
    expect(status(() => toGeminiSchema({ anyOf: [{ type: 'string' }], oneOf: [{ type: 'integer' }] }, 'p'))).toBe(400);
    expect(status(() => toGeminiSchema({ anyOf: [{ type: 'null' }] }, 'p'))).toBe(400);
    expect(status(() => toGeminiSchema({ type: 'null' }, 'p'))).toBe(400);
  });

  it('tuple items become an anyOf of the positions with a note', () => {
    expect(toGeminiSchema({ type: 'array', prefixItems: [{ type: 'string' }, { type: 'integer' }] }, 'p')).toEqual({
      type: 'ARRAY',
      items: { anyOf: [{ type: 'STRING' }, { type: 'INTEGER' }] },
      description: '(items in this order: 2 positions)',
    });
  });
});

describe('usage', () => {
  it('tool-use prompt tokens are input; cached content never exceeds the prompt', () => {
    expect(geminiTokenCounts({ promptTokenCount: 10, toolUsePromptTokenCount: 5, candidatesTokenCount: 2, cachedContentTokenCount: 4 })).toEqual({ input: 11, output: 2, cacheRead: 4, cacheWrite: 0, reasoning: 0 });
    expect(geminiTokenCounts({ promptTokenCount: 3, cachedContentTokenCount: 9 })).toEqual({ input: 0, output: 0, cacheRead: 3, cacheWrite: 0, reasoning: 0 });
    expect(geminiTokenCounts(undefined)).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0, reasoning: 0 });
  });
});
