import { EventEmitter } from 'eventemitter3';
import type { InArgs, TransactionMode } from '@libsql/client';
import { transactionModeToBegin } from '@libsql/core/util';
import { resolveConfig, type PoolConfig, type ResolvedConfig } from '../config';
import { acquireAborted, acquireTimedOut, poolClosed } from '../errors';
import type { CloseReason, ConnectionCleanupCallback, PoolEvents } from '../events';
import { createDriver } from '../drivers/create-driver';
import type { Driver, DriverStatement, Replicated } from '../drivers/driver';
import { statementCacheFor, type PreparedStatementCache } from '../statement-cache';
import { StatementCacheSubscriber } from '../statement-cache-subscriber';
import { PoolStatsRecorder, type PoolStats } from '../stats';
import { timerDelay } from '../time';
import { refuseRequest, refuseWaiter, type AcquireOptions, type Refusal } from './admission';
import { Closing, type CloseOptions } from './closing';
import { Connector } from './connector';
import { listenForBackpressure } from './driver-backpressure';
import { Opening } from './opening';
import { PoolEmitter } from './emitter';
import { LeakDetector } from './leak-detector';
import { Maintenance, closeAtCheckin } from './maintenance';
import { inTransaction, releasedAfter } from './lease-work';
import { PooledConnection, SESSION_CHANGED, leaseConnection, revokeLease } from './pooled-connection';
import type { BatchStatement, ExecuteStatement, LeaseEnd, ResultFor, ResultIn, RowMode } from './pooled-connection';
import { SyncQueue, syncReplica } from './replica-sync';
import { resetAfterLease, type ResetHooks } from './reset';
import type { ConnectionResource, ResourceOptions } from './resources';
import { SessionKeeper } from './session';
import { poolLimit, targetSize } from './sizing';
import type { BackpressureLimit, PoolCounts } from './sizing';
import { Census, Slot, type SlotOwner } from './slot';
import { WaiterQueue } from './waiters';

/**
 * A pool of libSQL connections that reuses each one, with its prepared
 * statements, until it is retired.
 *
 * All state changes end in `#pump()`, the only place that pairs waiters with
 * idle connections and decides to open new ones. Events are emitted after the
 * state change they report is complete, so a listener may call back into the
 * pool, and a listener that throws changes nothing.
 *
 * The constructor opens no connection: listeners attached before `warmUp()`
 * see every connection's `create`, the first included.
 */
export class AdaptiveConnectionPool<M extends RowMode = 'client'> extends EventEmitter<PoolEvents> {
  readonly config: ResolvedConfig;
  readonly #cache: PreparedStatementCache<DriverStatement> | false;
  readonly #stats = new PoolStatsRecorder();
  readonly #events: PoolEmitter;
  readonly #closing = new Closing();
  readonly #slots = new Census();
  readonly #waiters = new WaiterQueue<PooledConnection<M>>();
  readonly #connector: Connector;
  /** Opens connections, as the scheduler decides, and adds them to the pool. */
  readonly #opening: Opening;
  readonly #maintenance: Maintenance;
  /** The effective maximum: lowered by back-pressure in an adaptive pool, fixed otherwise. */
  readonly #limit: BackpressureLimit;
  /** Stops hearing the driver's backpressure (an adaptive pool's), when closing. */
  readonly #stopListening: (() => void) | undefined;
  readonly #leaks: LeakDetector<PooledConnection<M>> | undefined;
  /** Setup and checkin hooks, and the session state restored at checkin. */
  readonly #sessions: SessionKeeper;
  /** `#pump()` is running; `#pumpAgain`: a state change during it asked for one more pass. */
  #pumping = false;
  #pumpAgain = false;
  readonly #syncs = new SyncQueue();
  /** What every slot's leases call back, and what every checkin's reset asks: one of each per pool. */
  readonly #owner: SlotOwner = {
    checkin: (slot, checkout, how) => this.#checkin(slot, checkout, how),
    resource: (slot, kind) => this.#events.resources.value(kind, slot.info()),
  };
  readonly #reset: ResetHooks<Slot> = {
    returning: (slot) => slot.state === 'returning',
    restore: (slot, after) =>
      this.#sessions.wantsCheckin(after) && !this.#closing.started && slot.connection.brokenBy === undefined
        ? this.#sessions.checkin(slot.id, slot.connection, slot.checkinEvent())
        : undefined,
    done: (slot, after, failure) => this.#afterCheckin(slot, after, failure),
  };

  /**
   * @param driver Opens the physical connections. Defaults to the driver for
   * `config.url`; pass one to wrap it (tests inject faults this way).
   */
  constructor(config: PoolConfig, driver?: Driver) {
    super();
    this.config = resolveConfig(config);
    const c = this.config;
    driver ??= createDriver(c.target, c);
    this.#events = new PoolEmitter(this, c.closeTimeoutMs);
    this.#cache = statementCacheFor<DriverStatement>(c.statementCache);
    if (this.#cache !== false) new StatementCacheSubscriber(this.#cache).attach(this);
    this.#sessions = new SessionKeeper(this.#cache, c.afterConnect, c.afterRelease);
    this.#limit = poolLimit(c, driver.maxConnections);
    this.#stopListening = c.adaptive ? listenForBackpressure(driver, () => this.#onBackpressure()) : undefined;
    this.#connector = Connector.forPool(c, driver, {
      // Part of opening it: a setup that fails is a failed connect (and closed).
      setUp: c.afterConnect === undefined ? undefined : (id, connection) => this.#sessions.setUp(id, connection),
      onRetry: () => this.#pump(),
    });
    this.#maintenance = new Maintenance({
      ...c,
      random: Math.random,
      slots: this.#slots,
      onExpired: () => this.#pump(),
      retire: (slot, reason, error) => this.#retire(slot, reason, error),
      validated: (slot) => {
        if (this.#closing.started) return this.#retire(slot, 'poolClosed');
        this.#maintenance.rest(slot, performance.now());
        this.#pump();
      },
    });
    this.#opening = new Opening({
      config: c,
      connector: this.#connector,
      slots: this.#slots,
      maintenance: this.#maintenance,
      events: this.#events,
      stats: this.#stats,
      cache: this.#cache,
      owner: this.#owner,
      closing: this.#closing,
      waiters: this.#waiters,
      counts: () => this.#counts(),
      retire: (slot, reason) => this.#retire(slot, reason),
      pump: () => this.#pump(),
    });
    this.#leaks = LeakDetector.over(c.leakDetectionMs, (token, report) =>
      this.#events.emit('leak', { ...(token as Slot).info(), ...report }),
    );
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
    if (this.#closing.started) throw poolClosed();
    const wanted = Math.min(Math.max(this.config.min, 1), this.config.max);
    const opening: Promise<void>[] = [];
    for (let n = this.#slots.size + this.#connector.creating; n < wanted; n++) opening.push(this.#opening.open('warmUp'));
    const results = await Promise.allSettled(opening);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /**
   * Borrows a connection: an idle one at once, else a new one if below `max`,
   * else the first to come back. Waiters are served in arrival order.
   */
  acquire(options?: AcquireOptions): Promise<PooledConnection<M>> {
    const signal = options?.signal;
    const requested = options?.timeoutMs ?? this.config.acquireTimeoutMs;
    // Without options only a closed pool refuses: the configured timeout was checked with the config.
    if (options !== undefined || this.#closing.started) {
      const refused = refuseRequest({ closed: this.#closing.started, signal, timeoutMs: requested });
      if (refused !== undefined) return Promise.reject(this.#turnAway(refused.counts, () => refused.error));
    }
    const timeoutMs = timerDelay(requested);
    const enqueuedAt = performance.now();
    const lent = this.#leaseNow(enqueuedAt);
    if (lent !== undefined) return Promise.resolve(lent);
    // Spelled out rather than spread from `#counts()`: V8 copies a spread and then adds fields on a slow path.
    const { size, validating } = this.#slots;
    const { maxWaiters, url } = this.config;
    const breakerOpen = this.#connector.refusing(enqueuedAt);
    const lastError = this.#connector.lastError;
    const turnedAway = refuseWaiter({ size, validating, waiting: this.#waiters.size, cap: this.#cap(), breakerOpen, maxWaiters, url, lastError });
    if (turnedAway !== undefined) return Promise.reject(this.#turnAway(turnedAway.counts, () => turnedAway.error));
    const waiting = this.#waiters.wait({
      enqueuedAt,
      timeoutMs,
      signal,
      timedOut: () => this.#turnAway('timeouts', () => acquireTimedOut(timeoutMs, this.stats(), this.#connector.lastError)),
      aborted: (s) => this.#turnAway('aborted', () => acquireAborted(s)),
    });
    this.#pump();
    return waiting;
  }

  /** Runs `fn` with a connection and always gives it back. */
  async use<T>(fn: (connection: PooledConnection<M>) => Promise<T> | T): Promise<T> {
    const lease = await this.acquire();
    try {
      return await fn(lease);
    } finally {
      lease.release();
    }
  }

  /** `client.execute` on a pooled connection. */
  execute<S extends ExecuteStatement>(stmtOrSql: S, args?: InArgs): Promise<ResultFor<S, M>> {
    const lease = this.#leaseNow();
    if (lease === undefined) return this.use((later) => later.execute(stmtOrSql, args));
    return releasedAfter(lease, lease.execute(stmtOrSql, args));
  }

  /** `client.batch` on a pooled connection: all statements or none. */
  batch(stmts: BatchStatement[], mode: TransactionMode = 'deferred'): Promise<Array<ResultIn<M>>> {
    const lease = this.#leaseNow();
    if (lease === undefined) return this.use((later) => later.batch(stmts, mode));
    return releasedAfter(lease, lease.batch(stmts, mode));
  }

  /**
   * Runs `fn` inside `BEGIN <mode>` on one connection: commits when it
   * resolves, rolls back when it throws, and releases the connection either way.
   */
  async transaction<T>(fn: (tx: PooledConnection<M>) => Promise<T> | T, mode: TransactionMode = 'write'): Promise<T> {
    const begin = transactionModeToBegin(mode);
    return this.use((lease) => inTransaction(lease, fn, begin));
  }

  /**
   * Pulls changes from the primary into an embedded replica (`syncUrl`), as
   * `client.sync()`. Calls are serialised pool-wide: a second waits for the
   * first, then syncs again.
   */
  sync(): Promise<Replicated> {
    return this.#syncs.run(() => this.use((lease) => syncReplica(lease[leaseConnection]())));
  }

  /** Defines a kind of per-connection value, read with `lease.resource(kind)` and disposed of as its connection closes. */
  defineResource<T>(options: ResourceOptions<T>): ConnectionResource<T> {
    return this.#events.resources.define(options, this.#slots.slots().map((slot) => slot.info()));
  }

  /** Forgets a kind: no more values are made; those made are dropped, not disposed of. */
  removeResource<T>(kind: ConnectionResource<T>): boolean {
    return this.#events.resources.remove(kind);
  }

  /**
   * Sets the one callback run with the id of each connection that closes,
   * after the `close` listeners (a simpler hook than a listener, for code
   * that keeps per-connection state). `removeCleanupCallback()` unsets it.
   */
  setCleanupCallback(callback: ConnectionCleanupCallback): void {
    this.#events.setCleanupCallback(callback);
  }

  /** Stops calling the cleanup callback. */
  removeCleanupCallback(): void {
    this.#events.removeCleanupCallback();
  }

  stats(): PoolStats {
    const counts = this.#counts();
    const { size, waiting, creating: pending, min, cap: effectiveMax } = counts;
    const { idle } = this.#slots;
    const statementCache = this.#cache === false ? undefined : this.#cache.stats();
    // Active: everything open and not idle (opening, leased, returning, validating).
    const current = { size, idle, active: size - idle, waiting, pending, min, max: this.config.max, effectiveMax };
    return this.#stats.snapshot({ ...current, target: targetSize(counts), statementCache });
  }

  /**
   * Stops admitting callers, rejects waiters with `POOL_CLOSED`, waits up to
   * `timeoutMs` for leases to come back, then closes what is left and waits for
   * the promises their disposers, `close` listeners and cleanup callback returned
   * (each for `closeTimeoutMs` at most). Calling it again returns the same promise.
   */
  close(options: CloseOptions = {}): Promise<void> {
    return this.#closing.close(options.timeoutMs ?? this.config.closeTimeoutMs, {
      settle: () => this.#events.cleanups.settled(this.config.closeTimeoutMs),
      stop: () => {
        this.#connector.stop(poolClosed());
        this.#waiters.rejectAll(poolClosed);
        this.#maintenance.stop();
        this.#stopListening?.();
      },
      pump: () => this.#pump(),
      busy: () => this.#slots.size > 0 || this.#connector.creating > 0,
      closeAll: () => this.#slots.slots().forEach((slot) => this.#retire(slot, 'poolClosed')),
    });
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
    for (let now = 0, slot; this.#waiters.size > 0; ) {
      if (now === 0) now = performance.now();
      if ((slot = this.#maintenance.takeIdle(now)) === undefined) break;
      const waiter = this.#waiters.take()!;
      waiter.resolve(this.#checkout(slot, waiter.enqueuedAt, now));
    }
    const creating = this.#connector.creating;
    if (this.#closing.started) {
      for (const slot of this.#slots.idleSlots()) this.#retire(slot, 'poolClosed');
      if (this.#slots.size === 0 && creating === 0) this.#closing.drained();
      return;
    }
    if (this.#limit.lowered) {
      // Recovery is read from elapsed time here, when the pool next does anything: no timer for it.
      const change = this.#limit.refresh(performance.now());
      if (change !== undefined) this.#events.emit('maxChanged', change);
    }
    // The common case, a lease back with nobody waiting and the pool at its
    // size: nothing to open, and no clock read.
    const open = this.#slots.size + creating;
    if (this.#waiters.size === 0 && this.#maintenance.expired.size === 0 && open >= this.config.min) return;
    const now = performance.now();
    // After a failed connect, wait out the backoff rather than spin; the retry
    // timer pumps when it is over.
    if (!this.#connector.mayConnect(now)) return this.#connector.armRetry();
    this.#opening.startConnects(now);
  }

  /** What the sizing rules read of the pool now. */
  #counts(): PoolCounts {
    const { size, leased, validating } = this.#slots;
    const { creating, connecting } = this.#connector;
    return { size, leased, validating, creating, connecting, waiting: this.#waiters.size, min: this.config.min, cap: this.#cap() };
  }

  /** The effective maximum now. The clock is read only while it is lowered. */
  #cap(): number {
    const limit = this.#limit;
    return limit.lowered ? limit.at(performance.now()) : limit.max;
  }

  /** Counts a turned-away caller towards its stats total, if any, before its error is made: a timeout's stats include it. */
  #turnAway(total: Refusal['counts'] | 'timeouts', error: () => unknown): unknown {
    if (total !== undefined) this.#stats.totals[total]++;
    return error();
  }

  /** The database pushed back: halve the effective maximum, once per episode. */
  #onBackpressure(): void {
    for (const change of this.#limit.signal(performance.now())) this.#events.emit('maxChanged', change);
    // Idle connections above the lowered maximum go now; leased ones at checkin.
    for (let slot; this.#slots.size > this.#counts().cap && (slot = this.#slots.firstIdle()); ) {
      this.#retire(slot, 'shrink');
    }
    this.#pump();
  }

  // ---- the lease --------------------------------------------------------

  /**
   * A lease now, without waiting, if a connection is idle and nobody is ahead;
   * else `undefined`. Served at once, it waited nothing: one clock read (`now`).
   */
  #leaseNow(now = performance.now()): PooledConnection<M> | undefined {
    if (this.#waiters.size > 0 || this.#closing.started) return undefined;
    const slot = this.#maintenance.takeIdle(now);
    return slot === undefined ? undefined : this.#checkout(slot, now, now);
  }

  #checkout(slot: Slot, enqueuedAt: number, now: number): PooledConnection<M> {
    const lease = new PooledConnection<M>(slot.id, slot.connection, this.#cache, this.#sessions, this.config.rowMode, slot);
    // Held weakly when leaks are watched, so a lease dropped without release can be collected and reported.
    const checkout = slot.lend(lease, this.#leaks !== undefined, now);
    // Collected unreleased: whether it changed the session is unknown, so check.
    if (this.#leaks !== undefined) slot.leakHandle = this.#leaks.watch(lease, slot, () => this.#checkin(slot, checkout, SESSION_CHANGED));
    const waitedMs = now - enqueuedAt;
    this.#stats.recordCheckout(waitedMs);
    if (this.#events.has('checkout')) this.#events.emit('checkout', slot.checkoutEvent(waitedMs));
    return lease;
  }

  #checkin(slot: Slot, checkout: number, how: LeaseEnd): void {
    if (!slot.takeBack(checkout, performance.now())) return;
    if (slot.leakHandle !== undefined) {
      this.#leaks!.end(slot.leakHandle, slot);
      slot.leakHandle = undefined;
    }
    resetAfterLease(slot, slot.connection, how, this.#reset);
  }

  /** The lease is back: counted, announced, then the connection goes idle or is retired. */
  #afterCheckin(slot: Slot, how: LeaseEnd, failure?: CloseReason): void {
    if (slot.state === 'closed') return; // force-closed by pool.close() while returning
    this.#endLease(slot);
    const closing = this.#closing.started;
    const close = closeAtCheckin(slot, { how, failure, closing, maxUses: this.config.maxUses, size: this.#slots.size, cap: this.#cap() });
    // It came back at leasedAt + heldMs: no need to read the clock again.
    if (close === undefined) this.#maintenance.rest(slot, slot.leasedAt + slot.heldMs);
    else this.#retire(slot, close.reason, close.error);
    this.#pump();
  }

  /** Reports the end of the slot's current checkout, once: its `checkin`. */
  #endLease(slot: Slot): void {
    if (!slot.endLease()) return;
    this.#stats.totals.released++;
    if (this.#events.has('checkin')) this.#events.emit('checkin', slot.checkinEvent());
  }

  // ---- connection lifecycle (opening is in opening.ts) ------------------

  /**
   * Retires a connection in drop order: (1) free its slot, (2) count it, (3)
   * dispose of its resources (its statements among them), then tell the
   * `close` listeners and the cleanup callback, (4) close the native
   * connection. Nothing waits for the promises step (3) returned but `close()`.
   */
  #retire(slot: Slot, reason: CloseReason, error?: unknown): void {
    const holder = slot.holder;
    const was = slot.close();
    if (was === undefined) return;
    this.#maintenance.forget(slot);
    const size = this.#slots.size;
    if (was === 'leased') {
      // Closed under its holder (pool.close() timed out): the lease still ends
      // here, so every checkout has its checkin.
      if (slot.leakHandle !== undefined) this.#leaks!.end(slot.leakHandle, slot);
      holder?.[revokeLease]();
      slot.heldMs = performance.now() - slot.leasedAt;
    }
    // Back from a lease but not yet announced (closed while resetting): it ends here too.
    if (was === 'leased' || was === 'returning') this.#endLease(slot);
    this.#stats.recordClose(reason);
    const info = slot.info();
    this.#events.closed(error === undefined ? { ...info, reason } : { ...info, reason, error }, { from: size + 1, to: size, reason });
    slot.connection.close();
    this.#pump();
  }
}
