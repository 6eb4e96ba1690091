import { assistantMessage, chatCompletion, chatUsage, thinkingBlock, type ChatToolCall, type FinishReason, type Json, type ThinkingBlock } from '../chat.js';
import { anthropicTokenCounts } from './usage.js';

/** Anthropic stop_reason → OpenAI finish_reason; anything unknown is `stop`, never passed through. */
export function finishReasonOf(stopReason: unknown): FinishReason {
  switch (stopReason) {
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/**
 * Anthropic Message → chat.completion. Text blocks are joined in order (text before a
 * tool call is kept); tool_use blocks become tool_calls; thinking blocks come back as
 * `reasoning_content` plus `thinking_blocks` (with signatures) for the next turn.
 */
export function fromAnthropicResponse(message: Json, created: number): Json {
  const blocks = Array.isArray(message.content) ? (message.content as Json[]) : [];
  let text = '';
  let reasoning = '';
  const toolCalls: ChatToolCall[] = [];
  const thinking: ThinkingBlock[] = [];
  for (const b of blocks) {
    if (b.type === 'text' && typeof b.text === 'string') text += b.text;
    else if (b.type === 'tool_use') {
      toolCalls.push({ id: String(b.id), type: 'function', function: { name: String(b.name), arguments: JSON.stringify(b.input ?? {}) } });
    } else if (b.type === 'thinking') {
      reasoning += typeof b.thinking === 'string' ? b.thinking : '';
      thinking.push(thinkingBlock(b.thinking, b.signature));
    } else if (b.type === 'redacted_thinking') {
      thinking.push({ type: 'redacted_thinking', data: String(b.data ?? '') });
    }
  }
  const chatMessage = assistantMessage(text, toolCalls, reasoning, thinking);
  return chatCompletion(String(message.id ?? ''), created, String(message.model ?? ''), chatMessage, finishReasonOf(message.stop_reason), chatUsage(anthropicTokenCounts(message.usage, reasoning)));
}
