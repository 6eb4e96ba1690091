// The trace-ingest Lambda entry point (a buffered Function URL, not streaming).
import { createTraceIngestHandler, ingestDepsFromEnv } from './handler.js';

export const handler = createTraceIngestHandler(ingestDepsFromEnv(process.env));
