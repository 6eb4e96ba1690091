import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pipeBody } from '../../../functions/gateway/execution-mode.js';

function sink(): Writable & { chunks: string[] } {
  const chunks: string[] = [];
  const w = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  return Object.assign(w, { chunks });
}

describe('pipeBody (the execution mode body pipe, pipeline() semantics)', () => {
  it('writes every chunk and resolves once the destination finished', async () => {
    const dst = sink();
    await pipeBody(Readable.from(['a', 'b', 'c']), dst);
    expect(dst.chunks.join('')).toBe('abc');
    expect(dst.writableFinished).toBe(true);
  });

  it('an error in the body rejects and destroys the destination with it', async () => {
    const src = new PassThrough();
    const dst = sink();
    const piped = pipeBody(src, dst);
    src.write('x');
    src.destroy(new Error('upstream broke'));
    await expect(piped).rejects.toThrow('upstream broke');
    expect(dst.destroyed).toBe(true);
  });

  it('a destination closed before the end (client gone) rejects with premature close and destroys the body', async () => {
    const src = new PassThrough();
    const dst = sink();
    const piped = pipeBody(src, dst);
    src.write('x');
    dst.destroy();
    await expect(piped).rejects.toMatchObject({ code: 'ERR_STREAM_PREMATURE_CLOSE' });
    expect(src.destroyed).toBe(true);
  });

  it('a destination error rejects and destroys the body', async () => {
    const src = new PassThrough();
    const dst = new Writable({ write: (_c, _e, cb) => cb(new Error('socket reset')) });
    const piped = pipeBody(src, dst);
    src.write('x');
    await expect(piped).rejects.toThrow('socket reset');
    expect(src.destroyed).toBe(true);
  });
});
