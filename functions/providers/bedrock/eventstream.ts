import { EventStreamCodec } from '@smithy/eventstream-codec';
import { blobsAsBase64 } from './transport.js';

const codec = new EventStreamCodec(
  (bytes) => Buffer.from(bytes).toString('utf8'),
  (text) => new Uint8Array(Buffer.from(text, 'utf8')),
);

/**
 * One ConverseStream event in AWS event-stream framing, as Bedrock sends it: the event
 * type in `:event-type`, the JSON payload as the body.
 */
export function encodeEvent(eventType: string, payload: unknown): Buffer {
  return Buffer.from(
    codec.encode({
      headers: {
        ':event-type': { type: 'string', value: eventType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'event' },
      },
      body: new Uint8Array(Buffer.from(JSON.stringify(payload, blobsAsBase64), 'utf8')),
    }),
  );
}

/** A modeled exception in the stream (`throttlingException`, …), which ends it. */
export function encodeException(exceptionType: string, message: string): Buffer {
  return Buffer.from(
    codec.encode({
      headers: {
        ':exception-type': { type: 'string', value: exceptionType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'exception' },
      },
      body: new Uint8Array(Buffer.from(JSON.stringify({ message }), 'utf8')),
    }),
  );
}

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';
