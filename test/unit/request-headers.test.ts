import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../functions/upstream/errors.js';
import { isUuid, parseSluiceHeaders, validSessionId } from '../../functions/gateway/request-headers.js';

const UUID = '0b7c2d9e-4f1a-4c3b-9e8d-7a6b5c4d3e2f';
const UUID_V7 = '01936b2e-8f3c-7d4a-b5e6-f7a8b9c0d1e2';

function rejection(headers: Record<string, string | undefined>): GatewayError {
  try {
    parseSluiceHeaders(headers);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error(`expected a 400 for ${JSON.stringify(headers)}`);
}

const properties = (n: number, prefix = 'k') =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-sluice-property-${prefix}${i}`, `v${i}`]));

describe('parseSluiceHeaders: accepted', () => {
  const cases: [string, Record<string, string | undefined>, object][] = [
    ['no sluice headers', { 'content-type': 'application/json', authorization: 'Bearer x' }, { properties: {} }],
    ['session id', { 'x-sluice-session-id': UUID }, { sessionId: UUID, properties: {} }],
    ['session id upper case is lower-cased', { 'x-sluice-session-id': UUID.toUpperCase() }, { sessionId: UUID, properties: {} }],
    ['session id with surrounding spaces', { 'x-sluice-session-id': ` ${UUID} ` }, { sessionId: UUID, properties: {} }],
    ['any UUID version (v7)', { 'x-sluice-session-id': UUID_V7 }, { sessionId: UUID_V7, properties: {} }],
    ['nil UUID', { 'x-sluice-session-id': '00000000-0000-0000-0000-000000000000' }, { sessionId: '00000000-0000-0000-0000-000000000000', properties: {} }],
    [
      'all id headers',
      { 'x-sluice-session-id': UUID, 'x-sluice-parent-trace-id': UUID_V7.toUpperCase(), 'x-sluice-trace-flow-id': UUID, 'x-sluice-approval-id': UUID_V7 },
      { sessionId: UUID, parentTraceId: UUID_V7, flowId: UUID, approvalId: UUID_V7, properties: {} },
    ],
    ['session path', { 'x-sluice-session-path': '/research/outline' }, { sessionPath: '/research/outline', properties: {} }],
    ['session path root', { 'x-sluice-session-path': '/' }, { sessionPath: '/', properties: {} }],
    ['session path of 512 chars', { 'x-sluice-session-path': `/${'a'.repeat(511)}` }, { sessionPath: `/${'a'.repeat(511)}`, properties: {} }],
    ['upstream name', { 'x-sluice-upstream': 'openrouter' }, { upstream: 'openrouter', properties: {} }],
    ['upstream URL (SSRF-checked later)', { 'x-sluice-upstream': 'https://api.groq.com/openai/v1' }, { upstream: 'https://api.groq.com/openai/v1', properties: {} }],
    ['property', { 'x-sluice-property-team': 'search' }, { properties: { team: 'search' } }],
    ['property key case folded', { 'x-sluice-property-Team_Name-2': 'a' }, { properties: { 'team_name-2': 'a' } }],
    ['property key of 64 chars', { [`x-sluice-property-${'k'.repeat(64)}`]: 'v' }, { properties: { ['k'.repeat(64)]: 'v' } }],
    ['property value of 512 chars', { 'x-sluice-property-a': 'v'.repeat(512) }, { properties: { a: 'v'.repeat(512) } }],
    ['empty property value', { 'x-sluice-property-a': '' }, { properties: { a: '' } }],
    ['comma in a property value is kept', { 'x-sluice-property-tags': 'a, b' }, { properties: { tags: 'a, b' } }],
    ['"policy" without the underscore is not reserved', { 'x-sluice-property-policyholder': 'x' }, { properties: { policyholder: 'x' } }],
    ['exactly 20 properties', properties(20), { properties: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, `v${i}`])) }],
    ['undefined values are absent', { 'x-sluice-session-id': undefined, 'x-sluice-property-a': undefined }, { properties: {} }],
    ['other x-sluice headers are not judged here', { 'x-sluice-key': 'sk-sluice-whatever', 'x-sluice-future': 'x' }, { properties: {} }],
  ];
  it.each(cases)('%s', (_name, headers, expected) => {
    expect(parseSluiceHeaders(headers)).toEqual(expected);
  });

  it('keeps "__proto__" as an ordinary property key', () => {
    const parsed = parseSluiceHeaders({ 'x-sluice-property-__proto__': 'x', 'x-sluice-property-constructor': 'y' });
    expect(Object.keys(parsed.properties)).toEqual(['__proto__', 'constructor']);
    expect(parsed.properties['__proto__']).toBe('x');
    expect(JSON.parse(JSON.stringify(parsed.properties))).toEqual(JSON.parse('{"__proto__":"x","constructor":"y"}'));
  });
});

describe('parseSluiceHeaders: 400 with the header in param', () => {
  const cases: [string, Record<string, string>, string, RegExp][] = [
    ['session id not a UUID', { 'x-sluice-session-id': 'abc' }, 'x-sluice-session-id', /must be a UUID/],
    ['session id empty', { 'x-sluice-session-id': '' }, 'x-sluice-session-id', /must be a UUID/],
    ['session id without hyphens', { 'x-sluice-session-id': UUID.replaceAll('-', '') }, 'x-sluice-session-id', /must be a UUID/],
    ['session id in braces', { 'x-sluice-session-id': `{${UUID}}` }, 'x-sluice-session-id', /must be a UUID/],
    ['session id with a non-hex digit', { 'x-sluice-session-id': `${UUID.slice(0, 35)}g` }, 'x-sluice-session-id', /must be a UUID/],
    ['session id hyphen misplaced', { 'x-sluice-session-id': '0b7c2d9e4-f1a-4c3b-9e8d-7a6b5c4d3e2f' }, 'x-sluice-session-id', /must be a UUID/],
    ['session id sent twice (comma-joined)', { 'x-sluice-session-id': `${UUID}, ${UUID_V7}` }, 'x-sluice-session-id', /sent more than once/],
    ['same session id sent twice', { 'x-sluice-session-id': `${UUID},${UUID}` }, 'x-sluice-session-id', /sent more than once/],
    ['parent trace id', { 'x-sluice-parent-trace-id': 'trace-1' }, 'x-sluice-parent-trace-id', /must be a UUID/],
    ['flow id', { 'x-sluice-trace-flow-id': '1234' }, 'x-sluice-trace-flow-id', /must be a UUID/],
    ['approval id', { 'x-sluice-approval-id': 'appr_1' }, 'x-sluice-approval-id', /must be a UUID/],
    ['21 properties', properties(21), 'x-sluice-property-k20', /At most 20/],
    ['property key too long', { [`x-sluice-property-${'k'.repeat(65)}`]: 'v' }, `x-sluice-property-${'k'.repeat(65)}`, /1 to 64 characters/],
    ['property key empty', { 'x-sluice-property-': 'v' }, 'x-sluice-property-', /1 to 64 characters/],
    ['property key with a dot', { 'x-sluice-property-a.b': 'v' }, 'x-sluice-property-a.b', /only letters, digits/],
    ['property key non-ASCII', { 'x-sluice-property-é': 'v' }, 'x-sluice-property-é', /only letters, digits/],
    ['property value too long', { 'x-sluice-property-a': 'v'.repeat(513) }, 'x-sluice-property-a', /at most 512/],
    ['reserved policy_ prefix', { 'x-sluice-property-policy_decision': 'allow' }, 'x-sluice-property-policy_decision', /reserved/],
    ['reserved prefix, other case', { 'x-sluice-property-POLICY_x': 'allow' }, 'x-sluice-property-POLICY_x', /reserved/],
    ['session path relative', { 'x-sluice-session-path': 'research/outline' }, 'x-sluice-session-path', /must start with "\/"/],
    ['session path empty', { 'x-sluice-session-path': '' }, 'x-sluice-session-path', /must start with "\/"/],
    ['session path too long', { 'x-sluice-session-path': `/${'a'.repeat(512)}` }, 'x-sluice-session-path', /at most 512/],
    ['session path with a control character', { 'x-sluice-session-path': '/a\tb' }, 'x-sluice-session-path', /control characters/],
    ['session path sent twice', { 'x-sluice-session-path': '/a, /b' }, 'x-sluice-session-path', /sent once/],
    ['upstream sent twice', { 'x-sluice-upstream': 'openrouter, azure' }, 'x-sluice-upstream', /sent once/],
    ['upstream empty', { 'x-sluice-upstream': ' ' }, 'x-sluice-upstream', /must not be empty/],
    ['upstream too long', { 'x-sluice-upstream': `https://a.example.com/${'p'.repeat(2048)}` }, 'x-sluice-upstream', /at most 2048/],
  ];
  it.each(cases)('%s', (_name, headers, param, message) => {
    const err = rejection(headers);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.toBody().error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_header', param });
    expect(err.message).toMatch(message);
  });

  it('never echoes the header value (a misplaced secret stays out of the error)', () => {
    const secret = 'sk-sluice-0123456789abcdef0123456789abcdef';
    for (const name of ['x-sluice-session-id', 'x-sluice-parent-trace-id', 'x-sluice-session-path', 'x-sluice-upstream']) {
      const err = rejection({ [name]: `${secret}, x` });
      expect(JSON.stringify(err.toBody())).not.toContain(secret);
    }
    expect(JSON.stringify(rejection({ 'x-sluice-property-a': secret.repeat(20) }).toBody())).not.toContain(secret);
  });
});

describe('validSessionId', () => {
  it.each([
    [{ 'x-sluice-session-id': UUID.toUpperCase(), 'x-sluice-property-policy_x': 'bad' }, UUID],
    [{ 'x-sluice-session-id': 'nope' }, undefined],
    [{ 'x-sluice-session-id': `${UUID},${UUID}` }, undefined],
    [{}, undefined],
  ])('%j → %s', (headers, expected) => {
    expect(validSessionId(headers)).toBe(expected);
  });
});

describe('isUuid', () => {
  it.each([
    [UUID, true],
    [UUID.toUpperCase(), true],
    ['0B7C2D9E-4f1a-4C3B-9e8d-7A6B5C4D3E2F', true],
    [`${UUID} `, false],
    ['0b7c2d9e-4f1a-4c3b-9e8d_7a6b5c4d3e2f', false],
    ['', false],
  ])('%s → %s', (value, expected) => {
    expect(isUuid(value)).toBe(expected);
  });
});

describe('parseSluiceHeaders result shape', () => {
  it('returns plain objects', () => {
    const parsed = parseSluiceHeaders({ 'x-sluice-property-__proto__': 'x' });
    expect(Object.getPrototypeOf(parsed.properties)).toBe(Object.prototype);
    expect(parsed).toStrictEqual({ properties: JSON.parse('{"__proto__":"x"}') });
  });
});
