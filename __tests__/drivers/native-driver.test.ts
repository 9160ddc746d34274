import { withPool } from '../support/helpers';

// The libsql 0.5 behaviours that bite a statement cache (stale rows after
// mixed methods, run() on a reader), through the pool's cached statements.
describe('native driver with cached statements', () => {
  test('a cached reader returns the row for the new arguments, never a stale one', async () => {
    // Cached from its first run, so that every run after it is a hit.
    await withPool({ max: 1, statementCache: { admission: 'always' } }, async (pool) => {
      await pool.execute('create table t(id integer primary key, v text)');
      for (let i = 1; i <= 10; i++) await pool.execute('insert into t values (?, ?)', [i, `v${i}`]);
      const sql = 'select v from t where id = ?';
      const hitsBefore = pool.stats().statementCache!.hits;
      const seen = [];
      for (const id of [1, 5, 7, 5, 1]) seen.push((await pool.execute(sql, [id])).rows[0]!.v);
      expect(seen).toEqual(['v1', 'v5', 'v7', 'v5', 'v1']);
      expect(pool.stats().statementCache!.hits - hitsBefore).toBe(4);
    });
  });

  test('INSERT … RETURNING reports its rows and leaves no statement mid-step (COMMIT succeeds)', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(id integer primary key, v)');
      await pool.transaction(async (tx) => {
        const r1 = await tx.execute('insert into t(v) values (?) returning id', ['a']);
        const r2 = await tx.execute('insert into t(v) values (?) returning id', ['b']);
        expect([r1.rows[0]!.id, r2.rows[0]!.id]).toEqual([1, 2]);
      });
      await pool.execute('drop table t');
    });
  });

  test('missing positional arguments bind NULL instead of reusing the previous call', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(a, b)');
      await pool.execute('insert into t values (?, ?)', [1, 2]);
      await pool.execute('insert into t values (?, ?)', [3]);
      const rows = (await pool.execute('select a, b from t order by a')).rows.map((r) => [r.a, r.b]);
      expect(rows).toEqual([
        [1, 2],
        [3, null],
      ]);
    });
  });

  test('DDL through one connection refreshes cached statements on every connection', async () => {
    await withPool({ max: 2 }, async (pool) => {
      await pool.execute('create table t(a)');
      await pool.execute('insert into t values (1)');
      const [c1, c2] = [await pool.acquire(), await pool.acquire()];
      expect((await c1.execute('select * from t')).columns).toEqual(['a']);
      expect((await c2.execute('select * from t')).columns).toEqual(['a']);
      await c1.execute('alter table t rename column a to renamed');
      await c1.execute('alter table t add column b default 7');
      for (const c of [c1, c2]) {
        const r = await c.execute('select * from t');
        expect(r.columns).toEqual(['renamed', 'b']);
        expect(r.rows[0]).toMatchObject({ renamed: 1, b: 7 });
      }
      c1.release();
      c2.release();
    });
  });

  test('statementCache: false prepares every time and still returns the same results', async () => {
    await withPool({ statementCache: false }, async (pool) => {
      expect((await pool.execute('select ? as v', [9])).rows[0]!.v).toBe(9);
      expect(pool.statementCache).toBe(false);
      expect(pool.stats().statementCache).toBeUndefined();
    });
  });

  test('the per-connection bound evicts the least recently used statement', async () => {
    const statementCache = { maxSize: 10, maxPerConnection: 2, admission: 'always' as const };
    await withPool({ max: 1, statementCache }, async (pool) => {
      await pool.execute('select 1');
      await pool.execute('select 2');
      await pool.execute('select 1');
      await pool.execute('select 3');
      const cache = pool.stats().statementCache!;
      expect(cache).toMatchObject({ size: 2, evictions: 1 });
      const lease = await pool.acquire();
      const own = pool.statementCache as import('../../lib').PreparedStatementCache;
      expect([own.isCached(lease.connectionId, 'select 1'), own.isCached(lease.connectionId, 'select 2')]).toEqual([true, false]);
      lease.release();
    });
  });

  test('results do not share arrays with the cache: mutating one leaves the next intact', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const first = await pool.execute('select 1 as a');
      first.columns.push('junk');
      (first.columnTypes as string[]).length = 0;
      const second = await pool.execute('select 1 as a');
      expect(second.columns).toEqual(['a']);
      expect(second.columnTypes).toEqual(['']);
    });
  });

  test('by default a SQL text is cached from its second run, and every run returns the same rows', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(id integer primary key, v text)');
      await pool.execute("insert into t values (1, 'a'), (2, 'b')");
      const before = pool.stats().statementCache!;
      const sql = 'select v from t where id = ?';
      const seen = [];
      for (const id of [1, 2, 1, 2]) seen.push((await pool.execute(sql, [id])).rows[0]!.v);
      expect(seen).toEqual(['a', 'b', 'a', 'b']);
      const after = pool.stats().statementCache!;
      // First run: prepared, run and released; second: cached; then hits.
      expect(after.misses - before.misses).toBe(2);
      expect(after.admissionsRefused - before.admissionsRefused).toBe(1);
      expect(after.hits - before.hits).toBe(2);
      const lease = await pool.acquire();
      const own = pool.statementCache as import('../../lib').PreparedStatementCache;
      expect(own.isCached(lease.connectionId, sql)).toBe(true);
      lease.release();
    });
  });

  test('SQL texts each run once are never cached and evict nothing the pool keeps', async () => {
    await withPool({ max: 1, statementCache: { maxSize: 10, maxPerConnection: 2 } }, async (pool) => {
      await pool.execute('select 1');
      await pool.execute('select 1');
      for (let i = 0; i < 50; i++) expect((await pool.execute(`select ${i} as n`)).rows[0]!.n).toBe(i);
      const cache = pool.stats().statementCache!;
      expect(cache).toMatchObject({ size: 1, evictions: 0 });
      expect(cache.admissionsRefused).toBe(51);
      await pool.execute('select 1');
      expect(pool.stats().statementCache!.hits).toBe(1);
    });
  });

  test('a statement that changes the session is neither cached nor left prepared, on a first or a later run', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const baseline = (await pool.execute('pragma foreign_keys')).rows[0]![0];
      for (const value of [0, 1, 0]) {
        await pool.execute(`pragma foreign_keys = ${value}`);
        await pool.execute(`pragma foreign_keys = ${value}`);
      }
      await pool.execute('pragma foreign_keys = 1');
      await pool.execute('pragma foreign_keys = 1');
      expect(pool.stats().statementCache).toMatchObject({ size: 0 });
      // Each lease ends with the setting restored.
      expect((await pool.execute('pragma foreign_keys')).rows[0]![0]).toBe(baseline);
    });
  });
});

// A connection remembers that its own BEGIN succeeded (and skips asking
// libsql per statement); whatever ends the transaction must make it forget,
// or a write after it would count as inside a transaction and fail at once
// on a lock it should wait for.
type Lease = { execute(sql: string): Promise<unknown>; executeMultiple(sql: string): Promise<void> };
describe.each<[string, (lease: Lease) => Promise<unknown>]>([
  ['COMMIT', (lease) => lease.execute('COMMIT')],
  ['ROLLBACK', (lease) => lease.execute('ROLLBACK')],
  ['a script', (lease) => lease.executeMultiple('COMMIT')],
  ['a failed INSERT OR ROLLBACK', (lease) => lease.execute('insert or rollback into t values (1)').catch(() => undefined)],
])('after a transaction ended by %s', (_name, end) => {
  test('a write waits for another lease’s lock, as outside any transaction', async () => {
    jest.useFakeTimers();
    try {
      await withPool({ max: 2, busyTimeoutMs: 10_000 }, async (pool) => {
        await pool.execute('create table t(v unique)');
        const writer = await pool.acquire();
        await writer.execute('BEGIN');
        await writer.execute('insert into t values (1)');
        await end(writer);
        expect(writer.inTransaction()).toBe(false);
        const holder = await pool.acquire();
        await holder.execute('BEGIN IMMEDIATE');
        let settled = false;
        const waiting = writer.execute('insert into t values (2)').then(
          (result) => ((settled = true), result),
          (error: unknown) => ((settled = true), error),
        );
        await jest.advanceTimersByTimeAsync(100);
        const settledWhileLocked = settled;
        await holder.execute('COMMIT');
        holder.release();
        await jest.advanceTimersByTimeAsync(100);
        const outcome = await waiting;
        writer.release();
        expect(settledWhileLocked).toBe(false);
        expect(outcome).toMatchObject({ rowsAffected: 1 });
      });
    } finally {
      jest.useRealTimers();
    }
  });
});
