import type { ProviderName } from '../../stores/types.js';

/**
 * The OpenAI-compatible family: OpenAI, Groq, OpenRouter, Together, vLLM and any
 * server speaking OpenAI's wire format. Same paths, same bearer auth, same bodies.
 */
export const OPENAI_FAMILY: ReadonlySet<ProviderName> = new Set(['openai', 'groq', 'openrouter', 'together', 'vllm', 'openai-compatible']);

/** Default base URLs, used when a proxy is created without one. */
export const DEFAULT_BASE_URLS: Partial<Record<ProviderName, string>> = {
  openai: 'https://api.openai.com/v1',
  groq: 'https://api.groq.com/openai/v1',
  openrouter: 'https://openrouter.ai/api/v1',
  together: 'https://api.together.xyz/v1',
};

/** Client headers worth forwarding upstream; everything else (cookies, our own headers, keys) stays here. */
const FORWARDED_HEADERS = ['openai-beta', 'openai-organization', 'openai-project', 'idempotency-key', 'x-stainless-helper-method'];

export function upstreamHeaders(clientHeaders: Record<string, string>, credential: string | undefined, body: Buffer | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    accept: clientHeaders['accept'] ?? 'application/json',
    // Compressed bodies could not be observed for usage; ask for identity.
    'accept-encoding': 'identity',
    'user-agent': 'sluice-gateway/0.1',
  };
  for (const name of FORWARDED_HEADERS) {
    const value = clientHeaders[name];
    if (value !== undefined) headers[name] = value;
  }
  if (credential) headers['authorization'] = `Bearer ${credential}`;
  if (body) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(body.length);
  }
  return headers;
}
