import { isWifRef, WIF_REF_PREFIX } from '../providers/vertex/workload-identity.js';
import type { ProviderName } from './types.js';

/** Every ProviderName, in one runtime list (the compiler checks it is complete). */
export const PROVIDER_NAMES = [
  'openai',
  'groq',
  'openrouter',
  'together',
  'vllm',
  'openai-compatible',
  'anthropic',
  'bedrock',
  'gemini',
  'vertex',
  'azure-openai',
] as const satisfies readonly ProviderName[];

// Fails to compile if ProviderName gains a member that PROVIDER_NAMES lacks.
type MissingProvider = Exclude<ProviderName, (typeof PROVIDER_NAMES)[number]>;
const providerListIsComplete: MissingProvider extends never ? true : false = true;
void providerListIsComplete;

export const PROXY_ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export function isProviderName(s: string): s is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(s);
}

export function isValidProxyId(s: string): boolean {
  return PROXY_ID_PATTERN.test(s);
}

/** `env:NAME` or `secret:<name-or-arn>`: a reference to a credential, never the credential. */
export function isCredentialRef(s: string): boolean {
  if (s.startsWith('env:')) return /^[A-Za-z_][A-Za-z0-9_]*$/.test(s.slice(4));
  if (s.startsWith('secret:')) return /^[A-Za-z0-9/_+=.@:-]{1,2048}$/.test(s.slice(7));
  if (s.startsWith(WIF_REF_PREFIX)) return isWifRef(s);
  return false;
}
