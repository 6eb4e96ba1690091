import { describe, expect, it } from 'vitest';
import { anthropicFormat, BlockStreamCheck, converseFormat, type ConverseEvent, type FullDecision } from '../../../functions/governance/block-stream.js';
import { FrameSplitter, readConverseFrame } from '../../../functions/governance/eventstream-frames.js';
import { maskPatterns, MASK_CHAR } from '../../../functions/governance/redact.js';
import { BLOCKED_NOTICE, type OutputView } from '../../../functions/governance/response-output.js';
import { StreamChecker } from '../../../functions/governance/stream-checker.js';
import { encodeEvent } from '../../../functions/providers/bedrock/eventstream.js';

type Json = Record<string, unknown>;
const SECRET = { pattern: 'sk-[A-Za-z0-9]{8}', maxLen: 11 };
const DENY = { pattern: 'rm -rf /', maxLen: 8 };
const mask = (n: number) => MASK_CHAR.repeat(n);

/** An Anthropic stream: message_start, one text block with the given deltas, a tool_use block, message_delta, message_stop. */
function anthropicEvents(deltas: string[]): Json[] {
  return [
    { type: 'message_start', message: { id: 'msg_1', usage: { input_tokens: 5, output_tokens: 1 } } },
    { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
    ...deltas.map((text) => ({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } })),
    { type: 'content_block_stop', index: 0 },
    { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'tu_1', name: 'lookup', input: {} } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"q":' } },
    { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '"x"}' } },
    { type: 'content_block_stop', index: 1 },
    { type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { output_tokens: 9 } },
    { type: 'message_stop' },
  ];
}

const allow = (patterns: string[] = []) => (view: OutputView): FullDecision & { seen: OutputView } => ({ deny: false, reasons: [], mask: (t) => maskPatterns(t, patterns).text, seen: view });

function run<E>(check: BlockStreamCheck<E>, events: E[]): E[] {
  const out: E[] = [];
  for (const event of events) out.push(...check.push({ event, raw: 'raw' }).map((i) => i.event));
  out.push(...check.end().map((i) => i.event));
  return out;
}

const textOf = (events: Json[]) =>
  events
    .filter((e) => e.type === 'content_block_delta' && (e.delta as Json).type === 'text_delta')
    .map((e) => (e.delta as Json).text)
    .join('');

describe('BlockStreamCheck on Anthropic events (incremental)', () => {
  it.each([
    ['in one delta', ['my key is sk-ABCDEFGH ok']],
    ['split across two deltas', ['my key is sk-ABC', 'DEFGH ok']],
    ['split across three deltas', ['my key is s', 'k-ABCD', 'EFGH ok']],
  ])('masks a secret %s; the block tail is released before its content_block_stop; other events pass in order', (_n, deltas) => {
    const check = new BlockStreamCheck(anthropicFormat(), new StreamChecker([SECRET], []), false, allow());
    const out = run(check, anthropicEvents(deltas));
    expect(textOf(out)).toBe(`my key is ${mask(11)} ok`);
    const types = out.map((e) => e.type);
    // The last text delta comes right before the text block's stop.
    expect(types.indexOf('content_block_stop')).toBe(types.lastIndexOf('content_block_delta', types.indexOf('content_block_stop')) + 1);
    expect(types.filter((t) => t !== 'content_block_delta')).toEqual(['message_start', 'content_block_start', 'content_block_stop', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(check.view()).toEqual({ text: 'my key is sk-ABCDEFGH ok', tool_calls: [{ name: 'lookup', arguments: '{"q":"x"}' }], finish_reason: 'tool_use' });
  });

  it('stream_deny: the notice delta, content_block_stop, message_delta refusal (with the usage so far) and message_stop; then nothing', () => {
    const format = anthropicFormat();
    const check = new BlockStreamCheck(format, new StreamChecker([], [DENY]), false, allow());
    const events = anthropicEvents(['please run ', 'rm -', 'rf / now']);
    const out: Json[] = [];
    for (const e of events) {
      format.noteUsage(e);
      out.push(...check.push({ event: e }).map((i) => i.event));
    }
    expect(check.stop).toBe(true);
    expect(check.cut).toEqual({ pattern: 'rm -rf /', at: 11 });
    expect(textOf(out).endsWith(BLOCKED_NOTICE)).toBe(true);
    expect(textOf(out)).not.toContain('rm -rf');
    expect(out.slice(-3)).toEqual([{ type: 'content_block_stop', index: 0 }, { type: 'message_delta', delta: { stop_reason: 'refusal', stop_sequence: null }, usage: { output_tokens: 1 } }, { type: 'message_stop' }]);
    expect(check.end()).toEqual([]);
    expect(check.view().finish_reason).toBe('content_filter');
  });

  it('a deny match completed by the block end (content_block_stop) still stops the stream', () => {
    const check = new BlockStreamCheck(anthropicFormat(), new StreamChecker([], [{ pattern: 'bad$', maxLen: 3 }]), false, allow());
    const out = run(check, anthropicEvents(['this is ', 'bad']));
    expect(check.cut?.pattern).toBe('bad$');
    expect(out.some((e) => e.type === 'content_block_start' && e.index === 1)).toBe(false);
  });
});

describe('BlockStreamCheck on Anthropic events (buffered)', () => {
  it('holds everything after message_start until message_delta, then re-emits the events with the deltas masked at their own sizes', () => {
    const decide = allow(['sk-[A-Za-z0-9]{8}']);
    let seen: OutputView | undefined;
    const check = new BlockStreamCheck(anthropicFormat(), new StreamChecker([], [], true), true, (v) => ((seen = v), decide(v)));
    const events = anthropicEvents(['my key is sk-ABC', 'DEFGH ok']);
    expect(check.push({ event: events[0]!, raw: 'start' }).map((i) => i.raw)).toEqual(['start']);
    for (const e of events.slice(1, -2)) expect(check.push({ event: e, raw: 'x' })).toEqual([]);
    const released = check.push({ event: events.at(-2)!, raw: 'delta' });
    const deltas = released.filter((i) => i.event.type === 'content_block_delta' && (i.event.delta as Json).type === 'text_delta').map((i) => (i.event.delta as Json).text);
    expect(deltas).toEqual(['my key is ██████', '█████ ok']);
    expect(released.at(-1)?.raw).toBe('delta');
    expect(released).toHaveLength(events.length - 2);
    expect(seen).toEqual({ text: 'my key is sk-ABCDEFGH ok', tool_calls: [{ name: 'lookup', arguments: '{"q":"x"}' }], finish_reason: 'tool_use' });
    expect(check.push({ event: events.at(-1)!, raw: 'stop' }).map((i) => i.raw)).toEqual(['stop']);
  });

  it('deny: one text block with the notice, the stop reason refusal keeping the upstream usage; message_stop passes', () => {
    const check = new BlockStreamCheck(anthropicFormat(), new StreamChecker([], [], true), true, () => ({ deny: true, reasons: ['no'], mask: (t) => t }));
    const out = run(check, anthropicEvents(['anything']));
    expect(out).toEqual([
      expect.objectContaining({ type: 'message_start' }),
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: BLOCKED_NOTICE } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'refusal', stop_sequence: null }, usage: { output_tokens: 9 } },
      { type: 'message_stop' },
    ]);
  });

  it('a stream cut before message_delta: what is held is released at the end, after the decision', () => {
    const check = new BlockStreamCheck(anthropicFormat(), new StreamChecker([], [], true), true, allow(['secret']));
    const out = run(check, anthropicEvents(['a secret', ' here']).slice(0, 4));
    expect(textOf(out)).toBe(`a ${mask(6)} here`);
  });
});

describe('BlockStreamCheck on Converse events', () => {
  const converse = (deltas: string[]): ConverseEvent[] => [
    { type: 'messageStart', payload: { role: 'assistant' } },
    ...deltas.map((text) => ({ type: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { text } } })),
    { type: 'contentBlockStop', payload: { contentBlockIndex: 0 } },
    { type: 'messageStop', payload: { stopReason: 'end_turn' } },
    { type: 'metadata', payload: { usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 } } },
  ];
  const text = (events: ConverseEvent[]) => events.filter((e) => e.type === 'contentBlockDelta').map((e) => (e.payload.delta as Json).text).join('');

  it('incremental: a secret split across deltas is masked; the tail goes out before contentBlockStop', () => {
    const check = new BlockStreamCheck(converseFormat, new StreamChecker([SECRET], []), false, allow());
    const out = run(check, converse(['key sk-AB', 'CDEFGH', ' done']));
    expect(text(out)).toBe(`key ${mask(11)} done`);
    expect(out.map((e) => e.type).slice(-3)).toEqual(['contentBlockStop', 'messageStop', 'metadata']);
  });

  it('stream_deny: the notice, contentBlockStop, messageStop guardrail_intervened; the stream stops', () => {
    const check = new BlockStreamCheck(converseFormat, new StreamChecker([], [DENY]), false, allow());
    const out = run(check, converse(['please run ', 'rm -rf / now']));
    expect(check.stop).toBe(true);
    expect(out.slice(-3)).toEqual([
      { type: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { text: BLOCKED_NOTICE } } },
      { type: 'contentBlockStop', payload: { contentBlockIndex: 0 } },
      { type: 'messageStop', payload: { stopReason: 'guardrail_intervened' } },
    ]);
  });

  it('buffered deny: the notice block and messageStop guardrail_intervened; metadata still passes', () => {
    const check = new BlockStreamCheck(converseFormat, new StreamChecker([], [], true), true, () => ({ deny: true, reasons: ['x'], mask: (t) => t }));
    const out = run(check, converse(['a', ' b']));
    expect(out.map((e) => e.type)).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    expect(out[3]!.payload.stopReason).toBe('guardrail_intervened');
  });
});

describe('event-stream frames', () => {
  it('splits frames cut anywhere across chunks and reads them back as Converse events', () => {
    const frames = [encodeEvent('messageStart', { role: 'assistant' }), encodeEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'héllo' } })];
    const bytes = Buffer.concat(frames);
    for (const cut of [1, 3, 4, 17, frames[0]!.length, frames[0]!.length + 5]) {
      const splitter = new FrameSplitter();
      const got = [...splitter.push(bytes.subarray(0, cut)), ...splitter.push(bytes.subarray(cut))];
      expect(got.map((f) => Buffer.from(f))).toEqual(frames);
      expect(splitter.pending.length).toBe(0);
    }
    expect(readConverseFrame(frames[1]!)).toEqual({ type: 'contentBlockDelta', payload: { contentBlockIndex: 0, delta: { text: 'héllo' } } });
  });
});
