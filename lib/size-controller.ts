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
  /** Demand is sampled as the peak within each window of this length. */
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
  #windowPeak = 0;
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

  /** Moving average of windowed peak demand (connections in use or wanted). */
  get demand(): number {
    return this.#demand ?? 0;
  }

  recordConnect(ms: number): void {
    this.#connectMs = ewma(this.#connectMs, ms);
  }

  recordHold(ms: number): void {
    this.#holdMs = ewma(this.#holdMs, ms);
  }

  /** Demand right now: leases out plus callers waiting. Closes the windows that have passed. */
  observeDemand(now: number, demand: number): void {
    if (this.#windowStart === undefined) this.#windowStart = now;
    while (now - this.#windowStart >= this.#o.windowMs) {
      this.#demand = ewma(this.#demand, this.#windowPeak);
      this.#windowStart += this.#o.windowMs;
      // A window with no observation saw the demand of its start.
      this.#windowPeak = demand;
    }
    if (demand > this.#windowPeak) this.#windowPeak = demand;
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
    const raw = this.#demand ?? this.#windowPeak;
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
    const connect = this.#connectMs;
    const hold = this.#holdMs;
    if (connect === undefined || hold === undefined) return true;
    // When each lease out is expected back, soonest first. A lease held past
    // twice the usual time is overdue: nothing says when it will be back, so
    // no waiter counts on it.
    const remaining = heldSoFarMs
      .filter((held) => held <= 2 * hold + 1)
      .map((held) => Math.max(0, hold - held))
      .sort((a, b) => a - b);
    if (remaining.length === 0) return true;
    // Each connection, once back, serves the next waiter for another `hold`:
    // the k-th waiter is served at the k-th of those release times.
    const round = Math.floor((k - 1) / remaining.length);
    const expectedWait = remaining[(k - 1) % remaining.length]! + round * hold;
    return expectedWait >= connect;
  }

  #change(now: number, to: number, reason: ResizeReason): ResizeEvent {
    const from = this.#target;
    this.#target = to;
    this.#lastChange = now;
    return { from, to, reason };
  }
}
