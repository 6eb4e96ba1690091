/**
 * Reading and rewriting the output of a complete (non-streamed) response, per endpoint:
 * chat.completions (choices[].message.content), completions (choices[].text) and
 * responses (output[] message items, output_text parts), Anthropic messages (content[]
 * text blocks) and Converse (output.message.content[] text blocks). Pure; every other
 * field is kept.
 */
/** The Converse stop reason of an answer Sluice's response policy filtered (Bedrock's own for a guardrail's intervention). */
export const CONVERSE_FILTERED_STOP = 'guardrail_intervened';

export const BLOCKED_NOTICE = 'This response was blocked by policy.';

export interface OutputView {
  text: string;
  tool_calls: { name: string; arguments: string }[];
  finish_reason: string | null;
}

export const RESPONSE_CHECK_ENDPOINTS = new Set(['chat.completions', 'completions', 'responses', 'anthropic.messages', 'bedrock.converse', 'bedrock.converse-stream']);

const isConverse = (endpoint: string) => endpoint === 'bedrock.converse' || endpoint === 'bedrock.converse-stream';
const converseBlocks = (body: Record<string, unknown>) => (((body.output as Record<string, unknown> | undefined)?.message as Record<string, unknown> | undefined)?.content as Record<string, unknown>[] | undefined) ?? [];

export function readOutput(endpoint: string, body: Record<string, unknown>): OutputView {
  if (isConverse(endpoint)) {
    const blocks = converseBlocks(body);
    return {
      text: blocks.filter((b) => typeof b.text === 'string').map((b) => b.text as string).join(''),
      tool_calls: blocks.flatMap((b) => {
        const use = b.toolUse as Record<string, unknown> | undefined;
        return use ? [{ name: String(use.name ?? ''), arguments: JSON.stringify(use.input ?? {}) }] : [];
      }),
      finish_reason: typeof body.stopReason === 'string' ? body.stopReason : null,
    };
  }
  if (endpoint === 'anthropic.messages') {
    const blocks = (body.content as Record<string, unknown>[] | undefined) ?? [];
    return {
      text: blocks.filter((b) => b.type === 'text' && typeof b.text === 'string').map((b) => b.text as string).join(''),
      tool_calls: blocks.filter((b) => b.type === 'tool_use').map((b) => ({ name: String(b.name ?? ''), arguments: JSON.stringify(b.input ?? {}) })),
      finish_reason: typeof body.stop_reason === 'string' ? body.stop_reason : null,
    };
  }
  if (endpoint === 'responses') {
    const texts: string[] = [];
    const calls: OutputView['tool_calls'] = [];
    for (const item of (body.output as Record<string, unknown>[] | undefined) ?? []) {
      if (item.type === 'message') for (const part of (item.content as Record<string, unknown>[] | undefined) ?? []) if (part.type === 'output_text' && typeof part.text === 'string') texts.push(part.text);
      if (item.type === 'function_call') calls.push({ name: String(item.name ?? ''), arguments: String(item.arguments ?? '') });
    }
    return { text: texts.join(''), tool_calls: calls, finish_reason: typeof body.status === 'string' ? body.status : null };
  }
  const choice = ((body.choices as Record<string, unknown>[] | undefined) ?? [])[0] ?? {};
  const message = (choice.message ?? {}) as Record<string, unknown>;
  const text = endpoint === 'completions' ? String(choice.text ?? '') : typeof message.content === 'string' ? message.content : '';
  const calls = ((message.tool_calls as Record<string, unknown>[] | undefined) ?? []).map((c) => {
    const fn = (c.function ?? {}) as Record<string, unknown>;
    return { name: String(fn.name ?? ''), arguments: String(fn.arguments ?? '') };
  });
  return { text, tool_calls: calls, finish_reason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null };
}

/** Applies `mask` to every output text field (in place on a copy). */
export function mapOutputText(endpoint: string, body: Record<string, unknown>, mask: (text: string) => string): Record<string, unknown> {
  const copy = structuredClone(body);
  if (isConverse(endpoint)) {
    for (const block of converseBlocks(copy)) if (typeof block.text === 'string') block.text = mask(block.text);
    return copy;
  }
  if (endpoint === 'anthropic.messages') {
    for (const block of (copy.content as Record<string, unknown>[] | undefined) ?? []) if (block.type === 'text' && typeof block.text === 'string') block.text = mask(block.text);
    return copy;
  }
  if (endpoint === 'responses') {
    for (const item of (copy.output as Record<string, unknown>[] | undefined) ?? []) {
      if (item.type !== 'message') continue;
      for (const part of (item.content as Record<string, unknown>[] | undefined) ?? []) if (part.type === 'output_text' && typeof part.text === 'string') part.text = mask(part.text);
    }
    if (typeof copy.output_text === 'string') copy.output_text = mask(copy.output_text);
    return copy;
  }
  for (const choice of (copy.choices as Record<string, unknown>[] | undefined) ?? []) {
    if (endpoint === 'completions') {
      if (typeof choice.text === 'string') choice.text = mask(choice.text);
    } else {
      const message = choice.message as Record<string, unknown> | undefined;
      if (message && typeof message.content === 'string') message.content = mask(message.content);
    }
  }
  return copy;
}

/** The blocked form: content replaced by the notice, finish_reason content_filter (responses: incomplete; Anthropic: stop_reason refusal; Converse: stopReason guardrail_intervened). */
export function blockOutput(endpoint: string, body: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(body);
  if (isConverse(endpoint)) {
    const output = (copy.output ?? {}) as Record<string, unknown>;
    output.message = { ...((output.message as Record<string, unknown> | undefined) ?? {}), role: 'assistant', content: [{ text: BLOCKED_NOTICE }] };
    copy.output = output;
    copy.stopReason = CONVERSE_FILTERED_STOP;
    return copy;
  }
  if (endpoint === 'anthropic.messages') {
    copy.content = [{ type: 'text', text: BLOCKED_NOTICE }];
    copy.stop_reason = 'refusal';
    return copy;
  }
  if (endpoint === 'responses') {
    copy.output = [{ type: 'message', id: 'msg_blocked', status: 'incomplete', role: 'assistant', content: [{ type: 'output_text', text: BLOCKED_NOTICE, annotations: [] }] }];
    copy.status = 'incomplete';
    copy.incomplete_details = { reason: 'content_filter' };
    return copy;
  }
  for (const choice of (copy.choices as Record<string, unknown>[] | undefined) ?? []) {
    if (endpoint === 'completions') choice.text = BLOCKED_NOTICE;
    else {
      const message = (choice.message ?? {}) as Record<string, unknown>;
      message.content = BLOCKED_NOTICE;
      delete message.tool_calls;
      delete message.function_call;
      choice.message = message;
    }
    choice.finish_reason = 'content_filter';
  }
  return copy;
}
