import {
  AdaptiveConnectionPool,
  LibsqlError,
  PoolError,
  type PoolConfig,
  type PooledConnection,
} from '../../lib';
import { recordEvents, tempDir } from '../support/helpers';
import { FakeDriver } from '../support/fake-driver';

// Directed cases through a real pool over `FakeDriver`: each of its faults as
// the pool meets it (a connection dying mid-query, slow, held and failing
// connects, held and failing rollbacks), and one test for each bug the pool's
// state-machine test (pool-model.test.ts) once found, kept so it stays fixed.

const dir = tempDir();
let runs = 0;

afterAll(() => dir.dispose());

describe('FakeDriver faults through the pool', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  async function fakePool(config: Partial<PoolConfig> = {}) {
    const file = `${dir.dir}/directed-${runs++}.db`;
    const full: PoolConfig = { url: `file:${file}`, max: 2, ...config };
    const driver = new FakeDriver(full);
    const pool = new AdaptiveConnectionPool(full, driver);
    const events = recordEvents(pool);
    await pool.warmUp();
    return { pool, driver, events, file };
  }

  test('a connection that dies mid-query rejects the query, is retired with reason error, and its statements leave the cache', async () => {
    const { pool, driver, events } = await fakePool({ max: 1 });
    const lease = await pool.acquire();
    await lease.execute('SELECT 1');
    driver.nextQueryFault = 'stall';
    const inFlight = lease.execute('SELECT 2');
    expect(driver.stalled).toBe(1);
    driver.resumeStalled('die');
    await expect(inFlight).rejects.toMatchObject({ name: 'LibsqlError', code: 'SQLITE_IOERR', message: /died mid-query/ });
    expect(driver.connections[0]!.brokenBy).toBeInstanceOf(LibsqlError);
    await expect(lease.execute('SELECT 1')).rejects.toMatchObject({ code: 'SQLITE_IOERR' });
    lease.release();
    expect(events.find(([name]) => name === 'close')?.[1]).toMatchObject({ connectionId: lease.connectionId, reason: 'error' });
    const cache = pool.statementCache;
    expect(cache !== false && cache.connectionSize(lease.connectionId)).toBe(0);
    const next = await pool.acquire();
    expect(next.connectionId).not.toBe(lease.connectionId);
    expect((await next.execute('SELECT 41 + 1 AS v')).rows[0]!.v).toBe(42);
    next.release();
    await pool.close();
  });

  test('connect latency is driven by fake timers, and failed connects reach waiters as CONNECT_FAILED', async () => {
    const { pool, driver } = await fakePool({ min: 0, max: 1 });
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const first = await pool.acquire();
    first.destroy();
    driver.connectDelayMs = 100;
    driver.failNextConnects = 1;
    const waiting = pool.acquire({ timeoutMs: 1_000 });
    const outcome = expect(waiting).rejects.toBePoolError('CONNECT_FAILED', { cause: { code: 'SQLITE_CANTOPEN' } });
    await jest.advanceTimersByTimeAsync(99);
    expect(pool.stats()).toMatchObject({ pending: 1, waiting: 1 });
    await jest.advanceTimersByTimeAsync(1);
    await outcome;
    expect(pool.stats().totals.createErrors).toBe(1);
    driver.holdConnects = true;
    const later = pool.acquire({ timeoutMs: 5_000 });
    await jest.advanceTimersByTimeAsync(1_500); // past the refill pause and the connect delay
    expect(driver.heldConnects).toBe(1);
    driver.releaseConnects();
    const lease = await later;
    expect((await lease.execute('SELECT 7 AS v')).rows[0]!.v).toBe(7);
    lease.release();
    const closing = pool.close();
    await jest.advanceTimersByTimeAsync(0);
    await closing;
  });

  test('totals.released and the checkin event wait for the checkin rollback', async () => {
    const { pool, driver, events } = await fakePool({ max: 1 });
    const lease = await pool.acquire();
    await lease.execute('BEGIN');
    driver.rollbackDelayMs = 0;
    driver.holdRollbacks = true;
    lease.release();
    const checkins = () => events.filter(([name]) => name === 'checkin').length;
    // stats().totals and the events must agree (released == number of checkin events).
    expect(pool.stats().totals.released).toBe(checkins());
    driver.releaseRollbacks();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(pool.stats().totals.released).toBe(checkins());
    await pool.close();
  });

  test('close() that force-closes a connection still rolling back at checkin still emits its checkin', async () => {
    const { pool, driver, events } = await fakePool({ max: 1, closeTimeoutMs: 0 });
    const lease = await pool.acquire();
    await lease.execute('BEGIN');
    driver.holdRollbacks = true;
    lease.release(); // checkin must roll back first: the connection is 'resetting'
    await pool.close({ timeoutMs: 0 }); // force-closes it while the rollback is held
    driver.releaseRollbacks();
    await new Promise<void>((resolve) => setImmediate(resolve));
    const names = events.map(([name]) => name);
    expect(names.filter((n) => n === 'close')).toHaveLength(1);
    // Each checkout pairs with exactly one checkin (events.ts: "checkout and checkin pair up once per lease").
    expect(names.filter((n) => n === 'checkin').length).toBe(names.filter((n) => n === 'checkout').length);
  });

  test('a create listener sees the new connection counted as idle, and may call back into the pool', async () => {
    const { pool } = await fakePool({ min: 0, max: 2 });
    const seen: Array<{ size: number; idle: number; active: number }> = [];
    let fromListener: Promise<PooledConnection> | undefined;
    pool.on('create', () => {
      const { size, idle, active } = pool.stats();
      seen.push({ size, idle, active });
      // A listener may call back into the pool: listeners run once its state is consistent.
      fromListener ??= pool.acquire();
    });
    const first = await pool.acquire(); // the idle connection from warmUp
    first.destroy();
    const lease = await pool.acquire(); // opens a connection: its create listener runs
    const other = await fromListener!;
    // Events are emitted after the state change they report is complete (pool.ts).
    for (const s of seen) expect(s.size).toBe(s.idle + s.active);
    expect(other.connectionId).not.toBe(lease.connectionId);
    expect(pool.stats().totals.created).toBe(3);
    lease.release();
    other.release();
    await pool.close();
  });

  test.each([
    ['maxUses', { maxUses: 1 }, 'maxUses'],
    ['a failed rollback', {}, 'error'],
    ['close()', {}, 'poolClosed'],
  ] as const)(
    'a lease released inside a transaction is checked in exactly once when its connection is then retired (%s)',
    async (_name, config, reason) => {
      const { pool, driver, events } = await fakePool({ max: 1, ...config });
      const lease = await pool.acquire();
      await lease.execute('BEGIN');
      if (reason === 'error') driver.failNextRollbacks = 1;
      lease.release(); // checkin rolls back first, then retires the connection
      const closing = reason === 'poolClosed' ? pool.close() : undefined;
      await new Promise<void>((resolve) => setImmediate(resolve));
      await closing;
      const mine = events.filter(([, e]) => e.connectionId === lease.connectionId).map(([name]) => name);
      expect(mine).toEqual(['create', 'checkout', 'checkin', 'close']);
      expect(events.find(([name]) => name === 'close')![1]).toMatchObject({ reason });
      const { totals } = pool.stats();
      expect(totals.released).toBe(totals.acquired);
      await pool.close();
    },
  );

  test('a connection that finishes opening after close() is announced by create with size == idle + active', async () => {
    const { pool, driver } = await fakePool({ min: 0, max: 1 });
    const first = await pool.acquire();
    first.destroy();
    driver.holdConnects = true;
    const waiting = pool.acquire();
    const outcome = expect(waiting).rejects.toBePoolError('POOL_CLOSED');
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(driver.heldConnects).toBe(1);
    const closing = pool.close({ timeoutMs: 0 });
    await outcome;
    await closing;
    const seen: Array<{ size: number; idle: number; active: number }> = [];
    pool.on('create', () => {
      const { size, idle, active } = pool.stats();
      seen.push({ size, idle, active });
    });
    driver.releaseConnects();
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(seen).toHaveLength(1);
    // Listeners run with no pool invariant broken: size is idle + active.
    expect(seen[0]!.size).toBe(seen[0]!.idle + seen[0]!.active);
    expect(pool.stats().size).toBe(0);
  });

  test('maxLifetimeMs: renewing a connection never opens more than max connections, even while the old one is leased', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { pool } = await fakePool({ min: 0, max: 1, maxLifetimeMs: 300, lifetimeJitter: 0 });
    let most = 0;
    pool.on('create', () => (most = Math.max(most, pool.stats().size)));
    const lease = await pool.acquire();
    await jest.advanceTimersByTimeAsync(1_000); // the leased connection outlives maxLifetimeMs
    most = Math.max(most, pool.stats().size);
    lease.release();
    await jest.advanceTimersByTimeAsync(1_000);
    // PoolConfig.max: "Most connections open at once".
    expect(most).toBeLessThanOrEqual(1);
    const closing = pool.close();
    await jest.advanceTimersByTimeAsync(0);
    await closing;
  });

  test('maxWaiters: 0 does not refuse a caller when the only idle connection just needs validating', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { pool } = await fakePool({ min: 1, max: 1, maxWaiters: 0, validateAfterIdleMs: 50 });
    await jest.advanceTimersByTimeAsync(100); // the idle connection is due a ping before reuse
    const outcome = pool.execute('SELECT 1 AS v').catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(10);
    // An idle connection is there and healthy: nobody is waiting behind anybody.
    expect(await outcome).toMatchObject({ rows: [{ v: 1 }] });
    const closing = pool.close();
    await jest.advanceTimersByTimeAsync(0);
    await closing;
  });

  test('maxWaiters: 0 does not refuse a caller the pool can open a connection for', async () => {
    const { pool } = await fakePool({ min: 1, max: 4, maxWaiters: 0 });
    const first = await pool.acquire(); // the idle connection from warmUp
    // Three more connections may be opened; nobody is waiting.
    expect(pool.stats()).toMatchObject({ size: 1, max: 4, waiting: 0 });
    const second = await pool.acquire().catch((error: unknown) => error);
    expect(second).not.toBeInstanceOf(PoolError);
    if (!(second instanceof PoolError)) (second as PooledConnection).release();
    first.release();
    await pool.close();
  });

  test('totals.aborted counts an acquire() whose signal had already aborted', async () => {
    const { pool } = await fakePool();
    const controller = new AbortController();
    controller.abort();
    await expect(pool.acquire({ signal: controller.signal })).rejects.toBePoolError('ACQUIRE_ABORTED');
    // PoolTotals.aborted: "`acquire()` calls that ended in `ACQUIRE_ABORTED`".
    expect(pool.stats().totals.aborted).toBe(1);
    await pool.close();
  });

  test('an insert that succeeds after another insert on its lease met SQLITE_BUSY is committed (no statement cache)', async () => {
    // The model's shrunk sequence: acquire, begin, insert, acquire, insert
    // (SQLITE_BUSY), release the first, insert again on the second.
    const { pool, file } = await fakePool({ max: 2, busyTimeoutMs: 0, statementCache: false });
    await pool.execute('CREATE TABLE t (tag INTEGER)');
    const first = await pool.acquire();
    const second = await pool.acquire();
    await first.execute('BEGIN');
    await first.execute('INSERT INTO t(tag) VALUES (?)', [2]);
    await expect(second.execute('INSERT INTO t(tag) VALUES (?)', [3])).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
    // Its checkin rolls the transaction back, and frees the lock, before `checkin` is emitted.
    const checkedIn = new Promise((resolve) => pool.once('checkin', resolve));
    first.release();
    await checkedIn;
    await second.execute('INSERT INTO t(tag) VALUES (?)', [4]);
    second.release();
    await pool.close();
    const reader = new AdaptiveConnectionPool({ url: `file:${file}`, max: 1 });
    expect((await reader.execute('SELECT tag FROM t')).rows.map((r) => r.tag)).toEqual([4]);
    await reader.close();
  });
});
