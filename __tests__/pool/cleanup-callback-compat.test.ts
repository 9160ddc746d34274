// The cleanup-callback API (`setCleanupCallback`, `removeCleanupCallback`) and
// connection ids, as a caller that keeps its own `PreparedStatementCache` uses
// them: the callback runs once for each connection that closes, with that
// connection's id, and the caller clears its cache entries there. These pools
// use `maxUses: 1`, so `release()` closes the connection: every checkout is a
// new connection with a new, larger id, and the callback runs at each release.
// (The pool's own statement cache is evicted when a connection closes, not at
// checkin; see the lease and statement-cache tests.)
import { PreparedStatementCache, type ConnectionId } from '../../lib';
import { withPool } from '../support/helpers';

const oneUsePool = { min: 5, maxUses: 1 };

describe('connection ids and the cleanup callback', () => {
  test('connection ids are unique and increase in the order connections open', async () => {
    await withPool(oneUsePool, async (pool) => {
      const created: ConnectionId[] = [];
      pool.on('create', (e) => created.push(e.connectionId));
      const [c1, c2, c3] = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      const ids = [c1!.connectionId, c2!.connectionId, c3!.connectionId];
      expect(new Set(ids).size).toBe(3);
      // Ids increase in the order connections are opened. (Idle connections are
      // reused most-recent-first, so checkout order need not follow.)
      const more = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      for (const lease of more) {
        if (!ids.includes(lease.connectionId)) ids.push(lease.connectionId);
      }
      expect(created.length).toBeGreaterThan(0);
      expect([...created].sort((a, b) => a - b)).toEqual(created);
      expect(Math.min(...created)).toBeGreaterThan(Math.max(c1!.connectionId, c2!.connectionId, c3!.connectionId));
      for (const lease of [c1!, c2!, c3!, ...more]) lease.release();
    });
  });

  test('the cleanup callback runs once for each connection that closes', async () => {
    await withPool(oneUsePool, async (pool) => {
      let count = 0;
      pool.setCleanupCallback(() => count++);
      (await pool.acquire()).release();
      expect(count).toBe(1);
      const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      for (const lease of held) lease.release();
      expect(count).toBe(4);
    });
  });

  test('the cleanup callback gets the id of the connection that closed', async () => {
    await withPool({ ...oneUsePool, min: 2 }, async (pool) => {
      const cleaned: ConnectionId[] = [];
      pool.setCleanupCallback((id) => cleaned.push(id));
      const used: ConnectionId[] = [];
      for (let i = 0; i < 3; i++) {
        const lease = await pool.acquire();
        used.push(lease.connectionId);
        lease.release();
      }
      expect(cleaned).toHaveLength(3);
      expect(cleaned).toEqual(used);
    });
  });

  test('removeCleanupCallback stops the callback', async () => {
    await withPool({ ...oneUsePool, min: 2 }, async (pool) => {
      let count = 0;
      pool.setCleanupCallback(() => count++);
      (await pool.acquire()).release();
      expect(count).toBe(1);
      pool.removeCleanupCallback();
      (await pool.acquire()).release();
      expect(count).toBe(1);
    });
  });
});

describe('a caller-owned statement cache cleared by the cleanup callback', () => {
  const cachePool = { min: 2, max: 10, maxUses: 1 };

  test("the callback clears the closed connection's entries from the cache", async () => {
    await withPool(cachePool, async (pool) => {
      const cache = new PreparedStatementCache(10);
      pool.setCleanupCallback((id) => cache.clearConnection(id));
      const lease = await pool.acquire();
      for (let i = 0; i < 5; i++) cache.recordMiss(lease.connectionId, `SELECT ${i}`, 100);
      expect(cache.connectionSize(lease.connectionId)).toBe(5);
      expect(cache.connectionCount()).toBe(1);
      lease.release();
      expect(cache.size).toBe(0);
      expect(cache.connectionCount()).toBe(0);
    });
  });

  test("the cache tracks each connection's entries until it closes", async () => {
    await withPool(cachePool, async (pool) => {
      const cache = new PreparedStatementCache(10);
      pool.setCleanupCallback((id) => cache.clearConnection(id));
      const a = await pool.acquire();
      const b = await pool.acquire();
      for (const lease of [a, b]) {
        cache.recordMiss(lease.connectionId, 'SELECT 1', 100);
        cache.recordMiss(lease.connectionId, 'SELECT 2', 100);
      }
      expect(cache.connectionCount()).toBe(2);
      expect(cache.connectionSize(a.connectionId)).toBe(2);
      expect(cache.connectionSize(b.connectionId)).toBe(2);
      a.release();
      b.release();
      expect(cache.connectionCount()).toBe(0);
      expect(cache.size).toBe(0);
    });
  });

  test('hits, misses and cleared entries add up after the callback cleared them', async () => {
    await withPool(cachePool, async (pool) => {
      const cache = new PreparedStatementCache(10);
      pool.setCleanupCallback((id) => cache.clearConnection(id));
      const lease = await pool.acquire();
      cache.recordMiss(lease.connectionId, 'SELECT 1', 100);
      cache.recordMiss(lease.connectionId, 'SELECT 2', 100);
      cache.recordHit(lease.connectionId, 'SELECT 1');
      cache.recordHit(lease.connectionId, 'SELECT 2');
      lease.release();
      const stats = cache.stats();
      expect(stats.hits).toBe(2);
      expect(stats.misses).toBe(2);
      expect(stats.connections).toBe(0);
      expect(stats.cleared).toBe(2);
    });
  });

  test("without a callback, the caller's cache keeps a closed connection's entries", async () => {
    await withPool(cachePool, async (pool) => {
      const cache = new PreparedStatementCache(10);
      const lease = await pool.acquire();
      const id = lease.connectionId;
      cache.recordMiss(id, 'SELECT 1', 100);
      lease.release();
      expect(cache.connectionSize(id)).toBe(1);
    });
  });

  test('a callback removed while the pool runs is not called again', async () => {
    await withPool(cachePool, async (pool) => {
      let count = 0;
      pool.setCleanupCallback(() => count++);
      (await pool.acquire()).release();
      expect(count).toBe(1);
      pool.removeCleanupCallback();
      (await pool.acquire()).release();
      expect(count).toBe(1);
    });
  });
});
