import type { LibsqlModule } from '../../lib/drivers/libsql-module';
import { withPool } from '../support/helpers';

// Every libsql connection the driver opens counts its `inTransaction` reads
// (a native call each): libsql defines it per instance, not configurable, so
// it cannot be spied on; a transparent proxy counts instead.
let inTransactionReads = 0;
jest.mock('../../lib/drivers/libsql-module', () => {
  const actual = jest.requireActual<typeof import('../../lib/drivers/libsql-module')>('../../lib/drivers/libsql-module');
  const Counted = new Proxy(actual.Database, {
    construct(target, args: ConstructorParameters<LibsqlModule>) {
      const db = new target(...args);
      return new Proxy(db, {
        get(object, key) {
          if (key === 'inTransaction') inTransactionReads++;
          const value: unknown = Reflect.get(object, key, object);
          return typeof value === 'function' ? value.bind(object) : value;
        },
      });
    },
  });
  return { ...actual, Database: Counted };
});

type Lease = { execute(sql: string): Promise<unknown>; executeMultiple(sql: string): Promise<void> };

// Outside a transaction a statement learns so without asking libsql, once
// libsql has said so and only statements that cannot open one (SELECT,
// INSERT, PRAGMA, …) ran since. Anything else makes it ask again.
describe('the transaction state a statement runs in', () => {
  test('reads and writes in autocommit ask libsql nothing after the first', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(v)');
      await pool.execute('insert into t values (0)');
      const before = inTransactionReads;
      await pool.use(async (lease) => {
        for (let i = 0; i < 5; i++) {
          await lease.execute('select v from t');
          await lease.execute('insert into t values (?)', [i]);
        }
      });
      expect(inTransactionReads - before).toBe(0);
    });
  });

  describe.each<[string, (lease: Lease) => Promise<unknown>]>([
    ['BEGIN', (lease) => lease.execute('BEGIN')],
    ['BEGIN behind a comment', (lease) => lease.execute('/* opens */ BEGIN')],
    ['SAVEPOINT', (lease) => lease.execute('SAVEPOINT s')],
    ['a script', (lease) => lease.executeMultiple('BEGIN')],
  ])('inside a transaction opened by %s', (_name, open) => {
    test('a write that meets another lease’s lock fails at once rather than run again outside it', async () => {
      await withPool({ max: 2, busyTimeoutMs: 10_000 }, async (pool) => {
        await pool.execute('create table t(v)');
        const writer = await pool.acquire();
        // Known to be in autocommit first, so only the opening statement can change that.
        await writer.execute('select count(*) from t');
        await open(writer);
        await writer.execute('select count(*) from t');
        const holder = await pool.acquire();
        await holder.execute('BEGIN IMMEDIATE');
        const outcome = await writer.execute('insert into t values (1)').catch((error: unknown) => error);
        await holder.execute('ROLLBACK');
        holder.release();
        writer.release();
        expect(outcome).toMatchObject({ code: 'SQLITE_BUSY' });
      });
    });
  });
});


describe.each<[string, (lease: Lease) => Promise<unknown>]>([
  ['SAVEPOINT', (lease) => lease.execute('SAVEPOINT s')],
  ['SAVEPOINT behind a comment', (lease) => lease.execute('-- nested\nSAVEPOINT s')],
  ['a script', (lease) => lease.executeMultiple('SAVEPOINT s')],
])('after %s in autocommit', (_name, open) => {
  test('the next statement asks libsql whether a transaction is open', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.use(async (lease) => {
        await lease.execute('select 1');
        await lease.execute('select 1');
        await open(lease);
        const before = inTransactionReads;
        await lease.execute('select 1');
        expect(inTransactionReads - before).toBeGreaterThan(0);
        expect(lease.inTransaction()).toBe(true);
      });
    });
  });
});
