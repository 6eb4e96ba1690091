/**
 * A wire-faithful Bedrock Runtime upstream for Converse and ConverseStream, served over
 * HTTP/2 cleartext (the AWS SDK's Bedrock client speaks HTTP/2), so the real
 * `@aws-sdk/client-bedrock-runtime` client can be pointed at it.
 *
 * | route | answer |
 * |---|---|
 * | `POST /model/{modelId}/converse` | `{output:{message}, stopReason, usage, metrics}` |
 * | `POST /model/{modelId}/converse-stream` | `application/vnd.amazon.eventstream`: messageStart, contentBlockStart (tool use), contentBlockDelta, contentBlockStop, messageStop, metadata (usage) — binary AWS event-stream frames via @smithy/eventstream-codec |
 *
 * Every request must carry a valid SigV4 signature for the configured test credentials,
 * Region and service `bedrock` (else 403 as AWS answers). It enforces Converse's rules a
 * translator can break: the first message from the user, alternating roles, no blank
 * text, toolUse/toolResult only with a toolConfig, each toolResult answering a toolUse of
 * the previous turn. Errors are `{"message"}` with `x-amzn-errortype`.
 *
 * Behaviour by `+` suffixes on the model id: `tools`, `text-tool` (two text blocks, then
 * tools), `thinking`, `cache` (cache read 100 / write 20), `no-output` (200 without
 * output), `guardrail` (stopReason guardrail_intervened), `filtered` (content_filtered),
 * `max`, `error=<ExceptionName>` (`context` for a too-long ValidationException),
 * `fail-first=<n>` (the `error=` exception for the first n requests to that model id, then
 * served: an outage that heals), `stream-error=<n>` (a throttlingException after n events), `cut=<n>`, `eof=<n>` (the
 * stream ends cleanly after n events, without messageStop or metadata), `no-metadata`.
 *
 * Anthropic models are also served through InvokeModel (`/model/{id}/invoke` and
 * `/invoke-with-response-stream`) with Anthropic's Messages body (`anthropic_version:
 * bedrock-2023-05-31`, no `model`): the answer is the Anthropic test upstream's, the
 * stream `chunk` events carrying each Anthropic event as base64 `bytes`.
 */
import { createHash, createHmac } from 'node:crypto';
import http2, { type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import { listenLocal, readBody, upstreamHandle } from './local-server.js';
import { EventStreamCodec, type MessageHeaders } from '@smithy/eventstream-codec';
import { countTokens, embeddingFor, replyTo, splitIntoTokens } from './upstream/content.js';
import * as anthropic from './anthropic-upstream.js';

export { replyTo } from './upstream/content.js';

export interface AwsTestCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export const TEST_AWS_CREDENTIALS = { accessKeyId: 'AKIASLUICETESTKEY000', secretAccessKey: 'sluice/test/secret/key/for/sigv4/only00000' };

/** Gives this process's AWS SDK default credential chain TEST_AWS_CREDENTIALS (env keys set, session token and profile cleared), the keys the upstream checks SigV4 against. */
export function useTestAwsCredentials(): void {
  process.env.AWS_ACCESS_KEY_ID = TEST_AWS_CREDENTIALS.accessKeyId;
  process.env.AWS_SECRET_ACCESS_KEY = TEST_AWS_CREDENTIALS.secretAccessKey;
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
}

type Json = Record<string, unknown>;

export interface BedrockRecordedRequest {
  path: string;
  modelId: string;
  action: 'converse' | 'converse-stream' | 'invoke' | 'invoke-with-response-stream' | 'count-tokens';
  headers: IncomingHttpHeaders;
  body: Json | undefined;
  rawBody: Buffer;
  /** The protocol the request arrived on: always '2.0' here. */
  httpVersion: string;
}

export interface BedrockUpstream {
  readonly url: string;
  readonly requests: BedrockRecordedRequest[];
  reset(): void;
  close(): Promise<void>;
}

const STATUS: Record<string, number> = {
  ValidationException: 400,
  AccessDeniedException: 403,
  ResourceNotFoundException: 404,
  ModelTimeoutException: 408,
  ThrottlingException: 429,
  // AWS answers a model still loading (e.g. an imported model's cold start) with 429 too.
  ModelNotReadyException: 429,
  ServiceQuotaExceededException: 400,
  ServiceUnavailableException: 503,
  InternalServerException: 500,
  ModelErrorException: 424,
};

const codec = new EventStreamCodec(
  (b) => Buffer.from(b).toString('utf8'),
  (s) => new Uint8Array(Buffer.from(s, 'utf8')),
);

function frame(type: string, payload: Json, messageType: 'event' | 'exception' = 'event'): Buffer {
  const headers: MessageHeaders =
    messageType === 'event'
      ? { ':event-type': { type: 'string' as const, value: type }, ':content-type': { type: 'string' as const, value: 'application/json' }, ':message-type': { type: 'string' as const, value: 'event' } }
      : { ':exception-type': { type: 'string' as const, value: type }, ':content-type': { type: 'string' as const, value: 'application/json' }, ':message-type': { type: 'string' as const, value: 'exception' } };
  // Bedrock pads event payloads with a "p" field; clients must ignore it.
  return Buffer.from(codec.encode({ headers, body: new Uint8Array(Buffer.from(JSON.stringify({ ...payload, p: 'abcdefgh' }))) }));
}

class Refusal extends Error {
  constructor(
    readonly exception: string,
    message: string,
  ) {
    super(message);
  }
}

/** RFC 3986 escaping as SigV4 wants it (also ! ' ( ) *). */
const escapeUri = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** Verifies a SigV4 `Authorization` header the way AWS does (service bedrock unless named); returns why not, or undefined. */
export function sigV4Problem(method: string, rawPath: string, headers: IncomingHttpHeaders, body: Buffer, accepted: AwsTestCredentials | readonly AwsTestCredentials[], region: string, expectedService = 'bedrock'): string | undefined {
  const auth = String(headers['authorization'] ?? '');
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return 'missing or malformed SigV4 Authorization header';
  const [, akid, day, scopeRegion, service, signedHeaders, signature] = m as unknown as [string, string, string, string, string, string, string];
  const creds = (Array.isArray(accepted) ? accepted : [accepted]).find((c: AwsTestCredentials) => c.accessKeyId === akid);
  if (!creds) return 'The security token included in the request is invalid.';
  // Temporary credentials: AWS wants the session token in x-amz-security-token, and signed.
  if (creds.sessionToken !== undefined) {
    if (headers['x-amz-security-token'] !== creds.sessionToken) return 'The security token included in the request is invalid.';
    if (!signedHeaders.split(';').includes('x-amz-security-token')) return 'x-amz-security-token is not signed';
  }
  if (scopeRegion !== region) return `credential scope region ${scopeRegion}, expected ${region}`;
  if (service !== expectedService) return `credential scope service ${service}`;
  const amzDate = String(headers['x-amz-date'] ?? '');
  if (!amzDate.startsWith(day)) return 'x-amz-date does not match the credential scope';
  const [pathPart, query = ''] = rawPath.split('?') as [string, string?];
  const canonicalPath = pathPart.split('/').map(escapeUri).join('/');
  const canonicalQuery = query
    .split('&')
    .filter(Boolean)
    .map((kv) => kv.split('=').map((x) => escapeUri(decodeURIComponent(x ?? ''))).join('='))
    .sort()
    .join('&');
  const names = signedHeaders.split(';');
  const valueOf = (name: string) => (name === 'host' ? String(headers['host'] ?? headers[':authority'] ?? '') : String(headers[name] ?? ''));
  const canonicalHeaders = names.map((n) => `${n}:${valueOf(n).trim().replace(/\s+/g, ' ')}\n`).join('');
  const payloadHash = typeof headers['x-amz-content-sha256'] === 'string' ? headers['x-amz-content-sha256'] : sha256(body);
  if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256(body)) return 'payload hash mismatch';
  const canonicalRequest = [method, canonicalPath, canonicalQuery, canonicalHeaders, signedHeaders, payloadHash].join('\n');
  const scope = `${day}/${scopeRegion}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonicalRequest)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), scopeRegion), service), 'aws4_request');
  const expected = createHmac('sha256', key).update(stringToSign).digest('hex');
  return expected === signature ? undefined : 'The request signature we calculated does not match the signature you provided.';
}

const check = (cond: unknown, message: string) => {
  if (!cond) throw new Refusal('ValidationException', message);
};

function textOf(blocks: Json[]): string {
  return blocks.map((b) => (typeof b.text === 'string' ? b.text : b.toolResult ? textOf(((b.toolResult as Json).content as Json[]) ?? []) : '')).filter(Boolean).join(' ');
}

function validate(body: Json): void {
  const messages = body.messages as Json[] | undefined;
  check(Array.isArray(messages) && messages.length > 0, 'A conversation must start with a user message.');
  check(messages![0]!.role === 'user', 'A conversation must start with a user message. Try again with a conversation that starts with a user message.');
  let previousUses = new Set<string>();
  let toolBlocks = false;
  messages!.forEach((m, i) => {
    check(m.role === 'user' || m.role === 'assistant', `messages.${i}.role must be user or assistant`);
    if (i > 0) check(messages![i - 1]!.role !== m.role, 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.');
    const content = (m.content as Json[]) ?? [];
    check(content.length > 0, `messages.${i}.content must not be empty`);
    for (const b of content) {
      if ('text' in b) check(typeof b.text === 'string' && b.text.trim() !== '', 'The text field in the ContentBlock object is blank. Add text to the text field, and try again.');
      if (b.toolUse || b.toolResult) toolBlocks = true;
      if (b.toolResult) check(previousUses.has(String((b.toolResult as Json).toolUseId)), 'The number of toolResult blocks at messages.' + i + '.content exceeds the number of toolUse blocks of previous turn.');
      if (b.image) {
        const src = (b.image as Json).source as Json;
        check(typeof src.bytes === 'string' || src.s3Location, 'image source must be bytes or s3Location');
      }
    }
    previousUses = new Set(m.role === 'assistant' ? content.filter((b) => b.toolUse).map((b) => String((b.toolUse as Json).toolUseId)) : []);
  });
  if (toolBlocks) check(body.toolConfig, 'The toolConfig field must be defined when using toolUse and toolResult content blocks.');
  const temperature = (body.inferenceConfig as Json | undefined)?.temperature;
  if (temperature !== undefined) check(typeof temperature === 'number' && temperature >= 0 && temperature <= 1, 'temperature must be between 0 and 1');
}

function answer(modelId: string, body: Json, s: anthropic.Options): { content: Json[]; stopReason: string } {
  const messages = body.messages as Json[];
  const last = [...messages].reverse().find((m) => m.role === 'user');
  const prompt = textOf((last?.content as Json[]) ?? []);
  const tools = (((body.toolConfig as Json | undefined)?.tools as Json[] | undefined) ?? []).filter((t) => t.toolSpec).map((t) => t.toolSpec as Json);
  const choice = (body.toolConfig as Json | undefined)?.toolChoice as Json | undefined;
  const wantsTools = (s.scenario.has('tools') || s.scenario.has('text-tool')) && tools.length > 0;
  const content: Json[] = [];
  if (s.scenario.has('thinking')) content.push({ reasoningContent: { reasoningText: { text: `Thinking about ${prompt}`, signature: `sig-${messages.length}` } } });
  if (s.scenario.has('text-tool')) content.push({ text: 'Let me check.' }, { text: ' One moment.' });
  else if (!wantsTools) content.push({ text: replyTo(prompt) });
  if (wantsTools) {
    const chosen = choice?.tool ? tools.filter((t) => t.name === (choice.tool as Json).name) : tools.slice(0, 2);
    chosen.forEach((t, i) => {
      const props = Object.keys((((t.inputSchema as Json).json as Json).properties as Json | undefined) ?? {});
      content.push({ toolUse: { toolUseId: `tooluse_${createHash('sha256').update(`${modelId}:${JSON.stringify(messages)}:${i}`).digest('base64url').slice(0, 22)}`, name: t.name, input: props.length ? { [props[0]!]: prompt } : {} } });
    });
  }
  const stopReason = s.scenario.has('guardrail') ? 'guardrail_intervened' : s.scenario.has('filtered') ? 'content_filtered' : wantsTools ? 'tool_use' : s.scenario.has('max') ? 'max_tokens' : 'end_turn';
  return { content, stopReason };
}

function usageOf(body: Json, content: Json[], s: anthropic.Options): Json {
  const input = (body.messages as Json[]).reduce((n, m) => n + countTokens(textOf((m.content as Json[]) ?? [])), 0) + countTokens(textOf(((body.system as Json[]) ?? [])));
  const output = content.reduce((n, b) => n + (typeof b.text === 'string' ? splitIntoTokens(b.text).length : b.toolUse ? 5 : 3), 0);
  const cacheRead = s.scenario.has('cache') ? 100 : 0;
  const cacheWrite = s.scenario.has('cache') ? 20 : 0;
  return { inputTokens: input, outputTokens: output, totalTokens: input + output + cacheRead + cacheWrite, ...(s.scenario.has('cache') ? { cacheReadInputTokens: cacheRead, cacheWriteInputTokens: cacheWrite } : {}) };
}

function streamFrames(content: Json[], stopReason: string, usage: Json, s: anthropic.Options): Buffer[] {
  const frames: Buffer[] = [frame('messageStart', { role: 'assistant' })];
  content.forEach((b, contentBlockIndex) => {
    if (typeof b.text === 'string') {
      for (const piece of splitIntoTokens(b.text)) frames.push(frame('contentBlockDelta', { contentBlockIndex, delta: { text: piece } }));
    } else if (b.toolUse) {
      const use = b.toolUse as Json;
      frames.push(frame('contentBlockStart', { contentBlockIndex, start: { toolUse: { toolUseId: use.toolUseId, name: use.name } } }));
      const json = JSON.stringify(use.input);
      const cut = Math.ceil(json.length / 2);
      for (const part of [json.slice(0, cut), json.slice(cut)]) frames.push(frame('contentBlockDelta', { contentBlockIndex, delta: { toolUse: { input: part } } }));
    } else if (b.reasoningContent) {
      const rt = (b.reasoningContent as Json).reasoningText as Json;
      frames.push(frame('contentBlockDelta', { contentBlockIndex, delta: { reasoningContent: { text: rt.text } } }));
      frames.push(frame('contentBlockDelta', { contentBlockIndex, delta: { reasoningContent: { signature: rt.signature } } }));
    }
    frames.push(frame('contentBlockStop', { contentBlockIndex }));
  });
  frames.push(frame('messageStop', { stopReason }));
  if (!s.scenario.has('no-metadata')) frames.push(frame('metadata', { usage, metrics: { latencyMs: 12 } }));
  return frames;
}

/**
 * `credentials`: the credential sets whose signatures are accepted (default: the test
 * role's, TEST_AWS_CREDENTIALS); a set with a session token also needs it signed in
 * x-amz-security-token. Any other signer gets AWS's 403.
 */
export async function startBedrockUpstream(opts: { region?: string; credentials?: readonly AwsTestCredentials[] } = {}): Promise<BedrockUpstream> {
  const region = opts.region ?? 'us-east-1';
  const accepted = opts.credentials ?? [TEST_AWS_CREDENTIALS];
  const requests: BedrockRecordedRequest[] = [];
  const closing = new AbortController();

  const sendError = (stream: ServerHttp2Stream, name: string, message: string) => {
    if (stream.destroyed) return;
    stream.respond({ ':status': STATUS[name] ?? 400, 'content-type': 'application/json', 'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/`, 'x-amzn-requestid': 'req-err' });
    stream.end(JSON.stringify({ message }));
  };

  async function handle(stream: ServerHttp2Stream, headers: IncomingHttpHeaders): Promise<void> {
    const raw = await readBody(stream);
    const rawPath = String(headers[':path'] ?? '/');
    const method = String(headers[':method'] ?? 'GET');
    const match = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream|count-tokens)$/.exec(rawPath.split('?')[0]!);
    let body: Json | undefined;
    try {
      body = JSON.parse(raw.toString('utf8')) as Json;
    } catch {
      body = undefined;
    }
    const modelId = match ? decodeURIComponent(match[1]!) : '';
    requests.push({ path: rawPath, modelId, action: (match?.[2] ?? 'converse') as 'converse', headers, body, rawBody: raw, httpVersion: '2.0' });
    if (!match || method !== 'POST') return sendError(stream, 'ResourceNotFoundException', `No route for ${method} ${rawPath}`);
    const problem = sigV4Problem(method, rawPath, headers, raw, accepted, region);
    if (problem) return sendError(stream, 'AccessDeniedException', problem);
    if (!body) return sendError(stream, 'ValidationException', 'Malformed JSON body');
    if (match[2] === 'invoke' && /titan-embed|cohere\.embed/.test(modelId)) return invokeEmbedding(stream, modelId, body);
    if (match[2] === 'count-tokens') return countTokensFor(stream, modelId, body);
    if (match[2] === 'invoke' || match[2] === 'invoke-with-response-stream') return invokeAnthropic(stream, modelId, body, match[2] === 'invoke');
    const s = anthropic.scenarioOf(modelId);
    try {
      const failFirst = s.params.has('fail-first') ? Number(s.params.get('fail-first')) : undefined;
      const err = failFirst === undefined || requests.filter((r) => r.modelId === modelId).length <= failFirst ? s.params.get('error') : undefined;
      if (err) throw new Refusal(err, err === 'ValidationException' && s.scenario.has('context') ? 'Input is too long for requested model.' : `Scenario ${err}`);
      validate(body);
    } catch (e) {
      if (e instanceof Refusal) return sendError(stream, e.exception, e.message);
      throw e;
    }
    const { content, stopReason } = answer(modelId, body, s);
    const usage = usageOf(body, content, s);
    if (match[2] === 'converse') {
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-amzn-requestid': `req-${requests.length}` });
      const out = s.scenario.has('no-output') ? { stopReason: 'end_turn', usage, metrics: { latencyMs: 10 } } : { output: { message: { role: 'assistant', content } }, stopReason, usage, metrics: { latencyMs: 10 } };
      stream.end(JSON.stringify(out));
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': `req-${requests.length}` });
    const frames = streamFrames(content, stopReason, usage, s);
    const errorAfter = s.params.has('stream-error') ? Number(s.params.get('stream-error')) : undefined;
    const cutAfter = s.params.has('cut') ? Number(s.params.get('cut')) : undefined;
    const eofAfter = s.params.has('eof') ? Number(s.params.get('eof')) : undefined;
    for (let i = 0; i < frames.length; i++) {
      if (stream.destroyed || closing.signal.aborted) return;
      if (eofAfter === i) break;
      if (errorAfter === i) {
        stream.end(frame('throttlingException', { message: 'Too many requests, please wait before trying again.' }, 'exception'));
        return;
      }
      if (cutAfter === i) {
        stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        return;
      }
      await new Promise<void>((resolve) => stream.write(frames[i], () => resolve()));
    }
    stream.end();
  }

  /** CountTokens with an InvokeModel body (Claude): the input tokens that body would bill. */
  function countTokensFor(stream: ServerHttp2Stream, modelId: string, body: Json): void {
    const b64 = ((body.input as Json | undefined)?.invokeModel as Json | undefined)?.body;
    if (typeof b64 !== 'string') return sendError(stream, 'ValidationException', 'input.invokeModel.body is required');
    const inner = JSON.parse(Buffer.from(b64, 'base64').toString('utf8')) as Json;
    try {
      check(inner.anthropic_version === 'bedrock-2023-05-31', 'anthropic_version: must be bedrock-2023-05-31');
      check(!('model' in inner), 'extraneous key [model] is not permitted');
      anthropic.validate({ ...inner, model: modelId }, false);
    } catch (e) {
      if (e instanceof Refusal) return sendError(stream, e.exception, e.message);
      if (e instanceof anthropic.InvalidRequest) return sendError(stream, 'ValidationException', e.message);
      throw e;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ inputTokens: anthropic.inputTokens(inner) }));
  }

  /** InvokeModel on Titan Text Embeddings (one inputText) and Cohere Embed v3 (texts[]), as Bedrock answers them. */
  function invokeEmbedding(stream: ServerHttp2Stream, modelId: string, body: Json): void {
    const ok = (payload: Json) => {
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-amzn-requestid': `req-${requests.length}` });
      stream.end(JSON.stringify(payload));
    };
    if (modelId.includes('titan-embed')) {
      if (typeof body.inputText !== 'string' || body.inputText === '') return sendError(stream, 'ValidationException', 'inputText: required, non-empty');
      const v2 = modelId.includes('v2');
      if (!v2 && Object.keys(body).some((k) => k !== 'inputText')) return sendError(stream, 'ValidationException', 'extraneous key is not permitted');
      const dims = v2 ? Number(body.dimensions ?? 1024) : 1536;
      return ok({ embedding: embeddingFor(body.inputText, dims), inputTextTokenCount: countTokens(body.inputText) });
    }
    const texts = body.texts;
    if (!Array.isArray(texts) || texts.length === 0 || texts.length > 96) return sendError(stream, 'ValidationException', 'texts: 1 to 96 strings');
    if (typeof body.input_type !== 'string') return sendError(stream, 'ValidationException', 'input_type: required');
    return ok({ id: 'emb-1', response_type: 'embeddings_floats', texts, embeddings: (texts as string[]).map((t) => embeddingFor(t, 1024)) });
  }

  /** InvokeModel with an Anthropic Messages body, as Bedrock serves Claude. */
  async function invokeAnthropic(stream: ServerHttp2Stream, modelId: string, body: Json, plain: boolean): Promise<void> {
    const opts = anthropic.scenarioOf(modelId);
    try {
      check(body.anthropic_version === 'bedrock-2023-05-31', 'anthropic_version: must be bedrock-2023-05-31');
      check(!('model' in body), 'extraneous key [model] is not permitted');
      check(!('stream' in body), 'extraneous key [stream] is not permitted');
      const err = opts.params.get('error');
      if (err) throw new Refusal(err, `Scenario ${err}`);
      anthropic.validate({ ...body, model: modelId }, false);
    } catch (e) {
      if (e instanceof Refusal) return sendError(stream, e.exception, e.message);
      if (e instanceof anthropic.InvalidRequest) return sendError(stream, 'ValidationException', e.message);
      throw e;
    }
    const { blocks, stopReason } = anthropic.answer(body, opts);
    const usage = anthropic.usageFor(body, blocks, opts);
    const id = `msg_bdrk_${requests.length}`;
    if (plain) {
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'x-amzn-requestid': `req-${requests.length}` });
      stream.end(JSON.stringify({ id, type: 'message', role: 'assistant', model: modelId, content: blocks, stop_reason: stopReason, stop_sequence: null, usage }));
      return;
    }
    stream.respond({ ':status': 200, 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': `req-${requests.length}` });
    const events = anthropic.streamEvents(id, modelId, blocks, stopReason, usage).filter(([name]) => name !== 'ping');
    const errorAfter = opts.params.has('stream-error') ? Number(opts.params.get('stream-error')) : undefined;
    for (let i = 0; i < events.length; i++) {
      if (stream.destroyed || closing.signal.aborted) return;
      if (errorAfter === i) {
        stream.end(frame('throttlingException', { message: 'Too many requests, please wait before trying again.' }, 'exception'));
        return;
      }
      const [, data] = events[i]!;
      // Bedrock adds its invocation metrics to the last event.
      const payload = data.type === 'message_stop' ? { ...data, 'amazon-bedrock-invocationMetrics': { inputTokenCount: usage.input_tokens, outputTokenCount: usage.output_tokens, invocationLatency: 10, firstByteLatency: 5 } } : data;
      await new Promise<void>((resolve) => stream.write(frame('chunk', { bytes: Buffer.from(JSON.stringify(payload)).toString('base64') }), () => resolve()));
    }
    stream.end();
  }

  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    handle(stream, headers).catch(() => {
      if (!stream.headersSent) sendError(stream, 'InternalServerException', 'test upstream failed');
      else stream.destroy();
    });
  });
  return upstreamHandle(await listenLocal(server), '', requests, closing);
}
