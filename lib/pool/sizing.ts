import type { MaxChangeEvent } from '../events';

/*
 * The sizing rule, as the README states it: a caller that finds no idle
 * connection gets a new one if the pool is below its limit and someone is
 * still waiting when the connect starts; the most recently returned connection
 * is reused first, and a connection unused for `idleTimeoutMs` closes, down to
 * `min`. Back-pressure halves the limit once per episode and quiet time
 * doubles it back.
 *
 * Nothing here reads a clock or arms a timer: every function takes `now`, so
 * each rule is tested on an explicit timeline.
 */

/** Why a connection is being opened; it decides whether a queued connect still starts. */
export type ConnectPurpose = 'waiter' | 'min' | 'replace' | 'warmUp';

/** What the rules read of the pool at one moment. */
export interface PoolCounts {
  /** Connections open, in every state but closed. */
  readonly size: number;
  /** Connections lent to callers. */
  readonly leased: number;
  /** Idle connections being pinged before they are lent. */
  readonly validating: number;
  /** Callers waiting. */
  readonly waiting: number;
  /** Connects queued or in flight. */
  readonly creating: number;
  /** Connects started (past the connect limit), not yet open. */
  readonly connecting: number;
  readonly min: number;
  /** The effective maximum. */
  readonly cap: number;
}

/** The connections the pool needs now: one per lease and waiter, at least `min`. */
export function needed(c: Pick<PoolCounts, 'leased' | 'waiting' | 'min'>): number {
  return Math.max(c.min, c.leased + c.waiting);
}

/** What the rule wants open now: what is needed, within the effective maximum. */
export function targetSize(c: Pick<PoolCounts, 'leased' | 'waiting' | 'min' | 'cap'>): number {
  return Math.min(c.cap, needed(c));
}

export interface ConnectCheck {
  readonly purpose: ConnectPurpose;
  /** Callers waiting now. */
  readonly waiting: number;
  /** Connects already started (past the connect limit), not yet open. */
  readonly connecting: number;
  /** Connections open. */
  readonly size: number;
  readonly min: number;
  /** The effective maximum. */
  readonly cap: number;
}

/**
 * Whether a connect that waited for its turn under the connect limit should
 * start now. It was decided when queued; by its turn a release may have
 * served its caller, and opening it anyway grows the pool for nobody.
 */
export function connectStillWanted(c: ConnectCheck): boolean {
  // A replacement stands in for a connection already counted in `size`;
  // warmUp() opens at least one, so a bad URL fails at once.
  if (c.purpose === 'replace' || c.purpose === 'warmUp') return true;
  if (c.size + c.connecting >= c.cap) return false;
  if (c.purpose === 'min') return c.size + c.connecting < c.min;
  return c.waiting > c.connecting;
}

/**
 * The connects to start now, in order: one per waiter that no connect on its
 * way covers, then enough to reach `min`, never past the effective maximum.
 * Each is checked again when it gets its turn under the connect limit
 * (`connectStillWanted`).
 */
export function connectsToStart(c: Pick<PoolCounts, 'size' | 'creating' | 'waiting' | 'min' | 'cap'>): ConnectPurpose[] {
  const starts: ConnectPurpose[] = [];
  let opening = c.size + c.creating;
  for (let n = c.waiting - c.creating; n > 0 && opening < c.cap; n--, opening++) starts.push('waiter');
  for (const want = Math.min(c.cap, c.min); opening < want; opening++) starts.push('min');
  return starts;
}

export interface IdleReap {
  /** How many of the longest-idle connections to close now. */
  readonly close: number;
  /** When to look again (the next expiry of one that may close), or `undefined`: no timer needed. */
  readonly wakeAt: number | undefined;
}

/**
 * Which idle connections close at `now`, given when each went idle, longest
 * idle first. Only connections above `min` close. When what is left is at
 * `min`, no wake-up is asked for: nothing could close until the set changes,
 * and the pool looks again then (a connection going idle or opening).
 */
export function reapIdle(idleSince: readonly number[], size: number, min: number, timeoutMs: number, now: number): IdleReap {
  if (!Number.isFinite(timeoutMs)) return { close: 0, wakeAt: undefined };
  let close = 0;
  // Within a millisecond of its expiry counts as expired: timers may fire a
  // fraction early, and re-arming for the rest would be a wasted wake-up.
  while (close < idleSince.length && size - close > min && now - idleSince[close]! >= timeoutMs - 1) close++;
  const next = idleSince[close];
  const wakeAt = next !== undefined && size - close > min ? next + timeoutMs : undefined;
  return { close, wakeAt };
}

export interface BackpressureOptions {
  readonly max: number;
  /** Never halved below this: `max(min, 1)`. */
  readonly floor: number;
  /**
   * Signals within this long after a halving belong to its episode (they do
   * not halve again), and each interval without any signal doubles the limit back.
   */
  readonly intervalMs: number;
}

/**
 * The effective maximum under back-pressure (SQLITE_BUSY after the busy
 * timeout, HTTP 429/503). One episode brings many signals (every writer that
 * gave up): only the first halves. Recovery is read from elapsed time when
 * the pool next looks, so no timer runs for it.
 */
export class BackpressureLimit {
  readonly #o: BackpressureOptions;
  /** The limit at `#since`, the time of the last signal; and when it last halved. */
  #base: number;
  #since = Number.NEGATIVE_INFINITY;
  #halvedAt = Number.NEGATIVE_INFINITY;
  /** What `at()` last reported, to report each change once. */
  #reported: number;

  constructor(options: BackpressureOptions) {
    this.#o = options;
    this.#base = this.#reported = options.max;
  }

  /** The limit with no back-pressure. */
  get max(): number {
    return this.#o.max;
  }

  /** Whether the limit is below `max` (only then does it depend on the clock). */
  get lowered(): boolean {
    return this.#reported < this.#o.max;
  }

  /** The effective maximum at `now`. */
  at(now: number): number {
    const { max, intervalMs } = this.#o;
    if (this.#base >= max) return max;
    const quiet = Math.floor((now - this.#since) / intervalMs);
    // 2^quiet overflows to Infinity in a long silence, which min() absorbs.
    return Math.min(max, this.#base * 2 ** quiet);
  }

  /** The change since last reported (a recovery), if any. */
  refresh(now: number): MaxChangeEvent | undefined {
    const to = this.at(now);
    if (to === this.#reported) return undefined;
    const from = this.#reported;
    this.#reported = to;
    return { from, to, reason: to > from ? 'recovery' : 'backpressure' };
  }

  /** A back-pressure signal: halves the limit unless this episode already did. Returns every change it caused. */
  signal(now: number): MaxChangeEvent[] {
    const changes: MaxChangeEvent[] = [];
    const recovered = this.refresh(now);
    if (recovered !== undefined) changes.push(recovered);
    const current = this.#reported;
    const sameEpisode = now - this.#halvedAt < this.#o.intervalMs;
    this.#base = sameEpisode ? current : Math.max(this.#o.floor, Math.floor(current / 2));
    if (!sameEpisode) this.#halvedAt = now;
    // Quiet time counts from the last signal, even one that did not halve.
    this.#since = now;
    if (this.#base !== current) {
      this.#reported = this.#base;
      changes.push({ from: current, to: this.#base, reason: 'backpressure' });
    }
    return changes;
  }
}

export interface LimitSettings {
  readonly min: number;
  readonly max: number;
  readonly idleTimeoutMs: number;
  readonly busyTimeoutMs: number;
}

/**
 * The pool's effective maximum: `max`, no more than the database allows
 * (`driverMax`), and halved under back-pressure. A fixed pool never signals
 * it, so its limit stays at that maximum.
 */
export function poolLimit(s: LimitSettings, driverMax: number): BackpressureLimit {
  return new BackpressureLimit({
    max: Math.min(s.max, driverMax),
    floor: Math.max(s.min, 1),
    // No new time constant: an episode is one busy timeout (the time a writer
    // waits for a lock), capped by the idle timeout; a busy timeout of 0
    // leaves the idle timeout.
    intervalMs: Math.min(s.idleTimeoutMs, s.busyTimeoutMs || s.idleTimeoutMs),
  });
}
