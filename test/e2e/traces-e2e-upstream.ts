// The e2e test's traffic in its own process (`tsx test/e2e/traces-e2e-upstream.ts`): the
// upstream and the SDK clients get their own event loop, so the gateway process measures
// only the gateway. Prints the upstream's base URL, then answers one JSON command per
// stdin line ({id, baseURL, apiKey, model, conversations, turns, offset}) with one JSON
// line ({id, turns}); exits when stdin closes.
import { createInterface } from 'node:readline';
import OpenAI from 'openai';
import { startOpenAIUpstream } from '../support/openai-upstream.js';

export interface Turn {
  conversation: number;
  turn: number;
  traceId: string;
  sessionId: string;
  usage: OpenAI.CompletionUsage;
  /** What the client saw: from sending the request to the first streamed chunk, ms. */
  clientTtftMs: number;
}

interface Command {
  id: number;
  baseURL: string;
  apiKey: string;
  model: string;
  conversations: number;
  turns: number;
  offset: number;
}

async function converse(client: OpenAI, model: string, conversation: number, count: number): Promise<Turn[]> {
  const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'system', content: 'You are terse.' }];
  const turns: Turn[] = [];
  for (let turn = 1; turn <= count; turn++) {
    messages.push({ role: 'user', content: `conversation ${conversation} asks question number ${turn} about ${'rivers lakes seas'.split(' ')[turn % 3]}` });
    const sentAt = performance.now();
    let clientTtftMs = -1;
    const { data: stream, response } = await client.chat.completions.create({ model, messages, stream: true, stream_options: { include_usage: true } }).withResponse();
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      if (clientTtftMs < 0) clientTtftMs = performance.now() - sentAt;
      text += chunk.choices[0]?.delta?.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    messages.push({ role: 'assistant', content: text });
    turns.push({ conversation, turn, traceId: response.headers.get('x-sluice-trace-id')!, sessionId: response.headers.get('x-sluice-session-id')!, usage: usage!, clientTtftMs });
  }
  return turns;
}

const upstream = await startOpenAIUpstream({ record: false });
process.stdout.write(`${upstream.url}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = JSON.parse(line) as Command;
  const client = new OpenAI({ baseURL: cmd.baseURL, apiKey: cmd.apiKey, maxRetries: 0 });
  void Promise.all(Array.from({ length: cmd.conversations }, (_, c) => converse(client, cmd.model, cmd.offset + c, cmd.turns))).then(
    (turns) => process.stdout.write(`${JSON.stringify({ id: cmd.id, turns: turns.flat() })}\n`),
    (err: Error) => process.stdout.write(`${JSON.stringify({ id: cmd.id, error: err.message })}\n`),
  );
});
lines.on('close', () => void upstream.close().then(() => process.exit(0)));
