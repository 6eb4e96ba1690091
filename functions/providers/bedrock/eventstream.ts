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

/**
 * The event in one whole event-stream frame: its `:event-type` and JSON object body.
 * Undefined for exceptions, and for frames that are not JSON-object events; throws when
 * the frame itself is malformed (length or CRC mismatch), for callers that tell the two apart.
 */
export function decodeEvent(frame: Uint8Array): { type: string; payload: Record<string, unknown> } | undefined {
  const message = codec.decode(frame);
  const type = message.headers[':event-type']?.value;
  if (message.headers[':message-type']?.value !== 'event' || typeof type !== 'string') return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(message.body).toString('utf8'));
  } catch {
    return undefined;
  }
  return payload && typeof payload === 'object' ? { type, payload: payload as Record<string, unknown> } : undefined;
}

export const EVENT_STREAM_CONTENT_TYPE = 'application/vnd.amazon.eventstream';
