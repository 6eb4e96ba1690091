/**
 * The load generator: node:http with a keep-alive agent, loopback targets only,
 * every loop bounded by a request count and a time limit.
 */
import { Agent, request } from 'node:http';

export interface Target {
  name: string;
  /** Base URL ending in /v1 (…/chat/completions is appended). */
  baseUrl: string;
  headers: Record<string, string>;
}

export interface Sample {
  ok: boolean;
  status: number;
  /** Request start → last body byte. */
  totalMs: number;
  /** Streams: request start → first SSE event carrying content. */
  ttftMs?: number;
  body: string;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** Refuses any target that is not on this machine. */
export function assertLoopback(url: string): URL {
  const parsed = new URL(url);
  if (!LOOPBACK.has(parsed.hostname)) throw new Error(`benchmark targets must be on loopback, got ${parsed.hostname}`);
  return parsed;
}

export function chatBody(model: string, prompt: string, stream: boolean): string {
  return JSON.stringify({
    model,
    messages: [{ role: 'user', content: prompt }],
    ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}),
  });
}

// A content delta: `"content":"` followed by at least one character (the role chunk has "content":"").
const CONTENT_DELTA = /"content":"[^"]/;

/** One POST …/chat/completions; for streams, also the time to the first content delta. */
export function chatRequest(agent: Agent, target: Target, body: string, stream: boolean, timeoutMs = 10_000): Promise<Sample> {
  const url = assertLoopback(`${target.baseUrl}/chat/completions`);
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (sample: Omit<Sample, 'totalMs'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...sample, totalMs: performance.now() - started });
    };
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        timeout: timeoutMs,
        headers: {
          ...target.headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        let ttftMs: number | undefined;
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          if (stream && ttftMs === undefined && CONTENT_DELTA.test(text)) ttftMs = performance.now() - started;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const complete = stream ? text.trimEnd().endsWith('data: [DONE]') && ttftMs !== undefined : text.endsWith('}');
          finish({ ok: status === 200 && complete, status, ttftMs, body: text });
        });
        res.on('error', () => finish({ ok: false, status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => finish({ ok: false, status: 0, body: '' }));
    req.end(body);
  });
}

export interface LatencyRun {
  target: string;
  totalMs: number[];
  ttftMs: number[];
  errors: number;
}

/** `count` requests one after another (concurrency 1) after `warmup` unrecorded ones, within `maxMs`. */
export async function sequentialLatency(
  target: Target,
  body: string,
  stream: boolean,
  opts: { count: number; warmup: number; maxMs: number },
): Promise<LatencyRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const run: LatencyRun = { target: target.name, totalMs: [], ttftMs: [], errors: 0 };
  const deadline = performance.now() + opts.maxMs;
  try {
    for (let i = 0; i < opts.warmup + opts.count && performance.now() < deadline; i++) {
      const sample = await chatRequest(agent, target, body, stream);
      if (i < opts.warmup) continue;
      if (!sample.ok) {
        run.errors++;
        continue;
      }
      run.totalMs.push(sample.totalMs);
      if (sample.ttftMs !== undefined) run.ttftMs.push(sample.ttftMs);
    }
  } finally {
    agent.destroy();
  }
  return run;
}

export interface ThroughputRun {
  target: string;
  requestsPerSecond: number;
  completed: number;
  errors: number;
  /** Requests sent in all, warm-up included. */
  issued: number;
  /** Seconds of the measured window (first measured request start → last measured end). */
  seconds: number;
}

/**
 * `concurrency` workers each send requests back to back. Requests finishing during
 * the warm-up are not counted; the measured window is `durationMs`, and no worker
 * starts a request after it (nor more than `maxRequests` in all).
 */
export async function closedLoopThroughput(
  target: Target,
  body: string,
  opts: { concurrency: number; warmupMs: number; durationMs: number; maxRequests: number; stream?: boolean },
): Promise<ThroughputRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: opts.concurrency });
  const start = performance.now();
  const measureFrom = start + opts.warmupMs;
  const measureTo = measureFrom + opts.durationMs;
  let issued = 0;
  let completed = 0;
  let errors = 0;
  let lastEnd = measureFrom;
  const worker = async () => {
    while (performance.now() < measureTo && issued < opts.maxRequests) {
      issued++;
      const sample = await chatRequest(agent, target, body, opts.stream ?? false);
      const end = performance.now();
      if (end < measureFrom) continue;
      if (sample.ok) {
        completed++;
        lastEnd = Math.max(lastEnd, end);
      } else errors++;
    }
  };
  try {
    await Promise.all(Array.from({ length: opts.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  const seconds = (lastEnd - measureFrom) / 1000;
  return { target: target.name, requestsPerSecond: seconds > 0 ? completed / seconds : 0, completed, errors, issued, seconds };
}
