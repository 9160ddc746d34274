import { createPool, PoolError, type PooledConnection } from '../../lib';
import { FakeDriver } from '../support/fake-driver';
import { tempDir, withPool } from '../support/helpers';

afterEach(() => {
  jest.useRealTimers();
});

describe('acquire()', () => {
  test('reuses an idle connection instead of opening another', async () => {
    await withPool({ min: 1, max: 4 }, async (pool) => {
      const first = await pool.acquire();
      const id = first.connectionId;
      first.release();
      const second = await pool.acquire();
      expect(second.connectionId).toBe(id);
      second.release();
      expect(pool.stats().totals.created).toBe(1);
    });
  });

  test('opens connections on demand up to max and never beyond', async () => {
    await withPool({ min: 0, max: 3 }, async (pool) => {
      const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      expect(pool.stats().size).toBe(3);
      const fourth = pool.acquire();
      await Promise.resolve();
      expect(pool.stats()).toMatchObject({ size: 3, waiting: 1, pending: 0 });
      leases[0]!.release();
      const served = await fourth;
      expect(served.connectionId).toBe(leases[0]!.connectionId);
      for (const lease of [served, leases[1]!, leases[2]!]) lease.release();
      expect(pool.stats().totals.created).toBe(3);
    });
  });

  test('serves waiters in arrival order', async () => {
    await withPool({ min: 1, max: 1 }, async (pool) => {
      const held = await pool.acquire();
      const order: number[] = [];
      const waiters = [1, 2, 3].map((n) =>
        pool.acquire().then((lease) => {
          order.push(n);
          lease.release();
        }),
      );
      held.release();
      await Promise.all(waiters);
      expect(order).toEqual([1, 2, 3]);
    });
  });

  test('never hands one connection to two callers at once', async () => {
    await withPool({ min: 0, max: 3 }, async (pool) => {
      const inUse = new Set<number>();
      let overlaps = 0;
      await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          pool.use(async (lease) => {
            if (inUse.has(lease.connectionId)) overlaps++;
            inUse.add(lease.connectionId);
            // Yield a varying number of times so leases interleave.
            for (let k = 0; k < i % 4; k++) await Promise.resolve();
            inUse.delete(lease.connectionId);
          }),
        ),
      );
      expect(overlaps).toBe(0);
      expect(pool.stats().size).toBeLessThanOrEqual(3);
    });
  });

  test('times out after acquireTimeoutMs by default, with the pool state in the message', async () => {
    jest.useFakeTimers();
    await withPool({ min: 1, max: 1, acquireTimeoutMs: 500 }, async (pool) => {
      const held = await pool.acquire();
      const waiting = pool.acquire();
      const outcome = expect(waiting).rejects.toBePoolError('ACQUIRE_TIMEOUT', { message: /500 ms.*1\/1/ });
      await jest.advanceTimersByTimeAsync(499);
      expect(pool.stats().waiting).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      await outcome;
      expect(pool.stats()).toMatchObject({ waiting: 0, totals: expect.objectContaining({ timeouts: 1 }) });
      held.release();
    });
  });

  test('the default acquire timeout is 30 seconds', async () => {
    jest.useFakeTimers();
    await withPool({ min: 1, max: 1 }, async (pool) => {
      const held = await pool.acquire();
      const waiting = pool.acquire();
      const outcome = expect(waiting).rejects.toBePoolError('ACQUIRE_TIMEOUT');
      await jest.advanceTimersByTimeAsync(29_999);
      expect(pool.stats().waiting).toBe(1);
      await jest.advanceTimersByTimeAsync(1);
      await outcome;
      held.release();
    });
  });

  test('timeoutMs on the call overrides the configured timeout', async () => {
    jest.useFakeTimers();
    await withPool({ min: 1, max: 1 }, async (pool) => {
      const held = await pool.acquire();
      const outcome = expect(pool.acquire({ timeoutMs: 20 })).rejects.toBePoolError('ACQUIRE_TIMEOUT');
      await jest.advanceTimersByTimeAsync(20);
      await outcome;
      held.release();
    });
  });

  test('a connection freed after its waiter timed out goes back to idle, not to the dead waiter', async () => {
    jest.useFakeTimers();
    await withPool({ min: 1, max: 1 }, async (pool) => {
      const held = await pool.acquire();
      const outcome = expect(pool.acquire({ timeoutMs: 10 })).rejects.toBePoolError('ACQUIRE_TIMEOUT');
      await jest.advanceTimersByTimeAsync(10);
      await outcome;
      held.release();
      expect(pool.stats()).toMatchObject({ idle: 1, active: 0, waiting: 0 });
      const next = await pool.acquire();
      expect(next.connectionId).toBe(held.connectionId);
      next.release();
    });
  });

  test('an AbortSignal that fires while waiting rejects with ACQUIRE_ABORTED and frees the place in line', async () => {
    await withPool({ min: 1, max: 1 }, async (pool) => {
      const held = await pool.acquire();
      const controller = new AbortController();
      const aborted = pool.acquire({ signal: controller.signal });
      const after = pool.acquire();
      controller.abort(new Error('user gave up'));
      await expect(aborted).rejects.toBePoolError('ACQUIRE_ABORTED', { cause: new Error('user gave up') });
      held.release();
      const served = await after;
      expect(served.connectionId).toBe(held.connectionId);
      served.release();
      expect(pool.stats().totals.aborted).toBe(1);
    });
  });

  test('an already aborted signal rejects at once', async () => {
    await withPool({}, async (pool) => {
      await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toBePoolError('ACQUIRE_ABORTED');
      expect(pool.stats().active).toBe(0);
    });
  });

  test('maxWaiters bounds the queue with POOL_EXHAUSTED', async () => {
    await withPool({ min: 1, max: 1, maxWaiters: 2 }, async (pool) => {
      const held = await pool.acquire();
      const queued = [pool.acquire(), pool.acquire()];
      await expect(pool.acquire()).rejects.toBePoolError('POOL_EXHAUSTED');
      held.release();
      for (const lease of await Promise.all(queued.map((p) => p.then((l) => (l.release(), l))))) {
        expect(lease.released).toBe(true);
      }
      expect(pool.stats().totals.exhausted).toBe(1);
    });
  });

  test('a negative timeoutMs is rejected as INVALID_ARGUMENT', async () => {
    await withPool({}, async (pool) => {
      await expect(pool.acquire({ timeoutMs: -1 })).rejects.toBePoolError('INVALID_ARGUMENT');
    });
  });

  test('acquire on a closed pool rejects with POOL_CLOSED', async () => {
    let closed: Awaited<ReturnType<typeof createPool>> | undefined;
    await withPool({}, async (pool) => {
      closed = pool;
      await pool.close();
    });
    await expect(closed!.acquire()).rejects.toBePoolError('POOL_CLOSED');
    await expect(closed!.execute('select 1')).rejects.toBeInstanceOf(PoolError);
  });
});

describe('opening connections', () => {
  test('createPool opens min connections before it resolves', async () => {
    await withPool({ min: 3, max: 5 }, async (pool) => {
      expect(pool.stats()).toMatchObject({ size: 3, idle: 3, pending: 0 });
    });
  });

  test('createPool opens one connection even with min 0, so a bad database fails fast', async () => {
    await withPool({ min: 0 }, async (pool) => {
      expect(pool.stats().size).toBe(1);
    });
    await expect(createPool({ url: 'file:/nonexistent-dir/sub/x.db' })).rejects.toBePoolError('CONNECT_FAILED', {
      // The same error @libsql/client's createClient throws for this URL.
      cause: expect.objectContaining({ message: expect.stringMatching(/Unable to open connection/) }),
    });
  });

  test('when nothing can be opened, waiters fail with CONNECT_FAILED instead of waiting out the timeout', async () => {
    const tmp = tempDir();
    const driver = new FakeDriver({ url: tmp.url() });
    const pool = await createPool({ url: tmp.url(), min: 0, max: 2 }, driver);
    try {
      (await pool.acquire()).destroy();
      driver.failNextConnects = 1;
      await expect(pool.acquire()).rejects.toBePoolError('CONNECT_FAILED', {
        cause: driver.connectError,
      });
      expect(pool.stats().totals.createErrors).toBe(1);
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('a timed-out waiter carries the last connect error as its cause', async () => {
    jest.useFakeTimers();
    const tmp = tempDir();
    const driver = new FakeDriver({ url: tmp.url() });
    const pool = await createPool({ url: tmp.url(), min: 1, max: 2, acquireTimeoutMs: 100 }, driver);
    try {
      const held = await pool.acquire();
      driver.failNextConnects = Infinity; // every retry within the timeout fails too
      const waiting = pool.acquire();
      const outcome = expect(waiting).rejects.toBePoolError('ACQUIRE_TIMEOUT', { cause: driver.connectError });
      await jest.advanceTimersByTimeAsync(100);
      await outcome;
      held.release();
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('a connection that opens after its waiter left is kept idle for the next caller', async () => {
    const tmp = tempDir();
    const driver = new FakeDriver({ url: tmp.url() });
    const pool = await createPool({ url: tmp.url(), min: 1, max: 2 }, driver);
    try {
      const held = await pool.acquire();
      driver.holdConnects = true;
      const controller = new AbortController();
      const waiting = pool.acquire({ signal: controller.signal });
      expect(pool.stats().pending).toBe(1);
      // Let the connect start: one that has not started when its waiter leaves never does.
      await new Promise((resolve) => setImmediate(resolve));
      const connects = driver.connectAttempts;
      controller.abort();
      await expect(waiting).rejects.toBePoolError('ACQUIRE_ABORTED');
      driver.releaseConnects();
      await new Promise<void>((resolve) => pool.once('create', () => resolve()));
      expect(pool.stats()).toMatchObject({ size: 2, idle: 1, active: 1, waiting: 0 });
      expect(driver.connectAttempts).toBe(connects);
      const next: PooledConnection = await pool.acquire();
      expect(next.connectionId).not.toBe(held.connectionId);
      next.release();
      held.release();
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('a connect whose waiter left before it started is not started', async () => {
    const tmp = tempDir();
    const driver = new FakeDriver({ url: tmp.url() });
    const pool = await createPool({ url: tmp.url(), min: 1, max: 2 }, driver);
    try {
      const held = await pool.acquire();
      const connects = driver.connectAttempts;
      const controller = new AbortController();
      const waiting = pool.acquire({ signal: controller.signal });
      expect(pool.stats().pending).toBe(1);
      controller.abort();
      await expect(waiting).rejects.toBePoolError('ACQUIRE_ABORTED');
      await new Promise((resolve) => setImmediate(resolve));
      expect(driver.connectAttempts).toBe(connects);
      expect(pool.stats()).toMatchObject({ size: 1, pending: 0 });
      held.release();
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });
});
