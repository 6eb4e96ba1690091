/**
 * The model-call endpoints a client may call and the wire format it speaks (the gateway's
 * URL space is matched in gateway/routes.ts; providers read these to plan and answer).
 */
export type OpenAIEndpoint = 'chat.completions' | 'responses' | 'embeddings' | 'completions' | 'models';
export type AnthropicEndpoint = 'anthropic.messages' | 'anthropic.count_tokens';
export type BedrockEndpoint = 'bedrock.converse' | 'bedrock.converse-stream';
export type Endpoint = OpenAIEndpoint | AnthropicEndpoint | BedrockEndpoint;

/** Which wire format the client speaks; errors are answered in that format. */
export type Ingress = 'openai' | 'anthropic' | 'bedrock';

/**
 * `kind: 'openai'` is every model-call route (the plugin chain runs on all of them);
 * `ingress` says which API the client speaks. Bedrock routes carry the model id from the path.
 */
export type Route =
  | { kind: 'health' }
  | { kind: 'openai'; ingress: Ingress; endpoint: Endpoint; pathProxyId?: string; method: 'GET' | 'POST'; modelId?: string }
  /** `GET /a/<proxyId>/approvals/<id>`, `/v1/approvals/<id>`: a held request's status (functions/governance/approval-status.ts). */
  | { kind: 'approval'; pathProxyId?: string; approvalId: string }
  /** `POST /v1/actions/check`, `/a/<proxyId>/actions/check`: may this (non-model) action run? (functions/gateway/action-check.ts). */
  | { kind: 'action'; pathProxyId?: string }
  /** `/console/…` and `/admin/…`: the console and the admin API (functions/console), answered before the plugin chain. */
  | { kind: 'console' };

/** Upstream path of each endpoint, relative to the provider's /v1 base URL. */
export const OPENAI_PATHS: Record<OpenAIEndpoint, string> = {
  'chat.completions': '/chat/completions',
  responses: '/responses',
  embeddings: '/embeddings',
  completions: '/completions',
  models: '/models',
};

export const isOpenAIEndpoint = (e: Endpoint): e is OpenAIEndpoint => e in OPENAI_PATHS;

