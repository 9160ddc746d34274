import {
  AdaptiveConnectionPool,
  PreparedStatementCache,
  StatementCacheSubscriber,
  type CloseEvent,
  type CloseReason,
  type ConnectionInfo,
  type ListenerErrorEvent,
  type PoolConfig,
  type ResourceOptions,
} from '../../lib';
import { FakeDriver } from '../support/fake-driver';
import { tempDir, withPool } from '../support/helpers';

// Per-connection resources (`pool.defineResource`, `lease.resource(kind)`) on
// real databases: temporary files, or `:memory:`. The FakeDriver is used only
// to kill a connection mid-query.

afterEach(() => {
  jest.useRealTimers();
});

/** A kind that records what it made and disposed of, and checks each value is disposed of once. */
function recorder(name: string, extra: Partial<ResourceOptions<{ id: number }>> = {}) {
  const made: number[] = [];
  const disposed: CloseEvent[] = [];
  const problems: string[] = [];
  const options: ResourceOptions<{ id: number; disposed?: boolean }> = {
    name,
    create: (info: ConnectionInfo) => {
      made.push(info.connectionId);
      return { id: info.connectionId };
    },
    dispose: (value, event) => {
      if (value.disposed === true) problems.push(`${name}: ${value.id} disposed twice`);
      if (value.id !== event.connectionId) problems.push(`${name}: value of ${value.id} disposed for ${event.connectionId}`);
      value.disposed = true;
      disposed.push(event);
    },
    ...extra,
  };
  return { options, made, disposed, problems, disposedIds: () => disposed.map((e) => e.connectionId) };
}

/** A promise settled from outside. */
function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: unknown) => void } {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Lets pending promise callbacks and I/O run, without a timer. */
const tick = () => new Promise((resolve) => setImmediate(resolve));

function listenerErrors(pool: AdaptiveConnectionPool): ListenerErrorEvent[] {
  const seen: ListenerErrorEvent[] = [];
  pool.on('listenerError', (e) => seen.push(e));
  return seen;
}

describe('making values', () => {
  test('a lazy value is made on first use, once per connection, and shared by its leases', async () => {
    await withPool({ max: 2 }, async (pool) => {
      const r = recorder('lazy');
      const kind = pool.defineResource(r.options);
      expect(r.made).toEqual([]);
      const a = await pool.acquire();
      const b = await pool.acquire();
      const va = a.resource(kind);
      expect(a.resource(kind)).toBe(va);
      expect(b.resource(kind)).not.toBe(va);
      expect(r.made).toEqual([a.connectionId, b.connectionId]);
      const id = a.connectionId;
      a.release();
      b.release();
      await pool.use(async (lease) => {
        if (lease.connectionId === id) expect(lease.resource(kind)).toBe(va);
      });
      expect(r.made).toHaveLength(2);
    });
  });

  test('an eager value is made as each connection opens, and at once for those already open', async () => {
    await withPool({ min: 1, max: 2 }, async (pool) => {
      const open = pool.stats().size;
      const r = recorder('eager', { eager: true });
      const kind = pool.defineResource(r.options);
      expect(r.made).toHaveLength(open);
      const [a, b] = [await pool.acquire(), await pool.acquire()];
      expect(r.made.sort()).toEqual([a.connectionId, b.connectionId].sort());
      expect(a.resource(kind).id).toBe(a.connectionId);
      expect(r.made).toHaveLength(2);
      a.release();
      b.release();
    });
  });

  test('a create that throws reaches the caller of lease.resource(), and the next call makes it again', async () => {
    await withPool({ max: 1 }, async (pool) => {
      let calls = 0;
      const kind = pool.defineResource({
        create: () => {
          if (++calls === 1) throw new Error('not yet');
          return calls;
        },
      });
      await pool.use(async (lease) => {
        expect(() => lease.resource(kind)).toThrow('not yet');
        expect(lease.resource(kind)).toBe(2);
        expect(lease.resource(kind)).toBe(2);
      });
    });
  });

  test('an eager create that throws is reported as listenerError, and made on first use instead', async () => {
    const tmp = tempDir();
    const pool = new AdaptiveConnectionPool({ url: tmp.url(), max: 1 });
    try {
      const errors = listenerErrors(pool);
      let calls = 0;
      const kind = pool.defineResource({
        name: 'flaky',
        eager: true,
        create: () => {
          if (++calls === 1) throw new Error('eager failed');
          return 'made';
        },
      });
      await pool.warmUp();
      const id = await pool.use(async (lease) => {
        expect(lease.resource(kind)).toBe('made');
        return lease.connectionId;
      });
      expect(errors).toEqual([{ event: 'create', resource: 'flaky', connectionId: id, error: new Error('eager failed') }]);
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('a lease gives no value once released, nor of a kind this pool did not define or removed', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const r = recorder('removed');
      const kind = pool.defineResource(r.options);
      const other = new AdaptiveConnectionPool({ url: ':memory:' }).defineResource({ create: () => 1 });
      const lease = await pool.acquire();
      expect(() => lease.resource(other)).toBePoolError('INVALID_ARGUMENT');
      lease.resource(kind);
      expect(pool.removeResource(kind)).toBe(true);
      expect(pool.removeResource(kind)).toBe(false);
      expect(() => lease.resource(kind)).toBePoolError('INVALID_ARGUMENT');
      lease.release();
      expect(() => lease.resource(kind)).toBePoolError('LEASE_RELEASED');
      lease.destroy();
      await pool.close();
      // Removed: its values were dropped, not disposed of.
      expect(r.disposed).toEqual([]);
    });
  });

  test('defineResource refuses options without a create function', async () => {
    await withPool({}, async (pool) => {
      expect(() => pool.defineResource({} as ResourceOptions<unknown>)).toBePoolError('INVALID_ARGUMENT');
      expect(() => pool.defineResource({ create: () => 1, dispose: 3 } as never)).toBePoolError('INVALID_ARGUMENT');
    });
  });
});

describe('disposal', () => {
  // Each close reason, brought about on a real database; the value is made
  // through a lease first, and disposed of exactly once, with the event.
  const reasons: Array<{ reason: CloseReason; config?: Partial<PoolConfig>; fake?: boolean; timers?: boolean; run: (pool: AdaptiveConnectionPool, driver: FakeDriver | undefined) => Promise<void> }> = [
    {
      reason: 'idle',
      config: { min: 0, idleTimeoutMs: 1000 },
      timers: true,
      run: async () => {
        await jest.advanceTimersByTimeAsync(1000);
      },
    },
    {
      reason: 'lifetime',
      config: { min: 0, maxLifetimeMs: 1000, lifetimeJitter: 0 },
      timers: true,
      run: async (pool) => {
        await jest.advanceTimersByTimeAsync(1000);
        await pool.execute('select 1');
      },
    },
    { reason: 'maxUses', config: { maxUses: 1 }, run: async () => undefined },
    {
      reason: 'error',
      fake: true,
      run: async (pool, driver) => {
        driver!.nextQueryFault = 'die';
        await pool.execute('select 1').catch(() => undefined);
      },
    },
    { reason: 'unhealthy', config: { afterRelease: () => false }, run: async () => undefined },
    { reason: 'destroyed', run: async (pool) => (await pool.acquire()).destroy() },
    {
      reason: 'shrink',
      fake: true,
      config: { min: 0, max: 2 },
      run: async (pool, driver) => {
        // Two connections open, then back-pressure halves the maximum to one.
        const [a, b] = [await pool.acquire(), await pool.acquire()];
        a.release();
        b.release();
        driver!.onBackpressure!();
      },
    },
    { reason: 'poolClosed', run: async (pool) => pool.close() },
  ];

  test.each(reasons)('on $reason, once, with the close event', async ({ reason, config, fake, timers, run }) => {
    if (timers === true) jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const tmp = tempDir();
    const full: PoolConfig = { url: tmp.url(), max: 1, ...config };
    const driver = fake === true ? new FakeDriver(full) : undefined;
    const pool = new AdaptiveConnectionPool(full, driver);
    try {
      const r = recorder(reason);
      const kind = pool.defineResource(r.options);
      const closed: CloseEvent[] = [];
      pool.on('close', (e) => closed.push(e));
      await pool.warmUp();
      const used = await pool.use(async (lease) => (lease.resource(kind), lease.connectionId));
      await run(pool, driver);
      await pool.close();
      expect(r.problems).toEqual([]);
      expect(r.disposedIds()).toContain(used);
      const first = r.disposed.find((e) => e.connectionId === used)!;
      expect(first).toEqual(closed.find((e) => e.connectionId === used));
      expect(first.reason).toBe(reason);
      // Every connection that had a value was disposed of once, and only those.
      expect(r.disposedIds().sort()).toEqual([...new Set(r.made)].sort());
      expect(new Set(r.disposedIds()).size).toBe(r.disposed.length);
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('in the retire order: after the slot is freed, latest kind first, then close listeners, then the cleanup callback', async () => {
    // admission 'always': the one statement run is cached, so its eviction shows.
    await withPool({ min: 0, max: 1, statementCache: { admission: 'always' } }, async (pool) => {
      const steps: string[] = [];
      const cache = pool.statementCache as PreparedStatementCache;
      const note = (what: string, id: number) =>
        steps.push(`${what}: size ${pool.stats().size}, cached ${cache.connectionSize(id)}`);
      const first = pool.defineResource({ create: () => 1, dispose: (_v, e) => void note('first', e.connectionId) });
      const second = pool.defineResource({ create: () => 2, dispose: (_v, e) => void note('second', e.connectionId) });
      pool.on('close', (e) => void note('close listener', e.connectionId));
      pool.setCleanupCallback((id) => void note('cleanup callback', id));
      const lease = await pool.acquire();
      await lease.execute('select 1');
      lease.resource(first);
      lease.resource(second);
      lease.destroy();
      expect(steps).toEqual([
        // The pool's own statements are a resource defined first: evicted last of them.
        'second: size 0, cached 1',
        'first: size 0, cached 1',
        'close listener: size 0, cached 0',
        'cleanup callback: size 0, cached 0',
      ]);
    });
  });

  test('several kinds on one pool each dispose of their own values, each connection once', async () => {
    await withPool({ max: 3, maxUses: 2 }, async (pool) => {
      const kinds = ['a', 'b', 'c'].map((name, i) => recorder(name, { eager: i === 2 }));
      const handles = kinds.map((k) => pool.defineResource(k.options));
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          pool.use(async (lease) => {
            if (i % 2 === 0) lease.resource(handles[0]!);
            if (i % 3 === 0) lease.resource(handles[1]!);
            await lease.execute('select 1');
          }),
        ),
      );
      await pool.close();
      for (const k of kinds) {
        expect(k.problems).toEqual([]);
        expect(k.disposedIds().sort()).toEqual([...k.made].sort());
      }
      expect(kinds[2]!.made).toHaveLength(pool.stats().totals.created);
    });
  });

  test('a throwing and a rejecting disposer are reported with their kind and connection; the rest still run', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const errors = listenerErrors(pool);
      const after = recorder('after');
      const fine = pool.defineResource(after.options);
      const throws = pool.defineResource({ name: 'throws', create: () => 1, dispose: () => { throw new Error('sync'); } });
      const rejects = pool.defineResource({ name: 'rejects', create: () => 1, dispose: async () => { throw new Error('async'); } });
      const closed: number[] = [];
      pool.on('close', (e) => closed.push(e.connectionId));
      const id = await pool.use(async (lease) => {
        lease.resource(fine);
        lease.resource(throws);
        lease.resource(rejects);
        return lease.connectionId;
      });
      await pool.close();
      expect(after.disposedIds()).toEqual([id]);
      expect(closed).toEqual([id]);
      expect(errors).toEqual([
        { event: 'dispose', resource: 'throws', connectionId: id, error: new Error('sync') },
        { event: 'dispose', resource: 'rejects', connectionId: id, error: new Error('async') },
      ]);
    });
  });
});

describe('async cleanups', () => {
  test('close() resolves only once async disposers, close listeners and the cleanup callback have settled', async () => {
    const tmp = tempDir();
    const pool = new AdaptiveConnectionPool({ url: tmp.url(), max: 1 });
    try {
      const gates = { dispose: deferred(), listener: deferred(), callback: deferred() };
      const kind = pool.defineResource({ create: () => 1, dispose: () => gates.dispose.promise });
      pool.on('close', () => gates.listener.promise);
      pool.setCleanupCallback(() => gates.callback.promise);
      await pool.warmUp();
      await pool.use(async (lease) => lease.resource(kind));
      let closed = false;
      const closing = pool.close().then(() => (closed = true));
      for (const gate of [gates.dispose, gates.listener, gates.callback]) {
        await tick();
        expect(closed).toBe(false);
        gate.resolve();
      }
      await closing;
      expect(closed).toBe(true);
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('a cleanup that never settles is given up after closeTimeoutMs, reported, and close() still resolves', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const tmp = tempDir();
    const pool = new AdaptiveConnectionPool({ url: tmp.url(), max: 1, closeTimeoutMs: 1000 });
    try {
      const errors = listenerErrors(pool);
      const never = new Promise<void>(() => undefined);
      const kind = pool.defineResource({ name: 'stuck', create: () => 1, dispose: () => never });
      pool.on('close', () => never);
      pool.setCleanupCallback(() => never);
      await pool.warmUp();
      const id = await pool.use(async (lease) => (lease.resource(kind), lease.connectionId));
      let closed = false;
      const closing = pool.close().then(() => (closed = true));
      await jest.advanceTimersByTimeAsync(999);
      expect(closed).toBe(false);
      expect(errors).toEqual([]);
      await jest.advanceTimersByTimeAsync(1);
      await closing;
      expect(errors.map((e) => [e.event, e.resource, e.connectionId])).toEqual([
        ['dispose', 'stuck', id],
        ['close', undefined, undefined],
        ['cleanupCallback', undefined, undefined],
      ]);
      for (const e of errors) expect(e.error).toBePoolError('CLEANUP_TIMEOUT');
      expect((errors[0]!.error as Error).message).toMatch(new RegExp(`'stuck' disposer of connection ${id} did not settle within 1000 ms`));
    } finally {
      await pool.close();
      tmp.dispose();
    }
  });

  test('a slow disposer delays no one: a waiter is served on the freed slot while it runs', async () => {
    await withPool({ min: 0, max: 1 }, async (pool) => {
      const gate = deferred();
      let disposing = false;
      const kind = pool.defineResource({
        create: () => 1,
        dispose: () => {
          disposing = true;
          return gate.promise.then(() => (disposing = false));
        },
      });
      const lease = await pool.acquire();
      lease.resource(kind);
      const waiter = pool.acquire();
      lease.destroy();
      const next = await waiter;
      expect(disposing).toBe(true);
      expect(next.connectionId).not.toBe(lease.connectionId);
      expect(await next.execute('select 7 as v')).toMatchObject({ rows: [{ v: 7 }] });
      next.release();
      gate.resolve();
      await pool.close();
      expect(disposing).toBe(false);
    });
  });
});

describe('the statement cache on resources', () => {
  test('a subscriber on a pool is a resource: it survives removeAllListeners(), two caches both clear, detach stops it', async () => {
    await withPool({ max: 1, maxUses: 1 }, async (pool) => {
      const first = new PreparedStatementCache<string>({ maxSize: 10 });
      const second = new PreparedStatementCache<string>({ maxSize: 10 });
      const a = new StatementCacheSubscriber(first as PreparedStatementCache<unknown>).attach(pool);
      new StatementCacheSubscriber(second as PreparedStatementCache<unknown>).attach(pool);
      expect(pool.listenerCount('close')).toBe(0);
      pool.removeAllListeners();
      const fill = () =>
        pool.use(async (lease) => {
          first.set(lease.connectionId, 'q', 'one');
          second.set(lease.connectionId, 'q', 'two');
          return lease.connectionId;
        });
      const id = await fill(); // maxUses 1: it closes at checkin
      expect([first.isCached(id, 'q'), second.isCached(id, 'q')]).toEqual([false, false]);
      a.detach();
      expect(a.attached).toBe(false);
      const next = await fill();
      expect([first.isCached(next, 'q'), second.isCached(next, 'q')]).toEqual([true, false]);
    });
  });

  test('the ids handed to disposers are never reused', async () => {
    await withPool({ max: 2, maxUses: 1 }, async (pool) => {
      const r = recorder('ids');
      const kind = pool.defineResource(r.options);
      for (let i = 0; i < 6; i++) await pool.use(async (lease) => lease.resource(kind));
      await pool.close();
      expect(new Set(r.disposedIds()).size).toBe(6);
      expect(r.problems).toEqual([]);
    });
  });
});
