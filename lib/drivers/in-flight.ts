/**
 * The work running on one connection, for `DriverConnection.pending()`: a
 * caller may release its lease with statements still running (not awaited),
 * and the pool must not reset or lend the connection until they settle.
 */
export class InFlight {
  #count = 0;
  #settled: Promise<void> | undefined;
  #resolve: (() => void) | undefined;

  /** Counts `work` until it settles; returns it unchanged, for the caller to await. */
  track<T>(work: Promise<T>): Promise<T> {
    this.#count++;
    // Both outcomes handled here, so this branch never reports an unhandled rejection.
    work.then(this.#done, this.#done);
    return work;
  }

  /** Settles once nothing is running (work started meanwhile included), or `undefined` if nothing is. */
  settled(): Promise<void> | undefined {
    if (this.#count === 0) return undefined;
    this.#settled ??= new Promise<void>((resolve) => (this.#resolve = resolve));
    return this.#settled;
  }

  readonly #done = (): void => {
    if (--this.#count > 0) return;
    const resolve = this.#resolve;
    this.#settled = this.#resolve = undefined;
    resolve?.();
  };
}
