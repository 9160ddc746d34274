import { raceTimeout } from '../time';

export interface CloseOptions {
  /** How long to wait for leases before closing their connections. @default config.closeTimeoutMs */
  timeoutMs?: number;
}

/** What closing asks of the pool. */
export interface CloseSteps {
  /** Stops everything that admits or opens: callers, connects, timers. */
  readonly stop: () => void;
  /** One scheduler pass: it retires what is idle, and reports `drained()` when nothing is left. */
  readonly pump: () => void;
  /** Whether a connection is still open or opening. */
  readonly busy: () => boolean;
  /** Closes every connection still open, leased or not. */
  readonly closeAll: () => void;
  /** Waits for what closing connections started (async cleanups), bounded by its own deadlines. */
  readonly settle?: () => Promise<void>;
}

/**
 * The pool's way from open to closed. Closing is one promise however often it
 * is asked for; in between, leases may still come back, and each is closed as
 * it does. The pool says when it has drained; closing waits for that, or for
 * its timeout, whichever comes first, then closes what is left, and last
 * waits for the cleanups of the connections it closed.
 */
export class Closing {
  #started = false;
  #done: Promise<void> | undefined;
  #drained: (() => void) | undefined;

  /** Whether closing has started: no caller is admitted and no connection opened from then on. */
  get started(): boolean {
    return this.#started;
  }

  /** Starts closing, once; every call returns the same promise. */
  close(timeoutMs: number, steps: CloseSteps): Promise<void> {
    this.#done ??= this.#close(timeoutMs, steps);
    return this.#done;
  }

  /** Nothing is open or opening any more: the wait is over. */
  drained(): void {
    this.#drained?.();
  }

  async #close(timeoutMs: number, steps: CloseSteps): Promise<void> {
    this.#started = true;
    steps.stop();
    const drained = new Promise<void>((resolve) => (this.#drained = resolve));
    steps.pump();
    if (steps.busy()) {
      // Ref'd: `await pool.close()` must finish (see time.ts).
      await raceTimeout(drained, timeoutMs, () => undefined, { awaited: true });
      steps.closeAll();
    }
    await steps.settle?.();
  }
}
