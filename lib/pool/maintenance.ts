import { PoolError } from '../errors';
import type { CloseReason } from '../events';
import type { DriverConnection } from '../drivers/driver';
import { raceTimeout, unrefTimeout, type Timer } from '../time';
import type { LeaseEnd } from './pooled-connection';
import { needed, reapIdle, type PoolCounts } from './sizing';
import type { Census, Slot } from './slot';

/*
 * What retires a connection: its lifetime, idle time, a failed health ping,
 * death while idle, or what its last lease left of it. The rules are plain
 * functions of what they are shown and the time they are given;
 * `Maintenance` owns the timers that wake the pool to apply them, and keeps
 * dead and unchecked idle connections from being lent. Retiring is the
 * pool's to do: here are only the decisions.
 */

/** What to do with a connection past its lifetime. */
export type ExpiryStep = 'replace' | 'retire' | 'retireAtCheckin';

export interface ExpiryView {
  /** Whether the expired connection is idle (it may go at once). */
  readonly idle: boolean;
  /** Connections the pool needs now: one per lease and waiter, at least `min`. */
  readonly needed: number;
  /** Open connections. */
  readonly size: number;
  /** Open connections past their lifetime. */
  readonly expired: number;
  /** Connects queued or in flight. */
  readonly creating: number;
  /** The effective maximum. */
  readonly cap: number;
}

/**
 * Make before break when the pool still needs the connection and has room
 * for a replacement: it keeps serving until the replacement is open.
 * Otherwise break before make (the maximum is a hard limit, never exceeded
 * even for a moment), at once if it is idle, else when it comes back; the
 * scheduler reopens if needed.
 */
export function expiryStep(v: ExpiryView): ExpiryStep {
  if (v.size - v.expired < v.needed && v.size + v.creating < v.cap) return 'replace';
  return v.idle ? 'retire' : 'retireAtCheckin';
}

export interface Checkin {
  readonly how: LeaseEnd;
  /** Why the reset after the lease failed, if it did. */
  readonly failure: CloseReason | undefined;
  /** Whether the pool is closing. */
  readonly closing: boolean;
  readonly maxUses: number;
  /** Open connections, and the effective maximum. */
  readonly size: number;
  readonly cap: number;
}

/**
 * Why a connection back from a lease closes instead of going idle, with the
 * error to report, or `undefined` to keep it. The first reason that applies
 * wins, in this order.
 */
export function closeAtCheckin(slot: Slot, c: Checkin): { reason: CloseReason; error?: unknown } | undefined {
  if (c.how.destroy) return { reason: c.failure ?? 'destroyed', error: c.how.error };
  if (c.closing) return { reason: 'poolClosed' };
  if (slot.connection.brokenBy !== undefined) return { reason: 'error', error: slot.connection.brokenBy };
  if (slot.uses >= c.maxUses) return { reason: 'maxUses' };
  if (slot.expiry === 'retireAtCheckin') return { reason: 'lifetime' };
  // Above a maximum lowered by back-pressure: leased ones go as they come back.
  if (c.size > c.cap) return { reason: 'shrink' };
  return undefined;
}

/** Whether an idle connection has sat long enough to be pinged before it is lent. */
export function needsPing(slot: Slot, validateAfterMs: number, now: number): boolean {
  return now - slot.idleSince > validateAfterMs && slot.connection.ping !== undefined;
}

export interface MaintenanceOptions {
  readonly maxLifetimeMs: number;
  /** A connection's lifetime is shortened at birth by a random part of this fraction, so a cohort does not expire at once. */
  readonly lifetimeJitter: number;
  readonly idleTimeoutMs: number;
  readonly min: number;
  /** An idle connection is pinged before it is lent once it has been idle this long. */
  readonly validateAfterIdleMs: number;
  readonly validateTimeoutMs: number;
  /** Source of jitter, in [0, 1). */
  readonly random: () => number;
  /** The pool's connections, whose idle ones are watched here. */
  readonly slots: Census;
  /** A connection passed its lifetime. */
  readonly onExpired: () => void;
  /** Retires a connection found dead, unhealthy, or idle too long. */
  readonly retire: (slot: Slot, reason: CloseReason, error?: unknown) => void;
  /** A connection answered its ping: it may go idle again. */
  readonly validated: (slot: Slot) => void;
}

/**
 * The lifetime timers, the set of expired connections, the one idle timer,
 * and the checks an idle connection passes before it is lent.
 */
export class Maintenance {
  readonly #o: MaintenanceOptions;
  readonly #lifetimes = new Map<Slot, Timer>();
  readonly #expired = new Set<Slot>();
  #idleTimer: Timer | undefined;
  #stopped = false;

  constructor(options: MaintenanceOptions) {
    this.#o = options;
  }

  /** Open connections past their lifetime, not yet retired or replaced. */
  get expired(): ReadonlySet<Slot> {
    return this.#expired;
  }

  /** Starts the lifetime of a new connection. */
  born(slot: Slot): void {
    const { maxLifetimeMs, lifetimeJitter } = this.#o;
    if (!Number.isFinite(maxLifetimeMs)) return;
    const lifetime = maxLifetimeMs * (1 - lifetimeJitter * this.#o.random());
    this.#lifetimes.set(
      slot,
      unrefTimeout(() => {
        this.#lifetimes.delete(slot);
        if (slot.state === 'closed') return;
        slot.expiry = 'expired';
        this.#expired.add(slot);
        this.#o.onExpired();
      }, lifetime),
    );
  }

  /**
   * Decides, one at a time, what becomes of each expired connection not yet
   * being replaced. `apply` starts the replacement (it is marked `replacing`
   * first) or retires it before the next is decided, since that changes the
   * counts the next decision reads; one still leased is marked to retire at
   * checkin.
   */
  settleExpired(counts: () => PoolCounts, apply: (slot: Slot, step: 'replace' | 'retire') => void): void {
    for (const slot of this.#expired) {
      if (slot.expiry !== 'expired') continue;
      const c = counts();
      const step = expiryStep({ ...c, idle: slot.state === 'idle', needed: needed(c), expired: this.#expired.size });
      if (step !== 'retire') slot.expiry = step === 'replace' ? 'replacing' : 'retireAtCheckin';
      if (step !== 'retireAtCheckin') apply(slot, step);
    }
  }

  /**
   * An expired connection's replacement is open and warm: the old one may go.
   * Returns whether it goes now (it is idle); a leased one goes at checkin.
   */
  replaced(slot: Slot): boolean {
    this.#expired.delete(slot);
    if (slot.state === 'idle') return true;
    slot.expiry = 'retireAtCheckin';
    return false;
  }

  /** A connection closed: nothing more to watch. */
  forget(slot: Slot): void {
    clearTimeout(this.#lifetimes.get(slot));
    this.#lifetimes.delete(slot);
    this.#expired.delete(slot);
  }

  /**
   * The most recently returned idle connection that is still usable, left on
   * top of the idle stack for the caller to lend at once. One that died while
   * idle (a remote socket closed, say) is retired on the way, so no caller is
   * handed a dead connection; one idle long (at `now`) is pinged first.
   */
  takeIdle(now: number): Slot | undefined {
    const validateAfter = this.#o.validateAfterIdleMs;
    for (let slot; (slot = this.#o.slots.lastIdle()); ) {
      if (slot.connection.brokenBy !== undefined) this.#o.retire(slot, 'error', slot.connection.brokenBy);
      else if (needsPing(slot, validateAfter, now)) this.#validate(slot);
      else return slot;
    }
    return undefined;
  }

  /** Puts `slot` in the pool, idle since `now` and ready to be lent; the idle timer may now be due. */
  rest(slot: Slot, now: number): void {
    slot.rest(now);
    this.armIdle();
  }

  /**
   * Arms the one idle timer for the expiry of the connection idle longest,
   * and only when it could close (the pool is above `min`). Protected by
   * `min`, nothing is armed: the pool looks again when a connection goes idle
   * or opens.
   */
  armIdle(): void {
    const timeout = this.#o.idleTimeoutMs;
    const oldest = this.#o.slots.firstIdle();
    if (this.#idleTimer !== undefined || oldest === undefined || this.#stopped) return;
    if (!Number.isFinite(timeout) || this.#o.slots.size <= this.#o.min) return;
    const delay = Math.max(1, oldest.idleSince + timeout - performance.now());
    this.#idleTimer = unrefTimeout(() => {
      this.#idleTimer = undefined;
      this.#reapIdle();
    }, delay);
  }

  /** Closes the idle connections past the idle timeout, above `min`, and arms the timer for the next. */
  #reapIdle(): void {
    const { slots } = this.#o;
    const idle = slots.idleSlots();
    const idleSince = idle.map((slot) => slot.idleSince);
    const { close } = reapIdle(idleSince, slots.size, this.#o.min, this.#o.idleTimeoutMs, performance.now());
    // The bottom of the stack has been idle longest.
    for (const slot of idle.slice(0, close)) this.#o.retire(slot, 'idle');
    this.armIdle();
  }

  /**
   * Pings a connection that sat idle long before it is lent again. The caller
   * that would have had it is served by another, or waits in line; a
   * connection that fails is closed (`unhealthy`).
   */
  #validate(slot: Slot): void {
    slot.validate();
    this.#ping(slot.connection).then(
      () => {
        if (slot.state === 'validating') this.#o.validated(slot);
      },
      (error: unknown) => {
        if (slot.state === 'validating') this.#o.retire(slot, 'unhealthy', error);
      },
    );
  }

  /** Pings `connection`, failing with `CONNECTION_LOST` if it does not answer within the validate timeout. */
  #ping(connection: DriverConnection): Promise<void> {
    const timeoutMs = this.#o.validateTimeoutMs;
    return raceTimeout(
      connection.ping!(),
      timeoutMs,
      () => {
        throw new PoolError('CONNECTION_LOST', `Ping did not answer within ${timeoutMs} ms`);
      },
      { awaited: false },
    );
  }

  /** The pool is closing: no more idle reaping. Lifetime timers go with their connections. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }
}
