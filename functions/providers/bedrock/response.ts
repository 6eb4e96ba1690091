import { badGateway } from '../../upstream/errors.js';
import { assistantMessage, chatCompletion, chatUsage, thinkingBlock, type ChatToolCall, type FinishReason, type Json, type ThinkingBlock } from '../chat.js';
import { bedrockTokenCounts } from './usage.js';

/** Converse stopReason → OpenAI finish_reason; guardrail and content-filter stops are `content_filter`. */
export function finishReasonOf(stopReason: unknown): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'guardrail_intervened':
    case 'content_filtered':
      return 'content_filter';
    default:
      return 'stop';
  }
}

const base64 = (v: unknown): string => (v instanceof Uint8Array ? Buffer.from(v).toString('base64') : String(v ?? ''));

/**
 * Converse output → chat.completion. A 200 without `output.message` is an upstream
 * error (502), never an empty answer.
 */
export function fromConverseResponse(out: Json, model: string, created: number): Json {
  const message = (out.output as Json | undefined)?.message as Json | undefined;
  if (!message || !Array.isArray(message.content)) throw badGateway('Bedrock answered without an output message.', 'upstream_invalid_response');
  let text = '';
  let reasoning = '';
  const toolCalls: ChatToolCall[] = [];
  const thinking: ThinkingBlock[] = [];
  for (const b of message.content as Json[]) {
    if (typeof b.text === 'string') text += b.text;
    else if (b.toolUse) {
      const use = b.toolUse as Json;
      toolCalls.push({ id: String(use.toolUseId), type: 'function', function: { name: String(use.name), arguments: JSON.stringify(use.input ?? {}) } });
    } else if (b.reasoningContent) {
      const rc = b.reasoningContent as Json;
      const rt = rc.reasoningText as Json | undefined;
      if (rt) {
        reasoning += String(rt.text ?? '');
        thinking.push(thinkingBlock(rt.text, rt.signature));
      } else if (rc.redactedContent !== undefined) {
        thinking.push({ type: 'redacted_thinking', data: base64(rc.redactedContent) });
      }
    }
  }
  const requestId = ((out.$metadata as Json | undefined)?.requestId as string | undefined) ?? '';
  const chatMessage = assistantMessage(text, toolCalls, reasoning, thinking);
  return chatCompletion(`chatcmpl-${requestId || created}`, created, model, chatMessage, finishReasonOf(out.stopReason), chatUsage(bedrockTokenCounts(out.usage, reasoning)));
}
