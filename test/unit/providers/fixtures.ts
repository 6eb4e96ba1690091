import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

type Json = Record<string, unknown>;

export interface RequestFixture {
  description: string;
  model: string;
  openai: Json;
  anthropic?: Json;
  bedrock?: Json;
  error?: { status: number; code: string; param?: string; message?: string };
}

export interface ResponseFixture {
  description: string;
  model?: string;
  anthropic?: Json;
  bedrock?: Json;
  openai?: Json;
  error?: { status: number; code: string };
}

export interface StreamFixture {
  description: string;
  includeUsage: boolean;
  model?: string;
  events: Json[];
  /** Each chunk's first choice as {delta, finish_reason}, or {usage} for the usage-only chunk. */
  chunks: Json[];
  tokens?: Json;
  error?: Json;
}

const ROOT = join(import.meta.dirname, '../../fixtures/providers');

/** Every fixture file of a folder, by name, sorted. */
export function loadFixtures<T>(folder: string): Array<[string, T]> {
  const dir = join(ROOT, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f.replace(/\.json$/, ''), JSON.parse(readFileSync(join(dir, f), 'utf8')) as T]);
}

/** A chunk as the fixtures write it. */
export function simplifyChunk(chunk: Json): Json {
  const choices = chunk.choices as Json[];
  if (choices.length === 0) return { usage: chunk.usage };
  const c = choices[0]!;
  return { delta: c.delta, finish_reason: c.finish_reason };
}
