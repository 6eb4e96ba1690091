import { decodeEvent } from '../providers/bedrock/eventstream.js';
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

/** The event in a frame, or undefined for exceptions, malformed frames and frames that are not JSON events. */
export function readConverseFrame(frame: Buffer): ConverseEvent | undefined {
  try {
    return decodeEvent(frame);
  } catch {
    return undefined;
  }
}
