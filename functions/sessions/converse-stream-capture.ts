import { decodeEvent } from '../providers/bedrock/eventstream.js';

/**
 * The assistant message of a Bedrock ConverseStream answer (AWS event-stream framing),
 * in the shape a client re-sends it: `{role:'assistant', content:[{text} | {toolUse:{toolUseId, name, input}}]}`.
 * Undefined when the bytes are not a well-formed event stream (every frame's CRCs are checked).
 */
export function assistantFromConverseStream(bytes: Buffer): { role: 'assistant'; content: unknown[] } | undefined {
  const blocks = new Map<number, { text: string; toolUseId?: string; name?: string; input: string; isTool: boolean }>();
  let offset = 0;
  let frames = 0;
  while (offset + 4 <= bytes.length) {
    const length = bytes.readUInt32BE(offset);
    if (length < 16 || offset + length > bytes.length) return undefined;
    let event;
    try {
      event = decodeEvent(bytes.subarray(offset, offset + length));
    } catch {
      return undefined;
    }
    offset += length;
    frames++;
    if (!event) continue;
    const { type, payload } = event;
    const index = typeof payload.contentBlockIndex === 'number' ? payload.contentBlockIndex : 0;
    const block = blocks.get(index) ?? { text: '', input: '', isTool: false };
    if (type === 'contentBlockStart' && isObject(payload.start) && isObject(payload.start.toolUse)) {
      const use = payload.start.toolUse;
      block.isTool = true;
      if (typeof use.toolUseId === 'string') block.toolUseId = use.toolUseId;
      if (typeof use.name === 'string') block.name = use.name;
      blocks.set(index, block);
    } else if (type === 'contentBlockDelta' && isObject(payload.delta)) {
      const delta = payload.delta;
      if (typeof delta.text === 'string') block.text += delta.text;
      if (isObject(delta.toolUse) && typeof delta.toolUse.input === 'string') {
        block.isTool = true;
        block.input += delta.toolUse.input;
      }
      blocks.set(index, block);
    }
  }
  if (frames === 0 || offset !== bytes.length) return undefined;
  const content = [...blocks.entries()]
    .sort(([a], [b]) => a - b)
    .map(([, b]) => (b.isTool ? { toolUse: { toolUseId: b.toolUseId, name: b.name, input: parseInput(b.input) } } : { text: b.text }));
  return { role: 'assistant', content };
}

function parseInput(json: string): unknown {
  if (json === '') return {};
  try {
    return JSON.parse(json);
  } catch {
    return json;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
