import { createPool, PreparedStatementCache, StatementCacheSubscriber, type ConnectionId, type PoolConfig } from '../../lib';
import { eventIds, recordEvents, tempDir } from '../support/helpers';

// The foundation's behaviours, on every backend: a file database, and the run's
// sqld over WebSocket and over HTTP. Table names are unique, since test files
// share the server.
const backends = {
  file: () => tempDir(),
  ws: () => ({ url: () => process.env.LIBSQL_POOL_TEST_SQLD_WS!, dispose: () => undefined }),
  http: () => ({ url: () => process.env.LIBSQL_POOL_TEST_SQLD_HTTP!, dispose: () => undefined }),
};

let counter = 0;
const table = () => `c_${process.pid}_${Date.now().toString(36)}_${counter++}`;

describe.each(Object.entries(backends))('on %s', (_backend, open) => {
  async function withPool<T>(config: Partial<PoolConfig>, fn: (pool: Awaited<ReturnType<typeof createPool>>) => Promise<T>) {
    const where = open();
    const pool = await createPool({ ...config, url: where.url() });
    try {
      return await fn(pool);
    } finally {
      await pool.close({ timeoutMs: 0 });
      where.dispose();
    }
  }

  test('events arrive in order: create, checkout, checkin, close', async () => {
    const where = open();
    // Fixed size: an adaptive pool may open a warm spare, which would add events.
    const pool = await createPool({ url: where.url(), min: 0, max: 2, adaptive: false });
    const events = recordEvents(pool);
    try {
      const a = await pool.acquire();
      const b = await pool.acquire();
      await b.execute('select 1');
      b.release();
      a.destroy();
      await pool.close();
      expect(eventIds(events)).toEqual([
        ['checkout', a.connectionId],
        ['create', b.connectionId],
        ['checkout', b.connectionId],
        ['checkin', b.connectionId],
        ['checkin', a.connectionId],
        ['close', a.connectionId],
        ['close', b.connectionId],
      ]);
      expect(events.filter(([n]) => n === 'close').map(([, e]) => (e as { reason: string }).reason)).toEqual([
        'destroyed',
        'poolClosed',
      ]);
    } finally {
      where.dispose();
    }
  });

  test('connection ids are unique and increase as connections open', async () => {
    await withPool({ min: 3, max: 3 }, async (pool) => {
      const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      const ids = leases.map((l) => l.connectionId);
      expect(new Set(ids).size).toBe(3);
      leases[0]!.destroy();
      const fresh = await pool.acquire();
      expect(fresh.connectionId).toBeGreaterThan(Math.max(...ids));
      for (const lease of [fresh, ...leases]) lease.release();
    });
  });

  test('the cleanup callback runs once per closed connection, with its id, until removed', async () => {
    await withPool({ min: 0, max: 2, maxUses: 1 }, async (pool) => {
      const cleaned: ConnectionId[] = [];
      pool.setCleanupCallback((id) => cleaned.push(id));
      const first = await pool.acquire();
      first.release();
      expect(cleaned).toEqual([first.connectionId]);
      pool.removeCleanupCallback();
      (await pool.acquire()).release();
      expect(cleaned).toEqual([first.connectionId]);
    });
  });

  test('statements are prepared once per connection, kept across checkouts and evicted when it closes', async () => {
    await withPool({ max: 1, statementCache: { admission: 'always' } }, async (pool) => {
      const cache = pool.statementCache as PreparedStatementCache;
      const lease = await pool.acquire();
      await lease.execute('select ? as v', [1]);
      lease.release();
      const again = await pool.acquire();
      await again.execute('select ? as v', [2]);
      expect(again.connectionId).toBe(lease.connectionId);
      expect(cache.stats()).toMatchObject({ misses: 1, hits: 1 });
      again.destroy();
      expect(cache.connectionSize(lease.connectionId)).toBe(0);
      expect(cache.stats().cleared).toBe(1);
    });
  });

  test('a subscriber keeps another cache in step', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const other = new PreparedStatementCache(10);
      new StatementCacheSubscriber(other).attach(pool);
      const lease = await pool.acquire();
      other.recordMiss(lease.connectionId, 'select 1', 3);
      lease.destroy();
      expect(other.size).toBe(0);
    });
  });

  test('transaction() commits, rolls back, and hides uncommitted rows from other leases', async () => {
    const t = table();
    await withPool({ max: 2 }, async (pool) => {
      await pool.execute(`create table ${t}(v)`);
      await pool.transaction(async (tx) => {
        await tx.execute(`insert into ${t} values (1)`);
        expect((await pool.execute(`select count(*) as n from ${t}`)).rows[0]!.n).toBe(0);
      });
      await expect(
        pool.transaction(async (tx) => {
          await tx.execute(`insert into ${t} values (2)`);
          throw new Error('no');
        }),
      ).rejects.toThrow('no');
      expect((await pool.execute(`select v from ${t}`)).rows.map((r) => r.v)).toEqual([1]);
      await pool.execute(`drop table ${t}`);
    });
  });

  test('the transaction is tracked as SQLite reads the text: empty statements before BEGIN, comments inside ROLLBACK TO', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const lease = await pool.acquire();
      try {
        await lease.execute(';; /* empty statements first */ BEGIN');
        expect(lease.inTransaction()).toBe(true);
        await lease.execute('SAVEPOINT s');
        await lease.execute('ROLLBACK /* only to the savepoint */ TO s');
        expect(lease.inTransaction()).toBe(true);
        await lease.execute('ROLLBACK -- the transaction');
        expect(lease.inTransaction()).toBe(false);
      } finally {
        lease.release();
      }
    });
  });

  test('a lease released inside a transaction is rolled back before the next caller gets it', async () => {
    const t = table();
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute(`create table ${t}(v)`);
      const lease = await pool.acquire();
      await lease.execute('BEGIN');
      await lease.execute(`insert into ${t} values (1)`);
      lease.release();
      const next = await pool.acquire();
      expect(next.connectionId).toBe(lease.connectionId);
      expect(next.inTransaction()).toBe(false);
      expect((await next.execute(`select count(*) as n from ${t}`)).rows[0]!.n).toBe(0);
      await next.execute(`drop table ${t}`);
      next.release();
    });
  });
});
