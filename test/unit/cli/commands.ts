/**
 * Every command each CLI group runs (bin/commands/*.ts). The CLI tests check that this list
 * is complete (each group's "unknown command … (expected …)" names exactly these), that
 * every help names them, and the doc tests that the docs name no other.
 */
export const COMMANDS: Record<string, string[]> = {
  proxies: ['create', 'list', 'show', 'delete'],
  keys: ['create', 'list', 'revoke'],
  policies: ['check', 'eval', 'test', 'set', 'get', 'delete', 'config'],
  approvals: ['list', 'show', 'approve', 'deny'],
  'admin-keys': ['create', 'list', 'revoke'],
  traces: ['list', 'show', 'migrate', 'replay-spool'],
  sessions: ['list', 'show'],
  budgets: ['set', 'show', 'list', 'delete'],
  limits: ['set', 'show', 'list', 'delete'],
  cache: ['purge'],
};

/** Groups that take no command word. */
export const PLAIN_GROUPS = ['spend', 'dev'];
