import { EventEmitter } from 'eventemitter3';
import pLimit from 'p-limit';
import type { InArgs, InStatement, ResultSet, TransactionMode } from '@libsql/client';
import { transactionModeToBegin } from '@libsql/core/util';
import { LibsqlError } from '@libsql/core/api';
import { resolveConfig, timerDelay, type PoolConfig, type ResolvedConfig } from './config';
import { PoolError, reportError } from './errors';
import {
  emitIsolated,
  type CloseReason,
  type ConnectionCleanupCallback,
  type ConnectionId,
  type ConnectionInfo,
  type PoolEvents,
} from './events';
import { createDriver } from './drivers/create-driver';
import type { Driver, DriverConnection, DriverStatement, Replicated } from './drivers/driver';
import { PooledConnection, leaseConnection, revokeLease, type BatchStatement, type LeaseEnd } from './pooled-connection';
import type { PreparedStatementCache } from './statement-cache';
import { PoolStatsRecorder, type PoolStats } from './stats';
import { WaiterQueue, type Waiter } from './waiter-queue';

export interface AcquireOptions {
  /** Aborts the wait with `ACQUIRE_ABORTED`. */
  signal?: AbortSignal;
  /** Overrides `acquireTimeoutMs` for this call. */
  timeoutMs?: number;
}

export interface CloseOptions {
  /** How long to wait for leases before closing their connections. @default config.closeTimeoutMs */
  timeoutMs?: number;
}

/** One physical connection and what the pool knows of it. */
interface Slot {
  readonly id: ConnectionId;
  readonly connection: DriverConnection;
  readonly createdAt: number;
  uses: number;
  /** `resetting`: back from a lease, rolling back a transaction it left open. */
  state: 'idle' | 'active' | 'resetting' | 'closed';
  lease: PooledConnection | null;
  leasedAt: number;
  /** While `resetting`: how long the lease was held, for its deferred `checkin`. */
  heldMs: number;
  idleSince: number;
}


/**
 * Process-wide, so a cache shared by several pools never confuses their
 * connections. Kept on `globalThis` so two copies of this package in one
 * process (a CommonJS and an ESM build, say) still never hand out the same id.
 */
const ids = ((globalThis as Record<symbol, { next: number }>)[Symbol.for('libsql-pool.connectionIds')] ??= {
  next: 1,
});

function newConnectionId(): ConnectionId {
  return ids.next++;
}

/** How long the pool waits before refilling `min` after a failed connect. */
const REFILL_RETRY_MS = 1_000;

/**
 * A pool of libSQL connections that reuses each one, with its prepared
 * statements, until it is retired.
 *
 * All state changes end in `#pump()`, the only place that pairs waiters with
 * idle connections and decides to open new ones. Events are emitted after the
 * state change they report is complete, so a listener may call back into the
 * pool, and a listener that throws changes nothing.
 */
export class AdaptiveConnectionPool extends EventEmitter<PoolEvents> {
  readonly config: ResolvedConfig;
  readonly #driver: Driver;
  readonly #cache: PreparedStatementCache<DriverStatement> | false;
  readonly #connectLimit = pLimit(4);
  readonly #stats = new PoolStatsRecorder();
  #state: 'open' | 'closing' | 'closed' = 'open';
  readonly #all = new Set<Slot>();
  /** A stack: the most recently returned connection is reused first, so cold ones age out. */
  readonly #idle: Slot[] = [];
  readonly #waiters = new WaiterQueue<PooledConnection>();
  #creating = 0;
  #pumping = false;
  #pumpAgain = false;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #refillTimer: ReturnType<typeof setTimeout> | undefined;
  #refillBlockedUntil = 0;
  #lastCreateError: unknown;
  #cleanupCallback: ConnectionCleanupCallback | undefined;
  #closing: Promise<void> | undefined;
  #syncing: Promise<unknown> = Promise.resolve();
  #drained: (() => void) | undefined;

  /**
   * @param driver Opens the physical connections. Defaults to the driver for
   * `config.url`; pass one to wrap it (tests inject faults this way).
   */
  constructor(config: PoolConfig, driver?: Driver) {
    super();
    this.config = resolveConfig(config);
    const c = this.config;
    this.#driver = driver ?? createDriver(c);
    this.#cache = c.statementCache as PreparedStatementCache<DriverStatement> | false;
  }

  /** The statement cache this pool fills and evicts, or `false`. */
  get statementCache(): PreparedStatementCache<DriverStatement> | false {
    return this.#cache;
  }

  /**
   * Opens `min` connections (at least one, so a bad URL fails here rather than
   * on first use). Rejects with `CONNECT_FAILED` carrying the driver's error.
   */
  async warmUp(): Promise<void> {
    this.#checkOpen();
    const wanted = Math.min(Math.max(this.config.min, 1), this.config.max);
    const opening: Promise<void>[] = [];
    for (let n = this.#all.size + this.#creating; n < wanted; n++) opening.push(this.#create());
    const results = await Promise.allSettled(opening);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /**
   * Borrows a connection: an idle one at once, else a new one if below `max`,
   * else the first to come back. Waiters are served in arrival order.
   */
  acquire(options: AcquireOptions = {}): Promise<PooledConnection> {
    if (this.#state !== 'open') return Promise.reject(this.#closedError());
    const { signal } = options;
    if (signal?.aborted) {
      this.#stats.totals.aborted++;
      return Promise.reject(new PoolError('ACQUIRE_ABORTED', 'acquire() was aborted', { cause: signal.reason }));
    }
    const requested = options.timeoutMs ?? this.config.acquireTimeoutMs;
    if (typeof requested !== 'number' || Number.isNaN(requested) || requested < 0) {
      return Promise.reject(
        new PoolError('INVALID_ARGUMENT', `Expected \`timeoutMs\` to be a number >= 0, got ${String(requested)}`),
      );
    }
    const timeoutMs = timerDelay(requested);
    const enqueuedAt = performance.now();
    if (this.#waiters.size === 0) {
      const slot = this.#takeIdle();
      if (slot !== undefined) return Promise.resolve(this.#checkout(slot, enqueuedAt));
    }
    // maxWaiters bounds callers waiting for a connection to come back; one the
    // pool can still open a connection for is not waiting behind anybody.
    const openable = Math.max(0, this.#cap() - this.#all.size);
    if (this.#waiters.size - openable >= this.config.maxWaiters) {
      this.#stats.totals.exhausted++;
      return Promise.reject(
        new PoolError('POOL_EXHAUSTED', `${this.#waiters.size} callers are already waiting (maxWaiters)`),
      );
    }
    return new Promise<PooledConnection>((resolve, reject) => {
      const waiter: Waiter<PooledConnection> = { resolve, reject, enqueuedAt, settled: false, timer: undefined, signal, onAbort: undefined };
      // Not unref'd: a caller is awaiting this, and if nothing else keeps the
      // process alive it must still hear ACQUIRE_TIMEOUT rather than vanish.
      if (Number.isFinite(timeoutMs)) {
        waiter.timer = setTimeout(() => this.#onAcquireTimeout(waiter, timeoutMs), timeoutMs);
      }
      if (signal !== undefined) {
        waiter.onAbort = () => {
          if (!this.#waiters.settle(waiter)) return;
          this.#stats.totals.aborted++;
          reject(new PoolError('ACQUIRE_ABORTED', 'acquire() was aborted', { cause: signal.reason }));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
      this.#pump();
    });
  }

  /** Runs `fn` with a connection and always gives it back. */
  async use<T>(fn: (connection: PooledConnection) => Promise<T> | T): Promise<T> {
    const lease = await this.acquire();
    try {
      return await fn(lease);
    } finally {
      lease.release();
    }
  }

  /** `client.execute` on a pooled connection. */
  async execute(stmtOrSql: InStatement, args?: InArgs): Promise<ResultSet> {
    const lease = await this.acquire();
    try {
      return await lease.execute(stmtOrSql, args);
    } finally {
      lease.release();
    }
  }

  /** `client.batch` on a pooled connection: all statements or none. */
  async batch(stmts: BatchStatement[], mode: TransactionMode = 'deferred'): Promise<ResultSet[]> {
    return this.use((lease) => lease.batch(stmts, mode));
  }

  /**
   * Runs `fn` inside `BEGIN <mode>` on one connection: commits when it
   * resolves, rolls back when it throws, and releases the connection either way.
   */
  async transaction<T>(fn: (tx: PooledConnection) => Promise<T> | T, mode: TransactionMode = 'write'): Promise<T> {
    const begin = transactionModeToBegin(mode);
    return this.use(async (lease) => {
      await lease.execute(begin);
      let result: T;
      try {
        result = await fn(lease);
      } catch (error) {
        // A failed ROLLBACK must not hide why we rolled back; checkin retries it
        // and closes the connection if it still cannot.
        if (!lease.released && lease.inTransaction()) await lease.execute('ROLLBACK').catch(() => undefined);
        throw error;
      }
      if (lease.inTransaction()) await lease.execute('COMMIT');
      return result;
    });
  }

  /**
   * Pulls changes from the primary into an embedded replica (`syncUrl`), as
   * `client.sync()`. Calls are serialised pool-wide: a second waits for the
   * first, then syncs again.
   */
  sync(): Promise<Replicated> {
    const result = this.#syncing.then(() =>
      this.use(async (lease) => {
        const connection = lease[leaseConnection]();
        if (connection.sync === undefined) {
          throw new LibsqlError('sync() needs an embedded replica: a "file:" url with `syncUrl`', 'SYNC_NOT_SUPPORTED');
        }
        return connection.sync();
      }),
    );
    this.#syncing = result.catch(() => undefined);
    return result;
  }

  /** Seed API: one callback run with the id of each connection that closes. */
  setCleanupCallback(callback: ConnectionCleanupCallback): void {
    if (typeof callback !== 'function') {
      throw new PoolError('INVALID_ARGUMENT', 'setCleanupCallback expects a function');
    }
    this.#cleanupCallback = callback;
  }

  /** Seed API: stops calling the cleanup callback. */
  removeCleanupCallback(): void {
    this.#cleanupCallback = undefined;
  }

  stats(): PoolStats {
    let active = 0;
    for (const slot of this.#all) if (slot.state !== 'idle') active++;
    return this.#stats.snapshot({
      size: this.#all.size,
      idle: this.#idle.length,
      active,
      waiting: this.#waiters.size,
      pending: this.#creating,
      min: this.config.min,
      max: this.config.max,
      target: this.config.max,
      statementCache: this.#cache === false ? undefined : this.#cache.stats(),
    });
  }

  /**
   * Stops admitting callers, rejects waiters with `POOL_CLOSED`, waits up to
   * `timeoutMs` for leases to come back, then closes what is left. Calling it
   * again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.timeoutMs ?? this.config.closeTimeoutMs);
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- scheduling -------------------------------------------------------

  /** The one scheduler: every state change ends here. Re-entrant calls fold into one more pass. */
  #pump(): void {
    if (this.#pumping) {
      this.#pumpAgain = true;
      return;
    }
    this.#pumping = true;
    try {
      do {
        this.#pumpAgain = false;
        this.#schedule();
      } while (this.#pumpAgain);
    } finally {
      this.#pumping = false;
    }
  }

  #schedule(): void {
    while (this.#waiters.size > 0) {
      const slot = this.#takeIdle();
      if (slot === undefined) break;
      const waiter = this.#waiters.take()!;
      waiter.resolve(this.#checkout(slot, waiter.enqueuedAt));
    }
    if (this.#state !== 'open') {
      for (const slot of this.#idle.slice()) this.#retire(slot, 'poolClosed');
      if (this.#all.size === 0 && this.#creating === 0) this.#drained?.();
      return;
    }
    // After a failed connect, wait before trying again rather than spin; the
    // refill timer pumps when the pause is over.
    if (performance.now() < this.#refillBlockedUntil) return;
    const { min } = this.config;
    const cap = this.#cap();
    let open = this.#all.size + this.#creating;
    // One new connection per waiter not already covered by one being opened.
    for (let short = this.#waiters.size - this.#creating; short > 0 && open < cap; short--, open++) {
      this.#create().catch(() => undefined);
    }
    for (; open < min; open++) this.#create().catch(() => undefined);
  }

  /** The most connections this pool may have open. */
  #cap(): number {
    return Math.min(this.config.max, this.#driver.maxConnections);
  }

  #onAcquireTimeout(waiter: Waiter<PooledConnection>, timeoutMs: number): void {
    waiter.timer = undefined;
    if (!this.#waiters.settle(waiter)) return;
    this.#stats.totals.timeouts++;
    const s = this.stats();
    waiter.reject(
      new PoolError(
        'ACQUIRE_TIMEOUT',
        `No connection became free within ${timeoutMs} ms (size ${s.size}/${s.max}, ${s.active} in use, ` +
          `${s.waiting} waiting, ${s.pending} opening)`,
        { cause: this.#lastCreateError },
      ),
    );
  }

  // ---- connection lifecycle ---------------------------------------------

  async #create(): Promise<void> {
    this.#creating++;
    let connection: DriverConnection;
    try {
      connection = await this.#connectLimit(() => this.#driver.connect());
    } catch (error) {
      this.#creating--;
      this.#onCreateFailed(error);
      throw new PoolError('CONNECT_FAILED', `Could not open ${this.config.url}: ${(error as Error)?.message}`, {
        cause: error,
      });
    }
    this.#creating--;
    this.#lastCreateError = undefined;
    const now = performance.now();
    const slot: Slot = {
      id: newConnectionId(),
      connection,
      createdAt: Date.now(),
      uses: 0,
      state: 'idle',
      lease: null,
      leasedAt: now,
      heldMs: 0,
      idleSince: now,
    };
    this.#all.add(slot);
    this.#stats.totals.created++;
    // Idle before `create` is emitted, so a listener sees it counted as idle
    // and can be served by it.
    if (this.#state === 'open') this.#makeIdle(slot);
    this.#emit('create', info(slot));
    if (this.#state !== 'open') this.#retire(slot, 'poolClosed');
    this.#pump();
  }

  #onCreateFailed(error: unknown): void {
    this.#stats.totals.createErrors++;
    this.#lastCreateError = error;
    this.#refillBlockedUntil = performance.now() + REFILL_RETRY_MS;
    if (this.#refillTimer === undefined && this.#state === 'open') {
      this.#refillTimer = setTimeout(() => {
        this.#refillTimer = undefined;
        this.#pump();
      }, REFILL_RETRY_MS);
      this.#refillTimer.unref?.();
    }
    // With nothing open and nothing opening, no waiter can be served: fail them
    // now with the cause rather than let each one time out.
    if (this.#all.size === 0 && this.#creating === 0) {
      for (let waiter; (waiter = this.#waiters.take()); ) {
        waiter.reject(
          new PoolError('CONNECT_FAILED', `Could not open ${this.config.url}: ${(error as Error)?.message}`, {
            cause: error,
          }),
        );
      }
    }
    this.#pump();
  }

  /**
   * The most recently returned idle connection that is still usable. One that
   * died while idle (a remote socket closed, say) is retired on the way, so no
   * caller is handed a dead connection.
   */
  #takeIdle(): Slot | undefined {
    for (;;) {
      const slot = this.#idle.pop();
      if (slot === undefined || slot.connection.brokenBy === undefined) return slot;
      this.#retire(slot, 'error', slot.connection.brokenBy);
    }
  }

  #checkout(slot: Slot, enqueuedAt: number): PooledConnection {
    const now = performance.now();
    slot.state = 'active';
    slot.uses++;
    slot.leasedAt = now;
    const lease = new PooledConnection({
      connectionId: slot.id,
      connection: slot.connection,
      cache: this.#cache,
      end: (l, how) => this.#checkin(slot, l, how),
    });
    slot.lease = lease;
    const waitedMs = now - enqueuedAt;
    this.#stats.recordCheckout(waitedMs);
    if (this.#has('checkout')) this.#emit('checkout', { ...info(slot), waitedMs });
    return lease;
  }

  #checkin(slot: Slot, lease: PooledConnection, how: LeaseEnd): void {
    if (slot.lease !== lease || slot.state !== 'active') return;
    slot.lease = null;
    slot.heldMs = performance.now() - slot.leasedAt;
    if (!how.destroy && slot.connection.brokenBy === undefined && slot.connection.inTransaction()) {
      // A connection must never reach the next caller inside this one's
      // transaction. The lease counts as returned once the rollback is done.
      slot.state = 'resetting';
      slot.connection.rollback().then(
        () => this.#afterCheckin(slot, how),
        (error) => this.#afterCheckin(slot, { destroy: true, error }, 'error'),
      );
      return;
    }
    this.#afterCheckin(slot, how);
  }

  /** The lease is back: counted, announced, then the connection goes idle or is retired. */
  #afterCheckin(slot: Slot, how: LeaseEnd, failure?: CloseReason): void {
    if (slot.state === 'closed') return; // force-closed by pool.close() while resetting
    this.#endLease(slot);
    if (how.destroy) {
      this.#retire(slot, failure ?? 'destroyed', how.error);
    } else if (this.#state !== 'open') {
      this.#retire(slot, 'poolClosed');
    } else if (slot.connection.brokenBy !== undefined) {
      this.#retire(slot, 'error', slot.connection.brokenBy);
    } else if (slot.uses >= this.config.maxUses) {
      this.#retire(slot, 'maxUses');
    } else {
      slot.state = 'idle';
      this.#makeIdle(slot);
    }
    this.#pump();
  }

  #endLease(slot: Slot): void {
    this.#stats.totals.released++;
    if (this.#has('checkin')) this.#emit('checkin', { ...info(slot), heldMs: slot.heldMs });
  }

  #makeIdle(slot: Slot): void {
    slot.idleSince = performance.now();
    this.#idle.push(slot);
    this.#armIdleTimer(this.config.idleTimeoutMs);
  }

  /** One timer for all idle connections, armed only when something could expire. */
  #armIdleTimer(delayMs: number): void {
    if (this.#idleTimer !== undefined || !Number.isFinite(delayMs) || this.#all.size <= this.config.min) return;
    this.#idleTimer = setTimeout(() => this.#reapIdle(), delayMs);
    this.#idleTimer.unref?.();
  }

  #reapIdle(): void {
    this.#idleTimer = undefined;
    const now = performance.now();
    const timeout = this.config.idleTimeoutMs;
    // The bottom of the stack has been idle longest.
    while (this.#idle.length > 0 && this.#all.size > this.config.min) {
      const oldest = this.#idle[0]!;
      if (now - oldest.idleSince < timeout) break;
      this.#retire(oldest, 'idle');
    }
    if (this.#idle.length > 0) {
      this.#armIdleTimer(Math.max(1, timeout - (now - this.#idle[0]!.idleSince)));
    }
    this.#pump();
  }

  /**
   * Retires a connection in the seed's drop order: (1) free its slot, (2)
   * count it, (3) evict its statements and tell listeners and the cleanup
   * callback, (4) close the native connection. The pool's own cache is
   * cleared here, not by a listener, so `removeAllListeners()` cannot break it.
   */
  #retire(slot: Slot, reason: CloseReason, error?: unknown): void {
    if (slot.state === 'closed') return;
    const revoked = slot.lease;
    const resetting = slot.state === 'resetting';
    slot.state = 'closed';
    slot.lease = null;
    this.#all.delete(slot);
    const at = this.#idle.indexOf(slot);
    if (at !== -1) this.#idle.splice(at, 1);
    if (revoked !== null || resetting) {
      // Closed under its holder (pool.close() timed out), or while rolling back
      // after its lease: the lease still ends here, so every checkout has its checkin.
      revoked?.[revokeLease]();
      if (revoked !== null) slot.heldMs = performance.now() - slot.leasedAt;
      this.#endLease(slot);
    }
    this.#stats.recordClose(reason);
    if (this.#cache !== false) this.#cache.clearConnection(slot.id);
    this.#emit('close', error === undefined ? { ...info(slot), reason } : { ...info(slot), reason, error });
    const callback = this.#cleanupCallback;
    if (callback !== undefined) {
      try {
        callback(slot.id);
      } catch (err) {
        this.#listenerFailed('cleanupCallback', err);
      }
    }
    slot.connection.close();
    this.#pump();
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#state = 'closing';
    for (let waiter; (waiter = this.#waiters.take()); ) waiter.reject(this.#closedError());
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#refillTimer);
    this.#idleTimer = this.#refillTimer = undefined;
    const drained = new Promise<void>((resolve) => (this.#drained = resolve));
    this.#pump();
    if (this.#all.size > 0 || this.#creating > 0) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const delay = timerDelay(timeoutMs);
      // Ref'd, like the acquire timer: `await pool.close()` must finish.
      const timedOut = new Promise<void>((resolve) => {
        if (Number.isFinite(delay)) timer = setTimeout(resolve, delay);
      });
      await Promise.race([drained, timedOut]);
      clearTimeout(timer);
      for (const slot of [...this.#all]) this.#retire(slot, 'poolClosed');
    }
    this.#state = 'closed';
  }

  // ---- events -----------------------------------------------------------

  #has(event: keyof PoolEvents): boolean {
    return this.listenerCount(event) > 0;
  }

  #emit<E extends keyof PoolEvents>(event: E, payload: PoolEvents[E][0]): void {
    emitIsolated(this as unknown as EventEmitter, event, payload, (error) => this.#listenerFailed(event, error));
  }

  #listenerFailed(event: string, error: unknown): void {
    if (event !== 'listenerError' && this.#has('listenerError')) {
      this.#emit('listenerError', { event, error });
    } else {
      reportError(error, `a '${event}' listener`);
    }
  }

  #checkOpen(): void {
    if (this.#state !== 'open') throw this.#closedError();
  }

  #closedError(): PoolError {
    return new PoolError('POOL_CLOSED', 'The pool is closed');
  }
}

function info(slot: Slot): ConnectionInfo {
  return { connectionId: slot.id, createdAt: slot.createdAt, uses: slot.uses };
}

/** Validates `config`, opens `min` connections (at least one) and resolves with the pool. */
export async function createPool(config: PoolConfig, driver?: Driver): Promise<AdaptiveConnectionPool> {
  const pool = new AdaptiveConnectionPool(config, driver);
  try {
    await pool.warmUp();
  } catch (error) {
    await pool.close({ timeoutMs: 0 });
    throw error;
  }
  return pool;
}
