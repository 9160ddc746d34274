import { Buffer } from 'node:buffer';
import type { InArgs, InStatement, InValue } from '@libsql/client';
import { LibsqlError, type AdaptiveConnectionPool } from '../../lib';
import { withPool } from '../support/helpers';

// `libsql` 0.5.29 aborts the whole process on some arguments (a boolean, a
// named map for a statement with a bare `?`, a lone Buffer/Date/object as the
// arguments). Through the pool each of them is
// converted or rejected with a typed error, and the connection goes on serving.
// An abort would kill this jest worker, so a regression fails the run.

/** Settles `promise` and returns what it rejected with, failing if it resolved. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

async function expectInvalidArgument(promise: Promise<unknown>): Promise<void> {
  const error = await rejection(promise);
  expect(error).toBePoolError('INVALID_ARGUMENT', { name: 'PoolError' });
}

/** The pool's only connection is still open and answers on the next lease. */
async function expectSameConnectionServes(pool: AdaptiveConnectionPool, connectionId: number): Promise<void> {
  const lease = await pool.acquire();
  try {
    expect(lease.connectionId).toBe(connectionId);
    const result = await lease.execute({ sql: 'SELECT ? AS answer', args: [42] });
    expect(result.rows[0]!.answer).toBe(42);
  } finally {
    lease.release();
  }
  const { totals } = pool.stats();
  expect(totals.created).toBe(1);
  expect(Object.values(totals.closed).reduce((a, b) => a + b, 0)).toBe(0);
}

/** Runs `fn` on a one-connection pool, then checks that connection still serves. */
async function onOneConnection(fn: (pool: AdaptiveConnectionPool) => Promise<void>): Promise<void> {
  await withPool({ max: 1 }, async (pool) => {
    const connectionId = await pool.use((lease) => lease.connectionId);
    await fn(pool);
    await expectSameConnectionServes(pool, connectionId);
  });
}

describe('arguments the raw driver cannot take', () => {
  test('boolean values become 1 and 0', async () => {
    await onOneConnection(async (pool) => {
      // bound exactly as the numbers 1 and 0 would be, which is what @libsql/client does
      const positional = await pool.execute({
        sql: 'SELECT ?, ?, typeof(?) = typeof(?)',
        args: [true, false, true, 1],
      });
      expect(Array.from(positional.rows[0]!)).toEqual([1, 0, 1]);

      const named = await pool.execute({ sql: 'SELECT :yes AS yes, :no AS no', args: { yes: true, no: false } });
      expect(named.rows[0]).toMatchObject({ yes: 1, no: 0 });

      await pool.execute('CREATE TABLE flags(on_off INTEGER)');
      await pool.execute({ sql: 'INSERT INTO flags VALUES (?), (?)', args: [true, false] });
      const stored = await pool.execute('SELECT on_off FROM flags ORDER BY rowid');
      expect(stored.rows.map((r) => r.on_off)).toEqual([1, 0]);
    });
  });

  test('Date values become milliseconds since the epoch', async () => {
    const when = new Date(Date.UTC(2024, 1, 29, 12, 0, 0, 5));
    await onOneConnection(async (pool) => {
      const result = await pool.execute({ sql: 'SELECT ? AS at, ? = ? AS same', args: [when, when, when.valueOf()] });
      expect(result.rows[0]).toMatchObject({ at: when.valueOf(), same: 1 });
    });
  });

  test('ArrayBuffer values are bound as blobs', async () => {
    await onOneConnection(async (pool) => {
      const bytes = new Uint8Array([0, 1, 254, 255]);
      const result = await pool.execute({
        sql: 'SELECT ? AS b, typeof(?) AS type',
        args: [bytes.buffer, bytes.buffer],
      });
      expect(result.rows[0]!.type).toBe('blob');
      expect(new Uint8Array(result.rows[0]!.b as ArrayBuffer)).toEqual(bytes);
    });
  });

  test.each<[string, InStatement]>([
    ['a map with a key, for `SELECT ?`', { sql: 'SELECT ?', args: { x: 1 } }],
    ['an empty map, for `SELECT ?`', { sql: 'SELECT ?', args: {} }],
    ['a map naming the named parameter, for `SELECT :a, ?`', { sql: 'SELECT :a, ?', args: { a: 1 } }],
    ['an empty map, for an INSERT with `?`', { sql: 'INSERT INTO nowhere VALUES (?)', args: {} }],
    ['an empty map, for `SELECT ?2` (index 1 has no name)', { sql: 'SELECT ?2', args: {} }],
    ['a map naming `2`, for `SELECT ?2`', { sql: 'SELECT ?2', args: { 2: 'x' } }],
    ['a map naming :a, for `SELECT :a, ?3` (index 2 has no name)', { sql: 'SELECT :a, ?3', args: { a: 1 } }],
  ])('a named map for a statement with an unnamed parameter rejects with INVALID_ARGUMENT: %s', async (_name, stmt) => {
    await onOneConnection(async (pool) => {
      await pool.execute('CREATE TABLE nowhere(x)');
      await expectInvalidArgument(pool.execute(stmt));
      await expectInvalidArgument(pool.execute(stmt));
    });
  });

  test.each<[string, unknown]>([
    ['a Buffer', Buffer.from([1])],
    ['a Uint8Array', new Uint8Array([1])],
    ['an ArrayBuffer', new ArrayBuffer(1)],
    ['a Date', new Date(0)],
    ['a Map', new Map([['a', 1]])],
    ['a class instance', new (class Args { a = 1; })()],
    ['a string', 'a'],
    ['a number', 1],
    ['a boolean', true],
  ])('args that are neither an array nor a plain object reject with INVALID_ARGUMENT: %s', async (_name, args) => {
    await onOneConnection(async (pool) => {
      await expectInvalidArgument(pool.execute({ sql: 'SELECT :a', args: args as InArgs }));
      await expectInvalidArgument(pool.execute('SELECT ?', args as InArgs));
    });
  });

  test.each<[string, unknown]>([
    ['a nested object', { a: 1 }],
    ['an array', [1, 2]],
    ['a Symbol', Symbol('s')],
    ['a function', () => 1],
    ['a Map', new Map()],
    ['a Uint16Array', new Uint16Array([1, 2])],
    ['a DataView', new DataView(new ArrayBuffer(2))],
  ])('values that cannot be bound reject with INVALID_ARGUMENT: %s', async (_name, value) => {
    await onOneConnection(async (pool) => {
      await expectInvalidArgument(pool.execute({ sql: 'SELECT ?', args: [value as InValue] }));
      await expectInvalidArgument(pool.execute({ sql: 'SELECT :v', args: { v: value as InValue } }));
    });
  });

  test('undefined rejects with a TypeError, positional or named', async () => {
    await onOneConnection(async (pool) => {
      const message = 'undefined cannot be passed as argument to the database';
      const missing = undefined as unknown as InValue;
      const positional = await rejection(pool.execute({ sql: 'SELECT ?, ?', args: [1, missing] }));
      expect(positional).toBeInstanceOf(TypeError);
      expect(positional).toMatchObject({ message });
      const named = await rejection(pool.execute({ sql: 'SELECT :a', args: { a: missing } }));
      expect(named).toBeInstanceOf(TypeError);
      expect(named).toMatchObject({ message });
    });
  });

  test('null args means no args', async () => {
    await onOneConnection(async (pool) => {
      const none = null as unknown as InArgs;
      const object = await pool.execute({ sql: 'SELECT 1 AS one', args: none });
      expect(object.rows[0]!.one).toBe(1);
      const twoArg = await pool.execute('SELECT 2 AS two', none);
      expect(twoArg.rows[0]!.two).toBe(2);

      // with placeholders, no args binds NULL, as a freshly prepared statement would
      await pool.execute({ sql: 'SELECT ? AS p', args: [7] });
      const placeholders = await pool.execute({ sql: 'SELECT ? AS p', args: none });
      expect(placeholders.rows[0]!.p).toBeNull();
    });
  });

  test('a named map with a null prototype is accepted', async () => {
    await onOneConnection(async (pool) => {
      const args = Object.assign(Object.create(null) as Record<string, InValue>, { a: 'x' });
      const result = await pool.execute({ sql: 'SELECT :a AS a', args });
      expect(result.rows[0]!.a).toBe('x');
    });
  });

  test('a statement that is neither a string nor { sql } rejects with INVALID_ARGUMENT', async () => {
    await onOneConnection(async (pool) => {
      await expectInvalidArgument(pool.execute(42 as unknown as InStatement));
      await expectInvalidArgument(pool.execute({ sql: 42 } as unknown as InStatement));
      await expectInvalidArgument(pool.execute(null as unknown as InStatement));
    });
  });

  test('a failed statement leaves the connection usable and committed rows intact', async () => {
    await onOneConnection(async (pool) => {
      await pool.execute('CREATE TABLE users(email TEXT UNIQUE NOT NULL)');
      await pool.execute({ sql: 'INSERT INTO users VALUES (?), (?)', args: ['a@x', 'b@x'] });

      const error = await rejection(pool.execute({ sql: 'INSERT INTO users VALUES (?)', args: ['a@x'] }));
      expect(error).toBeInstanceOf(LibsqlError);
      expect(error).toMatchObject({ code: 'SQLITE_CONSTRAINT', extendedCode: 'SQLITE_CONSTRAINT_UNIQUE' });
      await expectInvalidArgument(pool.execute({ sql: 'INSERT INTO users VALUES (?)', args: {} }));

      expect((await pool.execute('SELECT count(*) AS n FROM users')).rows[0]!.n).toBe(2);
      await pool.execute({ sql: 'INSERT INTO users VALUES (?)', args: ['c@x'] });
      const emails = await pool.execute('SELECT email FROM users ORDER BY email');
      expect(emails.rows.map((r) => r.email)).toEqual(['a@x', 'b@x', 'c@x']);
    });
  });
});

describe('positional arguments the driver binds as given', () => {
  test('an empty array for a statement with parameters binds NULL to each', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(a, b)');
      await pool.execute('insert into t values (?, ?)', [1, 2]);
      await pool.execute('insert into t values (?, ?)', []);
      expect((await pool.execute('select a, b from t where rowid = 2')).rows.map((r) => [r.a, r.b])).toEqual([[null, null]]);
    });
  });

  test("the caller's array is left as it was, converted values included", async () => {
    await withPool({ max: 1 }, async (pool) => {
      const args = [true, new Date(5), 'x', 3n];
      await pool.execute('select ?, ?, ?, ?', args);
      expect(args).toEqual([true, new Date(5), 'x', 3n]);
    });
  });
});
