import type { BreakerState } from '../events';

export interface ConnectBackoffOptions {
  /** First retry delay; it doubles with each consecutive failure. */
  readonly baseMs: number;
  readonly maxMs: number;
  /** Consecutive failures that open the breaker. */
  readonly threshold: number;
  /** Source of jitter, in [0, 1). Injectable so tests are deterministic. */
  readonly random: () => number;
}

/**
 * When to try opening a connection again after failures: exponential backoff
 * with jitter (so many pools do not retry in step), and a circuit breaker that
 * opens after `threshold` consecutive failures. While open, nothing is tried
 * until the backoff has passed; then one probe is let through (half-open), and
 * its outcome closes or reopens the breaker. It reads no clock: callers pass `now`.
 */
export class ConnectBackoff {
  readonly #o: ConnectBackoffOptions;
  #failures = 0;
  #retryAt = Number.NEGATIVE_INFINITY;
  #state: BreakerState = 'closed';
  #lastError: unknown;

  constructor(options: ConnectBackoffOptions) {
    this.#o = options;
  }

  get state(): BreakerState {
    return this.#state;
  }

  get failures(): number {
    return this.#failures;
  }

  get lastError(): unknown {
    return this.#lastError;
  }

  /** When the next attempt may start (`-Infinity` when at once). */
  get retryAt(): number {
    return this.#retryAt;
  }

  /** Whether a connect may start now, given how many are in flight. Half-open admits one probe. */
  mayConnect(now: number, inFlight: number): boolean {
    if (now < this.#retryAt) return false;
    if (this.#state === 'open') this.#state = 'halfOpen';
    return this.#state === 'closed' || inFlight === 0;
  }

  /** A connect succeeded. Returns the previous state when the breaker closes. */
  success(): BreakerState | undefined {
    const was = this.#state;
    this.#failures = 0;
    this.#retryAt = Number.NEGATIVE_INFINITY;
    this.#state = 'closed';
    this.#lastError = undefined;
    return was === 'closed' ? undefined : was;
  }

  /** A connect failed: schedules the next attempt; returns its delay in ms. */
  failure(now: number, error: unknown): number {
    this.#failures++;
    this.#lastError = error;
    const exponential = Math.min(this.#o.maxMs, this.#o.baseMs * 2 ** (this.#failures - 1));
    const delay = exponential * (0.5 + 0.5 * this.#o.random());
    this.#retryAt = now + delay;
    if (this.#failures >= this.#o.threshold) this.#state = 'open';
    return delay;
  }
}
