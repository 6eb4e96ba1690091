import { ALLOWED_HEADERS } from './input-document.js';

/**
 * The action stage's input document (docs/policies.md, "Actions"). Pure. The identity,
 * session, properties, headers, time and data fields are the request stage's; `action` and
 * `arguments` are what the agent wants to do, and `tool_names` is `[action]`, so a rule
 * written for tool names in model requests (`some tool in input.tool_names`) reads an
 * action the same way. There are no `messages`, `model` or `tools`.
 */
export interface ActionContext {
  proxy: { id: string; name: string };
  org: { id: string };
  key: { id: string; name?: string };
  action: string;
  arguments: Record<string, unknown>;
  headers: Record<string, string>;
  session: { id: string; path?: string; strategy: string };
  properties: Record<string, string>;
  parentTraceId?: string;
  data?: Record<string, unknown>;
  now: Date;
}

export function buildActionInputDocument(ctx: ActionContext): Record<string, unknown> {
  const headers: Record<string, string> = {};
  for (const name of ALLOWED_HEADERS) if (ctx.headers[name] !== undefined) headers[name] = ctx.headers[name]!;
  return {
    stage: 'action',
    action: ctx.action,
    arguments: ctx.arguments,
    tool_names: [ctx.action],
    proxy: ctx.proxy,
    org: ctx.org,
    key: ctx.key,
    session: ctx.session,
    properties: ctx.properties,
    parent_trace_id: ctx.parentTraceId ?? null,
    headers,
    time: { iso: ctx.now.toISOString(), unix_ms: ctx.now.getTime() },
    data: ctx.data ?? {},
  };
}
