import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  AdaptiveConnectionPool,
  createPool,
  PreparedStatementCache,
  StatementCacheSubscriber,
  type CloseEvent,
  type ConnectionInfo,
} from '../../lib';
import { eventIds, recordEvents, tempDir, withPool } from '../support/helpers';

describe('lifecycle events', () => {
  test('create, checkout, checkin and close arrive in order with their payloads', async () => {
    const tmp = tempDir();
    const pool = await createPool({ url: tmp.url(), min: 0, max: 1 }, undefined);
    const events = recordEvents(pool);
    try {
      const lease = await pool.acquire();
      await lease.execute('select 1');
      lease.release();
      await pool.close();
      const id = lease.connectionId;
      expect(eventIds(events)).toEqual([
        ['checkout', id],
        ['checkin', id],
        ['close', id],
      ]);
      const [, checkout] = events[0]!;
      const [, checkin] = events[1]!;
      const [, close] = events[2]!;
      expect(checkout).toEqual({ connectionId: id, createdAt: expect.any(Number), uses: 1, waitedMs: expect.any(Number) });
      expect(checkin).toEqual({ connectionId: id, createdAt: expect.any(Number), uses: 1, heldMs: expect.any(Number) });
      expect(close).toEqual({ connectionId: id, createdAt: expect.any(Number), uses: 1, reason: 'poolClosed' });
    } finally {
      tmp.dispose();
    }
  });

  test('a connection opened for a waiter emits create before its checkout', async () => {
    await withPool({ min: 1, max: 2 }, async (pool) => {
      const events = recordEvents(pool);
      const a = await pool.acquire();
      const b = await pool.acquire();
      expect(eventIds(events)).toEqual([
        ['checkout', a.connectionId],
        ['create', b.connectionId],
        ['checkout', b.connectionId],
      ]);
      a.release();
      b.release();
    });
  });

  test('connection ids are unique and increasing across pools in one process', async () => {
    const tmp = tempDir();
    const p1 = await createPool({ url: tmp.url('a.db'), min: 2 });
    const p2 = await createPool({ url: tmp.url('b.db'), min: 2 });
    try {
      const ids: number[] = [];
      for (const pool of [p1, p2]) {
        const leases = [await pool.acquire(), await pool.acquire()];
        for (const lease of leases) {
          ids.push(lease.connectionId);
          lease.release();
        }
      }
      expect(new Set(ids).size).toBe(4);
      expect(Math.min(...ids.slice(2))).toBeGreaterThan(Math.max(...ids.slice(0, 2)));
    } finally {
      await Promise.all([p1.close(), p2.close()]);
      tmp.dispose();
    }
  });

  test('every created connection gets exactly one close event', async () => {
    await withPool({ min: 0, max: 3, maxUses: 2 }, async (pool) => {
      const created: number[] = [];
      const closed: number[] = [];
      pool.on('create', (e) => created.push(e.connectionId));
      pool.on('close', (e) => closed.push(e.connectionId));
      for (let round = 0; round < 5; round++) {
        const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
        leases[round % 3]!.destroy();
        for (const lease of leases) lease.release();
      }
      await pool.close();
      expect(closed).toEqual(expect.arrayContaining(created));
      expect(new Set(closed).size).toBe(closed.length);
      expect(closed).toHaveLength(pool.stats().totals.created);
    });
  });

  test('a throwing listener changes nothing: the other listeners run and the pool carries on', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const seen: string[] = [];
      const errors: unknown[] = [];
      pool.on('listenerError', (e) => errors.push(e));
      pool.on('checkout', () => {
        throw new Error('listener bug');
      });
      pool.on('checkout', () => seen.push('second listener'));
      const lease = await pool.acquire();
      expect(seen).toEqual(['second listener']);
      expect(errors).toEqual([{ event: 'checkout', error: new Error('listener bug') }]);
      expect(pool.stats()).toMatchObject({ active: 1, idle: 0 });
      lease.release();
      expect(await pool.execute('select 1 as one')).toMatchObject({ rows: [{ one: 1 }] });
    });
  });

  test('with no listenerError listener, a throwing listener becomes a process warning', async () => {
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      await withPool({}, async (pool) => {
        pool.on('checkin', () => {
          throw new Error('checkin listener bug');
        });
        await pool.execute('select 1');
        expect(emitWarning).toHaveBeenCalledTimes(1);
        expect(emitWarning.mock.calls[0]![0]).toMatch(/'checkin' listener.*checkin listener bug/);
        expect(pool.stats()).toMatchObject({ active: 0, idle: 1 });
      });
    } finally {
      emitWarning.mockRestore();
    }
  });

  test('once listeners run once', async () => {
    await withPool({}, async (pool) => {
      let calls = 0;
      pool.once('checkout', () => calls++);
      await pool.execute('select 1');
      await pool.execute('select 1');
      expect(calls).toBe(1);
    });
  });

  test('a close listener may call back into the pool', async () => {
    await withPool({ min: 0, max: 1 }, async (pool) => {
      let reacquired: Promise<unknown> | undefined;
      pool.once('close', () => {
        reacquired = pool.execute('select 42 as v');
      });
      (await pool.acquire()).destroy();
      await expect(reacquired).resolves.toMatchObject({ rows: [{ v: 42 }] });
    });
  });

  test('drop order: the slot is freed and statements evicted before close listeners, then the cleanup callback, then the native close', async () => {
    await withPool({ min: 0, max: 1 }, async (pool) => {
      const cache = pool.statementCache as PreparedStatementCache;
      const steps: string[] = [];
      pool.on('close', (e: CloseEvent) => {
        const s = pool.stats();
        steps.push(`close listener: size ${s.size}, cached ${cache.connectionSize(e.connectionId)}`);
      });
      pool.setCleanupCallback((id) => steps.push(`cleanup callback ${id === lease.connectionId}`));
      const lease = await pool.acquire();
      await lease.execute('select 1');
      lease.destroy();
      // The native connection is closed last: a fresh lease works on a new one.
      steps.push(`next connection ${(await pool.acquire().then((l) => (l.release(), l))).connectionId !== lease.connectionId}`);
      expect(steps).toEqual(['close listener: size 0, cached 0', 'cleanup callback true', 'next connection true']);
    });
  });

  test("the pool's own statement eviction survives removeAllListeners()", async () => {
    await withPool({ max: 1, statementCache: { admission: 'always' } }, async (pool) => {
      pool.removeAllListeners();
      const lease = await pool.acquire();
      await lease.execute('select 1');
      const cache = pool.statementCache as PreparedStatementCache;
      expect(cache.connectionSize(lease.connectionId)).toBe(1);
      lease.destroy();
      expect(cache.connectionSize(lease.connectionId)).toBe(0);
    });
  });

  test('several subscribers keep several caches in step with one pool', async () => {
    await withPool({ max: 2 }, async (pool) => {
      const caches = [new PreparedStatementCache(10), new PreparedStatementCache(10)];
      const subscribers = caches.map((c) => new StatementCacheSubscriber(c).attach(pool));
      const lease = await pool.acquire();
      for (const c of caches) c.recordMiss(lease.connectionId, 'select 1', 5);
      lease.destroy();
      expect(caches.map((c) => c.size)).toEqual([0, 0]);
      subscribers[0]!.detach();
      const next = await pool.acquire();
      for (const c of caches) c.recordMiss(next.connectionId, 'select 1', 5);
      next.destroy();
      expect(caches.map((c) => c.size)).toEqual([1, 0]);
    });
  });

  test('a cache shared by two pools keeps their connections apart', async () => {
    const shared = new PreparedStatementCache({ maxSize: 50, admission: 'always' });
    const tmp = tempDir();
    const p1 = await createPool({ url: tmp.url('a.db'), statementCache: shared });
    const p2 = await createPool({ url: tmp.url('b.db'), statementCache: shared });
    try {
      await p1.execute('create table t(v)');
      await p2.execute('create table t(v)');
      await p1.execute('insert into t values (?)', ['from p1']);
      await p2.execute('insert into t values (?)', ['from p2']);
      expect((await p1.execute('select v from t')).rows[0]!.v).toBe('from p1');
      expect((await p2.execute('select v from t')).rows[0]!.v).toBe('from p2');
      expect(shared.stats().connections).toBe(2);
      await p1.close();
      expect(shared.stats().connections).toBe(1);
    } finally {
      await p2.close();
      tmp.dispose();
    }
  });

  test('the constructor opens no connection', async () => {
    const tmp = tempDir();
    const pool = new AdaptiveConnectionPool({ url: tmp.url(), min: 2, max: 4 });
    try {
      await new Promise((resolve) => setImmediate(resolve));
      expect(pool.stats()).toMatchObject({ size: 0, pending: 0 });
      // Opening a connection to a file creates it.
      expect(existsSync(join(tmp.dir, 'test.db'))).toBe(false);
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('a create listener attached before warmUp() sees the first connection', async () => {
    const tmp = tempDir();
    const pool = new AdaptiveConnectionPool({ url: tmp.url(), min: 1, max: 2 });
    const created: ConnectionInfo[] = [];
    pool.on('create', (info) => created.push(info));
    try {
      await pool.warmUp();
      const lease = await pool.acquire();
      expect(created).toEqual([{ connectionId: lease.connectionId, createdAt: expect.any(Number), uses: 0 }]);
      lease.release();
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });
});
