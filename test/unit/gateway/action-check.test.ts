/** The action check's pure parts: its routes, its body, the arguments kept on the trace, its input document. */
import { describe, expect, it } from 'vitest';
import { keptInput, MAX_ACTION_NAME_LENGTH, parseActionRequest, tracedArguments } from '../../../functions/gateway/action-check.js';
import { matchRoute } from '../../../functions/gateway/routes.js';
import { buildActionInputDocument } from '../../../functions/governance/action-input.js';
import { GatewayError } from '../../../functions/upstream/errors.js';

const body = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));
const errorOf = (raw: Buffer) => {
  try {
    parseActionRequest(raw);
  } catch (e) {
    if (e instanceof GatewayError) return { status: e.status, code: e.code, param: e.param, message: e.message };
    throw e;
  }
  throw new Error('expected a 400');
};

describe('action check routes', () => {
  it('POST /v1/actions/check (proxy from the key) and /a/<proxy>/actions/check; other methods 405 naming POST', () => {
    expect(matchRoute('POST', '/v1/actions/check')).toEqual({ ok: true, route: { kind: 'action' } });
    expect(matchRoute('POST', '/v1/actions/check/')).toEqual({ ok: true, route: { kind: 'action' } });
    expect(matchRoute('POST', '/a/support/actions/check')).toEqual({ ok: true, route: { kind: 'action', pathProxyId: 'support' } });
    expect(matchRoute('GET', '/v1/actions/check')).toEqual({ ok: false, status: 405, allow: 'POST' });
    expect(matchRoute('POST', '/v1/actions')).toEqual({ ok: false, status: 404 });
    expect(matchRoute('POST', '/v1/actions/run')).toEqual({ ok: false, status: 404 });
  });
});

describe('parseActionRequest', () => {
  it('takes action, arguments (default {}), session_id and parent_trace_id (UUIDs, lower-cased)', () => {
    expect(parseActionRequest(body({ action: 'delete_database' }))).toEqual({ action: 'delete_database', arguments: {} });
    const sid = 'AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE';
    expect(parseActionRequest(body({ action: 'refund', arguments: { amount: 5 }, session_id: sid, parent_trace_id: sid.toLowerCase() }))).toEqual({
      action: 'refund',
      arguments: { amount: 5 },
      sessionId: sid.toLowerCase(),
      parentTraceId: sid.toLowerCase(),
    });
  });

  it('bad bodies are 400s naming the field, never echoing values', () => {
    expect(errorOf(body('{not json'))).toMatchObject({ status: 400, code: 'invalid_json' });
    expect(errorOf(body([1]))).toMatchObject({ status: 400, code: 'invalid_request' });
    expect(errorOf(body({}))).toMatchObject({ status: 400, code: 'missing_required_parameter', param: 'action' });
    expect(errorOf(body({ action: '  ' }))).toMatchObject({ status: 400, param: 'action' });
    expect(errorOf(body({ action: 7 }))).toMatchObject({ status: 400, param: 'action' });
    expect(errorOf(body({ action: 'x'.repeat(MAX_ACTION_NAME_LENGTH + 1) }))).toMatchObject({ status: 400, code: 'invalid_value', param: 'action' });
    expect(errorOf(body({ action: 'a', arguments: [1, 2] }))).toMatchObject({ status: 400, code: 'invalid_type', param: 'arguments' });
    expect(errorOf(body({ action: 'a', arguments: 'rm -rf' }))).toMatchObject({ status: 400, param: 'arguments' });
    const bad = errorOf(body({ action: 'a', session_id: 'sk-secret-value' }));
    expect(bad).toMatchObject({ status: 400, code: 'invalid_value', param: 'session_id' });
    expect(bad.message).not.toContain('sk-secret-value');
    expect(errorOf(body({ action: 'a', parent_trace_id: 42 }))).toMatchObject({ status: 400, param: 'parent_trace_id' });
    expect(errorOf(body({ action: 'a', argument: {} }))).toMatchObject({ status: 400, code: 'unknown_parameter', param: 'argument' });
    expect(errorOf(Buffer.alloc(0))).toMatchObject({ status: 400, code: 'invalid_json' });
  });
});

describe('tracedArguments', () => {
  it('masks the policy’s redact patterns, then cuts to the body limit; 0 keeps nothing', () => {
    const args = { token: 'sk-abcdefghijklmnopqrstuvwxyz', table: 'users' };
    const { text, masked } = tracedArguments(args, [{ pattern: 'sk-[a-z]{20,}' }], 1024);
    expect(masked).toBe(1);
    expect(text).toBe(JSON.stringify({ token: '█'.repeat(29), table: 'users' }));
    expect(tracedArguments(args, [], 11).text).toBe(`{"token":"s…[truncated ${JSON.stringify(args).length - 11} bytes]`);
    expect(tracedArguments(args, [], 0)).toEqual({ masked: 0 });
    // Spans are for output text; they do not apply to arguments.
    expect(tracedArguments(args, [{ span: { start: 0, end: 4 } }], 1024).masked).toBe(0);
  });

  it('keeps the input document on the policy step masked the same way, and only whole (over the limit: none)', () => {
    const input = { stage: 'action', action: 'db.query', arguments: { token: 'sk-abcdefghijklmnopqrstuvwxyz' } };
    const kept = keptInput(input, [{ pattern: 'sk-[a-z]{20,}' }], 1024)!;
    expect(kept).not.toContain('sk-abc');
    expect(JSON.parse(kept)).toEqual({ ...input, arguments: { token: '█'.repeat(29) } });
    expect(keptInput(input, [], 1024)).toBe(JSON.stringify(input));
    expect(keptInput(input, [], 20)).toBeUndefined();
  });
});

describe('buildActionInputDocument', () => {
  it('stage action, the action and its arguments, tool_names [action], and the request stage’s identity/session/properties fields', () => {
    const doc = buildActionInputDocument({
      proxy: { id: 'p', name: 'P' },
      org: { id: 'o' },
      key: { id: 'key_1', name: 'agent' },
      action: 'delete_database',
      arguments: { name: 'prod' },
      headers: { 'user-agent': 'agent/1', authorization: 'Bearer sk-sluice-secret', 'x-sluice-session-path': '/ops' },
      session: { id: 's1', path: '/ops', strategy: 'header' },
      properties: { team: 'ops' },
      data: { protected: ['prod'] },
      now: new Date('2026-12-07T08:00:00.000Z'),
    });
    expect(doc).toEqual({
      stage: 'action',
      action: 'delete_database',
      arguments: { name: 'prod' },
      tool_names: ['delete_database'],
      proxy: { id: 'p', name: 'P' },
      org: { id: 'o' },
      key: { id: 'key_1', name: 'agent' },
      session: { id: 's1', path: '/ops', strategy: 'header' },
      properties: { team: 'ops' },
      parent_trace_id: null,
      headers: { 'user-agent': 'agent/1', 'x-sluice-session-path': '/ops' },
      time: { iso: '2026-12-07T08:00:00.000Z', unix_ms: 1796630400000 },
      data: { protected: ['prod'] },
    });
  });
});
