import { LibsqlBatchError } from '../lib';
import { withPool } from './helpers';

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

  test('busyTimeoutMs reaches SQLite as the busy timeout of every connection', async () => {
    await withPool({ max: 2, busyTimeoutMs: 2000 }, async (pool) => {
      await pool.execute('create table t(v)');
      const holder = await pool.acquire();
      await holder.execute('BEGIN IMMEDIATE');
      await holder.execute('insert into t values (1)');
      // libsql is synchronous: a writer waiting in this thread would block the
      // holder from ever committing, so check the setting SQLite received.
      const other = await pool.acquire();
      expect((await other.execute('pragma busy_timeout')).rows[0]![0]).toBe(2000);
      other.release();
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
