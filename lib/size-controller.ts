/** Why the pool's target size changed. */
export type ResizeReason = 'demand' | 'backpressure' | 'recovery';

export interface ResizeEvent {
  readonly from: number;
  readonly to: number;
  readonly reason: ResizeReason;
}

export interface SizeControllerOptions {
  readonly min: number;
  readonly max: number;
  /** Least time between two target changes for demand (a back-pressure cut is at once). */
  readonly dwellMs: number;
  /** Demand is averaged over time within each window of this length. */
  readonly windowMs: number;
  /** Quiet time after back-pressure before the effective maximum grows by one. */
  readonly recoveryMs: number;
}

/** Weight of the newest sample in every moving average. */
const ALPHA = 0.3;

function ewma(previous: number | undefined, sample: number): number {
  return previous === undefined ? sample : previous + ALPHA * (sample - previous);
}

/**
 * Decides how many connections the pool should hold, from what it measures:
 * how long a connection takes to open and how long a lease holds one (moving
 * averages), the peak number of connections in use or wanted in each window,
 * and back-pressure from the database. It keeps no timers and reads no clock:
 * every method takes `now`, so it is tested deterministically.
 *
 * - **Target** (warm connections): the moving average of windowed peak
 *   demand, rounded up, between `min` and the effective maximum. It grows as
 *   soon as the average passes the next integer but shrinks only once it is a
 *   whole connection below, and never twice within `dwellMs`: a steady load
 *   does not make it oscillate.
 * - **Effective maximum**: `max`, halved on back-pressure (never below
 *   `max(min, 1)`) and raised by one per `recoveryMs` without any (AIMD).
 * - **Creation elision**: a waiter gets a new connection only if the release
 *   it would otherwise wait for is expected later than a new connection would
 *   be ready (HikariCP's rule, with both times measured).
 */
export class SizeController {
  readonly #o: SizeControllerOptions;
  #connectMs: number | undefined;
  #holdMs: number | undefined;
  #demand: number | undefined;
  #windowStart: number | undefined;
  /** Demand since the last observation, and the demand × time accumulated this window. */
  #current = 0;
  #lastSeen = 0;
  #area = 0;
  #target: number;
  #effectiveMax: number;
  #lastChange = Number.NEGATIVE_INFINITY;
  #lastPressure = Number.NEGATIVE_INFINITY;
  #lastRecovery = Number.NEGATIVE_INFINITY;

  constructor(options: SizeControllerOptions) {
    this.#o = options;
    this.#target = options.min;
    this.#effectiveMax = options.max;
  }

  get target(): number {
    return this.#target;
  }

  get effectiveMax(): number {
    return this.#effectiveMax;
  }

  /** Moving average of connect time, ms; `undefined` before the first. */
  get connectMs(): number | undefined {
    return this.#connectMs;
  }

  /** Moving average of lease hold time, ms; `undefined` before the first. */
  get holdMs(): number | undefined {
    return this.#holdMs;
  }

  /** Moving average of the windows' average demand (connections in use or wanted). */
  get demand(): number {
    return this.#demand ?? 0;
  }

  recordConnect(ms: number): void {
    this.#connectMs = ewma(this.#connectMs, ms);
  }

  recordHold(ms: number): void {
    this.#holdMs = ewma(this.#holdMs, ms);
  }

  /**
   * Demand right now: leases out plus callers waiting. Each window's demand is
   * its time-weighted average (how many connections were busy or wanted, on
   * average), not its peak: a burst that releases served in 20 ms weighs 20 ms,
   * where a peak would keep dozens of connections warm for nothing.
   */
  observeDemand(now: number, demand: number): void {
    let start = this.#windowStart;
    if (start === undefined) start = this.#windowStart = this.#lastSeen = now;
    const { windowMs } = this.#o;
    while (now - start >= windowMs) {
      const end: number = start + windowMs;
      this.#area += this.#current * (end - this.#lastSeen);
      this.#demand = ewma(this.#demand, this.#area / windowMs);
      start = this.#windowStart = this.#lastSeen = end;
      this.#area = 0;
    }
    this.#area += this.#current * (now - this.#lastSeen);
    this.#lastSeen = now;
    this.#current = demand;
  }

  /** The database pushed back (SQLITE_BUSY after waiting, HTTP 429/503…): halve the effective maximum. */
  backpressure(now: number): ResizeEvent | undefined {
    this.#lastPressure = now;
    const floor = Math.max(this.#o.min, 1);
    this.#effectiveMax = Math.max(floor, Math.floor(this.#effectiveMax / 2));
    if (this.#target <= this.#effectiveMax) return undefined;
    return this.#change(now, this.#effectiveMax, 'backpressure');
  }

  /** Recomputes the target, given the demand right now; returns the change, if any. */
  update(now: number, demandNow: number): ResizeEvent | undefined {
    this.observeDemand(now, demandNow);
    let recovered = false;
    if (
      this.#effectiveMax < this.#o.max &&
      now - this.#lastPressure >= this.#o.recoveryMs &&
      now - this.#lastRecovery >= this.#o.recoveryMs
    ) {
      this.#effectiveMax++;
      this.#lastRecovery = now;
      recovered = true;
    }
    const raw = this.#demand ?? this.#current;
    const grow = Math.ceil(raw - 1e-9);
    let next = this.#target;
    if (grow > this.#target) next = grow;
    else if (raw <= this.#target - 1) next = Math.max(grow, this.#target - 1);
    next = Math.max(this.#o.min, Math.min(next, this.#effectiveMax));
    if (next === this.#target || now - this.#lastChange < this.#o.dwellMs) return undefined;
    return this.#change(now, next, recovered && next > this.#target ? 'recovery' : 'demand');
  }

  /**
   * Whether the `k`-th waiter not covered by a connection being opened (1 for
   * the first) should get a new connection, given the time each lease out has
   * been held so far.
   */
  shouldCreate(k: number, heldSoFarMs: readonly number[]): boolean {
    return k >= this.#firstUnservedWaiter(heldSoFarMs);
  }

  /**
   * How many of `waiting` callers (those no connection being opened covers)
   * should get a new connection: the ones whose expected wait for a release
   * is at least a connect. O(leases out), whatever the number waiting.
   */
  connectionsToOpen(waiting: number, heldSoFarMs: readonly number[]): number {
    if (waiting <= 0) return 0;
    return Math.max(0, waiting - this.#firstUnservedWaiter(heldSoFarMs) + 1);
  }

  /** The first waiter (1-based) that releases would not serve before a connect. */
  #firstUnservedWaiter(heldSoFarMs: readonly number[]): number {
    const connect = this.#connectMs;
    const hold = this.#holdMs;
    if (connect === undefined || hold === undefined) return 1;
    // When each lease out is expected back, soonest first. A lease held longer
    // than twice the usual time and longer than a connect is overdue: nothing
    // says when it will be back (the event loop may just have stalled), so no
    // waiter counts on it.
    const overdue = Math.max(2 * hold, connect);
    const remaining = heldSoFarMs
      .filter((held) => held <= overdue)
      .map((held) => Math.max(0, hold - held))
      .sort((a, b) => a - b);
    const f = remaining.length;
    if (f === 0) return 1;
    // Each connection, once back, serves the next waiter for another `hold`:
    // the k-th waiter is served at remaining[(k-1) % f] + floor((k-1) / f) ×
    // hold, which never decreases with k (every remaining time is at most hold).
    if (remaining[f - 1]! >= connect) {
      for (let i = 0; i < f; i++) if (remaining[i]! >= connect) return i + 1;
    }
    if (hold <= 0) return Number.POSITIVE_INFINITY;
    const round = Math.max(1, Math.ceil((connect - remaining[f - 1]!) / hold));
    // The first waiter of round `round` whose wait reaches a connect.
    for (let r = round - 1; ; r++) {
      for (let i = 0; i < f; i++) if (remaining[i]! + r * hold >= connect) return r * f + i + 1;
    }
  }

  #change(now: number, to: number, reason: ResizeReason): ResizeEvent {
    const from = this.#target;
    this.#target = to;
    this.#lastChange = now;
    return { from, to, reason };
  }
}
