import { createClient, type Client, type IntMode, type ResultSet, type Value } from '@libsql/client';
import {
  createPool,
  createPooledClient,
  type AdaptiveConnectionPool,
  type ArrayResultSet,
  type ObjectResultSet,
  type PoolConfig,
  type RowMode,
} from '../../lib';
import { tempDir } from '../support/helpers';
import { servers, table } from '../support/remote';

// `rowMode: 'array'` promises the values of the client's rows, in column
// order, as plain arrays, and `rowMode: 'object'` the same values as plain
// objects keyed by column name: every case compares them with the rows the
// client itself returns (and with the pool's own client rows, which is all an
// in-memory database can be compared with), on each backend.

type Backend = 'file' | 'memory' | 'ws' | 'http';
const BACKENDS: Backend[] = ['file', 'memory', 'ws', 'http'];
const INT_MODES: IntMode[] = ['number', 'bigint', 'string'];

/** Beyond 2^53: a `RangeError` in intMode 'number', exact in the others. */
const BIG = '9007199254740993';
const SAFE_COLUMNS = `i, r, s, b, n, neg`;

const dirs = tempDir();
afterAll(() => dirs.dispose());

let files = 0;
function urlOf(backend: Backend): string {
  if (backend === 'memory') return ':memory:';
  if (backend === 'file') return dirs.url(`row-mode-${files++}.db`);
  return servers[backend];
}

interface Fixture {
  pool: AdaptiveConnectionPool<RowMode>;
  /** The client on the same database, where it can share one (not `:memory:`). */
  client: Client | undefined;
  t: string;
}

async function withFixture(
  backend: Backend,
  config: Omit<PoolConfig, 'url'>,
  fn: (f: Fixture) => Promise<void>,
): Promise<void> {
  const url = urlOf(backend);
  const pool: AdaptiveConnectionPool<RowMode> = await createPool({ ...config, url });
  const client = backend === 'memory' ? undefined : createClient({ url, intMode: config.intMode });
  const t = table();
  try {
    await pool.use((lease) => lease.executeMultiple(`
      CREATE TABLE ${t} (id INTEGER PRIMARY KEY, i INTEGER, r REAL, s TEXT, b BLOB, n, neg INTEGER, big INTEGER);
      INSERT INTO ${t} (i, r, s, b, n, neg, big) VALUES (42, 1.5, 'héllo', x'00ff10', NULL, -7, ${BIG});
      INSERT INTO ${t} (i, r, s, b, n, neg, big) VALUES (0, -0.25, '', x'', NULL, -9007199254740991, 1);`));
    await fn({ pool, client, t });
  } finally {
    if (backend !== 'memory') await pool.execute(`DROP TABLE IF EXISTS ${t}`).catch(() => undefined);
    client?.close();
    await pool.close({ timeoutMs: 0 });
  }
}

/** What `rowMode: 'object'` promises for a row of values: one property per name, the first column of a name winning. */
function keyed(columns: string[], values: ArrayLike<unknown>): Record<string, unknown> {
  const row: Record<string, unknown> = {};
  columns.forEach((name, i) => {
    if (!Object.hasOwn(row, name)) Object.defineProperty(row, name, { value: values[i], enumerable: true, writable: true, configurable: true });
  });
  return row;
}

/** The result without its rows, as a caller sees it. */
function meta(result: ResultSet | ArrayResultSet | ObjectResultSet): unknown {
  const { columns, columnTypes, rowsAffected, lastInsertRowid } = result;
  return { columns, columnTypes, rowsAffected, lastInsertRowid };
}

describe.each(BACKENDS)('rowMode on %s', (backend) => {
  describe.each(INT_MODES)('intMode %s', (intMode) => {
    const columns = intMode === 'number' ? SAFE_COLUMNS : `${SAFE_COLUMNS}, big`;

    test("'array' rows hold the client's values, run after run (the later ones from the cache)", async () => {
      await withFixture(backend, { intMode, rowMode: 'array' }, async ({ pool, client, t }) => {
        const sql = `SELECT ${columns} FROM ${t} ORDER BY id`;
        const reference = await pool.execute({ sql, rowMode: 'client' });
        const expected = reference.rows.map((row) => Array.from(row));
        if (client !== undefined) {
          const theirs = await client.execute(sql);
          expect(theirs.rows.map((row) => Array.from(row))).toEqual(expected);
        }
        for (let run = 0; run < 3; run++) {
          const result = await pool.execute(sql);
          for (const row of result.rows) {
            expect(Array.isArray(row)).toBe(true);
          }
          expect(result.rows).toEqual(expected);
          expect(meta(result)).toEqual(meta(reference));
          expect(result.toJSON()).toEqual(reference.toJSON());
        }
        if (intMode !== 'number') {
          const big = await pool.execute(`SELECT big FROM ${t} WHERE big > 1`);
          expect(big.rows).toEqual([[intMode === 'bigint' ? BigInt(BIG) : BIG]]);
        }
      });
    });

    test("'object' rows are plain objects of the client's values by name, run after run (the later ones from the cache)", async () => {
      await withFixture(backend, { intMode, rowMode: 'object' }, async ({ pool, client, t }) => {
        const sql = `SELECT ${columns} FROM ${t} ORDER BY id`;
        const reference = await pool.execute({ sql, rowMode: 'client' });
        const expected = reference.rows.map((row) => keyed(reference.columns, row));
        if (client !== undefined) {
          const theirs = await client.execute(sql);
          expect(theirs.rows.map((row) => keyed(theirs.columns, row))).toEqual(expected);
        }
        const json = reference.toJSON() as { rows: unknown[][] };
        for (let run = 0; run < 3; run++) {
          const result = await pool.execute(sql);
          for (const row of result.rows) {
            expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
            expect(Object.keys(row)).toEqual(reference.columns);
          }
          expect(result.rows).toStrictEqual(expected);
          expect(meta(result)).toEqual(meta(reference));
          expect(result.toJSON()).toEqual({ ...reference.toJSON(), rows: json.rows.map((row) => keyed(reference.columns, row)) });
        }
        if (intMode !== 'number') {
          const big = await pool.execute(`SELECT big FROM ${t} WHERE big > 1`);
          expect(big.rows).toEqual([{ big: intMode === 'bigint' ? BigInt(BIG) : BIG }]);
        }
      });
    });

    test("a per-call rowMode overrides the pool's, either way", async () => {
      await withFixture(backend, { intMode }, async ({ pool, t }) => {
        const sql = `SELECT ${columns} FROM ${t} ORDER BY id`;
        const asClient = (await pool.execute(sql)) as ResultSet;
        const asArrays = await pool.execute({ sql, rowMode: 'array' });
        expect(asArrays.rows).toEqual(asClient.rows.map((row) => Array.from(row)));
        expect(Array.isArray(asClient.rows[0])).toBe(false);
        expect(asClient.rows[0]!['s']).toBe('héllo');
        // Through a lease, and the pool's own mode once more after it.
        await pool.use(async (lease) => {
          const again = await lease.execute({ sql, args: [], rowMode: 'array' });
          expect(again.rows).toEqual(asArrays.rows);
        });
        expect(Array.isArray((await pool.execute(sql)).rows[0])).toBe(false);
        const asObjects = await pool.execute({ sql, rowMode: 'object' });
        expect(asObjects.rows).toEqual(asClient.rows.map((row) => keyed(asClient.columns, row)));
        expect(Object.hasOwn(asObjects.rows[0]!, 0)).toBe(false);
      });
    });
  });

  test.each(['array', 'object'] as const)("intMode 'number' still refuses an unsafe integer with a RangeError in '%s' mode", async (rowMode) => {
    await withFixture(backend, { rowMode }, async ({ pool, client, t }) => {
      const sql = `SELECT big FROM ${t} ORDER BY id`;
      if (client !== undefined) await expect(client.execute(sql)).rejects.toThrow(RangeError);
      await expect(pool.execute({ sql, rowMode: 'client' })).rejects.toThrow(RangeError);
      await expect(pool.execute(sql)).rejects.toThrow(RangeError);
      // The connection stays usable.
      expect((await pool.execute({ sql: `SELECT count(*) FROM ${t}`, rowMode: 'array' })).rows).toEqual([[2]]);
    });
  });

  test("writes, batches and transactions in 'array' mode keep the result's other fields", async () => {
    await withFixture(backend, { rowMode: 'array' }, async ({ pool, t }) => {
      const insert = await pool.execute({ sql: `INSERT INTO ${t} (i, s) VALUES (?, ?)`, args: [5, 'five'] });
      expect(insert.rows).toEqual([]);
      expect(insert.rowsAffected).toBe(1);
      expect(insert.lastInsertRowid).toBe(3n);
      const returning = await pool.execute(`INSERT INTO ${t} (i, s) VALUES (6, 'six') RETURNING id, s`);
      expect(returning.rows).toEqual([[4, 'six']]);
      expect(returning.columns).toEqual(['id', 's']);

      const [count, rows] = await pool.batch([`SELECT count(*) AS c FROM ${t}`, `SELECT i, s FROM ${t} WHERE id > 2 ORDER BY id`]);
      expect(count!.rows).toEqual([[4]]);
      expect(rows!.rows).toEqual([
        [5, 'five'],
        [6, 'six'],
      ]);
      expect(rows!.columns).toEqual(['i', 's']);

      await pool.transaction(async (tx) => {
        await tx.execute(`UPDATE ${t} SET s = 'cinq' WHERE i = 5`);
        expect((await tx.execute(`SELECT s FROM ${t} WHERE i = 5`)).rows).toEqual([['cinq']]);
      });
    });
  });

  test("writes, batches and transactions in 'object' mode keep the result's other fields", async () => {
    await withFixture(backend, { rowMode: 'object' }, async ({ pool, t }) => {
      const insert = await pool.execute({ sql: `INSERT INTO ${t} (i, s) VALUES (?, ?)`, args: [5, 'five'] });
      expect([insert.rows, insert.rowsAffected, insert.lastInsertRowid]).toEqual([[], 1, 3n]);
      const returning = await pool.execute(`INSERT INTO ${t} (i, s) VALUES (6, 'six') RETURNING id, s`);
      expect(returning.rows).toEqual([{ id: 4, s: 'six' }]);

      const [count, rows] = await pool.batch([`SELECT count(*) AS c FROM ${t}`, `SELECT i, s FROM ${t} WHERE id > 2 ORDER BY id`]);
      expect(count!.rows).toEqual([{ c: 4 }]);
      expect(rows!.rows).toStrictEqual([
        { i: 5, s: 'five' },
        { i: 6, s: 'six' },
      ]);

      await pool.transaction(async (tx) => {
        await tx.execute(`UPDATE ${t} SET s = 'cinq' WHERE i = 5`);
        expect((await tx.execute(`SELECT s FROM ${t} WHERE i = 5`)).rows).toEqual([{ s: 'cinq' }]);
      });
    });
  });

  test("a repeated column name keeps the first value in an object, as a client row does; `length` and `__proto__` are columns like any", async () => {
    await withFixture(backend, { rowMode: 'object' }, async ({ pool, client }) => {
      const sql = "SELECT 1 AS a, 2 AS a, 'x' AS length, 3 AS __proto__";
      const [row] = (await pool.execute(sql)).rows;
      expect(Object.getPrototypeOf(row)).toBe(Object.prototype);
      expect(Object.entries(row!)).toEqual([
        ['a', 1],
        ['length', 'x'],
        ['__proto__', 3],
      ]);
      if (client !== undefined) expect((await client.execute(sql)).rows[0]!['a']).toBe(1);
      const [batched] = await pool.batch([sql]);
      expect(Object.entries(batched!.rows[0]!)).toEqual(Object.entries(row!));
    });
  });

  test('a repeated column name keeps every value in an array (a client row keeps the first by name)', async () => {
    await withFixture(backend, { rowMode: 'array' }, async ({ pool, client }) => {
      const sql = "SELECT 1 AS a, 2 AS a, 'x' AS length";
      const result = await pool.execute(sql);
      expect(result.rows).toEqual([[1, 2, 'x']]);
      if (client !== undefined) expect(Array.from((await client.execute(sql)).rows[0]!)).toEqual([1, 2, 'x']);
    });
  });
});

describe('rowMode validation', () => {
  test('the pool config refuses an unknown rowMode, naming the field', async () => {
    const refused = createPool({ url: ':memory:', rowMode: 'rows' as RowMode });
    await expect(refused).rejects.toBePoolError('INVALID_CONFIG');
    await expect(refused).rejects.toThrow('rowMode');
  });

  test('a call refuses an unknown rowMode before running anything', async () => {
    const pool = await createPool({ url: ':memory:' });
    try {
      const refused = pool.execute({ sql: 'SELECT 1', rowMode: 'raw' as RowMode });
      await expect(refused).rejects.toBePoolError('INVALID_ARGUMENT');
      await expect(refused).rejects.toThrow('rowMode');
    } finally {
      await pool.close();
    }
  });

  test.each(['array', 'object'] as const)("createPooledClient refuses rowMode '%s' (a Client's rows are the client's) and takes 'client'", async (rowMode) => {
    const refused = createPooledClient({ url: ':memory:', rowMode });
    await expect(refused).rejects.toBePoolError('INVALID_CONFIG');
    await expect(refused).rejects.toThrow('rowMode');
    const client = await createPooledClient({ url: ':memory:', rowMode: 'client' });
    try {
      expect((await client.execute('SELECT 1 AS one')).rows[0]!['one']).toBe(1);
    } finally {
      client.close();
    }
  });

  test('the result types follow the mode asked for', async () => {
    const pool = await createPool({ url: ':memory:', rowMode: 'array' });
    const plain = await createPool({ url: ':memory:' });
    try {
      const arrays: Value[][] = (await pool.execute('SELECT 1')).rows;
      const objects: ResultSet = await pool.execute({ sql: 'SELECT 1 AS one', rowMode: 'client' });
      const named: Value = (await plain.execute('SELECT 1 AS one')).rows[0]!['one']!;
      const perCall: Value[][] = (await plain.execute({ sql: 'SELECT 1', rowMode: 'array' })).rows;
      const keyedRows: Record<string, Value>[] = (await plain.execute({ sql: 'SELECT 1 AS one', rowMode: 'object' })).rows;
      // @ts-expect-error: arrays have no named columns.
      void (await pool.execute('SELECT 1 AS one')).rows[0]!.one;
      // @ts-expect-error: object rows are not the client's rows.
      const notClient: ResultSet = await plain.execute({ sql: 'SELECT 1 AS one', rowMode: 'object' });
      void notClient;
      expect([arrays, objects.rows.length, named, perCall, keyedRows]).toEqual([[[1]], 1, 1, [[1]], [{ one: 1 }]]);
    } finally {
      await pool.close();
      await plain.close();
    }
  });
});
