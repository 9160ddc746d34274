import { EventEmitter } from 'eventemitter3';
import pLimit from 'p-limit';
import type { InArgs, InStatement, ResultSet, TransactionMode } from '@libsql/client';
import { transactionModeToBegin } from '@libsql/core/util';
import { LibsqlError } from '@libsql/core/api';
import { resolveConfig, timerDelay, type PoolConfig, type ResolvedConfig } from '../config';
import { PoolError, reportError } from '../errors';
import {
  emitIsolated,
  isolateRejection,
  type CloseReason,
  type ConnectionCleanupCallback,
  type PoolEvents,
} from '../events';
import { createDriver } from '../drivers/create-driver';
import { connectWithin } from '../drivers/connect-deadline';
import { poolEventChannels } from '../diagnostics';
import type { Driver, DriverConnection, DriverStatement, Replicated } from '../drivers/driver';
import { PooledConnection, SESSION_CHANGED, leaseConnection, revokeLease } from './pooled-connection';
import type { BatchStatement, LeaseEnd } from './pooled-connection';
import { SessionKeeper } from './session';
import { sessionChange } from '../session-change';
import type { PreparedStatementCache } from '../statement-cache';
import { PoolStatsRecorder, type PoolStats } from '../stats';
import { WaiterQueue, type Waiter } from './waiters';
import { info, newConnectionId, type Slot } from './slot';
import { BackpressureLimit, connectStillWanted, reapIdle, type ConnectPurpose } from './sizing';
import { ConnectBackoff } from './connect-backoff';
import { LeakDetector, type LeakReport } from './leak-detector';

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
  /** Connects in flight at most: enough for a burst, not a storm on the server. */
  readonly #connectLimit = pLimit(8);
  readonly #stats = new PoolStatsRecorder();
  #state: 'open' | 'closing' | 'closed' = 'open';
  readonly #all = new Set<Slot>();
  /** A stack: the most recently returned connection is reused first, so cold ones age out. */
  readonly #idle: Slot[] = [];
  readonly #waiters = new WaiterQueue<PooledConnection>();
  /** Connects queued or in flight (`#connecting`: in flight, past the connect limit). */
  #creating = 0;
  #connecting = 0;
  #pumping = false;
  #pumpAgain = false;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** Leases out now. */
  #leased = 0;
  /** Idle connections being pinged before they are lent. */
  #validating = 0;
  /** Connections past their lifetime, waiting for a replacement or to come back. */
  readonly #expiring = new Set<Slot>();
  /** The effective maximum under back-pressure (`adaptive`); `undefined` for a fixed pool. */
  readonly #pressure: BackpressureLimit | undefined;
  readonly #backoff: ConnectBackoff;
  readonly #leaks: LeakDetector<PooledConnection> | undefined;
  /** Setup and checkin hooks, and the session state restored at checkin. */
  readonly #sessions: SessionKeeper;
  #cleanupCallback: ConnectionCleanupCallback | undefined;
  #closing: Promise<void> | undefined;
  #syncing: Promise<unknown> = Promise.resolve();
  #drained: (() => void) | undefined;
  /** Aborted by close(): cancels connects in flight. */
  readonly #cancelConnects = new AbortController();

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
    this.#sessions = new SessionKeeper(this.#cache, c.afterConnect, c.afterRelease);
    if (c.adaptive) {
      this.#pressure = new BackpressureLimit({
        max: Math.min(c.max, this.#driver.maxConnections),
        floor: Math.max(c.min, 1),
        // No new time constant: an episode is one busy timeout (the time a
        // writer waits for a lock), capped by the idle timeout; a busy timeout
        // of 0 leaves the idle timeout.
        intervalMs: Math.min(c.idleTimeoutMs, c.busyTimeoutMs || c.idleTimeoutMs),
      });
      this.#driver.onBackpressure = () => this.#onBackpressure();
    }
    this.#backoff = new ConnectBackoff({
      baseMs: c.connectRetryMs,
      maxMs: c.connectRetryMaxMs,
      threshold: c.breakerThreshold,
      random: Math.random,
    });
    if (Number.isFinite(c.leakDetectionMs)) {
      this.#leaks = new LeakDetector(c.leakDetectionMs, () => performance.now(), (token, report) =>
        this.#onLeak(token as Slot, report),
      );
    }
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
    for (let n = this.#all.size + this.#creating; n < wanted; n++) opening.push(this.#create('warmUp'));
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
      // Served at once: no wait to measure, so no second clock read.
      if (slot !== undefined) return Promise.resolve(this.#checkout(slot, enqueuedAt, enqueuedAt));
    }
    // With the breaker open and no connection that could come back, waiting
    // can only end in a timeout: fail now, with the cause.
    if (this.#backoff.state === 'open' && this.#all.size === 0 && enqueuedAt < this.#backoff.retryAt) {
      return Promise.reject(this.#connectFailed(this.#backoff.lastError));
    }
    // maxWaiters bounds callers waiting for a connection to come back; one the
    // pool can still open a connection for is not waiting behind anybody.
    const openable = Math.max(0, this.#cap() - this.#all.size) + this.#validating;
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
    return this.#stats.snapshot({
      size: this.#all.size,
      idle: this.#idle.length,
      // Everything open and not idle: leased, resetting, validating, or being retired.
      active: this.#all.size - this.#idle.length,
      waiting: this.#waiters.size,
      pending: this.#creating,
      min: this.config.min,
      max: this.config.max,
      // What the rule wants open now: a connection per lease and waiter, at least `min`.
      target: Math.min(this.#cap(), Math.max(this.config.min, this.#leased + this.#waiters.size)),
      effectiveMax: this.#cap(),
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
      waiter.resolve(this.#checkout(slot, waiter.enqueuedAt, performance.now()));
    }
    if (this.#state !== 'open') {
      for (const slot of this.#idle.slice()) this.#retire(slot, 'poolClosed');
      if (this.#all.size === 0 && this.#creating === 0) this.#drained?.();
      return;
    }
    const pressure = this.#pressure;
    if (pressure?.lowered === true) {
      // Recovery is read from elapsed time here, when the pool next does anything: no timer for it.
      const change = pressure.refresh(performance.now());
      if (change !== undefined) this.#emit('maxChanged', change);
    }
    // The common case, a lease back with nobody waiting and the pool at its
    // size: nothing to open, and no clock read.
    const open = this.#all.size + this.#creating;
    if (this.#waiters.size === 0 && this.#expiring.size === 0 && open >= this.config.min) return;
    const now = performance.now();
    // After a failed connect, wait out the backoff rather than spin; the retry
    // timer pumps when it is over.
    if (!this.#backoff.mayConnect(now, this.#creating)) return this.#armRetry();
    this.#replaceExpired();
    const cap = this.#cap();
    let opening = this.#all.size + this.#creating;
    // One connect per waiter that none on its way covers. Each is checked
    // again when it gets its turn under the connect limit (#create).
    for (let n = this.#waiters.size - this.#creating; n > 0 && opening < cap; n--, opening++) {
      if (!this.#backoff.mayConnect(now, this.#creating)) break;
      this.#create('waiter').catch(() => undefined);
    }
    for (const want = Math.min(cap, this.config.min); opening < want; opening++) {
      if (!this.#backoff.mayConnect(now, this.#creating)) break;
      this.#create('min').catch(() => undefined);
    }
  }

  /** The most connections this pool may have open: `max`, lowered by back-pressure. */
  #cap(): number {
    const pressure = this.#pressure;
    const lowered = pressure?.lowered === true ? pressure.at(performance.now()) : Infinity;
    return Math.min(this.config.max, this.#driver.maxConnections, lowered);
  }

  /** Starts replacements for expired connections the pool still needs; retires the others. */
  #replaceExpired(): void {
    for (const slot of this.#expiring) {
      if (slot.state === 'closed') {
        this.#expiring.delete(slot);
        continue;
      }
      if (slot.replacing || slot.retireAtCheckin) continue;
      const needed = Math.max(this.config.min, this.#leased + this.#waiters.size);
      if (this.#all.size - this.#expiring.size < needed && this.#all.size + this.#creating < this.#cap()) {
        // Make before break: the old connection keeps serving until this is open.
        slot.replacing = true;
        this.#create('replace', slot).catch(() => undefined);
      } else if (slot.state === 'idle') {
        // Not needed, or the pool is at max (a hard limit: never exceeded, even
        // for a moment): break before make; the scheduler reopens if needed.
        this.#retire(slot, 'lifetime');
      } else {
        slot.retireAtCheckin = true;
      }
    }
  }

  #armRetry(): void {
    if (this.#retryTimer !== undefined || this.#state !== 'open') return;
    const delay = Math.max(1, this.#backoff.retryAt - performance.now());
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#pump();
    }, delay);
    this.#retryTimer.unref?.();
  }

  /** The database pushed back: halve the effective maximum, once per episode. */
  #onBackpressure(): void {
    for (const change of this.#pressure!.signal(performance.now())) this.#emit('maxChanged', change);
    // Idle connections above the lowered maximum go now; leased ones at checkin.
    while (this.#all.size > this.#cap() && this.#idle.length > 0) this.#retire(this.#idle[0]!, 'shrink');
    this.#pump();
  }

  #connectFailed(error: unknown): PoolError {
    return new PoolError('CONNECT_FAILED', `Could not open ${this.config.url}: ${(error as Error)?.message}`, {
      cause: error,
    });
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
        { cause: this.#backoff.lastError, stats: s },
      ),
    );
  }

  // ---- connection lifecycle ---------------------------------------------

  /**
   * Opens a connection for `purpose`; `replacing` is the expired one it stands
   * in for. A connect that waited for its turn under the connect limit starts
   * only if it is still wanted then (a release may have served its caller).
   */
  async #create(purpose: ConnectPurpose, replacing?: Slot): Promise<void> {
    this.#creating++;
    let started = false;
    const done = () => {
      this.#creating--;
      if (started) this.#connecting--;
    };
    let connection: DriverConnection | undefined;
    let id = 0;
    try {
      connection = await this.#connectLimit(() => {
        if (!this.#stillWanted(purpose)) return undefined;
        started = true;
        this.#connecting++;
        return connectWithin(this.#driver, {
          timeoutMs: this.config.connectTimeoutMs,
          target: this.config.serverUrl ?? this.config.url,
          signal: this.#cancelConnects.signal,
        });
      });
      if (connection !== undefined) {
        id = newConnectionId();
        if (this.config.afterConnect !== undefined) {
          // Part of opening it: a setup that fails is a failed connect (and closed).
          const opened = connection;
          await this.#sessions.setUp(id, opened);
          opened.onNewSession = () => this.#sessions.setUp(id, opened);
        }
      }
    } catch (error) {
      done();
      if (replacing !== undefined) replacing.replacing = false;
      this.#onCreateFailed(error);
      throw this.#connectFailed(error);
    }
    done();
    if (connection === undefined) {
      // Not started: nobody needs it any more.
      if (replacing !== undefined) replacing.replacing = false;
      this.#pump();
      return;
    }
    const now = performance.now();
    this.#backoff.success();
    const slot: Slot = {
      id,
      connection,
      createdAt: Date.now(),
      uses: 0,
      state: 'idle',
      lease: null,
      leaseSeq: 0,
      leakHandle: undefined,
      leasedAt: now,
      heldMs: 0,
      idleSince: now,
      expired: false,
      replacing: false,
      retireAtCheckin: false,
      lifetimeTimer: undefined,
    };
    this.#all.add(slot);
    const size = this.#all.size;
    this.#stats.totals.created++;
    this.#warm(slot);
    this.#armLifetime(slot);
    // Idle before `create` is emitted, so a listener sees it counted as idle
    // and can be served by it.
    if (this.#state === 'open') this.#makeIdle(slot);
    this.#emit('create', info(slot));
    if (this.#has('resize')) this.#emit('resize', { from: size - 1, to: size, reason: 'open' });
    if (this.#state !== 'open') this.#retire(slot, 'poolClosed');
    if (replacing !== undefined) {
      // The replacement is open and warm: the old connection may go.
      replacing.replacing = false;
      this.#expiring.delete(replacing);
      if (replacing.state === 'idle') this.#retire(replacing, 'lifetime');
      else replacing.retireAtCheckin = true;
    }
    this.#pump();
  }

  #stillWanted(purpose: ConnectPurpose): boolean {
    if (this.#state !== 'open') return false;
    return connectStillWanted({
      purpose,
      waiting: this.#waiters.size,
      connecting: this.#connecting,
      size: this.#all.size,
      min: this.config.min,
      cap: this.#cap(),
    });
  }

  /** Prepares the pool's most used statements on a new connection, so it starts warm. */
  #warm(slot: Slot): void {
    const cache = this.#cache;
    if (cache === false || this.config.warmStatements === 0) return;
    for (const sql of cache.hotStatements(this.config.warmStatements)) {
      // One that changes the session must stay uncached (see PooledConnection).
      if (sessionChange(sql) !== undefined) continue;
      try {
        cache.getOrPrepare(slot.id, sql, () => slot.connection.prepare(sql));
      } catch {
        // It may no longer prepare (a dropped table); the first real use will say why.
      }
    }
  }

  /** Retires the connection after its lifetime, shortened at birth by a random part of the jitter. */
  #armLifetime(slot: Slot): void {
    const { maxLifetimeMs, lifetimeJitter } = this.config;
    if (!Number.isFinite(maxLifetimeMs)) return;
    const lifetime = maxLifetimeMs * (1 - lifetimeJitter * Math.random());
    slot.lifetimeTimer = setTimeout(() => {
      slot.lifetimeTimer = undefined;
      if (slot.state === 'closed') return;
      slot.expired = true;
      this.#expiring.add(slot);
      this.#pump();
    }, lifetime);
    slot.lifetimeTimer.unref?.();
  }

  #onCreateFailed(error: unknown): void {
    this.#stats.totals.createErrors++;
    const retryInMs = this.#backoff.failure(performance.now(), error);
    this.#emit('connectError', {
      error,
      failures: this.#backoff.failures,
      retryInMs,
      breaker: this.#backoff.state,
    });
    this.#armRetry();
    // With nothing open and nothing opening, no waiter can be served: fail them
    // now with the cause rather than let each one time out.
    if (this.#all.size === 0 && this.#creating === 0) {
      for (let waiter; (waiter = this.#waiters.take()); ) waiter.reject(this.#connectFailed(error));
    }
    this.#pump();
  }

  /**
   * The most recently returned idle connection that is still usable. One that
   * died while idle (a remote socket closed, say) is retired on the way, so no
   * caller is handed a dead connection.
   */
  #takeIdle(): Slot | undefined {
    const validateAfter = this.config.validateAfterIdleMs;
    const now = Number.isFinite(validateAfter) ? performance.now() : 0;
    for (;;) {
      const slot = this.#idle.pop();
      if (slot === undefined) return undefined;
      if (slot.connection.brokenBy !== undefined) {
        this.#retire(slot, 'error', slot.connection.brokenBy);
      } else if (now - slot.idleSince > validateAfter && slot.connection.ping !== undefined) {
        this.#validate(slot);
      } else {
        return slot;
      }
    }
  }

  /**
   * Pings a connection that sat idle long, with its own timeout, before it is
   * lent again. The caller that would have had it is served by another, or
   * waits in line; a connection that fails is closed (`unhealthy`).
   */
  #validate(slot: Slot): void {
    slot.state = 'validating';
    this.#validating++;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeoutMs = this.config.validateTimeoutMs;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new PoolError('CONNECTION_LOST', `Ping did not answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref?.();
    });
    Promise.race([slot.connection.ping!(), timedOut]).then(
      () => {
        clearTimeout(timer);
        this.#validating--;
        if (slot.state !== 'validating') return;
        if (this.#state !== 'open') return this.#retire(slot, 'poolClosed');
        slot.state = 'idle';
        this.#makeIdle(slot);
        this.#pump();
      },
      (error: unknown) => {
        clearTimeout(timer);
        this.#validating--;
        if (slot.state === 'validating') this.#retire(slot, 'unhealthy', error);
      },
    );
  }

  #checkout(slot: Slot, enqueuedAt: number, now: number): PooledConnection {
    slot.state = 'active';
    slot.uses++;
    slot.leasedAt = now;
    this.#leased++;
    const seq = ++slot.leaseSeq;
    const end = (how: LeaseEnd) => this.#checkin(slot, seq, how);
    const lease = new PooledConnection(slot.id, slot.connection, this.#cache, end, this.#sessions);
    if (this.#leaks === undefined) {
      slot.lease = lease;
    } else {
      // Held weakly, so a lease dropped without release can be collected and reported.
      slot.lease = new WeakRef(lease);
      // Collected unreleased: whether it changed the session is unknown, so check.
      slot.leakHandle = this.#leaks.watch(lease, slot, () => this.#checkin(slot, seq, SESSION_CHANGED));
    }
    const waitedMs = now - enqueuedAt;
    this.#stats.recordCheckout(waitedMs);
    if (this.#has('checkout')) this.#emit('checkout', { ...info(slot), waitedMs });
    return lease;
  }

  #checkin(slot: Slot, seq: number, how: LeaseEnd): void {
    if (slot.leaseSeq !== seq || slot.state !== 'active') return;
    slot.lease = null;
    const now = performance.now();
    slot.heldMs = now - slot.leasedAt;
    this.#leased--;
    if (slot.leakHandle !== undefined) {
      this.#leaks!.end(slot.leakHandle, slot);
      slot.leakHandle = undefined;
    }
    const pending = how.destroy ? undefined : slot.connection.pending?.();
    if (pending !== undefined) {
      // Statements of this lease still run (not awaited): they finish on this
      // connection, outside anyone else's lease, before it is reset and lent.
      slot.state = 'resetting';
      void pending.then(() => {
        if (slot.state === 'resetting') this.#reset(slot, how);
      });
      return;
    }
    this.#reset(slot, how);
  }

  /** Rolls back what the lease left open, then ends the lease. */
  #reset(slot: Slot, how: LeaseEnd): void {
    if (!how.destroy && slot.connection.brokenBy === undefined && slot.connection.inTransaction()) {
      // A connection must never reach the next caller inside this one's
      // transaction. The lease counts as returned once the rollback is done.
      slot.state = 'resetting';
      slot.connection.rollback().then(
        () => this.#restore(slot, how),
        (error) => this.#afterCheckin(slot, { destroy: true, error }, 'error'),
      );
      return;
    }
    this.#restore(slot, how);
  }

  /**
   * Runs `afterRelease` and restores the session state the lease changed; a
   * connection that fails either is closed, never lent. A lease that changed
   * nothing, with no hook, costs nothing here.
   */
  #restore(slot: Slot, how: LeaseEnd): void {
    const checking =
      !how.destroy &&
      (how.changed === true || this.config.afterRelease !== undefined) &&
      this.#state === 'open' &&
      slot.connection.brokenBy === undefined
        ? this.#sessions.checkin(slot.id, slot.connection, { ...info(slot), heldMs: slot.heldMs })
        : undefined;
    if (checking === undefined) return this.#afterCheckin(slot, how);
    slot.state = 'resetting';
    void checking.then((verdict) =>
      verdict === undefined
        ? this.#afterCheckin(slot, how)
        : this.#afterCheckin(slot, { destroy: true, error: verdict.error }, verdict.reason),
    );
  }

  /** The lease is back: counted, announced, then the connection goes idle or is retired. */
  #afterCheckin(slot: Slot, how: LeaseEnd, failure?: CloseReason): void {
    if (slot.state === 'closed') return; // force-closed by pool.close() while resetting
    // The lease ends here; until the branch below decides, the connection is
    // between owners (no longer `resetting`, so retiring it cannot end the lease twice).
    slot.state = 'active';
    this.#endLease(slot);
    if (how.destroy) {
      this.#retire(slot, failure ?? 'destroyed', how.error);
    } else if (this.#state !== 'open') {
      this.#retire(slot, 'poolClosed');
    } else if (slot.connection.brokenBy !== undefined) {
      this.#retire(slot, 'error', slot.connection.brokenBy);
    } else if (slot.uses >= this.config.maxUses) {
      this.#retire(slot, 'maxUses');
    } else if (slot.retireAtCheckin) {
      this.#retire(slot, 'lifetime');
    } else if (this.#all.size > this.#cap()) {
      this.#retire(slot, 'shrink');
    } else {
      slot.state = 'idle';
      // It came back at leasedAt + heldMs: no need to read the clock again.
      this.#makeIdle(slot, slot.leasedAt + slot.heldMs);
    }
    this.#pump();
  }

  #endLease(slot: Slot): void {
    this.#stats.totals.released++;
    if (this.#has('checkin')) this.#emit('checkin', { ...info(slot), heldMs: slot.heldMs });
  }

  #makeIdle(slot: Slot, now = performance.now()): void {
    slot.idleSince = now;
    this.#idle.push(slot);
    this.#armIdleTimer();
  }

  /**
   * One timer for all idle connections, armed for the expiry of the one idle
   * longest, and only when it could close (the pool is above `min`). Protected
   * by `min`, nothing is armed: the pool looks again when a connection goes
   * idle or opens.
   */
  #armIdleTimer(): void {
    const oldest = this.#idle[0];
    const timeout = this.config.idleTimeoutMs;
    if (this.#idleTimer !== undefined || oldest === undefined || this.#state !== 'open') return;
    if (!Number.isFinite(timeout) || this.#all.size <= this.config.min) return;
    const delay = Math.max(1, oldest.idleSince + timeout - performance.now());
    this.#idleTimer = setTimeout(() => this.#reapIdle(), delay);
    this.#idleTimer.unref?.();
  }

  #reapIdle(): void {
    this.#idleTimer = undefined;
    const idleSince = this.#idle.map((slot) => slot.idleSince);
    const { close } = reapIdle(idleSince, this.#all.size, this.config.min, this.config.idleTimeoutMs, performance.now());
    // The bottom of the stack has been idle longest.
    for (const slot of this.#idle.slice(0, close)) this.#retire(slot, 'idle');
    this.#armIdleTimer();
  }

  /**
   * Retires a connection in the seed's drop order: (1) free its slot, (2)
   * count it, (3) evict its statements and tell listeners and the cleanup
   * callback, (4) close the native connection. The pool's own cache is
   * cleared here, not by a listener, so `removeAllListeners()` cannot break it.
   */
  #retire(slot: Slot, reason: CloseReason, error?: unknown): void {
    if (slot.state === 'closed') return;
    const revoked = slot.lease instanceof WeakRef ? (slot.lease.deref() ?? null) : slot.lease;
    // Still lent out: closed under its holder (a lease that ended is already unset).
    const wasLeased = slot.state === 'active' && slot.lease !== null;
    const resetting = slot.state === 'resetting';
    slot.state = 'closed';
    slot.lease = null;
    clearTimeout(slot.lifetimeTimer);
    this.#expiring.delete(slot);
    if (wasLeased) {
      this.#leased--;
      if (slot.leakHandle !== undefined) this.#leaks!.end(slot.leakHandle, slot);
    }
    this.#all.delete(slot);
    const size = this.#all.size;
    const at = this.#idle.indexOf(slot);
    if (at !== -1) this.#idle.splice(at, 1);
    if (wasLeased || resetting) {
      // Closed under its holder (pool.close() timed out), or while rolling back
      // after its lease: the lease still ends here, so every checkout has its checkin.
      revoked?.[revokeLease]();
      if (wasLeased) slot.heldMs = performance.now() - slot.leasedAt;
      this.#endLease(slot);
    }
    this.#stats.recordClose(reason);
    if (this.#cache !== false) this.#cache.clearConnection(slot.id);
    this.#emit('close', error === undefined ? { ...info(slot), reason } : { ...info(slot), reason, error });
    if (this.#has('resize')) this.#emit('resize', { from: size + 1, to: size, reason });
    const callback = this.#cleanupCallback;
    if (callback !== undefined) {
      try {
        isolateRejection(callback(slot.id), (err) => this.#listenerFailed('cleanupCallback', err));
      } catch (err) {
        this.#listenerFailed('cleanupCallback', err);
      }
    }
    slot.connection.close();
    this.#pump();
  }

  async #close(timeoutMs: number): Promise<void> {
    this.#state = 'closing';
    // Connects in flight stop and close what they half opened: none is left
    // holding a socket to a server that never answers.
    this.#cancelConnects.abort(this.#closedError());
    for (let waiter; (waiter = this.#waiters.take()); ) waiter.reject(this.#closedError());
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#retryTimer);
    this.#idleTimer = this.#retryTimer = undefined;
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
    return this.listenerCount(event) > 0 || poolEventChannels[event]?.hasSubscribers === true;
  }

  #onLeak(slot: Slot, report: LeakReport): void {
    this.#emit('leak', { ...info(slot), ...report });
  }

  #emit<E extends keyof PoolEvents>(event: E, payload: PoolEvents[E][0]): void {
    emitIsolated(this as unknown as EventEmitter, event, payload, (error) => this.#listenerFailed(event, error));
    const channel = poolEventChannels[event];
    if (channel?.hasSubscribers) channel.publish(payload);
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
