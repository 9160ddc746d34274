import type { PoolStats } from './stats';

/**
 * Every condition the pool itself reports. SQL errors are not here: they reach
 * the caller as the `LibsqlError` that `@libsql/client` would have thrown.
 */
export type PoolErrorCode =
  /** A `PoolConfig` field is missing, of the wrong type or out of range. The message names it. */
  | 'INVALID_CONFIG'
  /** A statement argument that the driver cannot bind safely (it would abort the process). */
  | 'INVALID_ARGUMENT'
  /** No connection became free within the acquire timeout. */
  | 'ACQUIRE_TIMEOUT'
  /** The `AbortSignal` passed to `acquire()` fired first. */
  | 'ACQUIRE_ABORTED'
  /** `maxWaiters` callers are already queued. */
  | 'POOL_EXHAUSTED'
  /** The pool is closing or closed. */
  | 'POOL_CLOSED'
  /** The lease was released (or destroyed) and can no longer be used. */
  | 'LEASE_RELEASED'
  /** A physical connection could not be opened. `cause` holds the driver's error. */
  | 'CONNECT_FAILED'
  /**
   * A remote connection was lost (socket closed, server gone) or its server
   * session expired; a transaction open on it was rolled back by the server.
   * Or a local connection refused a statement after a write on it failed with
   * SQLITE_BUSY (`cause`): libsql cannot reset that write, and no later write
   * on the connection would be committed until it runs again.
   * The pool replaces the connection; retry on a new lease.
   */
  | 'CONNECTION_LOST'
  /**
   * Something run when a connection closed (a resource's disposer, a `close`
   * listener, the cleanup callback) returned a promise that did not settle
   * within `closeTimeoutMs`. Never thrown: reported as `listenerError`.
   */
  | 'CLEANUP_TIMEOUT';

/**
 * The one error class the pool throws. Match on `code`, never on the message;
 * the underlying error, when there is one, is `cause`.
 */
export class PoolError extends Error {
  readonly code: PoolErrorCode;
  /** The pool's state when it happened (`ACQUIRE_TIMEOUT`). */
  readonly stats: PoolStats | undefined;

  constructor(code: PoolErrorCode, message: string, options?: { cause?: unknown; stats?: PoolStats }) {
    super(message, options);
    this.name = 'PoolError';
    this.code = code;
    this.stats = options?.stats;
  }
}

export function isPoolError(error: unknown, code?: PoolErrorCode): error is PoolError {
  return error instanceof PoolError && (code === undefined || error.code === code);
}

/*
 * The errors the pool builds in more than one place, named once so the
 * vocabulary reads in one file.
 */

/** The pool is closing or closed. */
export function poolClosed(): PoolError {
  return new PoolError('POOL_CLOSED', 'The pool is closed');
}

/** The caller's signal ended its `acquire()`; `cause` is the signal's reason. */
export function acquireAborted(signal: AbortSignal): PoolError {
  return new PoolError('ACQUIRE_ABORTED', 'acquire() was aborted', { cause: signal.reason });
}

/** No connection came within `timeoutMs`; `stats` is the pool as it was then, `cause` the last connect error. */
export function acquireTimedOut(timeoutMs: number, stats: PoolStats, cause: unknown): PoolError {
  return new PoolError(
    'ACQUIRE_TIMEOUT',
    `No connection became free within ${timeoutMs} ms (size ${stats.size}/${stats.max}, ${stats.active} in use, ` +
      `${stats.waiting} waiting, ${stats.pending} opening)`,
    { cause, stats },
  );
}

/** Opening a connection to `url` failed with `cause`. */
export function connectFailed(url: string, cause: unknown): PoolError {
  return new PoolError('CONNECT_FAILED', `Could not open ${url}: ${(cause as Error | undefined)?.message}`, { cause });
}

/** A connection's cleanup (`event`, and `resource` for a disposer) did not settle within `timeoutMs`. */
export function cleanupTimedOut(
  source: { readonly event: string; readonly connectionId: number; readonly resource?: string },
  timeoutMs: number,
): PoolError {
  const what = source.resource === undefined ? `The '${source.event}' cleanup` : `The '${source.resource}' disposer`;
  return new PoolError(
    'CLEANUP_TIMEOUT',
    `${what} of connection ${source.connectionId} did not settle within ${timeoutMs} ms; the pool stopped waiting for it`,
  );
}

/** `` `0` (number)`` style rendering of a bad value for error messages. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value)} (string)`;
  if (typeof value === 'bigint') return `${value}n (bigint)`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'object') return `${Object.prototype.toString.call(value)} (object)`;
  if (typeof value === 'function') return 'a function';
  return `${String(value)} (${typeof value})`;
}

/**
 * Reports an error that has no caller to reject, such as a throwing event
 * listener or eviction hook. It must neither vanish nor crash the process, so it
 * becomes a process warning (visible on stderr, observable via
 * `process.on('warning')`).
 */
export function reportError(error: unknown, where: string): void {
  const message = error instanceof Error ? error.message : String(error);
  // The string form: `emitWarning(Error)` rejects errors from another realm
  // (a vm context, a test sandbox), and this path must never throw.
  process.emitWarning(`libsql-pool: ${where} threw: ${message}`, {
    type: 'LibsqlPoolWarning',
    code: 'LIBSQL_POOL_UNHANDLED_ERROR',
    detail: error instanceof Error ? error.stack : undefined,
  });
}
