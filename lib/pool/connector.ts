import pLimit from 'p-limit';
import type { ResolvedConfig } from '../config';
import type { ConnectErrorEvent, ConnectionId } from '../events';
import { connectWithin } from '../drivers/connect-deadline';
import type { Driver, DriverConnection } from '../drivers/driver';
import { unrefTimeout, type Timer } from '../time';
import { ConnectBackoff, type ConnectBackoffOptions } from './connect-backoff';
import { newConnectionId } from './slot';

export interface ConnectorOptions {
  readonly driver: Driver;
  /** What is opened, as the connect timeout's message names it. */
  readonly target: string;
  readonly timeoutMs: number;
  readonly backoff: ConnectBackoffOptions;
  /** Runs on each new connection as part of opening it (and on each new server session after). */
  readonly setUp: ((connectionId: ConnectionId, connection: DriverConnection) => Promise<void>) | undefined;
  /** The backoff after a failure is over: the pool may connect again. */
  readonly onRetry: () => void;
}

/** What a pool's settings say about connecting. */
export type ConnectSettings = Pick<
  ResolvedConfig,
  'url' | 'serverUrl' | 'connectTimeoutMs' | 'connectRetryMs' | 'connectRetryMaxMs' | 'breakerThreshold'
>;

/** A connection just opened, and set up. */
export interface Opened {
  readonly id: ConnectionId;
  readonly connection: DriverConnection;
}

/**
 * Opens physical connections for the pool: a few at a time, each within the
 * connect timeout, set up before it counts as open, and after failures only
 * as the backoff and its circuit breaker allow. It decides when the next
 * attempt may start; what to open is the pool's decision.
 */
export class Connector {
  readonly #o: ConnectorOptions;
  /** Connects in flight at most: enough for a burst, not a storm on the server. */
  readonly #limit = pLimit(8);
  readonly #backoff: ConnectBackoff;
  /** Aborted by `stop()`: cancels connects in flight. */
  readonly #cancel = new AbortController();
  /** Connects queued or in flight. */
  #creating = 0;
  /** Connects in flight: past the limit, started. */
  #connecting = 0;
  #retryTimer: Timer | undefined;

  constructor(options: ConnectorOptions) {
    this.#o = options;
    this.#backoff = new ConnectBackoff(options.backoff);
  }

  /** The connector a pool's settings describe: its errors name the server when there is one. */
  static forPool(c: ConnectSettings, driver: Driver, hooks: Pick<ConnectorOptions, 'setUp' | 'onRetry'>): Connector {
    const { connectRetryMs: baseMs, connectRetryMaxMs: maxMs, breakerThreshold: threshold } = c;
    const backoff = { baseMs, maxMs, threshold, random: Math.random };
    return new Connector({ driver, target: c.serverUrl ?? c.url, timeoutMs: c.connectTimeoutMs, backoff, ...hooks });
  }

  /** Connects queued or in flight. */
  get creating(): number {
    return this.#creating;
  }

  /** Connects started (past the limit), not yet open. */
  get connecting(): number {
    return this.#connecting;
  }

  /** The error of the last failed connect, until one succeeds. */
  get lastError(): unknown {
    return this.#backoff.lastError;
  }

  /** Whether the breaker is open and its backoff not over at `now`: a connect now would not even be tried. */
  refusing(now: number): boolean {
    return this.#backoff.state === 'open' && now < this.#backoff.retryAt;
  }

  /** Whether a connect may start at `now`. Half-open, the breaker admits one probe at a time. */
  mayConnect(now: number): boolean {
    return this.#backoff.mayConnect(now, this.#creating);
  }

  /**
   * Opens a connection when its turn under the limit comes, if `stillWanted()`
   * says so then (by its turn a release may have served its caller). Then
   * hands `opened` the connection, or `undefined` if it was not started, or
   * hands `failed` the error (a setup that fails is a failed connect). Both
   * run in the same turn as the in-flight count drops, so a connection is
   * always counted, as opening or by the pool, never in between.
   */
  async open<T>(stillWanted: () => boolean, opened: (o: Opened | undefined) => T, failed: (error: unknown) => T): Promise<T> {
    this.#creating++;
    let started = false;
    const done = () => {
      this.#creating--;
      if (started) this.#connecting--;
    };
    let result: Opened | undefined;
    try {
      const connection = await this.#limit(() => {
        if (!stillWanted()) return undefined;
        started = true;
        this.#connecting++;
        return connectWithin(this.#o.driver, {
          timeoutMs: this.#o.timeoutMs,
          target: this.#o.target,
          signal: this.#cancel.signal,
        });
      });
      if (connection !== undefined) {
        const id = newConnectionId();
        const setUp = this.#o.setUp;
        if (setUp !== undefined) {
          await setUp(id, connection);
          connection.onNewSession = () => setUp(id, connection);
        }
        result = { id, connection };
      }
    } catch (error) {
      done();
      return failed(error);
    }
    done();
    if (result !== undefined) this.#backoff.success();
    return opened(result);
  }

  /** Records a failed connect: backs off, and arms the retry. Returns the `connectError` payload. */
  failed(error: unknown): ConnectErrorEvent {
    const retryInMs = this.#backoff.failure(performance.now(), error);
    this.armRetry();
    return { error, failures: this.#backoff.failures, retryInMs, breaker: this.#backoff.state };
  }

  /** Calls `onRetry` when the backoff is over, once however often it is asked. */
  armRetry(): void {
    if (this.#retryTimer !== undefined || this.#cancel.signal.aborted) return;
    const delay = Math.max(1, this.#backoff.retryAt - performance.now());
    this.#retryTimer = unrefTimeout(() => {
      this.#retryTimer = undefined;
      this.#o.onRetry();
    }, delay);
  }

  /**
   * Cancels the connects in flight (they close what they half opened, so none
   * is left holding a socket to a server that never answers) and the retry.
   */
  stop(reason: unknown): void {
    this.#cancel.abort(reason);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }
}
