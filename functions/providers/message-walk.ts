/**
 * The walk over OpenAI chat messages that the Anthropic, Bedrock Converse and Gemini
 * translators share: system and developer messages are collected apart, the rest become
 * user and assistant turns, consecutive same-role turns are merged (all three require
 * alternation), tool results land in a user turn. What each message becomes is the
 * provider's `MessageBlocks`.
 */
import { badRequest } from '../upstream/errors.js';
import type { ChatMessage, Json } from './chat.js';

export interface Turn {
  role: 'user' | 'assistant';
  content: Json[];
}

/** What each message becomes for one provider. An empty list adds nothing. */
export interface MessageBlocks {
  /** Named in the error for a role the provider does not take. */
  provider: string;
  /** Run on every message first (shape checks the builders rely on). */
  check?(m: ChatMessage, where: string): void;
  system(m: ChatMessage, where: string): Json[];
  user(m: ChatMessage, where: string): Json[];
  assistant(m: ChatMessage, where: string): Json[];
  /** A tool result; its `tool_call_id` has been checked to be a string. */
  tool(m: ChatMessage, where: string, toolCallId: string): Json[];
  /** The legacy `function` role; refused where absent. */
  function?(m: ChatMessage, where: string): Json[];
  /** Applied to the blocks of every message (e.g. a message-level cache breakpoint). */
  mark?(blocks: Json[], m: ChatMessage): Json[];
}

export function walkMessages(messages: ChatMessage[], b: MessageBlocks): { system: Json[]; turns: Turn[] } {
  const system: Json[] = [];
  const turns: Turn[] = [];
  const mark = (blocks: Json[], m: ChatMessage) => (b.mark ? b.mark(blocks, m) : blocks);
  const push = (role: Turn['role'], blocks: Json[]) => {
    if (blocks.length === 0) return;
    const last = turns[turns.length - 1];
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };

  messages.forEach((m, i) => {
    const where = `messages[${i}]`;
    const refuse = () => badRequest(`'${where}.role' '${String(m.role)}' is not supported for ${b.provider} models.`, 'invalid_value', `${where}.role`);
    b.check?.(m, where);
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(...mark(b.system(m, where), m));
        break;
      case 'user':
        push('user', mark(b.user(m, where), m));
        break;
      case 'assistant':
        push('assistant', mark(b.assistant(m, where), m));
        break;
      case 'tool':
        if (typeof m.tool_call_id !== 'string') throw badRequest(`'${where}.tool_call_id' is required on tool messages.`, 'missing_required_parameter', `${where}.tool_call_id`);
        push('user', mark(b.tool(m, where, m.tool_call_id), m));
        break;
      case 'function':
        if (!b.function) throw refuse();
        push('user', mark(b.function(m, where), m));
        break;
      default:
        throw refuse();
    }
  });
  return { system, turns };
}
