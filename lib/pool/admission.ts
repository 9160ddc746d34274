import { PoolError, acquireAborted, connectFailed, poolClosed } from '../errors';
import type { PoolCounts } from './sizing';

/*
 * Whether a caller of `acquire()` is turned away at once rather than served
 * or queued. A caller that could only ever be rejected (its signal already
 * aborted, nothing to wait for, a line already too long) is told now, with
 * the reason, instead of after its timeout. Nothing here changes the pool:
 * the pool counts and rejects.
 */

export interface AcquireOptions {
  /** Aborts the wait with `ACQUIRE_ABORTED`. */
  signal?: AbortSignal;
  /** Overrides `acquireTimeoutMs` for this call. */
  timeoutMs?: number;
}

/** Why a caller is turned away, and the stats total it counts towards, if any. */
export interface Refusal {
  readonly error: PoolError;
  readonly counts?: 'aborted' | 'exhausted';
}

export interface Request {
  /** Whether the pool has started closing. */
  readonly closed: boolean;
  readonly signal: AbortSignal | undefined;
  /** The wait asked for: `options.timeoutMs`, else `acquireTimeoutMs`. */
  readonly timeoutMs: unknown;
}

/**
 * Refuses a call that cannot be served as asked: the pool is closing, the
 * signal has already aborted, or the timeout is not a number >= 0. Checked
 * before any connection is taken, in this order.
 */
export function refuseRequest(r: Request): Refusal | undefined {
  if (r.closed) return { error: poolClosed() };
  if (r.signal?.aborted) return { error: acquireAborted(r.signal), counts: 'aborted' };
  const t = r.timeoutMs;
  if (typeof t !== 'number' || Number.isNaN(t) || t < 0) {
    return { error: new PoolError('INVALID_ARGUMENT', `Expected \`timeoutMs\` to be a number >= 0, got ${String(t)}`) };
  }
  return undefined;
}

export interface Line extends Pick<PoolCounts, 'size' | 'validating' | 'waiting' | 'cap'> {
  /** Whether the connect breaker turns every connect away now. */
  readonly breakerOpen: boolean;
  readonly maxWaiters: number;
  /** The database, as the connect error names it. */
  readonly url: string;
  /** The error of the last failed connect. */
  readonly lastError: unknown;
}

/**
 * Refuses a caller that found no idle connection and would wait for nothing:
 * with the breaker open and no connection that could come back, waiting can
 * only end in a timeout, so it fails now with the cause. `maxWaiters` bounds
 * the callers waiting for a connection to come back; one the pool can still
 * open a connection for is not waiting behind anybody.
 */
export function refuseWaiter(l: Line): Refusal | undefined {
  if (l.size === 0 && l.breakerOpen) return { error: connectFailed(l.url, l.lastError) };
  const openable = Math.max(0, l.cap - l.size) + l.validating;
  if (l.waiting - openable >= l.maxWaiters) {
    const error = new PoolError('POOL_EXHAUSTED', `${l.waiting} callers are already waiting (maxWaiters)`);
    return { error, counts: 'exhausted' };
  }
  return undefined;
}
