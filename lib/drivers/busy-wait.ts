import { LibsqlError } from '@libsql/core/api';

/** Longest pause between two attempts while a lock is held elsewhere. */
const MAX_BUSY_DELAY_MS = 50;

export function isBusy(error: unknown): boolean {
  return error instanceof LibsqlError && error.code === 'SQLITE_BUSY';
}

export interface BusyWait {
  /** How long to keep trying after the first SQLITE_BUSY. */
  readonly timeoutMs: number;
  /** Whether `error` (from an attempt) may be followed by another attempt. */
  readonly retryable?: (error: unknown) => boolean;
  /** Called when a timeout above 0 passed whole with the lock still held. */
  readonly onGiveUp?: () => void;
  /** Ends the wait early, rejecting with its reason. */
  readonly signal?: AbortSignal;
}

/**
 * Tries `attempt` again, after growing pauses, until it no longer fails with
 * SQLITE_BUSY or `timeoutMs` has passed since `busy` (its first failure); then
 * rejects with its last error. SQLite's own busy handler would sleep inside
 * the synchronous call instead, freezing the process, and a lock held by
 * another lease of this same process could then never be released meanwhile:
 * the wait would always end in SQLITE_BUSY. So connections run with SQLite's
 * timeout at 0 and every wait for a lock goes through here.
 */
export async function retryWhileBusy<T>(attempt: () => T, busy: unknown, wait: BusyWait): Promise<T> {
  const retryable = wait.retryable ?? isBusy;
  const deadline = performance.now() + wait.timeoutMs;
  let delay = 1;
  let last = busy;
  // The last pause is cut to what is left, so the wait lasts the whole
  // timeout, as SQLite's own handler does (and `timeout: 500` means 500 ms, not
  // up to one pause less); a timeout of 0 gives up at once.
  for (let left = wait.timeoutMs; left > 0; left = deadline - performance.now()) {
    await pause(Math.min(delay, left), wait.signal);
    wait.signal?.throwIfAborted();
    delay = Math.min(delay * 2, MAX_BUSY_DELAY_MS);
    try {
      return attempt();
    } catch (error) {
      if (!retryable(error)) throw error;
      last = error;
    }
  }
  // Back-pressure means "a lock was held longer than the caller agreed to
  // wait". With no wait at all (0, @libsql/client's default), a conflict says
  // nothing of load, and counting it would halve the pool on every collision.
  if (wait.timeoutMs > 0) wait.onGiveUp?.();
  throw last;
}

function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
