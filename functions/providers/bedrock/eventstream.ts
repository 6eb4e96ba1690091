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
  return encodeMessage('event', eventType, JSON.stringify(payload, blobsAsBase64));
}

/** A modeled exception in the stream (`throttlingException`, …), which ends it. */
export function encodeException(exceptionType: string, message: string): Buffer {
  return encodeMessage('exception', exceptionType, JSON.stringify({ message }));
}

/** An event-stream message: its type in `:event-type` or `:exception-type`, a JSON body. */
function encodeMessage(messageType: 'event' | 'exception', type: string, json: string): Buffer {
  return Buffer.from(
    codec.encode({
      headers: {
        [`:${messageType}-type`]: { type: 'string', value: type },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: messageType },
      },
      body: new Uint8Array(Buffer.from(json, 'utf8')),
    }),
  );
}

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';
