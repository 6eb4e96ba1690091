import { traceStepsMigration } from './0001-trace-steps.js';
import type { Migration } from './types.js';

/** Every migration, in version order. Add new files here; never edit a released one. */
export const MIGRATIONS: readonly Migration[] = [traceStepsMigration];
export type { Migration } from './types.js';
