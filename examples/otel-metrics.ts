/**
 * OpenTelemetry metrics for a pool, named as the `db.client.connection.*`
 * semantic conventions name them, so dashboards built for other database
 * clients work unchanged. `@opentelemetry/api` is an optional peer dependency:
 * copy `instrumentPool` into your app. Run: `npx ts-node --transpile-only examples/otel-metrics.ts`
 */
import type { Histogram, Meter } from '@opentelemetry/api';
import {
  AdaptiveConnectionPool,
  DelegatingDriver,
  createDriver,
  readUrl,
  type Driver,
  type DriverConnection,
} from '../lib';

const POOL_NAME = 'db.client.connection.pool.name';
// Durations are in seconds (semconv), with the buckets it advises.
const seconds = { unit: 's', advice: { explicitBucketBoundaries: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10] } };

/** Records the pool's metrics on `meter`; returns a function that stops. */
export function instrumentPool(pool: AdaptiveConnectionPool, meter: Meter, name = 'libsql-pool'): () => void {
  const attrs = { [POOL_NAME]: name };
  // Durations come from the events, as they happen...
  const wait = meter.createHistogram('db.client.connection.wait_time', seconds);
  const use = meter.createHistogram('db.client.connection.use_time', seconds);
  const onCheckout = (e: { waitedMs: number }) => wait.record(e.waitedMs / 1000, attrs);
  const onCheckin = (e: { heldMs: number }) => use.record(e.heldMs / 1000, attrs);
  pool.on('checkout', onCheckout).on('checkin', onCheckin);
  // ...and gauges and totals from one stats() snapshot per collection, so they never drift.
  const count = meter.createObservableUpDownCounter('db.client.connection.count', { unit: '{connection}' });
  const max = meter.createObservableUpDownCounter('db.client.connection.max', { unit: '{connection}' });
  const pending = meter.createObservableUpDownCounter('db.client.connection.pending_requests', { unit: '{request}' });
  const timeouts = meter.createObservableCounter('db.client.connection.timeouts', { unit: '{timeout}' });
  const observables = [count, max, pending, timeouts];
  const observe: Parameters<Meter['addBatchObservableCallback']>[0] = (result) => {
    const s = pool.stats();
    result.observe(count, s.idle, { ...attrs, 'db.client.connection.state': 'idle' });
    result.observe(count, s.active, { ...attrs, 'db.client.connection.state': 'used' });
    result.observe(max, s.max, attrs);
    result.observe(pending, s.waiting, attrs);
    result.observe(timeouts, s.totals.timeouts, attrs);
  };
  meter.addBatchObservableCallback(observe, observables);
  return () => {
    pool.off('checkout', onCheckout).off('checkin', onCheckin);
    meter.removeBatchObservableCallback(observe, observables);
  };
}

/** Records how long each connect of the driver it wraps takes. */
class ConnectTimer extends DelegatingDriver {
  readonly #created: Histogram;
  readonly #attrs: Record<string, string>;

  constructor(inner: Driver, created: Histogram, name: string) {
    super(inner);
    this.#created = created;
    this.#attrs = { [POOL_NAME]: name };
  }

  override async connect(signal?: AbortSignal): Promise<DriverConnection> {
    const started = performance.now();
    const connection = await super.connect(signal);
    this.#created.record((performance.now() - started) / 1000, this.#attrs);
    return connection;
  }
}

/**
 * `create_time` needs the start of each connect, which no event carries, so
 * it wraps the driver; everything else reaches the driver unchanged.
 */
export function timeConnects(driver: Driver, meter: Meter, name = 'libsql-pool'): Driver {
  return new ConnectTimer(driver, meter.createHistogram('db.client.connection.create_time', seconds), name);
}

async function demo(): Promise<void> {
  const { MeterProvider, InMemoryMetricExporter, PeriodicExportingMetricReader, AggregationTemporality } = await import('@opentelemetry/sdk-metrics');
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
  const meter = new MeterProvider({ readers: [reader] }).getMeter('example');
  const config = { url: ':memory:' }; // one connection: the second caller has to wait
  const pool = new AdaptiveConnectionPool(config, timeConnects(createDriver(readUrl(config.url)), meter));
  const stop = instrumentPool(pool, meter, 'example');
  await pool.warmUp();
  await Promise.all([pool.execute('SELECT 1'), pool.execute('SELECT 2')]);
  // Hold the connection and ask for another: that wait ends in ACQUIRE_TIMEOUT.
  await pool.acquire().then((lease) => pool.acquire({ timeoutMs: 5 }).catch(() => lease.release()));
  await reader.forceFlush(); // export now rather than on the interval
  for (const metric of exporter.getMetrics().flatMap((r) => r.scopeMetrics).flatMap((s) => s.metrics)) {
    for (const point of metric.dataPoints) {
      const state = point.attributes['db.client.connection.state'];
      const value = typeof point.value === 'number' ? point.value : `count ${point.value.count}`;
      console.log(`${metric.descriptor.name}${state === undefined ? '' : `{state=${String(state)}}`} ${value}`);
    }
  }
  stop();
  await pool.close();
  await reader.shutdown();
}

// Run as a script (not when imported for instrumentPool): the demo.
if (require.main === module) demo().catch((error: unknown) => ((process.exitCode = 1), console.error(error)));
