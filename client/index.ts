/**
 * `sluice/client`: a small typed client for Sluice action checks (docs/policies.md, "Actions").
 * No dependencies; it needs only `fetch` (Node 18+, browsers, Deno, Bun).
 *
 *   const actions = new SluiceActions({ baseURL: 'http://127.0.0.1:8080', apiKey: 'sk-sluice-…' });
 *   const verdict = await actions.check('delete_database', { name: 'prod' });
 *   if (verdict.decision === 'hold') verdict2 = await actions.waitForApproval(verdict);
 *   if (verdict.decision !== 'allow') do not run the action
 *
 * `check` resolves with the gateway's decision (allow, deny, hold). Every other answer — a bad
 * body (400), no or a bad key (401), a key for another proxy (403), the policy engine failing
 * with fail mode closed (503 policy_unavailable) — rejects with a SluiceError: the action must
 * not run.
 */

export interface SluiceActionsOptions {
  /** The gateway root: the Function URL, or `http://127.0.0.1:8080` locally. */
  baseURL: string;
  /** A gateway key, `sk-sluice-…`. */
  apiKey: string;
  /** Name the proxy in the path (`/a/<proxyId>/actions/check`); default: the key's proxy (`/v1/actions/check`). */
  proxyId?: string;
  /** Headers sent with every request (`X-Sluice-Property-<key>`, `X-Sluice-Session-Path`, …). */
  headers?: Record<string, string>;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
}

export interface CheckOptions {
  /** The session the action belongs to (a UUID): the check becomes a step of that session's trace. */
  sessionId?: string;
  /** The trace (a UUID) the action follows from, e.g. the model call that asked for it. */
  parentTraceId?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface Allowed {
  decision: 'allow';
  traceId: string;
  /** `none`: the proxy has no action policy (or governance is off); `error`: the policy failed and the fail mode is open. */
  policy?: 'none' | 'error';
  /** Set when an approval for this very check was used. */
  approvalId?: string;
}

export interface Denied {
  decision: 'deny';
  traceId: string;
  reasons: string[];
  /** `policy_violation`, or why an approval could not be used: `approval_denied`, `approval_expired`, `approval_used`, `approval_mismatch`, `approval_not_found`. */
  code: string;
  message: string;
}

export interface Held {
  decision: 'hold';
  traceId: string;
  reasons: string[];
  approvalId: string;
  /** The exact bytes that were sent: a hold binds to the body's hash, so the re-check sends them again. */
  body: string;
}

export type ActionDecision = Allowed | Denied | Held;

export type ApprovalState = 'pending' | 'approved' | 'denied' | 'expired' | 'consumed';

export interface ApprovalStatus {
  id: string;
  status: ApprovalState;
  reasons: string[];
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
}

export interface WaitOptions {
  /** Between two polls of the approval; default 2000 ms. */
  intervalMs?: number;
  /** Give up (reject with code `approval_pending`) after this long; default 15 minutes. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Any answer that is not a decision; `status` 0 when the gateway could not be reached or gave up waiting. */
export class SluiceError extends Error {
  readonly status: number;
  readonly type: string;
  readonly code: string | null;
  readonly param: string | null;
  readonly traceId: string | null;
  constructor(message: string, fields: { status: number; type?: string; code?: string | null; param?: string | null; traceId?: string | null }) {
    super(message);
    this.name = 'SluiceError';
    this.status = fields.status;
    this.type = fields.type ?? 'error';
    this.code = fields.code ?? null;
    this.param = fields.param ?? null;
    this.traceId = fields.traceId ?? null;
  }
}

interface ErrorBody {
  error?: { message?: string; type?: string; code?: string | null; param?: string | null };
  decision?: string;
  reasons?: string[];
  approval_id?: string;
  policy?: 'none' | 'error';
  trace_id?: string;
}

export class SluiceActions {
  readonly #base: string;
  readonly #scope: string;
  readonly #headers: Record<string, string>;
  readonly #fetch: typeof fetch;

  constructor(options: SluiceActionsOptions) {
    if (!options.baseURL) throw new TypeError('SluiceActions: baseURL is required');
    if (!options.apiKey) throw new TypeError('SluiceActions: apiKey is required');
    this.#base = options.baseURL.replace(/\/+$/, '');
    this.#scope = options.proxyId !== undefined ? `/a/${encodeURIComponent(options.proxyId)}` : '/v1';
    this.#headers = { ...options.headers, authorization: `Bearer ${options.apiKey}` };
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  /** May this action run? The proxy's action-stage policy decides. */
  check(action: string, args: Record<string, unknown> = {}, options: CheckOptions = {}): Promise<ActionDecision> {
    const body = JSON.stringify({
      action,
      arguments: args,
      ...(options.sessionId !== undefined ? { session_id: options.sessionId } : {}),
      ...(options.parentTraceId !== undefined ? { parent_trace_id: options.parentTraceId } : {}),
    });
    return this.#send(body, options);
  }

  /** The held check again, byte for byte, with its approval id: allow once approved (once), else deny or still hold. */
  recheck(held: Held, options: Omit<CheckOptions, 'sessionId' | 'parentTraceId'> = {}): Promise<ActionDecision> {
    return this.#send(held.body, { ...options, headers: { ...options.headers, 'x-sluice-approval-id': held.approvalId } });
  }

  /** The approval's state (`GET …/approvals/<id>`, with the key that was held). */
  async approval(approvalId: string, options: { signal?: AbortSignal } = {}): Promise<ApprovalStatus> {
    const res = await this.#request(`${this.#base}${this.#scope}/approvals/${encodeURIComponent(approvalId)}`, { method: 'GET', headers: this.#headers, ...(options.signal ? { signal: options.signal } : {}) });
    const json = (await readJson(res)) as Record<string, unknown> & ErrorBody;
    if (res.status !== 200) throw errorOf(res, json);
    return {
      id: String(json.id),
      status: json.status as ApprovalState,
      reasons: (json.reasons as string[] | undefined) ?? [],
      createdAt: String(json.created_at),
      expiresAt: String(json.expires_at),
      ...(typeof json.decided_at === 'string' ? { decidedAt: json.decided_at } : {}),
    };
  }

  /** Polls the approval until someone decides (or it expires), then re-checks: the gateway's answer is the decision. */
  async waitForApproval(held: Held, options: WaitOptions = {}): Promise<ActionDecision> {
    const interval = options.intervalMs ?? 2000;
    const deadline = Date.now() + (options.timeoutMs ?? 15 * 60_000);
    const signal = options.signal ? { signal: options.signal } : {};
    for (;;) {
      const { status } = await this.approval(held.approvalId, signal);
      if (status !== 'pending') return this.recheck(held, signal);
      if (Date.now() + interval > deadline) {
        throw new SluiceError(`Approval ${held.approvalId} is still pending.`, { status: 0, type: 'timeout', code: 'approval_pending', traceId: held.traceId });
      }
      await sleep(interval, options.signal);
    }
  }

  async #send(body: string, options: CheckOptions): Promise<ActionDecision> {
    const res = await this.#request(`${this.#base}${this.#scope}/actions/check`, {
      method: 'POST',
      headers: { ...this.#headers, ...options.headers, 'content-type': 'application/json' },
      body,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const json = (await readJson(res)) as ErrorBody;
    const traceId = json.trace_id ?? res.headers.get('x-sluice-trace-id') ?? '';
    if (res.status === 200 && json.decision === 'allow') {
      return { decision: 'allow', traceId, ...(json.policy ? { policy: json.policy } : {}), ...(json.approval_id ? { approvalId: json.approval_id } : {}) };
    }
    if (res.status === 403 && json.decision === 'deny') {
      return { decision: 'deny', traceId, reasons: json.reasons ?? [], code: json.error?.code ?? 'policy_violation', message: json.error?.message ?? 'Denied by policy' };
    }
    const approvalId = res.headers.get('x-sluice-approval-id') ?? json.approval_id;
    if (res.status === 409 && json.decision === 'hold' && approvalId) return { decision: 'hold', traceId, reasons: json.reasons ?? [], approvalId, body };
    throw errorOf(res, json);
  }

  async #request(url: string, init: RequestInit): Promise<Response> {
    try {
      return await this.#fetch(url, init);
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw new SluiceError(`The gateway could not be reached: ${err instanceof Error ? err.message : String(err)}`, { status: 0, type: 'connection_error' });
    }
  }
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return {};
  }
}

function errorOf(res: Response, json: ErrorBody): SluiceError {
  const e = json.error ?? {};
  return new SluiceError(e.message ?? `The gateway answered ${res.status}.`, {
    status: res.status,
    type: e.type ?? 'error',
    code: e.code ?? null,
    param: e.param ?? null,
    traceId: json.trace_id ?? res.headers.get('x-sluice-trace-id'),
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
