import { EventStreamCodec } from '@smithy/eventstream-codec';
import type { ConverseEvent } from './block-stream.js';

/**
 * AWS event-stream framing for the response check on Converse streams: a byte stream
 * split into whole frames (each starts with its total length, a big-endian uint32), and a
 * frame read as a Converse event. Pure.
 */
export class FrameSplitter {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Buffer[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const frames: Buffer[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length < 16 || this.buffer.length < length) break;
      frames.push(this.buffer.subarray(0, length));
      this.buffer = this.buffer.subarray(length);
    }
    return frames;
  }

  /** Bytes not yet closed into a frame. */
  get pending(): Buffer {
    return this.buffer;
  }
}

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/** The event in a frame, or undefined for exceptions and frames that are not JSON events. */
export function readConverseFrame(frame: Buffer): ConverseEvent | undefined {
  try {
    const message = codec.decode(new Uint8Array(frame.buffer, frame.byteOffset, frame.length));
    if (message.headers[':message-type']?.value !== 'event') return undefined;
    const type = message.headers[':event-type']?.value;
    if (typeof type !== 'string') return undefined;
    const payload = JSON.parse(Buffer.from(message.body).toString('utf8')) as unknown;
    return payload && typeof payload === 'object' ? { type, payload: payload as Record<string, unknown> } : undefined;
  } catch {
    return undefined;
  }
}
