/**
 * The policy input document (documented in docs/policies.md, "Gateway decisions and the
 * input document"). Pure: built from the request's parts, the same for every endpoint so
 * one policy covers chat, responses, completions, Anthropic messages and Converse.
 */
export interface NormalizedMessage {
  role: string;
  text: string;
  tool_calls?: { id?: string; name: string; arguments: string }[];
  tool_result?: { tool_call_id?: string };
}

export interface InputContext {
  stage: 'request' | 'response';
  proxy: { id: string; name: string };
  org: { id: string };
  key: { id: string; name?: string };
  endpoint: string;
  ingress: string;
  provider: string;
  model: { requested?: string; resolved?: string };
  body: Record<string, unknown>;
  bodyBytes: number;
  headers: Record<string, string>;
  session: { id: string; turn?: number; path?: string; strategy?: string };
  properties: Record<string, string>;
  /** The proxy's static policy data (an object; {} when the proxy has none). */
  data?: Record<string, unknown>;
  now: Date;
}

/** Headers a policy may see; credentials and cookies never are. */
export const ALLOWED_HEADERS = ['user-agent', 'content-type', 'x-request-id', 'x-sluice-session-path', 'x-sluice-flow-id', 'x-sluice-parent-trace-id', 'openai-organization', 'openai-project', 'anthropic-version', 'anthropic-beta'];

export function buildInputDocument(ctx: InputContext): Record<string, unknown> {
  const { messages, system } = normalizeMessages(ctx.endpoint, ctx.body);
  const tools = normalizeTools(ctx.body);
  const text = [system, ...messages.map((m) => m.text)].filter((t) => t).join('\n');
  const headers: Record<string, string> = {};
  for (const name of ALLOWED_HEADERS) if (ctx.headers[name] !== undefined) headers[name] = ctx.headers[name]!;
  const user = typeof ctx.body.user === 'string' ? ctx.body.user : typeof (ctx.body.metadata as Record<string, unknown> | undefined)?.user_id === 'string' ? ((ctx.body.metadata as Record<string, unknown>).user_id as string) : undefined;
  return {
    stage: ctx.stage,
    proxy: ctx.proxy,
    org: ctx.org,
    key: ctx.key,
    endpoint: ctx.endpoint,
    ingress: ctx.ingress,
    provider: ctx.provider,
    model: ctx.model,
    messages,
    system,
    tool_names: tools.map((t) => t.name),
    tools,
    tool_choice: ctx.body.tool_choice ?? ctx.body.toolChoice ?? null,
    tool_calls: messages.flatMap((m) => m.tool_calls ?? []),
    user: user ?? null,
    session: ctx.session,
    properties: ctx.properties,
    headers,
    request: { bytes: ctx.bodyBytes, estimated_tokens: Math.ceil(text.length / 4), stream: ctx.body.stream === true || ctx.endpoint === 'bedrock.converse-stream' },
    time: { iso: ctx.now.toISOString(), unix_ms: ctx.now.getTime() },
    data: ctx.data ?? {},
  };
}

function normalizeMessages(endpoint: string, body: Record<string, unknown>): { messages: NormalizedMessage[]; system: string } {
  const systems: string[] = [];
  const messages: NormalizedMessage[] = [];
  const push = (m: NormalizedMessage) => {
    if (m.role === 'system' || m.role === 'developer') systems.push(m.text);
    messages.push(m);
  };
  if (typeof body.system === 'string') systems.push(body.system);
  else if (Array.isArray(body.system)) systems.push(textOf(body.system));
  if (typeof body.instructions === 'string') systems.push(body.instructions);
  if (endpoint === 'completions') {
    const prompt = body.prompt;
    const texts = Array.isArray(prompt) ? prompt.filter((p) => typeof p === 'string') : typeof prompt === 'string' ? [prompt] : [];
    for (const t of texts) push({ role: 'user', text: t as string });
  } else if (endpoint === 'responses') {
    const input = body.input;
    if (typeof input === 'string') push({ role: 'user', text: input });
    else if (Array.isArray(input)) for (const item of input) push(responsesItem(item));
  } else if (Array.isArray(body.messages)) {
    for (const m of body.messages) push(chatLikeMessage(m));
  }
  return { messages, system: systems.filter((s) => s).join('\n') };
}

function chatLikeMessage(raw: unknown): NormalizedMessage {
  const m = (raw ?? {}) as Record<string, unknown>;
  const role = typeof m.role === 'string' ? m.role : 'user';
  const out: NormalizedMessage = { role, text: textOf(m.content) };
  const calls: NonNullable<NormalizedMessage['tool_calls']> = [];
  // OpenAI chat tool calls
  if (Array.isArray(m.tool_calls)) {
    for (const c of m.tool_calls as Record<string, unknown>[]) {
      const fn = (c.function ?? {}) as Record<string, unknown>;
      calls.push({ ...(typeof c.id === 'string' ? { id: c.id } : {}), name: String(fn.name ?? ''), arguments: typeof fn.arguments === 'string' ? fn.arguments : JSON.stringify(fn.arguments ?? {}) });
    }
  }
  // Anthropic tool_use / Converse toolUse blocks; tool results
  if (Array.isArray(m.content)) {
    for (const block of m.content as Record<string, unknown>[]) {
      if (block?.type === 'tool_use') calls.push({ ...(typeof block.id === 'string' ? { id: block.id } : {}), name: String(block.name ?? ''), arguments: JSON.stringify(block.input ?? {}) });
      const toolUse = block?.toolUse as Record<string, unknown> | undefined;
      if (toolUse) calls.push({ ...(typeof toolUse.toolUseId === 'string' ? { id: toolUse.toolUseId } : {}), name: String(toolUse.name ?? ''), arguments: JSON.stringify(toolUse.input ?? {}) });
      if (block?.type === 'tool_result') out.tool_result = typeof block.tool_use_id === 'string' ? { tool_call_id: block.tool_use_id } : {};
      const toolResult = block?.toolResult as Record<string, unknown> | undefined;
      if (toolResult) out.tool_result = typeof toolResult.toolUseId === 'string' ? { tool_call_id: toolResult.toolUseId } : {};
    }
  }
  if (role === 'tool') out.tool_result = typeof m.tool_call_id === 'string' ? { tool_call_id: m.tool_call_id } : {};
  if (calls.length) out.tool_calls = calls;
  return out;
}

function responsesItem(raw: unknown): NormalizedMessage {
  const item = (raw ?? {}) as Record<string, unknown>;
  if (item.type === 'function_call') {
    return { role: 'assistant', text: '', tool_calls: [{ ...(typeof item.call_id === 'string' ? { id: item.call_id } : {}), name: String(item.name ?? ''), arguments: String(item.arguments ?? '') }] };
  }
  if (item.type === 'function_call_output') {
    return { role: 'tool', text: typeof item.output === 'string' ? item.output : textOf(item.output), tool_result: typeof item.call_id === 'string' ? { tool_call_id: item.call_id } : {} };
  }
  return chatLikeMessage(item);
}

/** Text of a content value: a string, or the text of its parts (text, input_text, output_text, Converse {text}, tool results). */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  const parts: string[] = [];
  for (const p of content) {
    if (typeof p === 'string') parts.push(p);
    else if (p && typeof p === 'object') {
      const o = p as Record<string, unknown>;
      if (typeof o.text === 'string') parts.push(o.text);
      else if (o.type === 'tool_result') parts.push(textOf(o.content));
      else if (o.toolResult && typeof o.toolResult === 'object') parts.push(textOf((o.toolResult as Record<string, unknown>).content));
    }
  }
  return parts.join('\n');
}

function normalizeTools(body: Record<string, unknown>): { name: string; description?: string }[] {
  const raw = Array.isArray(body.tools) ? body.tools : Array.isArray((body.toolConfig as Record<string, unknown> | undefined)?.tools) ? ((body.toolConfig as Record<string, unknown>).tools as unknown[]) : [];
  const out: { name: string; description?: string }[] = [];
  for (const t of raw as Record<string, unknown>[]) {
    const fn = (t?.function ?? t?.toolSpec ?? t) as Record<string, unknown>;
    if (typeof fn?.name !== 'string') continue;
    out.push({ name: fn.name, ...(typeof fn.description === 'string' ? { description: fn.description } : {}) });
  }
  return out;
}
