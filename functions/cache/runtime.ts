/**
 * The response cache's heavier half, loaded on the first request of a proxy with a cache
 * (a lazy chunk of the deployed bundle, never evaluated at init): the stored answer's
 * format, the capture of a miss and the replay of a hit.
 */
export { decodeAnswer, encodeAnswer, withWireUsage, type StoredAnswer } from './answer.js';
export { AnswerCapture, type CaptureResult } from './capture.js';
export { replayAnswer, STREAMED_REPLAY } from './replay.js';
