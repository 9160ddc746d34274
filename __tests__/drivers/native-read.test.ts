import { createRequire } from 'node:module';
import { LibsqlError, type IntMode } from '@libsql/client';
import { nativeReadPath } from '../../lib/drivers/native';
import { loadNativeRead, nativeReader, useReadPath, type LibsqlForRead, type ReadPath } from '../../lib/drivers/native-read';
import { withPool } from '../support/helpers';

// The native read path (libsql's own addon functions, a reused row buffer)
// must answer exactly as `Statement.all()` does, on every result size, or not
// be used at all. Each behaviour runs on both paths; the whole conformance
// suite runs on the documented one too (`documented-read-path.test.ts`).

const libsqlRequire = createRequire(require.resolve('@libsql/client'));
const Database = libsqlRequire('libsql') as LibsqlForRead;
const libsqlModule = () => require.cache[libsqlRequire.resolve('libsql')];

/** 1..n, with a row's every value type, or an error while stepping at row `failAt`. */
const SERIES =
  'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 300) ' +
  "SELECT n, n * 0.25 AS r, 'r' || n AS t, CASE n % 2 WHEN 0 THEN x'00ff' ELSE NULL END AS b, " +
  '9007199254740993 + n AS big FROM c WHERE n <= ?';

afterEach(() => useReadPath(undefined));

test('the native read path is the default where libsql is as expected', () => {
  expect(nativeReadPath()).toBe('native');
});

test("useReadPath('documented') makes new connections read through Statement.all()", () => {
  useReadPath('documented');
  expect(nativeReadPath()).toBe('documented');
  useReadPath(undefined);
  expect(nativeReadPath()).toBe('native');
});

describe.each<ReadPath>(['native', 'documented'])('reads on the %s path', (path) => {
  beforeEach(() => useReadPath(path));

  test.each([0, 1, 99, 100, 101, 200, 250])('%i rows come back whole and in order', async (count) => {
    await withPool({ max: 1, intMode: 'bigint' }, async (pool) => {
      expect(nativeReadPath()).toBe(path);
      const { rows, columns } = await pool.execute(SERIES, [count]);
      expect(columns).toEqual(['n', 'r', 't', 'b', 'big']);
      expect(rows.map((row) => row.n)).toEqual(Array.from({ length: count }, (_, i) => BigInt(i + 1)));
      if (count > 0) {
        const last = rows[count - 1]!;
        expect([last.r, last.t, last.big]).toEqual([count * 0.25, `r${count}`, 9007199254740993n + BigInt(count)]);
        expect(rows[0]!.b).toBeNull();
        if (count > 1) expect(new Uint8Array(rows[1]!.b as ArrayBuffer)).toEqual(new Uint8Array([0, 0xff]));
      }
    });
  });

  test.each<[IntMode, unknown]>([
    ['number', 42],
    ['bigint', 42n],
    ['string', '42'],
  ])("intMode '%s' gives integers as %p", async (intMode, expected) => {
    await withPool({ max: 1, intMode }, async (pool) => {
      expect((await pool.execute('SELECT 42 AS v')).rows[0]!.v).toEqual(expected);
      expect((await pool.execute({ sql: 'SELECT 42 AS v', rowMode: 'array' })).rows[0]).toEqual([expected]);
    });
  });

  test('an error while stepping is the LibsqlError the client gives, with libsql’s SqliteError as its cause', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const error = await pool.execute('SELECT json(?)', ['{']).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(LibsqlError);
      expect(error).toMatchObject({ code: 'SQLITE_ERROR', rawCode: 1, message: 'SQLITE_ERROR: malformed JSON' });
      expect((error as LibsqlError).cause).toBeInstanceOf(Database.SqliteError);
    });
  });

  test('a constraint failure of a statement that returns rows keeps its extended code', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('CREATE TABLE t(id INTEGER PRIMARY KEY)');
      await pool.execute('INSERT INTO t VALUES (1)');
      const error = await pool.execute('INSERT INTO t VALUES (?) RETURNING id', [1]).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'SQLITE_CONSTRAINT', extendedCode: 'SQLITE_CONSTRAINT_PRIMARYKEY' });
      expect((await pool.execute('INSERT INTO t VALUES (?) RETURNING id', [2])).rows.map((r) => r.id)).toEqual([2]);
    });
  });

  test('rows read before an error in a later batch never reach the next read', async () => {
    await withPool({ max: 1, intMode: 'bigint' }, async (pool) => {
      const failAt150 =
        'WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 200) ' +
        "SELECT n, json(CASE WHEN n = ? THEN '{' ELSE '1' END) FROM c";
      await expect(pool.execute(failAt150, [150])).rejects.toMatchObject({ code: 'SQLITE_ERROR' });
      expect((await pool.execute(SERIES, [1])).rows.map((r) => r.n)).toEqual([1n]);
      expect((await pool.execute(SERIES, [0])).rows).toEqual([]);
    });
  });
});

describe('the native path is used only when proven', () => {
  test('the addon libsql loaded passes the self-check', () => {
    expect(loadNativeRead(Database, libsqlModule)).toBeInstanceOf(Function);
  });

  test('without the libsql module record (not loaded through require) it is not used', () => {
    expect(loadNativeRead(Database, () => undefined)).toBeUndefined();
  });

  test('where looking for it throws (a bundle without require.cache) it is not used', () => {
    const noCache = () => {
      throw new TypeError("Cannot read properties of undefined (reading '/libsql/index.js')");
    };
    expect(loadNativeRead(Database, noCache)).toBeUndefined();
  });

  test('without the native functions among libsql’s children it is not used', () => {
    const children = libsqlModule()!.children.filter((c) => !String(c.id).endsWith('.node'));
    expect(loadNativeRead(Database, () => ({ children }))).toBeUndefined();
  });

  test('functions that answer differently from all() fail the self-check', () => {
    const addon = libsqlModule()!.children.find((c) => String(c.id).endsWith('.node'))!.exports as {
      statementRowsSync: (this: unknown, args: unknown) => unknown;
    };
    // A cursor that never yields a row: right for 0 rows, wrong for the rest.
    const empty = { statementRowsSync: addon.statementRowsSync, rowsNext() {} };
    expect(loadNativeRead(Database, () => ({ children: [{ id: 'fake.node', exports: empty }] }))).toBeUndefined();
    const throwing = {
      statementRowsSync: () => {
        throw new TypeError('failed to downcast');
      },
      rowsNext() {},
    };
    expect(loadNativeRead(Database, () => ({ children: [{ id: 'fake.node', exports: throwing }] }))).toBeUndefined();
  });

  test('an error that is not libsql’s passes through the native reader unchanged', () => {
    const odd = new TypeError('SQLite3 can only bind numbers, strings, bigints, buffers, and null');
    const failing = {
      statementRowsSync: () => {
        throw odd;
      },
      rowsNext() {},
    };
    const read = nativeReader(failing, Database.SqliteError);
    expect(() => read({ stmt: {} } as never, [])).toThrow(odd);
  });
});
