/**
 * The Sluice console: a small single-page app over the admin API (/admin/v1, docs/console.md).
 * Every value from the API — above all prompts and model output, which are attacker-controlled —
 * reaches the page through text nodes (textContent), never as HTML: there is no innerHTML here.
 */

type Json = Record<string, unknown>;
type Child = Node | string | number | null | undefined | false;

interface Who {
  admin_key_id: string;
  role: 'viewer' | 'approver' | 'admin';
  org_id: string | null;
  csrf: string | null;
  trace_source: 'local' | 'clickhouse';
  trace_delay_s: number;
}

let who: Who | undefined;
let stopTail: (() => void) | undefined;
const main = document.getElementById('main')!;

/** An element; string children become text nodes. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string | ((e: Event) => void)>> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else if (v !== undefined) el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'object' ? c : document.createTextNode(String(c)));
  return el;
}

function show(...children: Child[]): void {
  stopTail?.();
  stopTail = undefined;
  main.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false).map((c) => (typeof c === 'object' ? c : document.createTextNode(String(c)))));
}

class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

async function api(path: string, init: { method?: string; body?: unknown } = {}): Promise<Json> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  if (init.method && init.method !== 'GET' && who?.csrf) headers['x-sluice-csrf'] = who.csrf;
  const res = await fetch(`/admin/v1/${path}`, { method: init.method ?? 'GET', headers, credentials: 'same-origin', ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
  const body = (await res.json().catch(() => ({}))) as Json;
  if (!res.ok) {
    const message = String((body.error as Json | undefined)?.message ?? res.statusText);
    if (res.status === 401) who = undefined;
    throw new ApiError(res.status, message);
  }
  return body;
}

const fmtTime = (ms: unknown) => (typeof ms === 'number' ? new Date(ms).toISOString().replace('T', ' ').slice(0, 23) : '');
const fmtUsd = (v: unknown) => (typeof v === 'number' ? `$${v.toFixed(6)}` : '—');
const fmtMs = (v: unknown) => (typeof v === 'number' ? `${v.toFixed(1)} ms` : '—');

function table(headers: string[], rows: Child[][], onClick?: (i: number) => void): HTMLTableElement {
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...headers.map((t) => h('th', {}, t)))),
    h('tbody', {}, ...rows.map((cells, i) => h('tr', onClick ? { class: 'link', onclick: () => onClick(i) } : {}, ...cells.map((c) => h('td', {}, c))))),
  );
}

function errorBox(err: unknown): HTMLElement {
  return h('p', { class: 'error', role: 'alert' }, err instanceof Error ? err.message : String(err));
}

// ---------- sign-in ----------

async function start(): Promise<void> {
  const m = /^#token=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, '', '/console/#/traces'); // the token is single-use: never kept in history
    try {
      who = (await api('session', { method: 'POST', body: { token: m[1] } })) as unknown as Who;
    } catch (err) {
      return signInPage(err);
    }
  } else {
    try {
      who = (await api('session')) as unknown as Who;
    } catch (err) {
      return signInPage(err instanceof ApiError && err.status === 401 ? undefined : err);
    }
  }
  signedIn();
}

function signInPage(err?: unknown): void {
  document.getElementById('nav')!.hidden = true;
  document.getElementById('who')!.replaceChildren();
  const input = h('input', { type: 'password', name: 'admin_key', placeholder: 'sk-sluice-adm_…', autocomplete: 'off', id: 'admin-key' });
  const form = h(
    'form',
    {
      class: 'signin card',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        try {
          who = (await api('session', { method: 'POST', body: { admin_key: input.value } })) as unknown as Who;
          input.value = '';
          signedIn();
        } catch (error) {
          signInPage(error);
        }
      },
    },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'note' }, 'Open the Console link that npm start prints, or sign in with an admin key (sluice admin-keys create).'),
    h('label', {}, 'Admin key', input),
    h('p', {}, h('button', { type: 'submit' }, 'Sign in')),
  );
  show(form, err ? errorBox(err) : null);
}

function signedIn(): void {
  document.getElementById('nav')!.hidden = false;
  document.getElementById('who')!.replaceChildren(
    `${who!.admin_key_id} (${who!.role}${who!.org_id ? `, org ${who!.org_id}` : ''})`,
    h('button', {
      type: 'button',
      id: 'sign-out',
      onclick: async () => {
        await api('session', { method: 'DELETE' }).catch(() => undefined);
        who = undefined;
        signInPage();
      },
    }, 'Sign out'),
  );
  if (!location.hash.startsWith('#/')) location.hash = '#/traces';
  else void route();
}

// ---------- routing ----------

async function route(): Promise<void> {
  if (!who) return;
  const [page = 'traces', arg] = location.hash.replace(/^#\//, '').split('/').map(decodeURIComponent);
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.getAttribute('href') === `#/${page.replace(/^(trace|session)$/, '$1s')}`);
  try {
    if (page === 'traces') await tracesPage();
    else if (page === 'trace' && arg) await tracePage(arg);
    else if (page === 'sessions') await sessionsPage();
    else if (page === 'session' && arg) await sessionPage(arg);
    else if (page === 'spend') await spendPage();
    else if (page === 'approvals') await approvalsPage();
    else if (page === 'policies') await policiesPage();
    else show(h('p', {}, 'No such page.'));
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return signInPage(err);
    show(errorBox(err));
  }
}

// ---------- traces ----------

const RANGES: [string, number][] = [['15 min', 900_000], ['1 hour', 3_600_000], ['6 hours', 21_600_000], ['24 hours', 86_400_000], ['7 days', 604_800_000]];

function rangeSelect(name = 'range', selected = 3_600_000): HTMLSelectElement {
  return h('select', { name }, ...RANGES.map(([label, ms]) => h('option', ms === selected ? { value: String(ms), selected: '' } : { value: String(ms) }, label)));
}

function traceRow(t: Json): Child[] {
  return [fmtTime(t.startedAtMs), String(t.proxyId), String(t.model), String(t.status), fmtMs(t.latencyMs), `${t.promptTokens}/${t.completionTokens}`, t.costUnknown ? 'unpriced' : fmtUsd(t.costUsd), String(t.sessionId).slice(0, 13), String(t.traceId)];
}
const TRACE_HEADERS = ['Started (UTC)', 'Proxy', 'Model', 'Status', 'Latency', 'Tokens in/out', 'Cost', 'Session', 'Trace id'];

async function tracesPage(): Promise<void> {
  const fields = ['proxy', 'key', 'model', 'status', 'session', 'property'];
  const inputs = Object.fromEntries(fields.map((f) => [f, h('input', { name: f, size: '12', placeholder: f === 'property' ? 'key=value' : f === 'status' ? '200, 4xx, error' : '' })]));
  const range = rangeSelect();
  const tail = h('input', { type: 'checkbox', name: 'tail' });
  const results = h('div', { id: 'trace-results' });
  const tailNote = h('span', { class: 'note' });
  const params = () => {
    const p = new URLSearchParams({ from: String(Date.now() - Number(range.value)), limit: '50' });
    for (const f of fields) if (inputs[f]!.value.trim()) p.set(f, inputs[f]!.value.trim());
    return p;
  };
  let rows: Json[] = [];
  const render = (next?: string, partial?: boolean) => {
    results.replaceChildren(
      // The local index was still being built at start: this page is from the newest trace files' end only.
      partial ? h('p', { class: 'note', id: 'partial-note' }, 'Partial list: the trace index is still being built, so this shows only the newest traces. Apply again in a moment for the full list.') : '',
      rows.length ? table(TRACE_HEADERS, rows.map(traceRow), (i) => (location.hash = `#/trace/${rows[i]!.traceId}`)) : h('p', { class: 'note' }, 'No traces in this range.'),
      next ? h('button', { type: 'button', onclick: () => void load(next) }, 'Older') : '',
    );
  };
  const load = async (after?: string) => {
    const p = params();
    if (after) p.set('after', after);
    const page = await api(`traces?${p}`);
    rows = after ? [...rows, ...(page.data as Json[])] : (page.data as Json[]);
    render(page.next as string | undefined, page.partial === true);
  };
  const form = h(
    'form',
    { class: 'filters', onsubmit: (e: Event) => { e.preventDefault(); void load().catch((err) => results.replaceChildren(errorBox(err))); } },
    ...fields.map((f) => h('label', {}, f, inputs[f]!)),
    h('label', {}, 'range', range),
    h('button', { type: 'submit' }, 'Apply'),
    h('label', {}, h('span', {}, 'live tail'), tail),
    tailNote,
  );
  tail.addEventListener('change', () => {
    stopTail?.();
    stopTail = undefined;
    tailNote.textContent = '';
    if (!tail.checked) return;
    // ClickHouse in AWS: Firehose delivers in batches, so the newest traces show up to 60 s late.
    tailNote.textContent = who!.trace_delay_s ? `Live tail: new traces arrive through Firehose, which buffers up to ${who!.trace_delay_s} s.` : 'Live tail: polling every 2 s.';
    const timer = setInterval(() => void load().catch(() => undefined), 2000);
    stopTail = () => clearInterval(timer);
  });
  show(h('h1', {}, 'Traces'), form, results);
  const keep = stopTail;
  await load();
  stopTail = keep;
}

async function tracePage(id: string): Promise<void> {
  const t = await api(`traces/${encodeURIComponent(id)}`);
  const steps = t.steps as Json[];
  const total = Math.max(1, ...steps.map((s) => Number(s.offset_ms) + Number(s.duration_ms ?? 0)));
  const waterfall = h(
    'div',
    { class: 'waterfall', id: 'waterfall' },
    ...steps.map((s) => {
      const bar = h('div', { class: `wf-bar ${String(s.name)}` });
      bar.style.left = `${(Number(s.offset_ms) / total) * 100}%`;
      bar.style.width = `${(Number(s.duration_ms ?? 0) / total) * 100}%`;
      return h('div', { class: 'wf-row', 'data-step': String(s.name) }, h('span', {}, `${s.parent_id ? '  └ ' : ''}${s.name}${stepLabel(s)}`), h('div', { class: 'wf-track' }, bar), h('span', { class: 'note' }, `${Number(s.offset_ms).toFixed(1)} +${fmtMs(s.duration_ms)}`));
    }),
  );
  const policy = steps.filter((s) => s.name === 'policy').map((s) => s.attributes as Json);
  const intent = steps.filter((s) => s.name === 'intent').map((s) => s.attributes as Json);
  const tools = steps.filter((s) => s.name === 'tool').map((s) => s.attributes as Json);
  const facts: [string, Child][] = [
    ['Trace', String(t.trace_id)],
    ['Started (UTC)', fmtTime(t.started_at_ms)],
    ['Proxy / key', `${t.proxy_id} / ${t.key_id}`],
    ['Session', h('a', { href: `#/session/${encodeURIComponent(String(t.session_id))}` }, `${t.session_id} (turn ${t.session_turn})`)],
    ['Endpoint', `${t.endpoint} via ${t.provider}`],
    ['Model', `${t.model_requested}${t.model_resolved && t.model_resolved !== t.model_requested ? ` → ${t.model_resolved}` : ''}`],
    ['Status', `${t.status}${t.error ? ` — ${t.error}` : ''}`],
    ['Latency / TTFT', `${fmtMs(t.latency_ms)} / ${fmtMs(t.ttft_ms)}`],
    ['Tokens', `${t.prompt_tokens} in, ${t.completion_tokens} out`],
    ['Cost', t.cost_unknown ? 'unpriced model' : fmtUsd(t.cost_usd)],
    ['Attempts', String((t.attempts as Json[]).length)],
  ];
  show(
    h('p', {}, h('a', { href: '#/traces' }, '← Traces')),
    h('h1', {}, 'Trace'),
    h('dl', { class: 'facts' }, ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
    h('h2', {}, 'Steps'),
    waterfall,
    h('h2', {}, 'Attempts'),
    (t.attempts as Json[]).length ? h('div', { id: 'attempts' }, table(['Provider', 'Model', 'Status', 'Error'], (t.attempts as Json[]).map((a) => [String(a.provider ?? ''), String(a.model ?? ''), String(a.status ?? ''), String(a.error ?? a.errorType ?? '')]))) : h('p', { class: 'note' }, 'No upstream attempt.'),
    h('h2', {}, 'Policy decision'),
    policy.length
      ? table(
          ['Stage', 'Mode', 'Decision', 'Reasons', 'Version', 'Input'],
          policy.map((p) => [
            String(p.stage ?? ''),
            String(p.mode ?? ''),
            String(p.decision ?? p.reason ?? ''),
            Array.isArray(p.reasons) ? p.reasons.join('; ') : '',
            String(p.policyVersion ?? ''),
            // The input document the step kept (masked as the bodies are), as text.
            typeof p.input === 'string' ? h('details', {}, h('summary', {}, 'input document'), h('pre', { class: 'body' }, p.input)) : '',
          ]),
        )
      : h('p', { class: 'note' }, 'No policy step.'),
    h('h2', {}, 'Intent'),
    // The intent step (plugins/intent.ts): mode scored|skipped|error, the scorer's action, score and reason.
    intent.length ? h('div', { id: 'intent' }, table(['Mode', 'Action', 'Score', 'Reason'], intent.map((i) => [String(i.mode ?? ''), String(i.action ?? (i.mode === 'error' ? `fail ${i.failMode ?? ''}` : '')), i.score === undefined ? '' : String(i.score), String(i.reason ?? i.error ?? '')]))) : h('p', { class: 'note' }, 'Not scored.'),
    h('h2', {}, 'Tool calls'),
    // Tool steps (traces/body-capture.ts ToolActivity; action checks add decision): calls the model made, results the client sent.
    tools.length ? h('div', { id: 'tool-calls' }, table(['Direction', 'Name', 'Call id', 'Arguments / output', 'Decision'], tools.map((c) => [String(c.direction ?? ''), String(c.name ?? ''), String(c.toolCallId ?? ''), h('pre', { class: 'body' }, String(c.content ?? '')), String(c.decision ?? '')]))) : h('p', { class: 'note' }, 'None.'),
    h('h2', {}, 'Request body'),
    h('pre', { class: 'body', id: 'request-body' }, String(t.request_body) || '(not kept)'),
    h('h2', {}, 'Response body'),
    h('pre', { class: 'body', id: 'response-body' }, String(t.response_body) || '(not kept)'),
  );
}

function stepLabel(s: Json): string {
  const a = (s.attributes ?? {}) as Json;
  if (s.name === 'policy') return ` (${a.stage ?? ''} ${a.decision ?? a.mode ?? ''})`;
  if (s.name === 'tool') return ` ${a.name ?? ''}`;
  if (s.name === 'llm') return ` ${a.provider ?? ''}`;
  return '';
}

// ---------- sessions ----------

async function sessionsPage(): Promise<void> {
  const range = rangeSelect('range', 86_400_000);
  const results = h('div');
  const load = async () => {
    const page = await api(`sessions?from=${Date.now() - Number(range.value)}&limit=100`);
    const rows = page.data as Json[];
    results.replaceChildren(
      rows.length
        ? table(['Session', 'Proxy', 'Turns', 'First (UTC)', 'Last (UTC)', 'Tokens in/out', 'Cost'], rows.map((s) => [String(s.sessionId), String(s.proxyId), String(s.turns), fmtTime(s.firstMs), fmtTime(s.lastMs), `${s.promptTokens}/${s.completionTokens}`, fmtUsd(s.costUsd)]), (i) => (location.hash = `#/session/${encodeURIComponent(String(rows[i]!.sessionId))}`))
        : h('p', { class: 'note' }, 'No sessions in this range.'),
    );
  };
  range.addEventListener('change', () => void load());
  show(h('h1', {}, 'Sessions'), h('form', { class: 'filters' }, h('label', {}, 'range', range)), results);
  await load();
}

async function sessionPage(id: string): Promise<void> {
  const s = await api(`sessions/${encodeURIComponent(id)}?from=${Date.now() - 7 * 86_400_000}`);
  const turns = s.turns as Json[];
  show(
    h('p', {}, h('a', { href: '#/sessions' }, '← Sessions')),
    h('h1', {}, `Session ${id}`),
    h('p', { class: 'note' }, `${turns.length} turn(s) in the last 7 days, oldest first.`),
    table(['Turn', ...TRACE_HEADERS], turns.map((t) => [String(t.turn), ...traceRow(t)]), (i) => (location.hash = `#/trace/${turns[i]!.traceId}`)),
  );
}

// ---------- spend ----------

async function spendPage(): Promise<void> {
  const range = rangeSelect('range', 86_400_000);
  const by = h('select', { name: 'by' }, ...['model', 'key', 'proxy', 'day'].map((b) => h('option', { value: b }, b)));
  const out = h('div');
  const load = async () => {
    const from = Date.now() - Number(range.value);
    const bucket = Number(range.value) > 2 * 86_400_000 ? 'day' : 'hour';
    const [series, grouped, budgets] = await Promise.all([api(`spend?by=${bucket}&from=${from}`), api(`spend?by=${by.value}&from=${from}`), api('budgets')]);
    const lines = grouped.data as Json[];
    const budgetRows = budgets.data as Json[];
    out.replaceChildren(
      h('h2', {}, `Cost per ${bucket} (USD)`),
      chart(series.data as Json[]),
      h('h2', {}, `By ${by.value}`),
      lines.length ? table([by.value, 'Requests', 'Tokens in', 'Tokens out', 'Cost', 'Unpriced'], lines.map((l) => [String(l.group), String(l.requests), String(l.promptTokens), String(l.completionTokens), fmtUsd(l.costUsd), String(l.unpriced)])) : h('p', { class: 'note' }, 'No spend in this range.'),
      h('h2', {}, 'Budgets'),
      budgetRows.length ? table(['Scope', 'Id', 'Period', 'Limit', 'Spent', 'Reserved'], budgetRows.map((b) => [String(b.scope), String(b.scope_id), String(b.period_id), fmtUsd(b.limit_usd), fmtUsd(b.spent_usd), fmtUsd(b.reserved_usd)])) : h('p', { class: 'note' }, 'No budgets (sluice budgets set).'),
    );
  };
  range.addEventListener('change', () => void load());
  by.addEventListener('change', () => void load());
  show(h('h1', {}, 'Spend'), h('form', { class: 'filters' }, h('label', {}, 'range', range), h('label', {}, 'group by', by)), out);
  await load();
}

const SVG = 'http://www.w3.org/2000/svg';
function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** A bar chart of cost per time bucket, drawn as SVG (no chart library: see docs/dependencies.md). */
function chart(points: Json[]): SVGElement {
  const W = 720, H = 180, pad = 28;
  const root = svg('svg', { class: 'chart', id: 'spend-chart', width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'cost over time' });
  const max = Math.max(0, ...points.map((p) => Number(p.costUsd)));
  root.append(svg('text', { x: 4, y: 12 }, max > 0 ? `max $${max.toFixed(6)}` : 'no priced spend'));
  const bw = (W - 2 * pad) / Math.max(1, points.length);
  points.forEach((p, i) => {
    const v = Number(p.costUsd);
    const bh = max > 0 ? ((H - 2 * pad) * v) / max : 0;
    const bar = svg('rect', { x: pad + i * bw + 1, y: H - pad - bh, width: Math.max(1, bw - 2), height: Math.max(bh, v > 0 ? 1 : 0) });
    bar.append(svg('title', {}, `${p.group}: $${v.toFixed(6)}, ${p.requests} requests`));
    root.append(bar);
    if (points.length <= 12 || i % Math.ceil(points.length / 12) === 0) root.append(svg('text', { x: pad + i * bw, y: H - 8 }, String(p.group).slice(5, 16)));
  });
  return root;
}

// ---------- approvals ----------

async function approvalsPage(): Promise<void> {
  const status = h('select', { name: 'status' }, ...['pending', 'approved', 'denied', 'consumed', 'expired'].map((s) => h('option', { value: s }, s)));
  const out = h('div', { id: 'approvals' });
  const load = async () => {
    const page = await api(`approvals?status=${status.value}`);
    const rows = page.data as Json[];
    out.replaceChildren(...(rows.length ? rows.map(approvalCard) : [h('p', { class: 'note' }, `No ${status.value} approvals.`)]));
  };
  const approvalCard = (a: Json): HTMLElement => {
    const result = h('span');
    const decide = (verb: 'approve' | 'deny') => async () => {
      try {
        const r = await api(`approvals/${encodeURIComponent(String(a.id))}/${verb}`, { method: 'POST' });
        result.replaceChildren(h('span', { class: 'ok' }, `${r.status} by ${r.decided_by}`));
      } catch (err) {
        result.replaceChildren(errorBox(err));
      }
    };
    const request = a.request as Json | null;
    const canDecide = who!.role !== 'viewer' && a.status === 'pending';
    return h(
      'div',
      { class: 'card approval', 'data-approval-id': String(a.id) },
      h('dl', { class: 'facts' }, ...[['Approval', a.id], ['Status', a.status], ['Proxy / key', `${a.proxy_id} / ${a.key_id}`], ['Reasons', (a.reasons as string[]).join('; ')], ['Policy version', a.policy_version], ['Held at', a.created_at], ['Expires', a.expires_at], ['Decided', a.decided_by ? `${a.decided_by} at ${a.decided_at}` : '—'], ['Model', request?.model ?? '']].flatMap(([k, v]) => [h('dt', {}, String(k)), h('dd', {}, String(v ?? ''))])),
      h('p', {}, h('a', { href: `#/trace/${a.trace_id}` }, 'Trace of the held request')),
      h('pre', { class: 'body' }, request ? String(request.body) || '(body not kept)' : '(the trace is not readable yet)'),
      canDecide ? h('p', {}, h('button', { type: 'button', class: 'approve', onclick: decide('approve') }, 'Approve'), ' ', h('button', { type: 'button', class: 'deny', onclick: decide('deny') }, 'Deny'), ' ', result) : result,
    );
  };
  status.addEventListener('change', () => void load());
  show(h('h1', {}, 'Approvals'), h('form', { class: 'filters' }, h('label', {}, 'status', status)), out);
  await load();
}

// ---------- policies ----------

async function policiesPage(): Promise<void> {
  const page = await api('policies');
  const proxies = page.data as Json[];
  const cards = proxies.map((p) => {
    const stages = p.stages as Record<string, Json>;
    const traceInput = h('input', { name: 'trace_id', size: '38', placeholder: 'trace id of a recent request' });
    const stage = h('select', { name: 'stage' }, ...Object.keys(stages).map((s) => h('option', { value: s }, s)));
    const result = h('div', { class: 'policy-result' });
    const test = async (e: Event) => {
      e.preventDefault();
      try {
        const r = await api('policies/test', { method: 'POST', body: { proxy_id: p.proxy_id, trace_id: traceInput.value.trim(), stage: stage.value } });
        result.replaceChildren(r.error ? errorBox(String(r.error)) : h('p', { class: r.decision === 'allow' ? 'ok' : 'error' }, `Decision: ${r.decision}${[...(r.deny_reasons as string[]), ...(r.hold_reasons as string[])].length ? ` — ${[...(r.deny_reasons as string[]), ...(r.hold_reasons as string[])].join('; ')}` : ''} (policy v${r.policy_version})`));
      } catch (err) {
        result.replaceChildren(errorBox(err));
      }
    };
    return h(
      'div',
      { class: 'card', 'data-proxy': String(p.proxy_id) },
      h('h2', {}, `Proxy ${p.proxy_id}`, h('span', { class: 'note' }, ` — governance ${p.enabled ? 'on' : 'off'}`)),
      ...Object.entries(stages).flatMap(([name, sp]) => [h('p', {}, `${name} policy v${sp.version} (${sp.format}, sha256 ${String(sp.sha256).slice(0, 12)}, ${sp.updated_at}${sp.updated_by ? ` by ${sp.updated_by}` : ''})`), h('pre', { class: 'body' }, String(sp.source ?? '(OPA bundle)'))]),
      Object.keys(stages).length
        ? who!.role === 'admin'
          ? h('form', { class: 'filters', onsubmit: test }, h('label', {}, 'trace', traceInput), h('label', {}, 'stage', stage), h('button', { type: 'submit' }, 'Test against trace input'))
          : h('p', { class: 'note' }, 'Testing a policy needs the admin role.')
        : h('p', { class: 'note' }, 'No policy set (sluice policies set).'),
      result,
    );
  });
  show(h('h1', {}, 'Policies'), ...(cards.length ? cards : [h('p', { class: 'note' }, 'No proxies.')]));
}

// A sign-in link opened in a tab that already shows the console only changes the hash.
window.addEventListener('hashchange', () => void (location.hash.startsWith('#token=') ? start() : route()));
void start();
