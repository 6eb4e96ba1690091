/** Server-sent events framing: split a byte stream into complete events, incrementally. */
export interface SseEvent {
  event?: string;
  data: string;
  /** The event's exact bytes as received, separator included. */
  raw: string;
}

/**
 * Feeds text and returns the complete events it closes. The tail of an unfinished
 * event is kept until its blank line arrives, so nothing half-written is forwarded.
 */
export class SseSplitter {
  private buffer = '';

  push(text: string): SseEvent[] {
    this.buffer += text;
    const events: SseEvent[] = [];
    for (;;) {
      const end = findEventEnd(this.buffer);
      if (end < 0) break;
      const raw = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end);
      events.push(parseEvent(raw));
    }
    return events;
  }

  /** Bytes received but not yet closed by a blank line. */
  get pending(): string {
    return this.buffer;
  }
}

/** Index just past the first blank-line separator (\n\n, \r\n\r\n or \r\r), or -1. */
function findEventEnd(s: string): number {
  const lf = s.indexOf('\n\n');
  const crlf = s.indexOf('\r\n\r\n');
  let best = -1;
  if (lf >= 0) best = lf + 2;
  if (crlf >= 0 && (best < 0 || crlf + 4 < best)) best = crlf + 4;
  return best;
}

function parseEvent(raw: string): SseEvent {
  const data: string[] = [];
  let event: string | undefined;
  for (const line of raw.split(/\r\n|\r|\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') event = value;
  }
  return event === undefined ? { data: data.join('\n'), raw } : { event, data: data.join('\n'), raw };
}

/** The `type` of an event's JSON data (the Responses API and Anthropic put it first). */
export function eventType(data: string): string | undefined {
  const first = /^\s*\{\s*"type"\s*:\s*"([^"\\]+)"/.exec(data);
  if (first) return first[1];
  try {
    const type = (JSON.parse(data) as { type?: unknown }).type;
    return typeof type === 'string' ? type : undefined;
  } catch {
    return undefined;
  }
}
