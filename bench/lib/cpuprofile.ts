/**
 * Summarises a V8 .cpuprofile (as written by `node --cpu-prof`): top functions by self
 * time, top functions by inclusive time (each function counted once per stack, so
 * recursion does not double count), and self time per source file or package.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  idleMs: number;
  self: ProfileRow[];
  inclusive: ProfileRow[];
  byFile: ProfileRow[];
}

function shortUrl(url: string, root: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(root)) u = u.slice(root.length + 1);
  const nm = u.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  return u || '(native)';
}

export function summariseProfile(file: string, root: string, top = 40): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const keyOf = (n: ProfileNode) => {
    const f = n.callFrame;
    const url = shortUrl(f.url, root);
    return `${f.functionName || '(anonymous)'} ${url}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  let idle = 0;
  const root0 = profile.nodes[0]!;
  const walk = (node: ProfileNode, onPath: Map<string, number>) => {
    const key = keyOf(node);
    onPath.set(key, (onPath.get(key) ?? 0) + 1);
    const us = selfUs.get(node.id) ?? 0;
    if (us) {
      total += us;
      if (node.callFrame.functionName === '(idle)') idle += us;
      self.set(key, (self.get(key) ?? 0) + us);
      const file = node.callFrame.url ? shortUrl(node.callFrame.url, root) : node.callFrame.functionName;
      byFile.set(file, (byFile.get(file) ?? 0) + us);
      for (const k of onPath.keys()) inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    }
    for (const c of node.children ?? []) walk(byId.get(c)!, onPath);
    const left = onPath.get(key)! - 1;
    if (left) onPath.set(key, left);
    else onPath.delete(key);
  };
  walk(root0, new Map());
  const busy = total - idle;
  const rows = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: us / 1000, share: busy > 0 ? us / busy : 0 }));
  return { totalMs: total / 1000, idleMs: idle / 1000, self: rows(self), inclusive: rows(inclusive), byFile: rows(byFile) };
}

export function renderProfileSummary(s: ProfileSummary, requests?: number): string {
  const perReq = (ms: number) => (requests ? ` ${((ms * 1000) / requests).toFixed(1).padStart(7)} µs/req` : '');
  const table = (title: string, rows: ProfileRow[]) =>
    [`## ${title}`, ...rows.map((r) => `${r.ms.toFixed(0).padStart(7)} ms ${(r.share * 100).toFixed(1).padStart(5)}%${perReq(r.ms)}  ${r.name}`)].join('\n');
  const busy = s.totalMs - s.idleMs;
  return [
    `profiled ${s.totalMs.toFixed(0)} ms, idle ${s.idleMs.toFixed(0)} ms, busy ${busy.toFixed(0)} ms${requests ? ` (${requests} requests, ${((busy * 1000) / requests).toFixed(1)} µs busy per request)` : ''}; shares are of busy time`,
    table('self time, by function', s.self),
    table('inclusive time, by function', s.inclusive),
    table('self time, by file or package', s.byFile),
  ].join('\n\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, requests] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: tsx bench/lib/cpuprofile.ts FILE.cpuprofile [REQUESTS]\n');
    process.exit(2);
  }
  process.stdout.write(`${renderProfileSummary(summariseProfile(file, process.cwd()), requests ? Number(requests) : undefined)}\n`);
}
