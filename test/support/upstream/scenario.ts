/**
 * Scenario selection for the test upstream.
 *
 * A test chooses how the upstream behaves through the request itself, so the choice
 * survives any gateway in between: either the model name (`"model": "test-slow"`),
 * which every gateway forwards, or the `x-test-scenario` request header (for gateways
 * that forward it, and for direct calls). Both may be given; the header's entries are
 * applied after the model's.
 *
 * Grammar: `part ('+' part)*`, part = `name ('@' key '=' value (',' key '=' value)*)?`.
 * In a model name the prefix `test-` comes first: `test-tools+slow@first=200,gap=20`.
 *
 * | name | effect | params (defaults) |
 * |---|---|---|
 * | `ok` | normal answer (also any model not starting with `test-`) | |
 * | `slow` | delays before the first body event and between events | `first` (100 ms), `gap` (50 ms) |
 * | `cut` | stream: the socket is destroyed after `after` SSE events; plain: after half the body | `after` (3) |
 * | `eof` | stream: the body ends cleanly after `after` SSE events, without its terminal event | `after` (2) |
 * | `307` | a redirect (`location` elsewhere, empty body), as a moved endpoint answers | |
 * | `stream-error` | stream: after `after` events an OpenAI error event, then `[DONE]` | `after` (2) |
 * | `hang` | `phase=headers`: nothing is ever sent; `phase=body`: status and headers, then nothing | `phase` (headers) |
 * | `tools` | chat/responses answer with (parallel) tool calls built from the request's tools | `calls` (2) |
 * | `400`, `401`, `403`, `404`, `429`, `500`, `502`, `503`, `504` | that status with OpenAI's error body and headers | `retry` (seconds, 429/503: 1) |
 *
 * `first` and `gap` apply to every scenario; `slow` only changes their defaults.
 */

export type ScenarioName =
  | 'ok'
  | 'slow'
  | 'cut'
  | 'eof'
  | '307'
  | 'stream-error'
  | 'hang'
  | 'tools'
  | '400'
  | '401'
  | '403'
  | '404'
  | '429'
  | '500'
  | '502'
  | '503'
  | '504';

const KNOWN: ReadonlySet<string> = new Set<ScenarioName>([
  'ok', 'slow', 'cut', 'eof', '307', 'stream-error', 'hang', 'tools', '400', '401', '403', '404', '429', '500', '502', '503', '504',
]);

export const ERROR_SCENARIOS = ['400', '401', '403', '404', '429', '500', '502', '503', '504'] as const;
export type ErrorScenario = (typeof ERROR_SCENARIOS)[number];

export interface Scenario {
  /** Every scenario named, in order (always at least `ok`). */
  names: ReadonlySet<ScenarioName>;
  /** Delay before the first body byte (stream) or before the whole response (plain), ms. */
  firstDelayMs: number;
  /** Delay between SSE events, ms. */
  gapMs: number;
  /** `cut`: number of SSE events written before the socket is destroyed. */
  cutAfter: number | undefined;
  /** `eof`: number of SSE events written before the body ends cleanly. */
  eofAfter: number | undefined;
  /** `307`: answer with a redirect. */
  redirect: boolean;
  /** `stream-error`: number of SSE events before the error event. */
  errorAfter: number | undefined;
  /** `hang`: where the response stops. */
  hang: 'headers' | 'body' | undefined;
  /** `tools`: how many parallel tool calls to make. */
  toolCalls: number | undefined;
  /** The error status to answer with, if an error scenario was named. */
  errorStatus: ErrorScenario | undefined;
  /** Seconds for `retry-after` on 429/503. */
  retryAfterSeconds: number;
}

export const SCENARIO_HEADER = 'x-test-scenario';
export const MODEL_PREFIX = 'test-';

export class ScenarioSyntaxError extends Error {}

interface Part {
  name: ScenarioName;
  params: Map<string, string>;
}

function parseParts(spec: string): Part[] {
  const parts: Part[] = [];
  for (const raw of spec.split('+')) {
    const text = raw.trim();
    if (!text) continue;
    const at = text.indexOf('@');
    const name = (at < 0 ? text : text.slice(0, at)).trim();
    if (!KNOWN.has(name)) throw new ScenarioSyntaxError(`unknown test scenario "${name}"`);
    const params = new Map<string, string>();
    if (at >= 0) {
      for (const pair of text.slice(at + 1).split(',')) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new ScenarioSyntaxError(`bad scenario parameter "${pair}" (want key=value)`);
        params.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
      }
    }
    parts.push({ name: name as ScenarioName, params });
  }
  return parts;
}

function numberParam(params: Map<string, string>, key: string): number | undefined {
  const value = params.get(key);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new ScenarioSyntaxError(`scenario parameter ${key} must be a number ≥ 0`);
  return n;
}

/**
 * Reads the scenario from the model name and the `x-test-scenario` header.
 * Throws ScenarioSyntaxError for an unknown name or a malformed parameter, which the
 * server answers with a 400 so that a typo in a test is loud.
 */
export function resolveScenario(model: unknown, header: string | undefined): Scenario {
  const specs: string[] = [];
  if (typeof model === 'string' && model.startsWith(MODEL_PREFIX)) specs.push(model.slice(MODEL_PREFIX.length));
  if (header) specs.push(header);
  const parts = specs.flatMap(parseParts);

  const names = new Set<ScenarioName>(['ok']);
  let first: number | undefined;
  let gap: number | undefined;
  const scenario: Scenario = {
    names,
    firstDelayMs: 0,
    gapMs: 0,
    cutAfter: undefined,
    eofAfter: undefined,
    redirect: false,
    errorAfter: undefined,
    hang: undefined,
    toolCalls: undefined,
    errorStatus: undefined,
    retryAfterSeconds: 1,
  };
  for (const { name, params } of parts) {
    names.add(name);
    first = numberParam(params, 'first') ?? first;
    gap = numberParam(params, 'gap') ?? gap;
    switch (name) {
      case 'slow':
        first ??= 100;
        gap ??= 50;
        break;
      case 'cut':
        scenario.cutAfter = numberParam(params, 'after') ?? 3;
        break;
      case 'eof':
        scenario.eofAfter = numberParam(params, 'after') ?? 2;
        break;
      case '307':
        scenario.redirect = true;
        break;
      case 'stream-error':
        scenario.errorAfter = numberParam(params, 'after') ?? 2;
        break;
      case 'hang': {
        const phase = params.get('phase') ?? 'headers';
        if (phase !== 'headers' && phase !== 'body') throw new ScenarioSyntaxError('hang phase must be headers or body');
        scenario.hang = phase;
        break;
      }
      case 'tools':
        scenario.toolCalls = Math.max(1, Math.floor(numberParam(params, 'calls') ?? 2));
        break;
      case 'ok':
        break;
      default:
        scenario.errorStatus = name;
        scenario.retryAfterSeconds = numberParam(params, 'retry') ?? scenario.retryAfterSeconds;
    }
  }
  scenario.firstDelayMs = first ?? 0;
  scenario.gapMs = gap ?? 0;
  return scenario;
}
