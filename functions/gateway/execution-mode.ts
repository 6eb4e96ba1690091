/**
 * Sluice's own middy execution mode for response streaming: middy 7's
 * `executionModeStreamifyResponse` with the same middleware contract (before / handler /
 * after / onError, `requestStart` / `requestEnd`, `HttpResponseStream.from` with the handler's
 * status and headers, the prelude flushed before the body), but the body is piped with
 * `Readable.pipe` and its end awaited through events instead of `stream/promises` `pipeline()`.
 * `pipeline()` makes an AbortController per call and aborts it when done, which builds a
 * DOMException (with a captured stack) on every request: 3.7 % of the gateway's CPU in the
 * issue #17 profile. Semantics kept from pipeline(): an error on either side destroys both
 * streams and rejects; a response stream closed before the body ended (the client went away)
 * destroys the body (so the upstream call is abandoned) and rejects with ERR_STREAM_PREMATURE_CLOSE.
 * middy accepts a custom `executionMode` (docs/architecture.md).
 */
import { once } from 'node:events';
import { Readable, type Writable } from 'node:stream';
import { ReadableStream } from 'node:stream/web';

type Middleware = unknown;
interface Plugin {
  requestStart(request: unknown): void;
  requestEnd(request: unknown): unknown;
}
interface ModeArgs {
  middyRequest(event: unknown, context: unknown): unknown;
  runRequest(request: unknown, before: Middleware[], handler: unknown, after: Middleware[], onError: Middleware[], plugin: Plugin): Promise<unknown>;
}
interface ResponseStreamGlobal {
  streamifyResponse(fn: (event: unknown, stream: Writable, context: unknown) => Promise<void>): ((...args: unknown[]) => unknown) & { handler?: unknown };
  HttpResponseStream: { from(stream: Writable, prelude: Record<string, unknown>): Writable };
}

const STRING_CHUNK = 16_384;

const ignore = (): void => {};

/** Resolves when `dst` finished after `src` ended; rejects (destroying both) on an error or an early close. */
export function pipeBody(src: Readable, dst: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      src.off('error', onError);
      dst.off('error', onError);
      dst.off('finish', onFinish);
      dst.off('close', onClose);
      if (error) {
        // Destroying with an error emits 'error' again (later, on the next tick): a listener must
        // stay, or that second emission is an uncaught exception that ends the process.
        src.on('error', ignore);
        dst.on('error', ignore);
        src.destroy();
        if (!dst.destroyed) dst.destroy(error);
        reject(error);
      } else resolve();
    };
    const onError = (error: Error) => settle(error);
    const onFinish = () => settle();
    const onClose = () => settle(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    src.on('error', onError);
    dst.on('error', onError);
    dst.on('finish', onFinish);
    dst.on('close', onClose);
    src.pipe(dst);
  });
}

async function writeString(stream: Writable, body: string): Promise<void> {
  if (body.length <= STRING_CHUNK) stream.write(body);
  else {
    for (let position = 0; position < body.length; position += STRING_CHUNK) {
      const ok = stream.write(body.substring(position, position + STRING_CHUNK));
      if (!ok && position + STRING_CHUNK < body.length) await once(stream, 'drain');
    }
  }
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    stream.end(resolve);
  });
}

export const executionModeSluiceStream = (
  { middyRequest, runRequest }: ModeArgs,
  beforeMiddlewares: Middleware[],
  lambdaHandler: unknown,
  afterMiddlewares: Middleware[],
  onErrorMiddlewares: Middleware[],
  plugin: Plugin,
) => {
  const lambda = (globalThis as unknown as { awslambda: ResponseStreamGlobal }).awslambda;
  const middy = lambda.streamifyResponse(async (event, lambdaResponseStream, context) => {
    const request = middyRequest(event, context);
    plugin.requestStart(request);
    const handlerResponse = (await runRequest(request, beforeMiddlewares, lambdaHandler, afterMiddlewares, onErrorMiddlewares, plugin)) as
      | { statusCode?: number; body?: unknown }
      | string
      | undefined;
    let responseStream = lambdaResponseStream;
    let handlerBody: unknown = handlerResponse ?? '';
    if (typeof handlerResponse === 'object' && handlerResponse?.statusCode) {
      const { body, ...prelude } = handlerResponse;
      handlerBody = body ?? '';
      responseStream = lambda.HttpResponseStream.from(responseStream, prelude);
      responseStream.write('');
    }
    let handlerError: unknown;
    let hasError = false;
    try {
      if (typeof handlerBody === 'string') await writeString(responseStream, handlerBody);
      else if (handlerBody instanceof Readable || (handlerBody as { _readableState?: unknown })._readableState) await pipeBody(handlerBody as Readable, responseStream);
      else if (handlerBody instanceof ReadableStream) await pipeBody(Readable.fromWeb(handlerBody), responseStream);
      else throw new Error('handler response not a Readable or ReadableStream', { cause: { package: '@middy/core' } });
    } catch (error) {
      handlerError = error;
      hasError = true;
    }
    try {
      const ended = plugin.requestEnd(request);
      if (ended instanceof Promise) await ended;
    } catch (hookError) {
      if (!hasError) throw hookError;
      if (typeof handlerError === 'object' && handlerError !== null) (handlerError as { cause?: unknown }).cause ??= hookError;
    }
    if (hasError) throw handlerError;
  });
  middy.handler = (replace: unknown) => {
    lambdaHandler = replace;
    return middy;
  };
  return middy;
};
