import { cleanupTimedOut } from '../errors';
import type { ConnectionId } from '../events';
import { awaitedTimeout, timerDelay, unrefTimeout, type Timer } from '../time';

/** Whose cleanup it is, as a report names it. */
export interface CleanupSource {
  /** `close` (a listener), `cleanupCallback`, or `dispose` (a resource's disposer). */
  readonly event: string;
  readonly connectionId: ConnectionId;
  /** The resource kind, for a disposer. */
  readonly resource?: string;
}

interface Pending {
  readonly deadline: number;
  /** Gives up on it: it is reported as timed out and no longer waited for. */
  readonly giveUp: () => void;
}

/**
 * The promises returned by what runs when a connection closes (resource
 * disposers, `close` listeners, the cleanup callback), tracked until they
 * settle. The pool never waits for them to serve anyone: the connection's
 * slot is free before they start. Only `pool.close()` waits, so that when it
 * resolves the cleanups are over. Each one is given `timeoutMs` from when it
 * started; a rejection, or a cleanup still pending then, is reported once and
 * never thrown.
 */
export class Cleanups {
  readonly #pending = new Set<Pending>();
  readonly #timeoutMs: number;
  readonly #report: (source: CleanupSource, error: unknown) => void;
  /** `settled()` calls waiting for the set to empty. */
  #onEmpty: Array<() => void> = [];

  constructor(timeoutMs: number, report: (source: CleanupSource, error: unknown) => void) {
    this.#timeoutMs = timeoutMs;
    this.#report = report;
  }

  /** Cleanups still pending. */
  get size(): number {
    return this.#pending.size;
  }

  /** Tracks what a cleanup returned, if it is a promise; anything else was already done. */
  track(result: unknown, source: CleanupSource): void {
    if (typeof result !== 'object' || result === null || typeof (result as PromiseLike<unknown>).then !== 'function') {
      return;
    }
    const delay = timerDelay(this.#timeoutMs);
    let timer: Timer | undefined;
    const end = (failure?: { error: unknown }): void => {
      if (!this.#pending.delete(entry)) return; // settled after it was given up, or twice
      if (timer !== undefined) clearTimeout(timer);
      if (failure !== undefined) this.#report(source, failure.error);
      if (this.#pending.size === 0) for (const resolve of this.#onEmpty.splice(0)) resolve();
    };
    const entry: Pending = {
      deadline: performance.now() + delay,
      giveUp: () => end({ error: cleanupTimedOut(source, this.#timeoutMs) }),
    };
    this.#pending.add(entry);
    // Background work: a pending cleanup alone must not keep the process alive.
    if (Number.isFinite(delay)) timer = unrefTimeout(entry.giveUp, delay);
    try {
      (result as PromiseLike<unknown>).then(
        () => end(),
        (error: unknown) => end({ error }),
      );
    } catch (error) {
      end({ error }); // a thenable whose `then` throws
    }
  }

  /**
   * Resolves when no cleanup is pending: each has settled, or was given up at
   * its deadline or when `limitMs` passed, whichever came first. The timer is
   * ref'd, since `close()` awaits it.
   */
  async settled(limitMs: number): Promise<void> {
    if (this.#pending.size === 0) return;
    const now = performance.now();
    const latest = Math.max(...[...this.#pending].map((p) => p.deadline));
    const delay = Math.min(timerDelay(limitMs), Math.max(0, latest - now));
    let timer: Timer | undefined;
    const empty = new Promise<void>((resolve) => this.#onEmpty.push(resolve));
    if (Number.isFinite(delay)) {
      timer = awaitedTimeout(() => {
        for (const pending of [...this.#pending]) pending.giveUp();
      }, delay);
    }
    await empty;
    clearTimeout(timer);
  }
}
