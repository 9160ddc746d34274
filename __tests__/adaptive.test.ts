import { createPool, type AdaptiveConnectionPool, type PoolConfig, type PooledConnection, type ResizeEvent } from '../lib';
import { FaultyDriver } from './fault-driver';
import { recordEvents, tempDir } from './helpers';

// The pool's own timing (demand windows, dwell, backoff, lifetimes, leak
// timers) runs on jest's fake clock: every rule is checked deterministically.
let tmp: ReturnType<typeof tempDir>;
let driver: FaultyDriver;
let pool: AdaptiveConnectionPool | undefined;

beforeEach(() => {
  jest.useFakeTimers();
  tmp = tempDir();
  driver = new FaultyDriver(tmp.url());
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

describe('adaptive sizing', () => {
  test('grows its target to the measured peak demand and says why', async () => {
    const p = await open({ min: 1, max: 10 });
    const seen = resizes(p);
    for (let i = 0; i < 6; i++) await holdConcurrently(p, 4, 1_000);
    expect(p.stats().target).toBe(4);
    expect(seen[0]).toMatchObject({ from: 1, reason: 'demand' });
    expect(seen.at(-1)).toMatchObject({ to: 4 });
  });

  test('keeps warm spares: after a burst it opens up to the target without waiting for callers', async () => {
    const p = await open({ min: 1, max: 10, idleTimeoutMs: 60_000 });
    for (let i = 0; i < 6; i++) await holdConcurrently(p, 4, 1_000);
    await jest.advanceTimersByTimeAsync(100);
    expect(p.stats()).toMatchObject({ target: 4, size: 4, idle: 4 });
  });

  test('shrinks back towards min once demand is gone, closing idle connections', async () => {
    const p = await open({ min: 1, max: 10, idleTimeoutMs: 1_000 });
    for (let i = 0; i < 6; i++) await holdConcurrently(p, 4, 1_000);
    const events = recordEvents(p);
    const seen = resizes(p);
    await jest.advanceTimersByTimeAsync(30_000);
    expect(p.stats()).toMatchObject({ target: 1, size: 1 });
    expect(seen.every((e) => e.to < e.from && e.reason === 'demand')).toBe(true);
    expect(events.filter(([name]) => name === 'close').map(([, e]) => (e as { reason: string }).reason)).toEqual([
      'idle',
      'idle',
      'idle',
    ]);
  });

  test('does not oscillate under a steady load: it grows to the demand, then holds', async () => {
    const p = await open({ min: 1, max: 10 });
    const seen = resizes(p);
    for (let i = 0; i < 40; i++) await holdConcurrently(p, 3, 500);
    expect(seen.every((e) => e.to > e.from)).toBe(true);
    expect(seen.at(-1)!.to).toBe(3);
    const settled = seen.length;
    for (let i = 0; i < 40; i++) await holdConcurrently(p, 3, 500);
    expect(seen).toHaveLength(settled);
  });

  test('elides connects: a burst of short leases with a slow connect is served by releases', async () => {
    const p = await open({ min: 1, max: 20 });
    // Teach it the costs: a 150 ms connect and 2 ms leases.
    driver.connectDelayMs = 150;
    const opened = Promise.all([p.acquire(), p.acquire()]);
    await jest.advanceTimersByTimeAsync(150);
    for (const lease of await opened) lease.release();
    for (let i = 0; i < 20; i++) await holdConcurrently(p, 1, 2);
    const createdBefore = p.stats().totals.created;
    const burst = Array.from({ length: 20 }, () => p.use(() => new Promise((resolve) => setTimeout(resolve, 2))));
    await jest.advanceTimersByTimeAsync(500);
    await Promise.all(burst);
    // Two connections cycling every 2 ms serve all 20 within 20 ms, long
    // before a 150 ms connect would finish: nothing new is opened.
    expect(p.stats().totals.created - createdBefore).toBe(0);
  });

  test('adaptive: false opens a connection for every waiter, up to max, and never resizes', async () => {
    const p = await open({ min: 1, max: 20, adaptive: false });
    driver.connectDelayMs = 150;
    const seen = resizes(p);
    for (let i = 0; i < 5; i++) await holdConcurrently(p, 1, 2);
    const burst = Array.from({ length: 20 }, () => p.use(() => new Promise((resolve) => setTimeout(resolve, 2))));
    await jest.advanceTimersByTimeAsync(500);
    await Promise.all(burst);
    expect(p.stats().totals.created).toBeGreaterThanOrEqual(10);
    expect(seen).toEqual([]);
    expect(p.stats().target).toBe(20);
  });

  test('back-pressure halves the effective maximum, retires idle connections above it, then recovers', async () => {
    const p = await open({ min: 1, max: 8, idleTimeoutMs: 60_000 });
    for (let i = 0; i < 8; i++) await holdConcurrently(p, 8, 1_000);
    expect(p.stats()).toMatchObject({ target: 8, size: 8 });
    const events = recordEvents(p);
    const seen = resizes(p);
    driver.onBackpressure!();
    expect(seen).toEqual([{ from: 8, to: 4, reason: 'backpressure' }]);
    expect(p.stats()).toMatchObject({ effectiveMax: 4, size: 4 });
    expect(events.filter(([name]) => name === 'close').map(([, e]) => (e as { reason: string }).reason)).toEqual([
      'shrink',
      'shrink',
      'shrink',
      'shrink',
    ]);
    // Quiet seconds raise it by one each, back to max.
    for (let i = 0; i < 6; i++) await holdConcurrently(p, 4, 1_000);
    expect(p.stats().effectiveMax).toBe(8);
  });

  test('SQLITE_BUSY after the whole busy timeout is back-pressure', async () => {
    driver = new FaultyDriver(tmp.url(), { busyTimeoutMs: 50 });
    const p = await open({ min: 2, max: 4, busyTimeoutMs: 50 });
    const seen = resizes(p);
    await p.execute('create table t(v)');
    const holder = await p.acquire();
    await holder.execute('BEGIN IMMEDIATE');
    const write = p.execute('insert into t values (1)');
    const outcome = expect(write).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    await jest.advanceTimersByTimeAsync(100);
    await outcome;
    holder.release();
    expect(p.stats().effectiveMax).toBe(2);
    expect(seen.length).toBeLessThanOrEqual(1);
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
    const p = await open({ min: 1, max: 2, maxLifetimeMs: 1_000, lifetimeJitter: 0, adaptive: false });
    await p.execute('select 1 as hot');
    const events = recordEvents(p);
    await jest.advanceTimersByTimeAsync(1_000);
    const names = events.map(([name, e]) => [name, (e as { reason?: string }).reason ?? '']);
    expect(names).toEqual([
      ['create', ''],
      ['close', 'lifetime'],
    ]);
    const fresh = events[0]![1].connectionId;
    const cache = p.statementCache as import('../lib').PreparedStatementCache;
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
    driver.pingFails = true;
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
    driver.failConnects = 3;
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
    driver.failConnects = 1_000;
    // Each failed attempt fails its caller; the next waits out the backoff (100, then 200 ms).
    for (const wait of [0, 100, 200]) {
      await jest.advanceTimersByTimeAsync(wait);
      const attempt = expect(p.acquire()).rejects.toMatchObject({ code: 'CONNECT_FAILED', cause: driver.connectError });
      await jest.advanceTimersByTimeAsync(wait);
      await attempt;
    }
    expect(states).toEqual(['closed', 'closed', 'open']);
    // Open: refused at once, without trying to connect.
    const connectsSoFar = driver.connects;
    await expect(p.acquire({ timeoutMs: 60_000 })).rejects.toMatchObject({ code: 'CONNECT_FAILED' });
    expect(driver.connects).toBe(connectsSoFar);
    // Half-open once the 400 ms backoff passed: one probe, which succeeds and closes the breaker.
    driver.failConnects = 0;
    await jest.advanceTimersByTimeAsync(400);
    const lease = await p.acquire();
    expect((await lease.execute('select 1 as ok')).rows[0]!.ok).toBe(1);
    expect(driver.connects).toBe(connectsSoFar + 1);
    lease.release();
  });

  test('ACQUIRE_TIMEOUT carries a stats snapshot and the last connect error', async () => {
    const p = await open({ min: 1, max: 2, acquireTimeoutMs: 1_000 });
    const held = await p.acquire();
    driver.failConnects = 1_000;
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
    const cache = p.statementCache as import('../lib').PreparedStatementCache;
    expect(['select 1 as a', 'select 2 as b', 'select 3 as c'].map((sql) => cache.isCached(second!.connectionId, sql))).toEqual([
      true,
      true,
      false,
    ]);
    first!.release();
    second!.release();
  });
});
