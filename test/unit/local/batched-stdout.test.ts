import { EventEmitter } from 'node:events';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { batchWrites, type WritableLike } from '../../../functions/local/batched-stdout.js';

function sink() {
  const writes: unknown[][] = [];
  const stream: WritableLike = {
    write(chunk: string | Uint8Array, ...rest: unknown[]) {
      writes.push([typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(), ...rest]);
      return true;
    },
  };
  return { stream, writes };
}

function manual() {
  const queue: (() => void)[] = [];
  return { schedule: (fn: () => void) => void queue.push(fn), run: () => queue.splice(0).forEach((fn) => fn()), queue };
}

describe('batchWrites', () => {
  it('writes the lines of one turn once, in order, when the scheduled flush runs', () => {
    const { stream, writes } = sink();
    const turn = manual();
    batchWrites(stream, { schedule: turn.schedule, proc: null });
    expect(stream.write('a\n')).toBe(true);
    stream.write('b\n');
    stream.write(Buffer.from('c\n'));
    expect(writes).toEqual([]);
    expect(turn.queue).toHaveLength(1);
    turn.run();
    expect(writes).toEqual([['a\nb\nc\n']]);
    stream.write('d\n');
    turn.run();
    expect(writes).toEqual([['a\nb\nc\n'], ['d\n']]);
  });

  it('holds at most maxBytes: the write that reaches the bound flushes at once', () => {
    const { stream, writes } = sink();
    const turn = manual();
    batchWrites(stream, { schedule: turn.schedule, proc: null, maxBytes: 8 });
    stream.write('1234');
    expect(writes).toEqual([]);
    stream.write('5678');
    expect(writes).toEqual([['12345678']]);
    turn.run();
    expect(writes).toEqual([['12345678']]);
  });

  it('passes writes with an encoding through, after what is held', () => {
    const { stream, writes } = sink();
    const turn = manual();
    batchWrites(stream, { schedule: turn.schedule, proc: null });
    stream.write('held\n');
    stream.write('now\n', 'utf8');
    expect(writes).toEqual([['held\n'], ['now\n', 'utf8']]);
  });

  it('batches writes with a callback (node:console passes one per line) and calls each with the write result', () => {
    const calls: unknown[] = [];
    const writes: unknown[] = [];
    const stream: WritableLike = {
      write(chunk: string | Uint8Array, ...rest: unknown[]) {
        writes.push(chunk);
        (rest[0] as (err?: Error | null) => void)?.(new Error('EPIPE'));
        return true;
      },
    };
    const turn = manual();
    batchWrites(stream, { schedule: turn.schedule, proc: null });
    stream.write('a\n', (err?: Error | null) => calls.push(['a', err?.message]));
    stream.write('b\n', (err?: Error | null) => calls.push(['b', err?.message]));
    expect(writes).toEqual([]);
    turn.run();
    expect(writes).toEqual(['a\nb\n']);
    expect(calls).toEqual([['a', 'EPIPE'], ['b', 'EPIPE']]);
  });

  it('batches what node:console writes', async () => {
    const { Console } = await import('node:console');
    const { stream, writes } = sink();
    const turn = manual();
    batchWrites(stream, { schedule: turn.schedule, proc: null });
    const out = stream as unknown as NodeJS.WritableStream;
    Object.assign(out, { once: () => out, removeListener: () => out, on: () => out, off: () => out, listenerCount: () => 0 });
    const console = new Console({ stdout: out, stderr: out });
    console.info('one');
    console.info('two');
    expect(writes).toEqual([]);
    turn.run();
    expect(writes.map((w) => w[0])).toEqual(['one\ntwo\n']);
  });

  it('flushes on exit and restore puts the original write back', () => {
    const { stream, writes } = sink();
    const original = stream.write;
    const proc = new EventEmitter();
    const turn = manual();
    const batched = batchWrites(stream, { schedule: turn.schedule, proc: proc as unknown as NodeJS.Process });
    stream.write('last words\n');
    proc.emit('exit', 0);
    expect(writes).toEqual([['last words\n']]);
    stream.write('x');
    batched.restore();
    expect(writes).toEqual([['last words\n'], ['x']]);
    expect(stream.write).toBe(original);
    expect(proc.listenerCount('exit')).toBe(0);
  });

  it('a real process keeps every line written before process.exit', () => {
    const script = `
      import { batchWrites } from './functions/local/batched-stdout.ts';
      batchWrites(process.stdout);
      for (let i = 0; i < 5000; i++) i % 2 ? console.log('line ' + i) : process.stdout.write('line ' + i + '\\n');
      process.exit(0);
    `;
    const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: process.cwd() });
    expect(out.status).toBe(0);
    const lines = out.stdout.trim().split('\n');
    expect(lines).toHaveLength(5000);
    expect(lines[4999]).toBe('line 4999');
  });
});
