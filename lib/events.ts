/** The circuit breaker's state: `open` fails callers at once, `halfOpen` lets one probe through. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** Where a suspected leak stands: held too long, then back, or dropped unreleased. */
export type LeakState = 'suspected' | 'resolved' | 'collected';

/** What a leak report carries; the pool adds the connection's info. */
export interface LeakReport {
  readonly state: LeakState;
  /** How long the lease had been held when reported. */
  readonly heldMs: number;
  /** The stack of the `acquire()` call that took the lease. */
  readonly stack: string | undefined;
}

/** Identifies one physical connection; unique across the process, never reused. */
export type ConnectionId = number;

/**
 * The pool's single cleanup callback (`pool.setCleanupCallback`), run with the
 * id of each connection that closes. It may return a promise, which
 * `pool.close()` waits for (up to `closeTimeoutMs`).
 */
export type ConnectionCleanupCallback = (connectionId: ConnectionId) => unknown;

/** Why a physical connection was retired. */
export type CloseReason =
  | 'idle'
  | 'lifetime'
  | 'maxUses'
  | 'error'
  | 'unhealthy'
  | 'destroyed'
  | 'shrink'
  | 'poolClosed';

export interface ConnectionInfo {
  readonly connectionId: ConnectionId;
  /** `Date.now()` when the connection was opened. */
  readonly createdAt: number;
  /** Checkouts so far, including the current one. */
  readonly uses: number;
}

export type CheckoutEvent = ConnectionInfo & { readonly waitedMs: number };
export type CheckinEvent = ConnectionInfo & { readonly heldMs: number };
export type CloseEvent = ConnectionInfo & { readonly reason: CloseReason; readonly error?: unknown };
export type LeakEvent = ConnectionInfo & LeakReport;

/** A connection could not be opened; the pool retries after `retryInMs`. */
export interface ConnectErrorEvent {
  readonly error: unknown;
  /** Consecutive failures so far. */
  readonly failures: number;
  readonly retryInMs: number;
  /** `open`: acquires that no open connection can serve fail at once with the cause. */
  readonly breaker: BreakerState;
}

export interface ListenerErrorEvent {
  /**
   * The event whose listener failed, `cleanupCallback`, or, for a resource,
   * `create` (made eagerly) or `dispose`.
   */
  readonly event: string;
  /** What it threw or rejected with, or a `PoolError` `CLEANUP_TIMEOUT` if it never settled. */
  readonly error: unknown;
  /** The resource kind's name, when a resource's `create` or `dispose` failed. */
  readonly resource?: string;
  /** The connection that resource belonged to. */
  readonly connectionId?: ConnectionId;
}

/**
 * The pool's events. `create` and `close` pair up exactly once per physical
 * connection; `checkout` and `checkin` pair up once per lease.
 */
export interface PoolEvents {
  /** A physical connection is open and initialised. */
  create: [info: ConnectionInfo];
  /** A lease was handed to a caller. */
  checkout: [info: CheckoutEvent];
  /** A lease came back; the connection's statements stay cached. */
  checkin: [info: CheckinEvent];
  /**
   * A physical connection was retired; its resources (its cached statements
   * among them) are already disposed of. A listener may return a promise,
   * which `pool.close()` waits for.
   */
  close: [info: CloseEvent];
  /** The pool's size changed by one: `from` and `to` are real sizes, `reason` is `'open'` or why it closed. */
  resize: [info: ResizeEvent];
  /** The effective maximum changed: halved by back-pressure, or doubled back after quiet time. */
  maxChanged: [info: MaxChangeEvent];
  /** A lease was held longer than `leakDetectionMs` (`suspected`), came back (`resolved`), or was dropped unreleased (`collected`). */
  leak: [info: LeakEvent];
  /** Opening a connection failed. */
  connectError: [info: ConnectErrorEvent];
  /**
   * A listener of another event, the cleanup callback or a resource's
   * `create`/`dispose` threw, rejected or (when a connection closed) never
   * settled. The pool carried on.
   */
  listenerError: [info: ListenerErrorEvent];
}

/** Why the pool's size changed: a connection opened, or the reason one closed. */
export type ResizeReason = 'open' | CloseReason;

/** The pool's size changed by one connection: `from` and `to` are real sizes. */
export interface ResizeEvent {
  readonly from: number;
  readonly to: number;
  readonly reason: ResizeReason;
}

/** Why the effective maximum changed. */
export type MaxChangeReason = 'backpressure' | 'recovery';

/** The effective maximum (the most connections the pool may open now) changed. */
export interface MaxChangeEvent {
  readonly from: number;
  readonly to: number;
  readonly reason: MaxChangeReason;
}
