import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { GatewayError } from '../../../functions/upstream/errors.js';

type Json = Record<string, unknown>;

/** The error a fixture expects a translator to throw; param and message are checked only where given. */
export interface ExpectedError {
  status: number;
  code: string;
  param?: string;
  message?: string;
}

export interface RequestFixture {
  description: string;
  model: string;
  openai: Json;
  anthropic?: Json;
  bedrock?: Json;
  error?: ExpectedError;
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

/** One fixture file, by its path below test/fixtures/providers. */
export function loadFixture<T>(path: string): T {
  return JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T;
}

/** Every fixture file of a folder, by name, sorted. */
export function loadFixtures<T>(folder: string): Array<[string, T]> {
  const dir = join(ROOT, folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => [f.replace(/\.json$/, ''), loadFixture<T>(join(folder, f))]);
}

/** A chunk as the fixtures write it. */
export function simplifyChunk(chunk: Json): Json {
  const choices = chunk.choices as Json[];
  if (choices.length === 0) return { usage: chunk.usage };
  const c = choices[0]!;
  return { delta: c.delta, finish_reason: c.finish_reason };
}

/** The GatewayError `run` throws; anything else it throws is rethrown, and not throwing fails the test. */
export function gatewayErrorOf(run: () => unknown): GatewayError {
  try {
    run();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('expected a GatewayError');
}

/** `run` throws the GatewayError `expected` describes: its status and code, and its param and message where `expected` names them. */
export function expectFixtureError(run: () => unknown, expected: ExpectedError): void {
  const e = gatewayErrorOf(run);
  expect({ status: e.status, code: e.code, ...(expected.param ? { param: e.param } : {}) }).toEqual({ status: expected.status, code: expected.code, ...(expected.param ? { param: expected.param } : {}) });
  if (expected.message) expect(e.message).toContain(expected.message);
}

/**
 * A translated stream ended as its fixture says: with the error the fixture names
 * (status, type, code, message), or else `finished` and without an error.
 */
export function expectStreamEnd(state: { error?: GatewayError }, finished: boolean, expected: Json | undefined): void {
  if (expected) {
    expect(state.error).toBeInstanceOf(GatewayError);
    expect({ status: state.error!.status, type: state.error!.type, code: state.error!.code, message: state.error!.message }).toEqual(expected);
  } else {
    expect(finished).toBe(true);
    expect(state.error).toBeUndefined();
  }
}
