import { effectiveStatus, type ApprovalRecord, type ApprovalStatus } from '../governance/approvals.js';
import { evaluateDecision } from '../governance/decision.js';
import { PolicyCache } from '../governance/policy-cache.js';
import type { GatewayDeps } from '../gateway/types.js';
import { toUsd } from '../spend/definitions.js';
import type { TraceQuery } from '../traces/query.js';
import type { TraceStepRow } from '../traces/rows.js';
import { DEFAULT_RANGE_MS, decodeCursor, MAX_PAGE_ROWS, parseStatusFilter, type TraceListQuery } from '../traces/trace-list.js';
import type { StoredPolicy } from '../stores/types.js';
import type { AdminStore, AuditEntry } from './admin-store.js';
import { badInput, ConsoleError, json, jsonBody, notFoundError, type ConsoleRequest, type ConsoleResponse } from './http.js';
import { checkStateChange, requireRole, type Caller } from './session-auth.js';

/**
 * The admin read API under `/admin/v1/` (docs/console.md): JSON, on the same query layer as
 * the CLI. Every list carries a time range (default: the last hour) and pages by key set on
 * (started_at, trace_id), at most 200 rows. A caller scoped to an org sees only that org.
 * Nothing here writes a trace, a session turn or spend; decisions on holds are audited.
 */
export interface ApiDeps {
  gateway: Pick<GatewayDeps, 'store' | 'governance' | 'spend'>;
  admin: AdminStore;
  traces: () => Promise<TraceQuery>;
  traceSource: 'local' | 'clickhouse';
  now: () => number;
}

type Handler = (deps: ApiDeps, req: ConsoleRequest, caller: Caller, params: string[], origin: string) => Promise<ConsoleResponse>;

interface RouteSpec {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handle: Handler;
}

const ID = '([A-Za-z0-9_.:-]{1,128})';
export const API_ROUTES: RouteSpec[] = [
  { method: 'GET', pattern: /^traces$/, handle: listTraces },
  { method: 'GET', pattern: new RegExp(`^traces/${ID}$`), handle: showTrace },
  { method: 'GET', pattern: /^sessions$/, handle: listSessions },
  { method: 'GET', pattern: new RegExp(`^sessions/${ID}$`), handle: showSession },
  { method: 'GET', pattern: /^spend$/, handle: spend },
  { method: 'GET', pattern: /^budgets$/, handle: budgets },
  { method: 'GET', pattern: /^approvals$/, handle: listApprovals },
  { method: 'POST', pattern: new RegExp(`^approvals/${ID}/(approve|deny)$`), handle: decideApproval },
  { method: 'GET', pattern: /^policies$/, handle: listPolicies },
  { method: 'POST', pattern: /^policies\/test$/, handle: testPolicy },
  { method: 'GET', pattern: /^audit$/, handle: listAudit },
];

/** The route for `rest` (the path after /admin/v1/): a 404 or 405 when there is none. */
export function matchApi(method: string, rest: string): { spec: RouteSpec; params: string[] } {
  let pathMatched = false;
  for (const spec of API_ROUTES) {
    const m = spec.pattern.exec(rest);
    if (!m) continue;
    pathMatched = true;
    if (spec.method === method) return { spec, params: m.slice(1) };
  }
  if (pathMatched) throw new ConsoleError(405, `Method ${method} is not allowed here.`, 'method_not_allowed');
  throw notFoundError(`Unknown admin route: ${method} /admin/v1/${rest}`);
}

// ---- query parameters ----

/** from/to: epoch ms or ISO times; default the last hour; at most 90 days. */
export function rangeOf(q: URLSearchParams, now: number): { fromMs: number; toMs: number } {
  const time = (name: string): number | undefined => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    const n = /^\d{1,16}$/.test(v) ? Number(v) : Date.parse(v);
    if (!Number.isFinite(n)) throw badInput(`'${name}' must be epoch milliseconds or an ISO time.`, 'invalid_time');
    return n;
  };
  const toMs = time('to') ?? now + 1;
  const fromMs = time('from') ?? toMs - DEFAULT_RANGE_MS;
  if (fromMs >= toMs) throw badInput("'from' must be before 'to'.", 'invalid_time');
  if (toMs - fromMs > 90 * 86_400_000) throw badInput('A time range spans at most 90 days.', 'invalid_time');
  return { fromMs, toMs };
}

function listQuery(q: URLSearchParams, caller: Caller, now: number): Omit<TraceListQuery, 'limit'> & { limit: number } {
  const out: TraceListQuery = { ...rangeOf(q, now), limit: 50 };
  const str = (name: string) => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    if (v.length > 256) throw badInput(`'${name}' is too long.`);
    return v;
  };
  const limit = str('limit');
  if (limit !== undefined) {
    if (!/^\d{1,3}$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_PAGE_ROWS) throw badInput(`'limit' must be 1 to ${MAX_PAGE_ROWS}.`, 'invalid_limit');
    out.limit = Number(limit);
  }
  const proxy = str('proxy');
  const key = str('key');
  const model = str('model');
  const session = str('session');
  if (proxy) out.proxyId = proxy;
  if (key) out.keyId = key;
  if (model) out.model = model;
  if (session) out.sessionId = session;
  const status = str('status');
  if (status) {
    const f = parseStatusFilter(status);
    if (!f) throw badInput("'status' must be a code (429), a class (4xx) or 'error'.", 'invalid_status');
    out.status = f;
  }
  const property = str('property');
  if (property) {
    const eq = property.indexOf('=');
    if (eq <= 0) throw badInput("'property' must be key=value.", 'invalid_property');
    out.property = { key: property.slice(0, eq).toLowerCase(), value: property.slice(eq + 1) };
  }
  const after = str('after');
  if (after) {
    const cursor = decodeCursor(after);
    if (!cursor) throw badInput("'after' is not a cursor from a previous page.", 'invalid_cursor');
    out.after = cursor;
  }
  if (caller.orgId !== undefined) out.orgId = caller.orgId;
  return out;
}

// ---- traces ----

async function listTraces(deps: ApiDeps, req: ConsoleRequest, caller: Caller): Promise<ConsoleResponse> {
  const q = listQuery(req.query, caller, deps.now());
  const page = await (await deps.traces()).list(q);
  return json(200, { object: 'list', data: page.traces, ...(page.next ? { next: page.next } : {}), ...(page.partial ? { partial: true } : {}), from_ms: q.fromMs, to_ms: q.toMs, source: deps.traceSource });
}

async function showTrace(deps: ApiDeps, _req: ConsoleRequest, caller: Caller, [traceId]: string[]): Promise<ConsoleResponse> {
  const rows = await (await deps.traces()).trace(traceId!, caller.orgId !== undefined ? { orgId: caller.orgId } : {});
  if (rows.length === 0) throw notFoundError(`No trace ${traceId}.`);
  return json(200, traceView(rows));
}

/** A trace for the page: its summary (the request_finished row) and every step with parsed attributes. */
export function traceView(rows: TraceStepRow[]) {
  const end = rows.find((r) => r.name === 'request_finished') ?? rows[rows.length - 1]!;
  const received = rows.find((r) => r.name === 'request_received');
  const steps = rows.map((r) => ({
    step_id: r.step_id,
    parent_id: r.parent_trace_id === r.trace_id ? null : r.parent_trace_id,
    name: r.name,
    offset_ms: r.offset_ms,
    duration_ms: r.duration_ms,
    attributes: parseAttributes(r.attributes),
  }));
  const attemptsOf = steps.filter((s) => s.name === 'llm').map((s) => s.attributes);
  return {
    object: 'sluice.trace',
    trace_id: end.trace_id,
    started_at_ms: end.started_at_ms - Math.floor(end.offset_ms),
    org_id: end.org_id,
    proxy_id: end.proxy_id,
    key_id: end.key_id,
    session_id: end.session_id,
    session_turn: end.session_turn,
    endpoint: end.endpoint,
    provider: end.provider,
    model_requested: end.model_requested,
    model_resolved: end.model_resolved,
    status: end.status,
    error: end.error,
    latency_ms: end.latency_ms,
    ttft_ms: end.ttft_ms,
    prompt_tokens: end.prompt_tokens,
    completion_tokens: end.completion_tokens,
    cost_usd: end.cost_usd,
    cost_unknown: end.cost_unknown === 1,
    properties: end.properties,
    request_body: received?.request_body ?? '',
    response_body: end.response_body,
    attempts: attemptsOf,
    steps,
  };
}

function parseAttributes(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

// ---- sessions ----

async function listSessions(deps: ApiDeps, req: ConsoleRequest, caller: Caller): Promise<ConsoleResponse> {
  const q = listQuery(req.query, caller, deps.now());
  const { after: _after, limit, ...range } = q;
  const sessions = await (await deps.traces()).sessions({ ...range, limit });
  return json(200, { object: 'list', data: sessions, from_ms: q.fromMs, to_ms: q.toMs });
}

/** The session's turns in order (its traces in the range, oldest first, at most 200). */
async function showSession(deps: ApiDeps, req: ConsoleRequest, caller: Caller, [sessionId]: string[]): Promise<ConsoleResponse> {
  const q = { ...listQuery(req.query, caller, deps.now()), sessionId: sessionId!, limit: MAX_PAGE_ROWS };
  const page = await (await deps.traces()).list(q);
  const turns = [...page.traces].reverse();
  return json(200, { object: 'sluice.session', session_id: sessionId, turns, truncated: page.next !== undefined, from_ms: q.fromMs, to_ms: q.toMs });
}

// ---- spend and budgets ----

const GROUPINGS = ['key', 'proxy', 'model', 'day', 'hour'] as const;

async function spend(deps: ApiDeps, req: ConsoleRequest, caller: Caller): Promise<ConsoleResponse> {
  const by = req.query.get('by') ?? 'model';
  if (!(GROUPINGS as readonly string[]).includes(by)) throw badInput(`'by' must be one of ${GROUPINGS.join(', ')}.`, 'invalid_grouping');
  const { after: _a, limit: _l, ...range } = listQuery(req.query, caller, deps.now());
  const lines = await (await deps.traces()).spendIn(range, by as (typeof GROUPINGS)[number]);
  return json(200, { object: 'list', by, data: lines, from_ms: range.fromMs, to_ms: range.toMs });
}

async function budgets(deps: ApiDeps, _req: ConsoleRequest, caller: Caller): Promise<ConsoleResponse> {
  const spendServices = deps.gateway.spend;
  if (!spendServices) return json(200, { object: 'list', data: [] });
  const now = deps.now();
  const visible = await visibleProxies(deps, caller);
  const all = await spendServices.config.listBudgets();
  // An org-scoped caller sees its org's budgets, its proxies' and its keys' (a key is its proxy's).
  const keyProxy = caller.orgId === undefined || !all.some((b) => b.scope === 'key') ? new Map<string, string>() : new Map((await deps.gateway.store.listKeys()).map((k) => [k.id, k.proxyId]));
  const rows = await Promise.all(
    all
      .filter((b) => caller.orgId === undefined || (b.scope === 'org' ? b.scopeId === caller.orgId : b.scope === 'proxy' ? visible.has(b.scopeId) : visible.has(keyProxy.get(b.scopeId) ?? '')))
      .map(async (b) => {
        const usage = await spendServices.ledger.usage(b, now);
        return { scope: b.scope, scope_id: b.scopeId, limit_usd: b.limitUsd, period: b.period, period_id: usage.slot.id, spent_usd: toUsd(usage.spentNano), reserved_usd: toUsd(usage.reservedNano) };
      }),
  );
  return json(200, { object: 'list', data: rows });
}

async function visibleProxies(deps: ApiDeps, caller: Caller): Promise<Set<string>> {
  const proxies = await deps.gateway.store.listProxies();
  return new Set(proxies.filter((p) => caller.orgId === undefined || p.orgId === caller.orgId).map((p) => p.id));
}

// ---- approvals ----

const STATUSES: ApprovalStatus[] = ['pending', 'approved', 'denied', 'expired', 'consumed'];

async function listApprovals(deps: ApiDeps, req: ConsoleRequest, caller: Caller): Promise<ConsoleResponse> {
  const g = deps.gateway.governance;
  if (!g) return json(200, { object: 'list', data: [] });
  const status = req.query.get('status') ?? 'pending';
  if (!STATUSES.includes(status as ApprovalStatus)) throw badInput(`'status' must be one of ${STATUSES.join(', ')}.`, 'invalid_status');
  const now = Date.now();
  const visible = await visibleProxies(deps, caller);
  // Listed per proxy: DynamoDB keeps holds under their proxy (GSI), with no scan of every hold.
  const records: ApprovalRecord[] = [];
  const ids = [...visible];
  for (let i = 0; i < ids.length; i += 10) {
    const lists = await Promise.all(ids.slice(i, i + 10).map((proxyId) => g.approvals.list({ proxyId, status: status as ApprovalStatus }, now)));
    records.push(...lists.flat());
  }
  records.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  records.splice(MAX_PAGE_ROWS);
  const traces = await deps.traces();
  // The held request as its trace keeps it (bounded, after the trace's redaction).
  const data = await Promise.all(records.map(async (r) => ({ ...approvalView(r, now), request: await heldRequest(traces, r.traceId, caller) })));
  return json(200, { object: 'list', data });
}

function approvalView(r: ApprovalRecord, now: number) {
  return {
    id: r.id,
    proxy_id: r.proxyId,
    key_id: r.keyId,
    status: effectiveStatus(r, now),
    reasons: r.reasons,
    policy_version: r.policyVersion ?? null,
    trace_id: r.traceId,
    created_at: r.createdAt,
    expires_at: r.expiresAt,
    decided_by: r.decidedBy ?? null,
    decided_at: r.decidedAt ?? null,
  };
}

async function heldRequest(traces: TraceQuery, traceId: string, caller: Caller): Promise<{ model: string; body: string } | null> {
  try {
    const rows = await traces.trace(traceId, caller.orgId !== undefined ? { orgId: caller.orgId } : {});
    const received = rows.find((r) => r.name === 'request_received');
    const end = rows.find((r) => r.name === 'request_finished');
    return received ? { model: end?.model_resolved || end?.model_requested || '', body: received.request_body } : null;
  } catch {
    return null; // ClickHouse may not have it yet (Firehose buffers)
  }
}

async function decideApproval(deps: ApiDeps, req: ConsoleRequest, caller: Caller, [id, verb]: string[], origin: string): Promise<ConsoleResponse> {
  checkStateChange(req, caller, origin);
  requireRole(caller, 'approver');
  const g = deps.gateway.governance;
  if (!g) throw new ConsoleError(503, 'Approvals are not available in this runtime.', 'approvals_unavailable');
  const record = await g.approvals.get(id!);
  const visible = await visibleProxies(deps, caller);
  if (!record || !visible.has(record.proxyId)) throw notFoundError(`No approval ${id}.`);
  const decision = verb === 'approve' ? 'approved' : 'denied';
  const decided = await g.approvals.decide(id!, decision, `console:${caller.adminKeyId}`, Date.now());
  const entry: AuditEntry = { at: new Date(deps.now()).toISOString(), actor: caller.adminKeyId, action: `approval.${verb}`, target: id!, outcome: decided ? 'ok' : 'refused', details: { proxy: record.proxyId, trace: record.traceId } };
  await deps.admin.audit(entry);
  if (!decided) throw new ConsoleError(409, `Approval ${id} is ${effectiveStatus(record, Date.now())}, not pending.`, 'approval_not_pending');
  return json(200, approvalView(decided, Date.now()));
}

// ---- policies ----

async function listPolicies(deps: ApiDeps, _req: ConsoleRequest, caller: Caller): Promise<ConsoleResponse> {
  const proxies = (await deps.gateway.store.listProxies()).filter((p) => caller.orgId === undefined || p.orgId === caller.orgId);
  const data = proxies.map((p) => ({
    proxy_id: p.id,
    org_id: p.orgId,
    enabled: p.governance?.enabled ?? false,
    fail_modes: p.governance?.failModes ?? {},
    stages: Object.fromEntries(
      (['request', 'response', 'action'] as const)
        .map((stage) => [stage, p.governance?.policies?.[stage]] as const)
        .filter((e): e is readonly ['request' | 'response' | 'action', StoredPolicy] => e[1] !== undefined)
        .map(([stage, sp]) => [stage, { version: sp.version, format: sp.format, sha256: sp.sha256, updated_at: sp.updatedAt, updated_by: sp.updatedBy ?? null, source: sp.format === 'rego' ? regoSource(sp.body) : null }]),
    ),
  }));
  return json(200, { object: 'list', data });
}

/** A signed policy (`v1:<hmac>:<rego>`) is shown as its Rego text. */
function regoSource(body: string): string {
  const m = /^v1:[0-9a-f]{64}:/.exec(body);
  return m ? body.slice(m[0].length) : body;
}

/**
 * Evaluates a proxy's stored policy (or the stage's, `request` by default) against the
 * input document a trace kept. Read-only: nothing is held, denied or recorded on the trace.
 */
async function testPolicy(deps: ApiDeps, req: ConsoleRequest, caller: Caller, _params: string[], origin: string): Promise<ConsoleResponse> {
  checkStateChange(req, caller, origin);
  requireRole(caller, 'admin');
  const body = jsonBody(req);
  const { proxy_id: proxyId, trace_id: traceId } = body;
  const stage = body.stage ?? 'request';
  if (typeof proxyId !== 'string' || typeof traceId !== 'string') throw badInput('Send {"proxy_id": "…", "trace_id": "…", "stage": "request"}.');
  if (stage !== 'request' && stage !== 'response') throw badInput("'stage' must be request or response.");
  const proxy = await deps.gateway.store.getProxy(proxyId);
  if (!proxy || (caller.orgId !== undefined && proxy.orgId !== caller.orgId)) throw notFoundError(`No proxy ${proxyId}.`);
  const stored = proxy.governance?.policies?.[stage];
  if (!stored) throw badInput(`Proxy ${proxyId} has no ${stage} policy.`, 'no_policy');
  const rows = await (await deps.traces()).trace(traceId, caller.orgId !== undefined ? { orgId: caller.orgId } : {});
  if (rows.length === 0) throw notFoundError(`No trace ${traceId}.`);
  const input = inputOf(rows);
  if (!input) throw badInput('This trace kept no policy input document (its proxy evaluated no request policy, or the document was larger than the trace body limit).', 'no_policy_input');
  const cache = deps.gateway.governance?.policies ?? new PolicyCache();
  let decision;
  try {
    const entry = await cache.get(proxy.id, stored);
    decision = evaluateDecision(entry.policy, { ...input, stage }, { budgetMs: proxy.governance?.evalBudgetMs ?? 200, now: new Date() });
  } catch (err) {
    return json(200, { object: 'sluice.policy_test', proxy_id: proxyId, trace_id: traceId, stage, policy_version: stored.version, error: err instanceof Error ? err.message.slice(0, 500) : String(err) });
  }
  const verdict = decision.denyReasons.length ? 'deny' : decision.holdReasons.length ? 'hold' : 'allow';
  await deps.admin.audit({ at: new Date(deps.now()).toISOString(), actor: caller.adminKeyId, action: 'policy.test', target: proxyId, outcome: 'ok', details: { trace: traceId, stage, verdict } });
  return json(200, { object: 'sluice.policy_test', proxy_id: proxyId, trace_id: traceId, stage, policy_version: stored.version, decision: verdict, deny_reasons: decision.denyReasons, hold_reasons: decision.holdReasons, package: decision.package });
}

/** The input document the trace's request-stage policy step kept (attribute `input`, JSON text). */
export function inputOf(rows: TraceStepRow[]): Record<string, unknown> | undefined {
  for (const r of rows) {
    if (r.name !== 'policy') continue;
    const a = parseAttributes(r.attributes);
    if (typeof a.input !== 'string') continue;
    try {
      const doc = JSON.parse(a.input) as unknown;
      if (doc && typeof doc === 'object' && !Array.isArray(doc)) return doc as Record<string, unknown>;
    } catch {
      // truncated: not usable
    }
  }
  return undefined;
}

// ---- audit ----

async function listAudit(deps: ApiDeps, req: ConsoleRequest, caller: Caller): Promise<ConsoleResponse> {
  requireRole(caller, 'admin');
  const limitText = req.query.get('limit') ?? '100';
  if (!/^\d{1,3}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > MAX_PAGE_ROWS) throw badInput(`'limit' must be 1 to ${MAX_PAGE_ROWS}.`, 'invalid_limit');
  return json(200, { object: 'list', data: await deps.admin.listAudit(Number(limitText)) });
}
