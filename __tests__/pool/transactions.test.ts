import { LibsqlBatchError } from '../../lib';
import { withPool } from '../support/helpers';

const count = async (pool: { execute: (sql: string) => Promise<{ rows: Array<Record<string, unknown>> }> }) =>
  (await pool.execute('select count(*) as n from t')).rows[0]!.n;

describe('transactions', () => {
  test('transaction() commits when the callback resolves and returns its value', async () => {
    await withPool({ max: 2 }, async (pool) => {
      await pool.execute('create table t(v)');
      const value = await pool.transaction(async (tx) => {
        await tx.execute('insert into t values (1)');
        await tx.execute('insert into t values (2)');
        return 'done';
      });
      expect(value).toBe('done');
      expect(await count(pool)).toBe(2);
      expect(pool.stats().active).toBe(0);
    });
  });

  test('transaction() rolls back when the callback throws, and rethrows', async () => {
    await withPool({ max: 2 }, async (pool) => {
      await pool.execute('create table t(v)');
      await expect(
        pool.transaction(async (tx) => {
          await tx.execute('insert into t values (1)');
          throw new Error('changed my mind');
        }),
      ).rejects.toThrow('changed my mind');
      expect(await count(pool)).toBe(0);
      expect(pool.stats().active).toBe(0);
    });
  });

  test('uncommitted rows are invisible to other connections', async () => {
    await withPool({ max: 2 }, async (pool) => {
      await pool.execute('create table t(v)');
      await pool.transaction(async (tx) => {
        await tx.execute('insert into t values (1)');
        expect((await tx.execute('select count(*) as n from t')).rows[0]!.n).toBe(1);
        expect(await count(pool)).toBe(0);
      });
      expect(await count(pool)).toBe(1);
    });
  });

  test("transaction() runs BEGIN IMMEDIATE by default ('write')", async () => {
    await withPool({ max: 2, busyTimeoutMs: 0 }, async (pool) => {
      await pool.execute('create table t(v)');
      await pool.transaction(async () => {
        // The write lock is taken at BEGIN, so another writer fails at once.
        await expect(pool.execute('insert into t values (2)')).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      });
    });
  });

  test("a writer waits for another lease's write lock without blocking the event loop", async () => {
    jest.useFakeTimers();
    try {
      await withPool({ max: 2 }, async (pool) => {
        await pool.execute('create table t(v)');
        const holder = await pool.acquire();
        await holder.execute('BEGIN IMMEDIATE');
        await holder.execute('insert into t values (1)');
        let settled = false;
        const waiting = pool.execute('insert into t values (2)').finally(() => (settled = true));
        await jest.advanceTimersByTimeAsync(100);
        expect(settled).toBe(false);
        // The holder runs while the second writer waits (a synchronous busy
        // wait would have frozen it), commits, and the waiting write goes through.
        await holder.execute('COMMIT');
        holder.release();
        await jest.advanceTimersByTimeAsync(100);
        await expect(waiting).resolves.toMatchObject({ rowsAffected: 1 });
        expect(await count(pool)).toBe(2);
      });
    } finally {
      jest.useRealTimers();
    }
  });

  test('two concurrent write transactions both commit, one after the other', async () => {
    await withPool({ max: 2 }, async (pool) => {
      await pool.execute('create table t(v)');
      const write = (v: number) =>
        pool.transaction(async (tx) => {
          await tx.execute('insert into t values (?)', [v]);
          await Promise.resolve(); // let the other transaction try for the lock meanwhile
          await tx.execute('insert into t values (?)', [v * 10]);
        });
      await Promise.all([write(1), write(2)]);
      expect(await count(pool)).toBe(4);
    });
  });

  test('a writer gives up with SQLITE_BUSY after busyTimeoutMs', async () => {
    jest.useFakeTimers();
    try {
      await withPool({ max: 2, busyTimeoutMs: 200 }, async (pool) => {
        await pool.execute('create table t(v)');
        const holder = await pool.acquire();
        await holder.execute('BEGIN IMMEDIATE');
        const waiting = pool.execute('insert into t values (2)');
        const outcome = expect(waiting).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
        await jest.advanceTimersByTimeAsync(250);
        await outcome;
        holder.release();
        expect(await count(pool)).toBe(0);
      });
    } finally {
      jest.useRealTimers();
    }
  });

  test('a write inside a deferred transaction that cannot take the lock fails at once, not after a wait', async () => {
    await withPool({ max: 2 }, async (pool) => {
      await pool.execute('create table t(v)');
      const holder = await pool.acquire();
      await holder.execute('BEGIN IMMEDIATE');
      // Retrying inside a transaction cannot succeed (its snapshot would be stale).
      await expect(
        pool.transaction(async (tx) => {
          await tx.execute('insert into t values (1)');
        }, 'deferred'),
      ).rejects.toMatchObject({ code: 'SQLITE_BUSY' });
      holder.release();
    });
  });

  test('file databases run in WAL mode', async () => {
    await withPool({}, async (pool) => {
      expect((await pool.execute('pragma journal_mode')).rows[0]![0]).toBe('wal');
    });
  });

  test('pool.batch() is all or nothing and names the failing statement', async () => {
    await withPool({}, async (pool) => {
      await pool.execute('create table t(v unique)');
      const results = await pool.batch(['insert into t values (1)', { sql: 'insert into t values (?)', args: [2] }, ['select count(*) as n from t', []]]);
      expect(results.map((r) => r.rowsAffected)).toEqual([1, 1, 0]);
      expect(results[2]!.rows[0]!.n).toBe(2);
      const failure = await pool.batch(['insert into t values (3)', 'insert into t values (1)']).catch((e) => e);
      expect(failure).toBeInstanceOf(LibsqlBatchError);
      expect(failure).toMatchObject({ statementIndex: 1, code: 'SQLITE_CONSTRAINT' });
      expect(await count(pool)).toBe(2);
    });
  });

  test('batch() on a lease inside a transaction joins it', async () => {
    await withPool({}, async (pool) => {
      await pool.execute('create table t(v)');
      await expect(
        pool.transaction(async (tx) => {
          await tx.batch(['insert into t values (1)', 'insert into t values (2)']);
          expect(tx.inTransaction()).toBe(true);
          throw new Error('roll it all back');
        }),
      ).rejects.toThrow();
      expect(await count(pool)).toBe(0);
    });
  });

  test('a failed statement leaves the connection usable and committed rows intact', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(v primary key)');
      await pool.execute('insert into t values (1)');
      await expect(pool.execute('insert into t values (1)')).rejects.toMatchObject({ code: 'SQLITE_CONSTRAINT' });
      await expect(pool.execute('selec nonsense')).rejects.toMatchObject({ code: 'SQLITE_ERROR' });
      await pool.execute('insert into t values (2)');
      expect(await count(pool)).toBe(2);
      expect(pool.stats().totals.created).toBe(1);
    });
  });

  test('executeMultiple runs a script; a transaction it leaves open is rolled back at release', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.use((c) => c.executeMultiple('create table t(v); insert into t values (1); insert into t values (2);'));
      expect(await count(pool)).toBe(2);
      await pool.use((c) => c.executeMultiple('begin; insert into t values (3);'));
      expect(await count(pool)).toBe(2);
    });
  });
});
