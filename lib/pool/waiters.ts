import { awaitedTimeout, type Timer } from '../time';

/** A caller waiting in `acquire()`. */
export interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  /** `performance.now()` when the caller started waiting. */
  readonly enqueuedAt: number;
  settled: boolean;
  timer: Timer | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export interface WaitOptions {
  /** `performance.now()` when the caller started waiting. */
  readonly enqueuedAt: number;
  /** How long to wait (`Infinity`: no timer). */
  readonly timeoutMs: number;
  readonly signal: AbortSignal | undefined;
  /** The error a timed-out waiter is rejected with; called once it has left the line. */
  readonly timedOut: () => unknown;
  /** The error an aborted waiter is rejected with; called once it has left the line. */
  readonly aborted: (signal: AbortSignal) => unknown;
}

/**
 * The FIFO of waiting callers. A waiter that times out or aborts is settled in
 * place and skipped when reached, so leaving the line is O(1) however long it
 * is; settled entries are dropped as soon as no live waiter is behind them.
 * Each waiter owns its timer and abort listener, and both go when it is settled.
 */
export class WaiterQueue<T> {
  #items: Waiter<T>[] = [];
  #head = 0;
  #live = 0;

  /** Live (unsettled) waiters. */
  get size(): number {
    return this.#live;
  }

  /**
   * Queues a caller and returns what it awaits: a value handed to it by
   * `take()`, or a rejection when its timeout or signal comes first.
   */
  wait(options: WaitOptions): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const { signal, timeoutMs } = options;
      const waiter: Waiter<T> = {
        resolve,
        reject,
        enqueuedAt: options.enqueuedAt,
        settled: false,
        timer: undefined,
        signal,
        onAbort: undefined,
      };
      if (Number.isFinite(timeoutMs)) {
        // Ref'd: a caller awaits it (see time.ts).
        waiter.timer = awaitedTimeout(() => {
          waiter.timer = undefined;
          if (this.settle(waiter)) reject(options.timedOut());
        }, timeoutMs);
      }
      if (signal !== undefined) {
        waiter.onAbort = () => {
          if (this.settle(waiter)) reject(options.aborted(signal));
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.push(waiter);
    });
  }

  push(waiter: Waiter<T>): void {
    this.#items.push(waiter);
    this.#live++;
  }

  /** The oldest live waiter, settled and out of the line, or `undefined`. */
  take(): Waiter<T> | undefined {
    while (this.#head < this.#items.length) {
      const waiter = this.#items[this.#head++]!;
      if (this.settle(waiter)) return waiter;
    }
    return undefined;
  }

  /** Rejects every live waiter, in order, each with an error of its own. */
  rejectAll(error: () => unknown): void {
    for (let waiter; (waiter = this.take()); ) waiter.reject(error());
  }

  /**
   * Marks a waiter settled and stops its timer and abort listener. Returns
   * false if it already was: each waiter is settled exactly once, whichever of
   * a connection, its timeout, its signal or `close()` comes first.
   */
  settle(waiter: Waiter<T>): boolean {
    if (waiter.settled) return false;
    waiter.settled = true;
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    if (--this.#live === 0) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return true;
  }
}
