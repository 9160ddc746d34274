import type { LeakReport } from '../events';
import { unrefTimeout, type Timer } from '../time';

interface Watch {
  readonly since: number;
  readonly stack: string | undefined;
  timer: Timer | undefined;
  suspected: boolean;
  done: boolean;
}

/**
 * Watches leases for `thresholdMs`: a lease still held then is reported
 * `suspected`, with the stack of the code that acquired it; when it comes
 * back, `resolved`. A lease object that is garbage-collected without being
 * released is reported `collected`, and `reclaim` gives its connection back to
 * the pool (nobody can use that lease any more). Only built when
 * `leakDetectionMs` is set: capturing a stack per checkout has a cost.
 */
export class LeakDetector<K extends object> {
  readonly #thresholdMs: number;
  readonly #now: () => number;
  readonly #report: (token: object, report: LeakReport) => void;
  readonly #registry: FinalizationRegistry<{ watch: Watch; reclaim: () => void; token: object }>;

  constructor(
    thresholdMs: number,
    now: () => number,
    report: (token: object, report: LeakReport) => void,
  ) {
    this.#thresholdMs = thresholdMs;
    this.#now = now;
    this.#report = report;
    this.#registry = new FinalizationRegistry(({ watch, reclaim, token }) => {
      if (watch.done) return;
      this.#finish(watch);
      this.#report(token, { state: 'collected', heldMs: this.#now() - watch.since, stack: watch.stack });
      reclaim();
    });
  }

  /** A detector for leases held over `thresholdMs`, or `undefined` for `Infinity`: nothing to watch. */
  static over<K extends object>(
    thresholdMs: number,
    report: (token: object, report: LeakReport) => void,
  ): LeakDetector<K> | undefined {
    return Number.isFinite(thresholdMs) ? new LeakDetector<K>(thresholdMs, () => performance.now(), report) : undefined;
  }

  /**
   * Starts watching `lease`. `token` identifies the checkout to `report` (it
   * must not reference the lease, or the lease could never be collected);
   * `reclaim` runs if the lease is collected unreleased. Returns the handle for `end`.
   */
  watch(lease: K, token: object, reclaim: () => void): object {
    const watch: Watch = {
      since: this.#now(),
      stack: new Error('acquired here').stack?.split('\n').slice(1).join('\n'),
      timer: undefined,
      suspected: false,
      done: false,
    };
    watch.timer = unrefTimeout(() => {
      watch.timer = undefined;
      if (watch.done) return;
      watch.suspected = true;
      this.#report(token, { state: 'suspected', heldMs: this.#now() - watch.since, stack: watch.stack });
    }, this.#thresholdMs);
    this.#registry.register(lease, { watch, reclaim, token }, watch);
    return watch;
  }

  /** The lease came back. Reports `resolved` if it had been suspected. */
  end(handle: object, token: object): void {
    const watch = handle as Watch;
    if (watch.done) return;
    this.#finish(watch);
    if (watch.suspected) {
      this.#report(token, { state: 'resolved', heldMs: this.#now() - watch.since, stack: watch.stack });
    }
  }

  #finish(watch: Watch): void {
    watch.done = true;
    if (watch.timer !== undefined) clearTimeout(watch.timer);
    this.#registry.unregister(watch);
  }
}
