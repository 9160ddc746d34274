import { createPool } from '../../lib';
import { FakeDriver } from '../support/fake-driver';
import { recordEvents, eventIds, tempDir, withPool } from '../support/helpers';

describe('PooledConnection', () => {
  test('release() is idempotent', async () => {
    await withPool({}, async (pool) => {
      const lease = await pool.acquire();
      lease.release();
      lease.release();
      expect(pool.stats()).toMatchObject({ idle: 1, active: 0, totals: expect.objectContaining({ released: 1 }) });
    });
  });

  test('every call after release throws LEASE_RELEASED', async () => {
    await withPool({}, async (pool) => {
      const lease = await pool.acquire();
      lease.release();
      expect(lease.released).toBe(true);
      await expect(lease.execute('select 1')).rejects.toBePoolError('LEASE_RELEASED');
      await expect(lease.batch(['select 1'])).rejects.toBePoolError('LEASE_RELEASED');
      await expect(lease.executeMultiple('select 1')).rejects.toBePoolError('LEASE_RELEASED');
      expect(() => lease.inTransaction()).toBePoolError('LEASE_RELEASED');
    });
  });

  test('a released lease cannot reach the connection its next holder uses', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const stale = await pool.acquire();
      stale.release();
      const current = await pool.acquire();
      expect(current.connectionId).toBe(stale.connectionId);
      await current.execute('BEGIN');
      await expect(stale.execute('ROLLBACK')).rejects.toBePoolError('LEASE_RELEASED');
      expect(current.inTransaction()).toBe(true);
      current.release();
    });
  });

  test('destroy() closes the physical connection with reason destroyed and the given error', async () => {
    await withPool({ max: 2 }, async (pool) => {
      const events = recordEvents(pool);
      const lease = await pool.acquire();
      const why = new Error('caller saw a corrupt result');
      lease.destroy(why);
      lease.release();
      expect(eventIds(events)).toEqual([
        ['checkout', lease.connectionId],
        ['checkin', lease.connectionId],
        ['close', lease.connectionId],
      ]);
      expect(events[2]![1]).toMatchObject({ reason: 'destroyed', error: why });
      expect(pool.stats().totals.closed.destroyed).toBe(1);
    });
  });

  test('await using releases the lease at the end of the scope', async () => {
    await withPool({}, async (pool) => {
      let id: number;
      {
        await using lease = await pool.acquire();
        id = lease.connectionId;
        expect(pool.stats().active).toBe(1);
      }
      expect(pool.stats()).toMatchObject({ active: 0, idle: 1 });
      const again = await pool.acquire();
      expect(again.connectionId).toBe(id);
      again.release();
    });
  });

  test('pool.use() releases the lease when the callback throws', async () => {
    await withPool({}, async (pool) => {
      await expect(
        pool.use(async () => {
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(pool.stats()).toMatchObject({ active: 0, idle: 1 });
    });
  });

  test('a lease returned inside an open transaction is rolled back before reuse', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(x)');
      const lease = await pool.acquire();
      await lease.execute('BEGIN');
      await lease.execute('insert into t values (1)');
      lease.release();
      const next = await pool.acquire();
      expect(next.connectionId).toBe(lease.connectionId);
      expect(next.inTransaction()).toBe(false);
      expect((await next.execute('select count(*) as n from t')).rows[0]!.n).toBe(0);
      next.release();
    });
  });

  test('a connection whose rollback fails at checkin is closed with reason error, never reused', async () => {
    const tmp = tempDir();
    const driver = new FakeDriver({ url: tmp.url() });
    const pool = await createPool({ url: tmp.url(), max: 1 }, driver);
    try {
      const events = recordEvents(pool);
      const lease = await pool.acquire();
      await lease.execute('BEGIN');
      driver.failNextRollbacks = Infinity;
      lease.release();
      const next = await pool.acquire();
      expect(next.connectionId).not.toBe(lease.connectionId);
      expect(next.inTransaction()).toBe(false);
      next.release();
      const close = events.find(([name]) => name === 'close');
      expect(close?.[1]).toMatchObject({ connectionId: lease.connectionId, reason: 'error' });
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('statements stay prepared across checkouts of the same connection', async () => {
    await withPool({ max: 1, statementCache: { admission: 'always' } }, async (pool) => {
      for (let i = 0; i < 5; i++) await pool.execute('select ?', [i]);
      expect(pool.stats().statementCache).toMatchObject({ misses: 1, hits: 4, size: 1, connections: 1 });
    });
  });

  test("closing a connection evicts its statements and only its statements", async () => {
    await withPool({ max: 2, statementCache: { admission: 'always' } }, async (pool) => {
      const a = await pool.acquire();
      const b = await pool.acquire();
      await a.execute('select 1');
      await b.execute('select 1');
      await b.execute('select 2');
      const cache = pool.statementCache;
      if (cache === false) throw new Error('expected a cache');
      b.destroy();
      expect(cache.connectionSize(b.connectionId)).toBe(0);
      expect(cache.connectionSize(a.connectionId)).toBe(1);
      expect(cache.stats()).toMatchObject({ cleared: 2, size: 1 });
      a.release();
    });
  });

  test("the pool's cache disposes of a statement when it is evicted and when its connection closes", async () => {
    const tmp = tempDir();
    const driver = new FakeDriver({ url: tmp.url() });
    const pool = await createPool({ url: tmp.url(), max: 1, statementCache: { maxPerConnection: 1, admission: 'always' } }, driver);
    try {
      const lease = await pool.acquire();
      await lease.execute('select 1');
      await lease.execute('select 2');
      expect(driver.disposed).toEqual(['select 1']);
      lease.destroy();
      expect(driver.disposed).toEqual(['select 1', 'select 2']);
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('maxUses retires a connection after that many checkouts', async () => {
    await withPool({ max: 1, maxUses: 2 }, async (pool) => {
      const events = recordEvents(pool);
      const first = await pool.acquire();
      first.release();
      const second = await pool.acquire();
      expect(second.connectionId).toBe(first.connectionId);
      second.release();
      const third = await pool.acquire();
      expect(third.connectionId).not.toBe(first.connectionId);
      third.release();
      expect(events.find(([name]) => name === 'close')?.[1]).toMatchObject({ reason: 'maxUses', uses: 2 });
    });
  });
});
