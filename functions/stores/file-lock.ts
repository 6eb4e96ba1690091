import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { hostname } from 'node:os';
import { ControlStoreError } from './errors.js';

/**
 * A cross-process lock file: created with O_EXCL (`wx`), so exactly one
 * process holds it. A lock whose holder died (same host, pid gone) or that is
 * older than `staleMs` is broken; holders keep it for milliseconds only.
 */
export interface FileLockOptions {
  /** Give up waiting after this long. */
  timeoutMs?: number;
  /** A lock file older than this is considered abandoned. */
  staleMs?: number;
}

interface LockOwner {
  pid: number;
  host: string;
  token: string;
  at: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_STALE_MS = 30_000;

export async function withFileLock<T>(lockPath: string, options: FileLockOptions, work: () => Promise<T>): Promise<T> {
  const token = await acquire(lockPath, options);
  try {
    return await work();
  } finally {
    await release(lockPath, token);
  }
}

async function acquire(lockPath: string, options: FileLockOptions): Promise<string> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const staleMs = options.staleMs ?? DEFAULT_STALE_MS;
  const deadline = Date.now() + timeoutMs;
  const token = randomBytes(12).toString('hex');
  const owner: LockOwner = { pid: process.pid, host: hostname(), token, at: new Date().toISOString() };
  let attempt = 0;
  for (;;) {
    try {
      const handle = await fs.open(lockPath, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(owner));
      } finally {
        await handle.close();
      }
      return token;
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    const observed = await readLock(lockPath);
    if (observed && isStale(observed, staleMs)) {
      await breakLock(lockPath, observed.raw, token);
      continue;
    }
    if (Date.now() >= deadline) {
      const holder = observed?.owner ? ` held by pid ${observed.owner.pid} on ${observed.owner.host}` : '';
      throw new ControlStoreError(
        `timed out after ${timeoutMs} ms waiting for the lock file ${lockPath}${holder}; ` +
          'if no sluice process is running, delete that file',
      );
    }
    attempt++;
    await sleep(Math.min(2 + attempt * 2, 25) * (0.5 + Math.random()));
  }
}

async function release(lockPath: string, token: string): Promise<void> {
  const current = await readLock(lockPath);
  // Only remove our own lock: if it was broken as stale, it belongs to someone else now.
  if (current?.owner?.token === token) await fs.rm(lockPath, { force: true });
}

interface ObservedLock {
  raw: string;
  owner: LockOwner | undefined;
  ageMs: number;
}

async function readLock(lockPath: string): Promise<ObservedLock | undefined> {
  try {
    const [raw, stat] = await Promise.all([fs.readFile(lockPath, 'utf8'), fs.stat(lockPath)]);
    return { raw, owner: parseOwner(raw), ageMs: Date.now() - stat.mtimeMs };
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function parseOwner(raw: string): LockOwner | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockOwner>;
    if (typeof value.pid === 'number' && typeof value.host === 'string' && typeof value.token === 'string') {
      return value as LockOwner;
    }
  } catch {
    // A holder that has created the file but not yet written it: judged by age only.
  }
  return undefined;
}

/** A holder writes its owner record right after creating the file; an empty lock this old is a crash leftover. */
const UNWRITTEN_LOCK_STALE_MS = 2_000;

function isStale(lock: ObservedLock, staleMs: number): boolean {
  if (lock.ageMs > staleMs) return true;
  if (lock.owner === undefined && lock.ageMs > Math.min(staleMs, UNWRITTEN_LOCK_STALE_MS)) return true;
  return lock.owner !== undefined && lock.owner.host === hostname() && !processIsAlive(lock.owner.pid);
}

function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return isErrno(error, 'EPERM'); // exists, but belongs to another user
  }
}

/**
 * Breaks a stale lock without deleting a fresh one that replaced it meanwhile:
 * the lock is renamed away atomically, and only if the moved file is the one we
 * judged stale is it deleted; otherwise it is put back (link fails if a third
 * process has already created a new lock, in which case that one stands).
 */
async function breakLock(lockPath: string, staleRaw: string, token: string): Promise<void> {
  const aside = `${lockPath}.${token}.breaking`;
  try {
    await fs.rename(lockPath, aside);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return; // someone else broke or released it
    throw error;
  }
  const moved = await fs.readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== staleRaw) {
    await fs.link(aside, lockPath).catch(() => undefined);
  }
  await fs.rm(aside, { force: true });
}

function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
