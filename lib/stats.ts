import type { CloseReason } from './events';

/** What `PreparedStatementCache.stats()` reports. */
export interface CacheStats {
  hits: number;
  misses: number;
  /** Entries pushed out by a size bound (total or per connection). */
  evictions: number;
  /** Entries removed because their connection closed (`clearConnection`). */
  cleared: number;
  size: number;
  peakSize: number;
  /** Connections that currently have at least one entry. */
  connections: number;
  /** hits / (hits + misses); 0 before the first lookup. */
  hitRate: number;
  /**
   * Misses the admission policy did not keep (a SQL text's first sighting, or
   * a newcomer that lost to a more recently used entry): prepared, run once
   * and released, as `@libsql/client` does with every statement.
   */
  admissionsRefused: number;
  avgPrepareTimeUs: number;
}

/** Percentiles of the time callers waited in `acquire()`, over the last 1024 checkouts. */
export interface WaitPercentiles {
  /** Checkouts the percentiles are computed over (at most the last 1024). */
  readonly count: number;
  /** Median wait, in milliseconds. */
  readonly p50: number;
  /** 95th percentile wait, in milliseconds. */
  readonly p95: number;
  /** 99th percentile wait, in milliseconds. */
  readonly p99: number;
  /** Longest wait in the window, in milliseconds. */
  readonly max: number;
}

/** Counters since the pool was created; they only grow. */
export interface PoolTotals {
  /** Physical connections opened. */
  created: number;
  /** Physical connections closed, by reason. */
  closed: Record<CloseReason, number>;
  /** Leases handed out. */
  acquired: number;
  /** Leases given back (released or destroyed). */
  released: number;
  /** `acquire()` calls that ended in `ACQUIRE_TIMEOUT`. */
  timeouts: number;
  /** `acquire()` calls that ended in `ACQUIRE_ABORTED`. */
  aborted: number;
  /** `acquire()` calls refused with `POOL_EXHAUSTED`. */
  exhausted: number;
  /** Failed attempts to open a connection. */
  createErrors: number;
}

/** A snapshot of the pool, from `pool.stats()`. */
export interface PoolStats {
  /** Open physical connections (idle + active). */
  readonly size: number;
  /** Open connections waiting in the pool, ready to be lent. */
  readonly idle: number;
  /** Open connections that are not idle: lent out, being reset after a lease, being pinged, or just opened. */
  readonly active: number;
  /** Callers queued in `acquire()`. */
  readonly waiting: number;
  /** Connections being opened. */
  readonly pending: number;
  /** `config.min`: connections kept open even when idle. */
  readonly min: number;
  /** `config.max`: the most connections open at once. */
  readonly max: number;
  /** What the sizing rule wants open now: one per lease out and per waiter, at least `min`, at most `effectiveMax`. */
  readonly target: number;
  /** `max`, halved by back-pressure and doubled back after quiet time (`adaptive`). */
  readonly effectiveMax: number;
  /** Counters since the pool was created (connections opened and closed by reason, leases, timeouts, errors). */
  readonly totals: Readonly<PoolTotals>;
  /** Milliseconds callers waited in `acquire()`. */
  readonly acquireWaitMs: WaitPercentiles;
  /** The pool's statement cache, or `undefined` when it has none. */
  readonly statementCache: CacheStats | undefined;
}

const WINDOW = 1024;

/** Counters and a ring buffer of recent waits; the pool owns one. */
export class PoolStatsRecorder {
  readonly totals: PoolTotals = {
    created: 0,
    closed: { idle: 0, lifetime: 0, maxUses: 0, error: 0, unhealthy: 0, destroyed: 0, shrink: 0, poolClosed: 0 },
    acquired: 0,
    released: 0,
    timeouts: 0,
    aborted: 0,
    exhausted: 0,
    createErrors: 0,
  };
  readonly #waits = new Float64Array(WINDOW);
  #recorded = 0;

  recordCheckout(waitedMs: number): void {
    this.totals.acquired++;
    this.#waits[this.#recorded++ % WINDOW] = waitedMs;
  }

  recordClose(reason: CloseReason): void {
    this.totals.closed[reason]++;
  }

  snapshot(current: Omit<PoolStats, 'totals' | 'acquireWaitMs'>): PoolStats {
    return Object.freeze({
      ...current,
      totals: Object.freeze({ ...this.totals, closed: Object.freeze({ ...this.totals.closed }) }),
      acquireWaitMs: this.#percentiles(),
    });
  }

  #percentiles(): WaitPercentiles {
    const count = Math.min(this.#recorded, WINDOW);
    if (count === 0) return { count: 0, p50: 0, p95: 0, p99: 0, max: 0 };
    const sorted = this.#waits.slice(0, count).sort();
    const at = (q: number) => sorted[Math.min(count - 1, Math.floor(q * count))]!;
    return { count, p50: at(0.5), p95: at(0.95), p99: at(0.99), max: sorted[count - 1]! };
  }
}
