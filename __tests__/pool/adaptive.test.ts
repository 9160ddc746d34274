import {
  createPool,
  type AdaptiveConnectionPool,
  type MaxChangeEvent,
  type PoolConfig,
  type PooledConnection,
  type ResizeEvent,
} from '../../lib';
import { FakeDriver } from '../support/fake-driver';
import { recordEvents, tempDir } from '../support/helpers';

// The pool's own timing (idle timeouts, back-pressure, backoff, lifetimes, leak
// timers) runs on jest's fake clock: every rule is checked deterministically.
let tmp: ReturnType<typeof tempDir>;
let driver: FakeDriver;
let pool: AdaptiveConnectionPool | undefined;

beforeEach(() => {
  jest.useFakeTimers();
  tmp = tempDir();
  driver = new FakeDriver({ url: tmp.url() });
});

afterEach(async () => {
  // Real timers first: close()'s own timeout must be able to fire.
  jest.useRealTimers();
  await pool?.close({ timeoutMs: 0 });
  pool = undefined;
  jest.restoreAllMocks();
  tmp.dispose();
});

async function open(config: Partial<PoolConfig>): Promise<AdaptiveConnectionPool> {
  pool = await createPool({ url: tmp.url(), ...config }, driver);
  return pool;
}

function resizes(p: AdaptiveConnectionPool): ResizeEvent[] {
  const seen: ResizeEvent[] = [];
  p.on('resize', (e) => seen.push(e));
  return seen;
}

/** Holds `n` leases for `ms` of fake time, then releases them. */
async function holdConcurrently(p: AdaptiveConnectionPool, n: number, ms: number): Promise<void> {
  const leases = await Promise.all(Array.from({ length: n }, () => p.acquire()));
  await jest.advanceTimersByTimeAsync(ms);
  for (const lease of leases) lease.release();
}

describe('sizing: one connect per waiter still waiting, LIFO reuse, idle connections close down to min', () => {
  test('grows only while someone waits: one connect per waiter, and none in silence', async () => {
    const p = await open({ min: 1, max: 10, idleTimeoutMs: 1_000 });
    driver.connectDelayMs = 50;
    const before = driver.connectAttempts;
    const leases = holdConcurrently(p, 4, 100);
    await jest.advanceTimersByTimeAsync(50);
    // One open, three callers waiting: three connects, no more.
    expect(driver.connectAttempts - before).toBe(3);
    await leases;
    const opened = driver.connectAttempts;
    const sizes = resizes(p);
    await jest.advanceTimersByTimeAsync(20_000);
    expect(driver.connectAttempts).toBe(opened);
    expect(sizes.filter((e) => e.reason === 'open')).toEqual([]);
  });

  test('queued connects are re-checked at their turn: none starts after its waiter was served', async () => {
    const p = await open({ min: 1, max: 30 });
    driver.connectDelayMs = 150;
    const before = driver.connectAttempts;
    let connectsWhenLastServed = 0;
    const burst = Array.from({ length: 20 }, () =>
      p.use(async () => {
        connectsWhenLastServed = driver.connectAttempts;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }),
    );
    await jest.advanceTimersByTimeAsync(1_000);
    await Promise.all(burst);
    // 19 waited, 8 connects started at once (the connect limit); the one open
    // connection served everybody within 40 ms, so the 11 queued never started.
    expect(driver.connectAttempts - before).toBe(8);
    expect(driver.connectAttempts).toBe(connectsWhenLastServed);
    expect(p.stats()).toMatchObject({ waiting: 0, pending: 0 });
  });

  test('the most recently returned connection is reused first', async () => {
    const p = await open({ min: 1, max: 3 });
    const [a, b, c] = await Promise.all([p.acquire(), p.acquire(), p.acquire()]);
    b!.release();
    c!.release();
    a!.release();
    expect(await p.use(async (lease) => lease.connectionId)).toBe(a!.connectionId);
  });

  test.each([1, 0])('back at min %i within 1.5 x idleTimeoutMs after the last release', async (min) => {
    const p = await open({ min, max: 8, idleTimeoutMs: 1_000 });
    await holdConcurrently(p, 8, 100);
    expect(p.stats().size).toBe(8);
    await jest.advanceTimersByTimeAsync(1_500);
    expect(p.stats()).toMatchObject({ size: min, idle: min });
  });

  test('in silence the idle reaper wakes a handful of times per idle timeout, and never for a connection min protects', async () => {
    const p = await open({ min: 2, max: 8, idleTimeoutMs: 1_000 });
    await holdConcurrently(p, 8, 100);
    let wakeups = 0;
    const fakeSetTimeout = global.setTimeout;
    jest.spyOn(global, 'setTimeout').mockImplementation(((fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) =>
      fakeSetTimeout(() => {
        wakeups++;
        fn(...args);
      }, ms)) as typeof setTimeout);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(p.stats().size).toBe(2);
    // The eight went idle together: one wake-up closes the six above min, and
    // nothing is armed for the two min keeps.
    expect(wakeups).toBeLessThanOrEqual(2);
    expect(jest.getTimerCount()).toBe(0);
  });

  test('resize reports the real size at each change', async () => {
    const p = await open({ min: 1, max: 8, idleTimeoutMs: 1_000 });
    const seen: Array<[ResizeEvent, number]> = [];
    p.on('resize', (e) => seen.push([e, p.stats().size]));
    await holdConcurrently(p, 4, 100);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(seen.map(([e]) => [e.from, e.to, e.reason])).toEqual([
      [1, 2, 'open'],
      [2, 3, 'open'],
      [3, 4, 'open'],
      [4, 3, 'idle'],
      [3, 2, 'idle'],
      [2, 1, 'idle'],
    ]);
    expect(seen.every(([e, size]) => e.to === size)).toBe(true);
  });

  test('adaptive: false is a fixed pool: the same rule, and back-pressure is ignored', async () => {
    const p = await open({ min: 1, max: 20, adaptive: false });
    expect(driver.onBackpressure).toBeUndefined();
    await holdConcurrently(p, 5, 100);
    expect(p.stats()).toMatchObject({ size: 5, effectiveMax: 20 });
  });
});

describe('back-pressure', () => {
  function maxChanges(p: AdaptiveConnectionPool): MaxChangeEvent[] {
    const seen: MaxChangeEvent[] = [];
    p.on('maxChanged', (e) => seen.push(e));
    return seen;
  }

  test('halves the effective maximum once per episode, retiring idle connections above it, and says so', async () => {
    const p = await open({ min: 1, max: 8, idleTimeoutMs: 60_000 });
    await holdConcurrently(p, 8, 100);
    const events = recordEvents(p);
    const seen = maxChanges(p);
    // One lock episode: every writer that gave up signals.
    for (let i = 0; i < 4; i++) driver.onBackpressure!();
    expect(seen).toEqual([{ from: 8, to: 4, reason: 'backpressure' }]);
    expect(p.stats()).toMatchObject({ effectiveMax: 4, size: 4 });
    expect(events.filter(([name]) => name === 'close').map(([, e]) => (e as { reason: string }).reason)).toEqual([
      'shrink',
      'shrink',
      'shrink',
      'shrink',
    ]);
  });

  test('recovers after quiet time without traffic, reported when the pool next looks', async () => {
    // busyTimeoutMs 1 000: an episode, and each quiet interval, is one second.
    const p = await open({ min: 1, max: 8, busyTimeoutMs: 1_000, idleTimeoutMs: 60_000 });
    const seen = maxChanges(p);
    driver.onBackpressure!();
    await jest.advanceTimersByTimeAsync(999);
    expect(p.stats().effectiveMax).toBe(4);
    await jest.advanceTimersByTimeAsync(1);
    expect(p.stats().effectiveMax).toBe(8);
    await p.execute('select 1');
    expect(seen).toEqual([
      { from: 8, to: 4, reason: 'backpressure' },
      { from: 4, to: 8, reason: 'recovery' },
    ]);
    // Recovered: a burst of 8 opens up to 8 again.
    await holdConcurrently(p, 8, 10);
    expect(p.stats().size).toBe(8);
  });

  test('SQLITE_BUSY after the whole busy timeout is back-pressure', async () => {
    driver = new FakeDriver({ url: tmp.url(), busyTimeoutMs: 50 });
    const p = await open({ min: 2, max: 4, busyTimeoutMs: 50 });
    const seen = maxChanges(p);
    await p.execute('create table t(v)');
    const holder = await p.acquire();
    await holder.execute('BEGIN IMMEDIATE');
    const write = p.execute('insert into t values (1)');
    const outcome = expect(write).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    await jest.advanceTimersByTimeAsync(100);
    await outcome;
    holder.release();
    // Halved once; by now a quiet busy timeout has passed, so it may have recovered.
    expect(seen.filter((e) => e.reason === 'backpressure')).toEqual([{ from: 4, to: 2, reason: 'backpressure' }]);
  });
});

describe('connection lifetime', () => {
  test('each connection gets its own jittered lifetime, fixed at birth', async () => {
    jest.spyOn(Math, 'random').mockReturnValueOnce(0).mockReturnValueOnce(0.5).mockReturnValueOnce(0.99);
    const p = await open({ min: 3, max: 3, maxLifetimeMs: 10_000, lifetimeJitter: 0.2, adaptive: false });
    const closedAt: number[] = [];
    p.on('close', (e) => {
      if (e.reason === 'lifetime') closedAt.push(Math.round(performance.now()));
    });
    const start = Math.round(performance.now());
    await jest.advanceTimersByTimeAsync(10_500);
    expect(closedAt.map((t) => t - start)).toEqual([8_020, 9_000, 10_000]);
  });

  test('make-before-break: the replacement opens (warm) before the old connection closes', async () => {
    const p = await open({ min: 1, max: 2, maxLifetimeMs: 1_000, lifetimeJitter: 0, adaptive: false, statementCache: { admission: 'always' } });
    await p.execute('select 1 as hot');
    const events = recordEvents(p);
    await jest.advanceTimersByTimeAsync(1_000);
    const names = events.map(([name, e]) => [name, (e as { reason?: string }).reason ?? '']);
    expect(names).toEqual([
      ['create', ''],
      ['close', 'lifetime'],
    ]);
    const fresh = events[0]![1].connectionId;
    const cache = p.statementCache as import('../../lib').PreparedStatementCache;
    expect(cache.isCached(fresh, 'select 1 as hot')).toBe(true);
  });

  test('at max, where a replacement would exceed it, the old connection goes first: max is never exceeded', async () => {
    const p = await open({ min: 1, max: 1, maxLifetimeMs: 1_000, lifetimeJitter: 0, adaptive: false });
    let most = 0;
    p.on('create', () => (most = Math.max(most, p.stats().size)));
    const events = recordEvents(p);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(events.map(([name, e]) => [name, (e as { reason?: string }).reason ?? ''])).toEqual([
      ['close', 'lifetime'],
      ['create', ''],
    ]);
    expect(most).toBe(1);
  });

  test('no acquire waits on a retirement: the old connection serves until its replacement is ready', async () => {
    const p = await open({ min: 1, max: 2, maxLifetimeMs: 2_000, lifetimeJitter: 0, adaptive: false });
    driver.connectDelayMs = 500;
    const old = (await p.use(async (c) => c.connectionId));
    await jest.advanceTimersByTimeAsync(2_000); // expired; replacement connecting for 500 ms
    const waits: number[] = [];
    p.on('checkout', (e) => waits.push(e.waitedMs));
    const during = await p.acquire();
    expect(during.connectionId).toBe(old);
    during.release();
    await jest.advanceTimersByTimeAsync(500);
    const after = await p.acquire();
    expect(after.connectionId).not.toBe(old);
    after.release();
    expect(waits).toEqual([0, 0]);
  });

  test('a leased connection that expires is retired when it comes back, after its replacement opened', async () => {
    const p = await open({ min: 1, max: 2, maxLifetimeMs: 1_000, lifetimeJitter: 0, adaptive: false });
    const lease = await p.acquire();
    const events = recordEvents(p);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(events.map(([name]) => name)).toEqual(['create']);
    lease.release();
    expect(events.map(([name, e]) => [name, (e as { reason?: string }).reason])).toEqual([
      ['create', undefined],
      ['checkin', undefined],
      ['close', 'lifetime'],
    ]);
  });
});

describe('validation after idle', () => {
  test('a connection idle longer than validateAfterIdleMs is pinged before it is lent', async () => {
    const p = await open({ min: 1, max: 2, validateAfterIdleMs: 1_000 });
    await p.execute('select 1');
    await jest.advanceTimersByTimeAsync(500);
    await p.execute('select 1');
    expect(driver.pings).toBe(0);
    await jest.advanceTimersByTimeAsync(1_500);
    await p.execute('select 1');
    expect(driver.pings).toBe(1);
  });

  test('an unhealthy connection is closed and the caller gets another without noticing', async () => {
    const p = await open({ min: 1, max: 2, validateAfterIdleMs: 1_000, adaptive: false });
    const first = await p.use(async (c) => c.connectionId);
    const events = recordEvents(p);
    await jest.advanceTimersByTimeAsync(2_000);
    driver.failNextPings = Infinity;
    const lease = await p.acquire();
    expect(lease.connectionId).not.toBe(first);
    expect((await lease.execute('select 7 as v')).rows[0]!.v).toBe(7);
    lease.release();
    const close = events.find(([name]) => name === 'close')!;
    expect(close[1]).toMatchObject({ connectionId: first, reason: 'unhealthy' });
  });
});

describe('connect failures', () => {
  test('retries with exponential backoff, reporting each failure', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999999);
    const p = await open({ min: 1, max: 2, connectRetryMs: 100, breakerThreshold: 10, adaptive: false });
    const failures: Array<{ failures: number; retryInMs: number }> = [];
    p.on('connectError', (e) => failures.push({ failures: e.failures, retryInMs: Math.round(e.retryInMs) }));
    const held = await p.acquire();
    driver.failNextConnects = 3;
    const waiting = p.acquire();
    await jest.advanceTimersByTimeAsync(1_000);
    const lease = await waiting;
    expect(failures).toEqual([
      { failures: 1, retryInMs: 100 },
      { failures: 2, retryInMs: 200 },
      { failures: 3, retryInMs: 400 },
    ]);
    lease.release();
    held.release();
  });

  test('the breaker opens after N failures: acquires fail at once with the cause, a half-open probe closes it', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0.999999);
    const p = await open({ min: 0, max: 2, connectRetryMs: 100, breakerThreshold: 3, adaptive: false });
    const states: string[] = [];
    p.on('connectError', (e) => states.push(e.breaker));
    (await p.acquire()).destroy();
    driver.failNextConnects = Infinity;
    // Each failed attempt fails its caller; the next waits out the backoff (100, then 200 ms).
    for (const wait of [0, 100, 200]) {
      await jest.advanceTimersByTimeAsync(wait);
      const attempt = expect(p.acquire()).rejects.toBePoolError('CONNECT_FAILED', { cause: driver.connectError });
      await jest.advanceTimersByTimeAsync(wait);
      await attempt;
    }
    expect(states).toEqual(['closed', 'closed', 'open']);
    // Open: refused at once, without trying to connect.
    const connectsSoFar = driver.connectAttempts;
    await expect(p.acquire({ timeoutMs: 60_000 })).rejects.toBePoolError('CONNECT_FAILED');
    expect(driver.connectAttempts).toBe(connectsSoFar);
    // Half-open once the 400 ms backoff passed: one probe, which succeeds and closes the breaker.
    driver.failNextConnects = 0;
    await jest.advanceTimersByTimeAsync(400);
    const lease = await p.acquire();
    expect((await lease.execute('select 1 as ok')).rows[0]!.ok).toBe(1);
    expect(driver.connectAttempts).toBe(connectsSoFar + 1);
    lease.release();
  });

  test('ACQUIRE_TIMEOUT carries a stats snapshot and the last connect error', async () => {
    const p = await open({ min: 1, max: 2, acquireTimeoutMs: 1_000 });
    const held = await p.acquire();
    driver.failNextConnects = Infinity;
    const waiting = p.acquire().catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(1_000);
    const error = (await waiting) as { code: string; cause: unknown; stats: { size: number; waiting: number } };
    expect(error.code).toBe('ACQUIRE_TIMEOUT');
    expect(error.cause).toBe(driver.connectError);
    expect(error.stats).toMatchObject({ size: 1, active: 1 });
    held.release();
  });
});

describe('leak detection', () => {
  test('a lease held past leakDetectionMs is reported with the stack that acquired it, then resolved', async () => {
    const p = await open({ leakDetectionMs: 1_000 });
    const reports: Array<{ state: string; stack?: string; connectionId: number }> = [];
    p.on('leak', (e) => reports.push(e));
    const lease: PooledConnection = await p.acquire();
    await jest.advanceTimersByTimeAsync(999);
    expect(reports).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(reports).toEqual([expect.objectContaining({ state: 'suspected', connectionId: lease.connectionId })]);
    expect(reports[0]!.stack).toMatch(/adaptive\.test\.ts/);
    lease.release();
    expect(reports.map((r) => r.state)).toEqual(['suspected', 'resolved']);
  });

  test('a lease released in time is never reported', async () => {
    const p = await open({ leakDetectionMs: 1_000 });
    const reports: unknown[] = [];
    p.on('leak', (e) => reports.push(e));
    (await p.acquire()).release();
    await jest.advanceTimersByTimeAsync(5_000);
    expect(reports).toEqual([]);
  });
});

describe('warm statements', () => {
  test("a new connection starts with the pool's most used statements prepared", async () => {
    const p = await open({ min: 1, max: 3, warmStatements: 2 });
    for (let i = 0; i < 5; i++) await p.execute('select 1 as a');
    for (let i = 0; i < 3; i++) await p.execute('select 2 as b');
    await p.execute('select 3 as c');
    const [first, second] = await Promise.all([p.acquire(), p.acquire()]);
    const cache = p.statementCache as import('../../lib').PreparedStatementCache;
    expect(['select 1 as a', 'select 2 as b', 'select 3 as c'].map((sql) => cache.isCached(second!.connectionId, sql))).toEqual([
      true,
      true,
      false,
    ]);
    first!.release();
    second!.release();
  });
});
