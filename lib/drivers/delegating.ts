import type { Driver, DriverConnection } from './driver';

/**
 * A driver that hands everything to another one: extend it and override what
 * should change (usually `connect`, to wrap or time the connections it
 * opens). The pool's back-pressure hook reaches the inner driver too, so a
 * wrapped driver still makes an adaptive pool shrink.
 *
 * ```ts
 * const connectTime = meter.createHistogram('db.client.connection.create_time', { unit: 'ms' });
 * class TimedDriver extends DelegatingDriver {
 *   override async connect(signal?: AbortSignal) {
 *     const started = performance.now();
 *     const connection = await super.connect(signal);
 *     connectTime.record(performance.now() - started);
 *     return connection;
 *   }
 * }
 * const pool = new AdaptiveConnectionPool(config, new TimedDriver(createDriver(readUrl(config.url))));
 * ```
 */
export class DelegatingDriver implements Driver {
  /** The driver this one hands to. */
  protected readonly inner: Driver;

  constructor(inner: Driver) {
    this.inner = inner;
  }

  get maxConnections(): number {
    return this.inner.maxConnections;
  }

  get onBackpressure(): (() => void) | undefined {
    return this.inner.onBackpressure;
  }

  // The pool sets this after construction, so it is forwarded, not copied.
  set onBackpressure(hook: (() => void) | undefined) {
    this.inner.onBackpressure = hook;
  }

  connect(signal?: AbortSignal): Promise<DriverConnection> {
    return this.inner.connect(signal);
  }
}
