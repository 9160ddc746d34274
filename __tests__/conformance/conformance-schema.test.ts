import type { InStatement } from '@libsql/client';
import { LibsqlBatchError } from '../../lib';
import {
  BACKENDS,
  attempt,
  clientSide,
  errorView,
  expectSameOutcome,
  poolSide,
  reset,
  resultView,
  useOwnSqld,
  withClientAndPool,
} from '../support/conformance';

// The pool's promise where state is shared: cached statements after another
// connection changed the schema, and batches, whole or rolled back, on a file
// and on a real sqld (see support/conformance.ts).

useOwnSqld();

describe.each(BACKENDS)('on %s', (backend) => {
describe('cached statements after schema changes the pool did not make', () => {
  test('a cached SELECT * returns a column renamed by another connection', async () => {
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a');");
      await pool.execute('SELECT * FROM t');
      await pool.execute('SELECT * FROM t');
      await client.execute('ALTER TABLE t RENAME COLUMN name TO nm');

      const expected = await attempt(() => client.execute('SELECT * FROM t'));
      const actual = await attempt(() => pool.execute('SELECT * FROM t'));
      expectSameOutcome('pool', 'SELECT * FROM t', actual, expected);
    });
  });

  test.each([
    ['a column renamed', 'renamed', 'ALTER TABLE renamed RENAME COLUMN name TO nm'],
    ['a column added', 'widened', 'ALTER TABLE widened ADD COLUMN extra INTEGER DEFAULT 7'],
  ])('a cached SELECT * … LIMIT 1 returns the columns after %s by another connection', async (_, table, change) => {
    // A table of its own per case: once another connection has changed a
    // table's columns, sqld can answer a later case's SELECT * of a table of
    // the same name, rebuilt with fewer columns, with "Invalid column index"
    // (HTTP 500, or a WebSocket closed).
    const query = `SELECT * FROM ${table} WHERE id = ? LIMIT 1`;
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple(`CREATE TABLE ${table}(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO ${table} VALUES (1, 'a');`);
      await pool.execute(query, [1]);
      await pool.execute(query, [1]);
      await client.execute(change);

      const expected = await attempt(() => client.execute(query, [1]));
      const actual = await attempt(() => pool.execute(query, [1]));
      expectSameOutcome('pool', query, actual, expected);
    });
  });

  test('a cached WITH … SELECT * returns a column renamed by another connection', async () => {
    const query = 'WITH r AS (SELECT * FROM t) SELECT * FROM r';
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a');");
      await pool.execute(query);
      await pool.execute(query);
      await client.execute('ALTER TABLE t RENAME COLUMN name TO nm');

      const expected = await attempt(() => client.execute(query));
      const actual = await attempt(() => pool.execute(query));
      expectSameOutcome('pool', query, actual, expected);
    });
  });

  test('a cached SELECT * with no rows returns the real columns after a rolled-back batch added one', async () => {
    await withClientAndPool(backend, undefined, async (client, pool) => {
      const setup = 'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT);';
      const query = 'SELECT * FROM t WHERE id = 0';
      const failing = ['ALTER TABLE t ADD COLUMN extra TEXT', query, 'INSERT INTO t(id) VALUES (1), (1)'];

      await reset(clientSide(client));
      await client.executeMultiple(setup);
      await client.execute(query);
      await expect(client.batch(failing)).rejects.toBeInstanceOf(LibsqlBatchError);
      const expected = await attempt(() => client.execute(query));

      await reset(poolSide(pool));
      await pool.use((lease) => lease.executeMultiple(setup));
      await pool.execute(query);
      await expect(pool.batch(failing)).rejects.toBeInstanceOf(LibsqlBatchError);
      const actual = await attempt(() => pool.execute(query));

      expectSameOutcome('pool', query, actual, expected);
    });
  });
});

describe('pool.batch returns what client.batch returns', () => {
  const setup = 'CREATE TABLE log(id INTEGER PRIMARY KEY, msg TEXT UNIQUE, at INTEGER);';

  test('a successful batch gives the same result sets', async () => {
    const batch: InStatement[] = [
      { sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['start', 1] },
      { sql: 'INSERT INTO log(msg, at) VALUES (:m, :t) RETURNING id, msg', args: { m: 'middle', t: 2n } },
      'UPDATE log SET at = at * 10',
      'SELECT * FROM log ORDER BY id',
    ];
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple(setup);
      const expected = await client.batch(batch, 'write');
      await reset(poolSide(pool));
      await pool.use((lease) => lease.executeMultiple(setup));
      const actual = await pool.batch(batch, 'write');

      expect(actual).toStrictEqual(expected);
      expect(actual.map(resultView)).toStrictEqual(expected.map(resultView));
    });
  });

  test('a failing batch rejects with the same LibsqlBatchError and rolls back its earlier writes', async () => {
    const batch: InStatement[] = [
      { sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['one', 1] },
      { sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['two', 2] },
      { sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['one', 3] },
      'SELECT 1',
    ];
    const count = 'SELECT count(*) AS n FROM log';
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple(setup);
      await client.execute({ sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['before', 0] });
      const expected = await client.batch(batch).then(
        () => undefined,
        (error: unknown) => error,
      );
      const expectedCount = await client.execute(count);

      await reset(poolSide(pool));
      await pool.use((lease) => lease.executeMultiple(setup));
      await pool.execute({ sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['before', 0] });
      const actual = await pool.batch(batch).then(
        () => undefined,
        (error: unknown) => error,
      );
      const actualCount = await pool.execute(count);

      expect(expected).toBeInstanceOf(LibsqlBatchError);
      expect(actual).toBeInstanceOf(LibsqlBatchError);
      expect(errorView(actual)).toStrictEqual(errorView(expected));
      expect(errorView(actual)).toMatchObject({ statementIndex: 2, code: 'SQLITE_CONSTRAINT' });
      expect(resultView(actualCount)).toStrictEqual(resultView(expectedCount));
      expect(actualCount.rows[0]!.n).toBe(1);
    });
  });
});
});
