import { describe, expect, it } from 'vitest';
import { corsPolicyFromEnv, corsResponseHeaders, EXPOSED_HEADERS, preflightAnswer } from '../../../functions/local/cors.js';

const ANY = corsPolicyFromEnv({})!;
const LISTED = corsPolicyFromEnv({ SLUICE_CORS_ALLOWED_ORIGINS: 'https://app.example, https://admin.example/' })!;

describe('container CORS (the Function URL\'s behaviour)', () => {
  it('SLUICE_CORS_ALLOWED_ORIGINS: * by default, a list, or none (off)', () => {
    expect(ANY).toEqual({ allowedOrigins: ['*'] });
    expect(LISTED).toEqual({ allowedOrigins: ['https://app.example', 'https://admin.example'] });
    expect(corsPolicyFromEnv({ SLUICE_CORS_ALLOWED_ORIGINS: 'none' })).toBeUndefined();
  });

  it('a preflight from an allowed origin: 204, any method, the requested headers echoed (Authorization included), cached for an hour', () => {
    const answer = preflightAnswer(LISTED, 'OPTIONS', { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type, x-sluice-session-id' });
    expect(answer).toEqual({
      status: 204,
      headers: {
        vary: 'Origin, Access-Control-Request-Method, Access-Control-Request-Headers',
        'access-control-allow-origin': 'https://app.example',
        'access-control-allow-methods': 'GET,HEAD,POST,PUT,PATCH,DELETE,OPTIONS',
        'access-control-allow-headers': 'authorization, content-type, x-sluice-session-id',
        'access-control-max-age': '3600',
      },
    });
    expect(preflightAnswer(ANY, 'OPTIONS', { origin: 'https://any.example', 'access-control-request-method': 'GET' })?.headers['access-control-allow-origin']).toBe('*');
  });

  it('a preflight from another origin gets no grant; OPTIONS without Origin or a requested method is no preflight (the gateway answers it)', () => {
    const refused = preflightAnswer(LISTED, 'OPTIONS', { origin: 'https://evil.example', 'access-control-request-method': 'POST' });
    expect(refused?.status).toBe(204);
    expect(Object.keys(refused!.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    expect(preflightAnswer(ANY, 'OPTIONS', { 'access-control-request-method': 'POST' })).toBeUndefined();
    expect(preflightAnswer(ANY, 'OPTIONS', { origin: 'https://a.example' })).toBeUndefined();
    expect(preflightAnswer(ANY, 'POST', { origin: 'https://a.example', 'access-control-request-method': 'POST' })).toBeUndefined();
  });

  it('answers carry the allowed origin and expose the X-Sluice-* headers; other origins and same-origin calls get nothing', () => {
    expect(corsResponseHeaders(ANY, 'https://a.example')).toEqual({ 'access-control-allow-origin': '*', 'access-control-expose-headers': EXPOSED_HEADERS.join(',') });
    expect(corsResponseHeaders(LISTED, 'https://admin.example')).toMatchObject({ 'access-control-allow-origin': 'https://admin.example', vary: 'Origin' });
    expect(corsResponseHeaders(LISTED, 'https://evil.example')).toEqual({});
    expect(corsResponseHeaders(ANY, undefined)).toEqual({});
  });
});
