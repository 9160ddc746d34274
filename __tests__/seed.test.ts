// The nine connection-lifecycle tests of the Rust pool this project grew from,
// under their original names. That pool opened a connection per checkout, so
// dropping a checkout closed it; here connections are reused, so these pools use
// `maxUses: 1` and `release()` closes the connection exactly where the original
// guard was dropped (statements are evicted when their connection closes, not at
// checkin).
import { PreparedStatementCache, type ConnectionId } from '../lib';
import { withPool } from './helpers';

const seedPool = { min: 5, maxUses: 1 };

describe('seed: connection ids and the cleanup callback', () => {
  test('test_connection_id_uniqueness', async () => {
    await withPool(seedPool, async (pool) => {
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

  test('test_cleanup_callback_on_connection_drop', async () => {
    await withPool(seedPool, async (pool) => {
      let count = 0;
      pool.setCleanupCallback(() => count++);
      (await pool.acquire()).release();
      expect(count).toBe(1);
      const held = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
      for (const lease of held) lease.release();
      expect(count).toBe(4);
    });
  });

  test('test_cleanup_callback_tracks_correct_connection_id', async () => {
    await withPool({ ...seedPool, min: 2 }, async (pool) => {
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

  test('test_cleanup_callback_removal', async () => {
    await withPool({ ...seedPool, min: 2 }, async (pool) => {
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

describe('seed: statement cache integration', () => {
  const cachePool = { min: 2, max: 10, maxUses: 1 };

  test('test_cache_cleanup_on_connection_return', async () => {
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

  test('test_cache_tracks_multiple_connections', async () => {
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

  test('test_cache_statistics_with_cleanup', async () => {
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

  test('test_no_callback_registered', async () => {
    await withPool(cachePool, async (pool) => {
      const cache = new PreparedStatementCache(10);
      const lease = await pool.acquire();
      const id = lease.connectionId;
      cache.recordMiss(id, 'SELECT 1', 100);
      lease.release();
      expect(cache.connectionSize(id)).toBe(1);
    });
  });

  test('test_callback_removal_during_runtime', async () => {
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
