import { createPool, type AdaptiveConnectionPool } from '../../lib';
import { recordEvents, tempDir } from '../support/helpers';

let tmp: ReturnType<typeof tempDir>;
let pool: AdaptiveConnectionPool;

beforeEach(async () => {
  tmp = tempDir();
  pool = await createPool({ url: tmp.url(), min: 2, max: 2 });
});

afterEach(async () => {
  jest.useRealTimers();
  await pool.close({ timeoutMs: 0 });
  tmp.dispose();
});

describe('close()', () => {
  test('closes idle connections with reason poolClosed', async () => {
    const events = recordEvents(pool);
    await pool.close();
    expect(events.map(([name, e]) => [name, (e as { reason: string }).reason])).toEqual([
      ['close', 'poolClosed'],
      ['close', 'poolClosed'],
    ]);
    expect(pool.stats()).toMatchObject({ size: 0, idle: 0, active: 0 });
  });

  test('rejects queued waiters with POOL_CLOSED', async () => {
    const held = [await pool.acquire(), await pool.acquire()];
    const waiting = pool.acquire();
    const closing = pool.close();
    await expect(waiting).rejects.toBePoolError('POOL_CLOSED');
    for (const lease of held) lease.release();
    await closing;
  });

  test('waits for leases to come back, then closes their connections', async () => {
    const lease = await pool.acquire();
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    await lease.execute('select 1');
    lease.release();
    await closing;
    expect(pool.stats().size).toBe(0);
  });

  test('after timeoutMs it closes leased connections, and their holders get POOL_CLOSED', async () => {
    jest.useFakeTimers();
    const lease = await pool.acquire();
    const closing = pool.close({ timeoutMs: 1000 });
    await jest.advanceTimersByTimeAsync(1000);
    await closing;
    expect(pool.stats().size).toBe(0);
    await expect(lease.execute('select 1')).rejects.toBePoolError('POOL_CLOSED');
    lease.release(); // harmless
  });

  test('a lease closed under its holder still ends with checkin before its close', async () => {
    jest.useFakeTimers();
    const lease = await pool.acquire();
    const events = recordEvents(pool);
    const closing = pool.close({ timeoutMs: 10 });
    await jest.advanceTimersByTimeAsync(10);
    await closing;
    const own = events.filter(([, e]) => e.connectionId === lease.connectionId).map(([name]) => name);
    expect(own).toEqual(['checkin', 'close']);
    expect(pool.stats().totals).toMatchObject({ acquired: 1, released: 1 });
  });

  test('is idempotent: every call returns the same promise', async () => {
    const first = pool.close();
    expect(pool.close()).toBe(first);
    await first;
    await expect(pool.close()).resolves.toBeUndefined();
  });

  test('await using closes the pool at the end of the scope', async () => {
    const local = tempDir();
    let closedPool: AdaptiveConnectionPool;
    {
      await using p = await createPool({ url: local.url() });
      closedPool = p;
      await p.execute('select 1');
    }
    await expect(closedPool.acquire()).rejects.toBePoolError('POOL_CLOSED');
    local.dispose();
  });
});
