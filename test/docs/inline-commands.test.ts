/**
 * Commands named in the docs' prose and tables are true too (issue #15, item 6): every
 * inline `sluice <group> <command> …` (or `npm run sluice -- …`) in README.md and
 * docs/*.md names a group and command the CLI has, and every `--option` it shows is one
 * that command's --help (or the global options) lists. Fenced shell blocks are run by
 * documented-commands.test.ts; this covers the spans around them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../bin/commands/cli.js';
import { COMMANDS, PLAIN_GROUPS } from '../unit/cli/commands.js';
import { recordingIo } from '../unit/cli/support.js';

const repo = new URL('../..', import.meta.url).pathname;
const files = ['README.md', ...readdirSync(join(repo, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const GLOBAL_OPTIONS = ['--aws', '--stack', '--region', '--data-dir', '--help'];

interface Mention {
  where: string;
  text: string;
  group: string;
  commands: string[];
  options: string[];
}

function mentions(): Mention[] {
  const out: Mention[] = [];
  for (const file of files) {
    const lines = readFileSync(join(repo, file), 'utf8').split('\n');
    let fenced = false;
    lines.forEach((line, i) => {
      if (/^\s*(`{3,}|~{3,})/.test(line)) fenced = !fenced;
      if (fenced) return;
      // `sluice …` anywhere; in tables also a bare `<group> <command> …` (configuration.md's CLI table).
      const spans = [...line.matchAll(/`((?:npm run sluice -- |sluice )[^`]+)`/g)].map((m) => m[1]!);
      if (line.startsWith('|')) spans.push(...[...line.matchAll(/`([a-z][a-z-]* [^`]*)`/g)].map((m) => m[1]!).filter((t) => t.split(' ')[0]! in COMMANDS || PLAIN_GROUPS.includes(t.split(' ')[0]!)));
      for (const text of spans) {
        const words = text.replace(/^npm run sluice -- |^sluice /, '').split(/\s+/);
        const [group, second] = words;
        if (!group || !/^[a-z][a-z-]*$/.test(group)) continue; // `sluice … --aws`, `sluice <group> …`
        const commands = group in COMMANDS && second ? second.split(/\\?\|/).filter((c) => /^[a-z][a-z-]*$/.test(c)) : [];
        const options = [...text.matchAll(/(?:^|[\s[|(])(--[a-z][a-z-]*)/g)].map((m) => m[1]!);
        out.push({ where: `${file}:${i + 1}`, text, group, commands, options });
      }
    });
  }
  return out;
}

async function helpOf(argv: string[]): Promise<string> {
  const io = recordingIo();
  await runCli([...argv, '--help'], io, {});
  return io.out();
}

describe('commands named inline in the docs', () => {
  const found = mentions();
  const help = new Map<string, string>();
  beforeAll(async () => {
    for (const m of found) {
      for (const argv of m.commands.length ? m.commands.map((c) => [m.group, c]) : [[m.group]]) {
        const key = argv.join(' ');
        if (!help.has(key)) help.set(key, await helpOf(argv));
      }
    }
  });

  it('are found', () => {
    expect(found.length).toBeGreaterThan(20);
    expect(found.flatMap((m) => m.options).length).toBeGreaterThan(20);
  });

  it('name groups and commands the CLI has', () => {
    const wrong: string[] = [];
    for (const m of found) {
      if (!(m.group in COMMANDS) && !PLAIN_GROUPS.includes(m.group)) wrong.push(`${m.where}: no group '${m.group}' in \`${m.text}\``);
      for (const c of m.commands) if (!COMMANDS[m.group]!.includes(c)) wrong.push(`${m.where}: no command '${m.group} ${c}' in \`${m.text}\``);
    }
    expect(wrong).toEqual([]);
  });

  it("show only options the command's --help lists", () => {
    const wrong: string[] = [];
    for (const m of found) {
      const texts = m.commands.length ? m.commands.map((c) => help.get(`${m.group} ${c}`) ?? '') : [help.get(m.group) ?? ''];
      for (const option of m.options) {
        if (GLOBAL_OPTIONS.includes(option)) continue;
        if (!texts.some((t) => new RegExp(`${option}(?![a-z-])`).test(t))) wrong.push(`${m.where}: ${option} is not in '${[m.group, ...m.commands].join(' ')} --help' (\`${m.text}\`)`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
