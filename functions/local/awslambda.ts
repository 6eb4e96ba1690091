import { Writable } from 'node:stream';

/**
 * A faithful stand-in for the `awslambda` global that the Lambda Node.js runtime
 * installs before it loads the handler module:
 *  - `streamifyResponse(fn)` tags the handler as a streaming handler;
 *  - `HttpResponseStream.from(stream, prelude)` arranges for the JSON prelude and
 *    8 NUL bytes to be written on the stream's FIRST write, as the runtime does
 *    (nothing reaches the client before a write happens).
 * Installed by the local runtime before `functions/gateway/handler.ts` is imported.
 */
export const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
export const PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
export const PRELUDE_DELIMITER = Buffer.alloc(8);

type FirstWriteHook = (write: (chunk: string | Uint8Array) => void) => void;

/** The response stream the runtime hands to a streaming handler. */
export class LambdaResponseStream extends Writable {
  contentType = 'application/octet-stream';
  onBeforeFirstWrite: FirstWriteHook | undefined;
  private wroteOnce = false;

  constructor(private readonly sink: (chunk: Buffer, done: (err?: Error | null) => void) => void) {
    super();
  }

  setContentType(type: string): void {
    this.contentType = type;
  }

  override write(chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    if (!this.wroteOnce) {
      this.wroteOnce = true;
      this.onBeforeFirstWrite?.((c) => super.write(c));
    }
    return super.write(chunk, encoding as BufferEncoding, cb as (err?: Error | null) => void);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.sink(chunk, done);
  }
}

export interface AwsLambdaGlobal {
  streamifyResponse<T extends (...args: never[]) => unknown>(handler: T): T;
  HttpResponseStream: { from(stream: LambdaResponseStream, prelude: Record<string, unknown>): LambdaResponseStream };
}

export const awslambdaStandIn: AwsLambdaGlobal = {
  streamifyResponse(handler) {
    (handler as unknown as Record<symbol, string>)[HANDLER_STREAMING] = 'response';
    return handler;
  },
  HttpResponseStream: {
    from(stream, prelude) {
      stream.setContentType(PRELUDE_CONTENT_TYPE);
      const json = JSON.stringify(prelude);
      stream.onBeforeFirstWrite = (write) => {
        write(json);
        write(PRELUDE_DELIMITER);
      };
      return stream;
    },
  },
};

/**
 * Installs the stand-in. Libraries may already have created a partial `awslambda`
 * object (Powertools' invoke store adds `InvokeStore` to it), so the runtime's
 * functions are added to whatever object is there, as on Lambda where both coexist.
 */
export function installAwsLambdaGlobal(): void {
  const g = globalThis as unknown as { awslambda?: Partial<AwsLambdaGlobal> };
  const target = (g.awslambda ??= {});
  target.streamifyResponse ??= awslambdaStandIn.streamifyResponse;
  target.HttpResponseStream ??= awslambdaStandIn.HttpResponseStream;
}

installAwsLambdaGlobal();
