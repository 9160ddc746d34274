import diagnosticsChannel from 'node:diagnostics_channel';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
} from '@opentelemetry/sdk-metrics';
import {
  CHECKIN_CHANNEL,
  CHECKOUT_CHANNEL,
  CLOSE_CHANNEL,
  CREATE_CHANNEL,
  LibsqlError,
  QUERY_CHANNEL,
  AdaptiveConnectionPool,
  createDriver,
  queryChannel,
  readUrl,
  type QueryContext,
} from '../../lib';
import { instrumentPool, timeConnects } from '../../examples/otel-metrics';
import { recordEvents, tempDir, withPool } from '../support/helpers';

// Telemetry without a reference to the pool: node:diagnostics_channel
// channels carry every lifecycle event and trace every statement; the
// OpenTelemetry example adapter turns events and stats() into the
// db.client.connection.* metrics.

test('the channel names are the documented ones', () => {
  expect([CREATE_CHANNEL, CHECKOUT_CHANNEL, CHECKIN_CHANNEL, CLOSE_CHANNEL, QUERY_CHANNEL]).toEqual([
    'libsql-pool:create',
    'libsql-pool:checkout',
    'libsql-pool:checkin',
    'libsql-pool:close',
    'libsql-pool:query',
  ]);
});

test('each lifecycle channel carries the payload of its event, in order, with or without listeners', async () => {
  const seen: Array<[string, unknown]> = [];
  const subscribers = [CREATE_CHANNEL, CHECKOUT_CHANNEL, CHECKIN_CHANNEL, CLOSE_CHANNEL].map((name) => {
    const fn = (message: unknown) => seen.push([name.slice('libsql-pool:'.length), message]);
    diagnosticsChannel.subscribe(name, fn);
    return () => diagnosticsChannel.unsubscribe(name, fn);
  });
  try {
    // First without any pool listener: the channels alone must see everything.
    // (min 0: the destroyed connection is not replaced.)
    await withPool({ min: 0, max: 2 }, async (pool) => {
      await pool.execute('SELECT 1');
      const lease = await pool.acquire();
      lease.destroy();
    });
    expect(seen.map(([name]) => name)).toEqual(['create', 'checkout', 'checkin', 'checkout', 'checkin', 'close']);
    const [, created] = seen[0]! as [string, { connectionId: number }];
    expect(seen[1]![1]).toEqual(expect.objectContaining({ connectionId: created.connectionId, uses: 1, waitedMs: expect.any(Number) }));
    expect(seen[2]![1]).toEqual(expect.objectContaining({ connectionId: created.connectionId, heldMs: expect.any(Number) }));
    expect(seen[5]![1]).toEqual(expect.objectContaining({ connectionId: created.connectionId, reason: 'destroyed' }));

    // With listeners, each channel message is the very payload the listeners got.
    seen.length = 0;
    const dir = tempDir();
    const pool = new AdaptiveConnectionPool({ url: dir.url() });
    try {
      const events = recordEvents(pool);
      await pool.warmUp();
      await pool.execute('SELECT 1');
      await pool.close();
      expect(events.map(([name]) => name)).toEqual(['create', 'checkout', 'checkin', 'close']);
      expect(seen.map(([name]) => name)).toEqual(events.map(([name]) => name));
      seen.forEach(([, message], i) => expect(message).toBe(events[i]![1]));
    } finally {
      await pool.close();
      dir.dispose();
    }
  } finally {
    for (const unsubscribe of subscribers) unsubscribe();
  }
});

/** Records the query tracing channel's messages as `[phase, context]`. */
function traceQueries(): { events: Array<[string, QueryContext]>; stop: () => void } {
  const events: Array<[string, QueryContext]> = [];
  const handlers = {
    start: (c: QueryContext) => events.push(['start', { ...c }]),
    end: (c: QueryContext) => events.push(['end', { ...c }]),
    asyncStart: (c: QueryContext) => events.push(['asyncStart', { ...c }]),
    asyncEnd: (c: QueryContext) => events.push(['asyncEnd', { ...c }]),
    error: (c: QueryContext) => events.push(['error', { ...c }]),
  };
  queryChannel.subscribe(handlers);
  return { events, stop: () => queryChannel.unsubscribe(handlers) };
}

test('the query tracing channel wraps each statement with its SQL, connection and outcome', async () => {
  await withPool({}, async (pool) => {
    expect(queryChannel.hasSubscribers).toBe(false);
    await pool.execute('CREATE TABLE t (x INTEGER)');
    const trace = traceQueries();
    try {
      expect(queryChannel.hasSubscribers).toBe(true);
      const lease = await pool.acquire();
      const id = lease.connectionId;
      const rs = await lease.execute('INSERT INTO t VALUES (?)', [1]);
      expect(trace.events.map(([phase]) => phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
      for (const [, context] of trace.events) {
        expect(context).toMatchObject({ sql: 'INSERT INTO t VALUES (?)', connectionId: id });
      }
      expect(trace.events[0]![1].result).toBeUndefined();
      expect(trace.events[2]![1].result).toBe(rs);

      // A statement that fails to prepare: start, error, end (it threw before any await).
      trace.events.length = 0;
      const prepareError = await lease.execute('SELEC nope').catch((e: unknown) => e);
      expect(prepareError).toBeInstanceOf(LibsqlError);
      expect(trace.events.map(([phase]) => phase)).toEqual(['start', 'error', 'end']);
      expect(trace.events[1]![1]).toMatchObject({ sql: 'SELEC nope', connectionId: id, error: prepareError });

      // A statement that fails when it runs: the error arrives asynchronously.
      trace.events.length = 0;
      await lease.execute('CREATE UNIQUE INDEX u ON t (x)');
      await lease.execute('INSERT INTO t VALUES (2)');
      trace.events.length = 0;
      const runError = await lease.execute('INSERT INTO t VALUES (2)').catch((e: unknown) => e);
      expect((runError as LibsqlError).code).toBe('SQLITE_CONSTRAINT');
      expect(trace.events.map(([phase]) => phase)).toEqual(['start', 'end', 'error', 'asyncStart', 'asyncEnd']);
      expect(trace.events[2]![1].error).toBe(runError);

      // A batch is traced statement by statement, BEGIN and COMMIT included; a script as one.
      trace.events.length = 0;
      await lease.batch(['INSERT INTO t VALUES (3)', 'SELECT count(*) FROM t']);
      await lease.executeMultiple('INSERT INTO t VALUES (4); INSERT INTO t VALUES (5);');
      expect(trace.events.filter(([phase]) => phase === 'start').map(([, c]) => c.sql)).toEqual([
        'BEGIN DEFERRED',
        'INSERT INTO t VALUES (3)',
        'SELECT count(*) FROM t',
        'COMMIT',
        'INSERT INTO t VALUES (4); INSERT INTO t VALUES (5);',
      ]);
      lease.release();
    } finally {
      trace.stop();
    }
    expect(queryChannel.hasSubscribers).toBe(false);
  });
});

test('a remote statement is traced the same way', async () => {
  const url = process.env.LIBSQL_POOL_TEST_SQLD_WS!;
  const trace = traceQueries();
  const remote = new AdaptiveConnectionPool({ url });
  try {
    const rs = await remote.execute('SELECT 42 AS answer');
    expect(trace.events.map(([phase]) => phase)).toEqual(['start', 'end', 'asyncStart', 'asyncEnd']);
    expect(trace.events[3]![1]).toMatchObject({ sql: 'SELECT 42 AS answer', connectionId: expect.any(Number), result: rs });
  } finally {
    trace.stop();
    await remote.close();
  }
});

describe('OpenTelemetry adapter (examples/otel-metrics.ts)', () => {
  /** The points of each metric after a collection, by metric name. */
  async function collect(reader: PeriodicExportingMetricReader, exporter: InMemoryMetricExporter) {
    await reader.forceFlush();
    const last = exporter.getMetrics().at(-1)!;
    const byName = new Map<string, DataPoint<unknown>[]>();
    for (const metric of last.scopeMetrics.flatMap((s) => s.metrics)) {
      byName.set(metric.descriptor.name, metric.dataPoints as DataPoint<unknown>[]);
    }
    return {
      value: (name: string, state?: string) =>
        byName.get(name)?.find((p) => state === undefined || p.attributes['db.client.connection.state'] === state)?.value,
      histogram: (name: string) => byName.get(name)?.[0]?.value as Histogram | undefined,
      units: last.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m.descriptor.unit]),
      attributes: byName.get('db.client.connection.count')?.map((p) => p.attributes),
    };
  }

  test('reports db.client.connection.* from events and stats()', async () => {
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
    const provider = new MeterProvider({ readers: [reader] });
    const meter = provider.getMeter('test');
    const dir = tempDir();
    const config = { url: dir.url(), min: 1, max: 2 };
    const pool = new AdaptiveConnectionPool(config, timeConnects(createDriver(readUrl(config.url)), meter));
    const stop = instrumentPool(pool, meter, 'orders-db');
    try {
      await pool.warmUp();
      const a = await pool.acquire();
      const b = await pool.acquire();
      const waiting = pool.acquire();
      waiting.catch(() => undefined); // settled below; only a failed assertion leaves it to close()
      let m = await collect(reader, exporter);
      expect(m.value('db.client.connection.count', 'used')).toBe(2);
      expect(m.value('db.client.connection.count', 'idle')).toBe(0);
      expect(m.value('db.client.connection.max')).toBe(2);
      expect(m.value('db.client.connection.pending_requests')).toBe(1);
      expect(m.attributes).toEqual(
        expect.arrayContaining([
          { 'db.client.connection.pool.name': 'orders-db', 'db.client.connection.state': 'idle' },
          { 'db.client.connection.pool.name': 'orders-db', 'db.client.connection.state': 'used' },
        ]),
      );

      a.release();
      const c = await waiting;
      await expect(pool.acquire({ timeoutMs: 1 })).rejects.toBePoolError('ACQUIRE_TIMEOUT');
      b.release();
      c.release();
      m = await collect(reader, exporter);
      expect(m.value('db.client.connection.count', 'used')).toBe(0);
      expect(m.value('db.client.connection.count', 'idle')).toBe(2);
      expect(m.value('db.client.connection.pending_requests')).toBe(0);
      expect(m.value('db.client.connection.timeouts')).toBe(1);
      expect(m.histogram('db.client.connection.create_time')?.count).toBe(2);
      expect(m.histogram('db.client.connection.wait_time')?.count).toBe(3);
      expect(m.histogram('db.client.connection.use_time')?.count).toBe(3);
      expect(m.histogram('db.client.connection.wait_time')!.max).toBeGreaterThan(0);
      expect(Object.fromEntries(m.units)).toEqual({
        'db.client.connection.create_time': 's',
        'db.client.connection.wait_time': 's',
        'db.client.connection.use_time': 's',
        'db.client.connection.count': '{connection}',
        'db.client.connection.max': '{connection}',
        'db.client.connection.pending_requests': '{request}',
        'db.client.connection.timeouts': '{timeout}',
      });

      // Stopped: no more recording from events.
      stop();
      await pool.execute('SELECT 1');
      m = await collect(reader, exporter);
      expect(m.histogram('db.client.connection.wait_time')?.count).toBe(3);
      expect(pool.listenerCount('checkout')).toBe(0);
    } finally {
      stop();
      await pool.close({ timeoutMs: 0 });
      await provider.shutdown();
      dir.dispose();
    }
  });
});
