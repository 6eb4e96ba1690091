/**
 * The documented commands: every fenced shell block in README.md and docs/*.md that
 * contains `sluice `, and how the doc test turns one into a script (docs/testing.md).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface DocBlock {
  /** Path relative to the repository, e.g. `docs/spend.md`. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** The block's text, its indentation (list items) removed. */
  code: string;
  /** The reason of a `<!-- doc-test: skip REASON -->` directly above the fence. */
  skip?: string;
}

/** Languages run as shell; a block in any other language (ts, json, rego, text…) is not a command. */
export const SHELL_LANGS: ReadonlySet<string> = new Set(['', 'sh', 'bash', 'shell', 'console', 'zsh']);

const FENCE = /^(\s*)(`{3,}|~{3,})\s*([^\s`]*)[^`]*$/;
const SKIP = /^\s*<!--\s*doc-test:\s*skip\b\s*(.*?)\s*-->\s*$/;

/** Every shell block of one Markdown text that mentions `sluice ` (the command, as typed). */
export function extractBlocks(markdown: string, file: string): DocBlock[] {
  const lines = markdown.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (!open) continue;
    const [, indent, fence, lang] = open as unknown as [string, string, string, string];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j]!;
      if (l.trim().startsWith(fence[0]!.repeat(fence.length)) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l.trimStart());
    }
    const code = body.join('\n');
    const language = lang.toLowerCase();
    if (SHELL_LANGS.has(language) && /(^|[^\w/.-])sluice /m.test(code)) {
      const above = i > 0 ? SKIP.exec(lines[i - 1]!) : null;
      blocks.push({ file, line: i + 1, lang: language, code, ...(above ? { skip: above[1] || 'no reason given' } : {}) });
    }
    i = j;
  }
  return blocks;
}

/** README.md and every docs/*.md of the repository, in a stable order. */
export function documentedBlocks(repo: string): DocBlock[] {
  const files = ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
  return files.flatMap((f) => extractBlocks(readFileSync(join(repo, f), 'utf8'), f));
}

export interface ScriptContext {
  /** The test gateway's base URL, for the documented `http://127.0.0.1:8080`. */
  gatewayUrl: string;
  /** A working gateway key of the `demo` proxy, for the documented `sk-sluice-…`. */
  demoKey: string;
}

/**
 * The block as the test runs it: `npm run sluice --` (and `npx sluice`) becomes the `sluice`
 * on the test's PATH (the package bin, the same CLI), the local gateway's documented address
 * becomes the test gateway's, and the placeholder key `sk-sluice-…` a real one. Nothing else
 * is rewritten: every other placeholder must be a real value in the docs.
 */
export function toScript(code: string, ctx: ScriptContext): string {
  return code
    .replace(/\bnpm run(?: -s| --silent)? sluice --(?=\s|$)/g, 'sluice')
    .replace(/\bnpm run(?: -s| --silent)? sluice(?=\s|$)/g, 'sluice')
    .replace(/\bnpx (?:--no-install )?sluice(?=\s)/g, 'sluice')
    .replace(/https?:\/\/(?:127\.0\.0\.1|localhost):8080/g, ctx.gatewayUrl)
    .replace(/sk-sluice-(?:…|\.\.\.)/g, ctx.demoKey);
}
