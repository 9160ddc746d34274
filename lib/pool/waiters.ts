/** A caller waiting in `acquire()`. */
export interface Waiter<T> {
  readonly resolve: (value: T) => void;
  readonly reject: (error: unknown) => void;
  /** `performance.now()` when the caller started waiting. */
  readonly enqueuedAt: number;
  settled: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * The FIFO of waiting callers. A waiter that times out or aborts is settled in
 * place and skipped when reached, so leaving the line is O(1) however long it
 * is; settled entries are dropped as soon as no live waiter is behind them.
 */
export class WaiterQueue<T> {
  #items: Waiter<T>[] = [];
  #head = 0;
  #live = 0;

  /** Live (unsettled) waiters. */
  get size(): number {
    return this.#live;
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
