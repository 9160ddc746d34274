import { Buffer } from 'node:buffer';
import type { LibsqlStatement } from './native-statement';

/** Every row of a reader statement (raw arrays), as `stmt.all(args)` returns them. */
export type ReadAll = (stmt: LibsqlStatement, args: unknown) => unknown[][];

/**
 * `'native'`: libsql's own native functions with a reused row buffer;
 * `'documented'`: `Statement.all()`.
 */
export type ReadPath = 'native' | 'documented';

/** The documented path, and the fallback whenever the native one is not proven safe. */
export const readAllDocumented: ReadAll = (stmt, args) => stmt.all(args);

/** The two functions of the addon `Statement.all()` is built on (libsql 0.5's `index.js`). */
interface RowsAddon {
  statementRowsSync(this: unknown, args: unknown): unknown;
  rowsNext(this: unknown, buffer: unknown[]): void;
}

/** A `Statement` as `libsql` 0.5 builds it: the addon's statement handle in `stmt`. */
interface StatementWithHandle extends LibsqlStatement {
  readonly stmt: unknown;
}

type SqliteErrorClass = new (message: string, code: string, rawCode: number) => Error;

/** What `rowsNext` fills at most per call, as `Statement.iterate()` asks for. */
const BATCH = 100;

/**
 * The path `Statement.all()` takes without what it adds per call: an iterator
 * object with a fresh 100-slot array, a `{ value, done }` object per row, and
 * rest-parameter spreading. On a one-row read that is about a third of its
 * time.
 *
 * It relies on three things of `libsql` 0.5 beyond its documented API, each
 * checked before it is used (see `loadNativeRead`): a `Statement` keeps the
 * addon's handle in `stmt`; `statementRowsSync.call(handle, args)` resets,
 * binds and starts the statement and returns a cursor; `rowsNext.call(cursor,
 * buffer)` writes the next rows (up to 100) to `buffer[0..]` and leaves the
 * slots after the last one untouched, so that with every slot cleared before
 * the call, the first empty slot marks the end. That is exactly how
 * `Statement.iterate()` reads them, and `all()` is `iterate()` collected.
 *
 * Errors become libsql's `SqliteError` as `all()` makes them (its
 * `convertError`), so `mapSqliteError` sees the same error either way.
 */
export function nativeReader(addon: RowsAddon, SqliteError: SqliteErrorClass): ReadAll {
  const { statementRowsSync, rowsNext } = addon;
  // One buffer for every statement: a read runs synchronously to its end, and
  // every slot is cleared before it returns or throws.
  const buffer: unknown[] = new Array<unknown>(BATCH).fill(undefined);
  return (stmt, args) => {
    try {
      const cursor = statementRowsSync.call((stmt as StatementWithHandle).stmt, args);
      rowsNext.call(cursor, buffer);
      const first = buffer[0] as unknown[] | undefined;
      if (first === undefined) return [];
      buffer[0] = undefined;
      // A point read's shape: one row, and the end after it.
      if (buffer[1] === undefined) return [first];
      const rows = [first];
      for (let i = 1; ; ) {
        for (; i < BATCH; i++) {
          const row = buffer[i] as unknown[] | undefined;
          if (row === undefined) return rows;
          buffer[i] = undefined;
          rows.push(row);
        }
        rowsNext.call(cursor, buffer);
        i = 0;
      }
    } catch (error) {
      buffer.fill(undefined);
      const e = error as { libsqlError?: unknown; message: string; code: string; rawCode: number } | null;
      throw e !== null && typeof e === 'object' && e.libsqlError ? new SqliteError(e.message, e.code, e.rawCode) : error;
    }
  };
}

/** The parts of `libsql`'s module the check needs. */
export interface LibsqlForRead {
  new (path: string, options?: Record<string, unknown>): {
    prepare(sql: string): LibsqlStatement;
    close(): void;
  };
  SqliteError: SqliteErrorClass;
}

/** The module record of libsql's `index.js`, as `require.cache` holds it. */
export interface LoadedModule {
  readonly children: ReadonlyArray<{ readonly id: string; readonly exports: unknown }>;
}

/**
 * The native reader over the addon `libsql` itself loaded, or `undefined`
 * when anything about it is not as expected; `undefined` means the documented
 * `all()`.
 *
 * The addon is taken from the children of libsql's own module record, so it
 * is the very instance whose functions `Statement` calls and whose handles it
 * holds; nothing is loaded here (a copy found some other way could be a
 * second instance, or another build, that does not know those handles).
 * Before it is trusted it must return exactly what `all()` returns, on 0, 1,
 * 100 and 201 rows of every value type, and throw the same error. The
 * check runs once per process, on a `:memory:` database of its own.
 */
export function loadNativeRead(libsql: LibsqlForRead, loaded: () => LoadedModule | undefined): ReadAll | undefined {
  try {
    // A bundler's `require` may have no `cache`, or a record without `children`.
    const addon = loaded()?.children.find((child) => {
      const e = child.exports as Partial<RowsAddon> | null | undefined;
      return typeof e?.statementRowsSync === 'function' && typeof e.rowsNext === 'function';
    })?.exports as RowsAddon | undefined;
    if (addon === undefined) return undefined;
    const read = nativeReader(addon, libsql.SqliteError);
    return selfCheck(libsql, read) ? read : undefined;
  } catch {
    return undefined;
  }
}

/** Rows 1..n of every value type SQLite returns: integer (past 2^53 too), real, text, blob, null. */
const CHECK_SQL =
  'WITH RECURSIVE c(n) AS (SELECT 1 WHERE ?1 > 0 UNION ALL SELECT n + 1 FROM c WHERE n < ?1) ' +
  "SELECT n, n * 0.5, 'r' || n, CASE n % 3 WHEN 0 THEN x'00' WHEN 1 THEN x'00ff' ELSE x'ff00ff' END, NULL, 9007199254740993 * n FROM c";
/** Fails while stepping, not while binding: the error a cursor throws. */
const CHECK_ERROR_SQL = 'SELECT json(?)';

function selfCheck(libsql: LibsqlForRead, read: ReadAll): boolean {
  const db = new libsql(':memory:');
  try {
    const viaRead = db.prepare(CHECK_SQL).safeIntegers(true).raw(true);
    const viaAll = db.prepare(CHECK_SQL).safeIntegers(true).raw(true);
    if (typeof (viaRead as Partial<StatementWithHandle>).stmt !== 'object') return false;
    // Empty; one row; a full batch, then an empty one; two full batches and a part; one again.
    for (const n of [0, 1, 100, 201, 1]) {
      if (fingerprint(read(viaRead, [n])) !== fingerprint(viaAll.all([n]))) return false;
    }
    const expected = errorOf(libsql, () => db.prepare(CHECK_ERROR_SQL).raw(true).all(['{']));
    return expected !== undefined && errorOf(libsql, () => read(db.prepare(CHECK_ERROR_SQL).raw(true), ['{'])) === expected;
  } finally {
    db.close();
  }
}

function fingerprint(rows: unknown[][]): string {
  return JSON.stringify(rows, (_key, value: unknown) =>
    typeof value === 'bigint'
      ? `${value}n`
      : value instanceof ArrayBuffer
        ? `blob:${Buffer.from(value).toString('hex')}`
        : value,
  );
}

/** The error `fn` throws, as what a caller can observe of it; `undefined` if none or not libsql's. */
function errorOf(libsql: LibsqlForRead, fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof libsql.SqliteError)) return undefined;
    const e = error as Error & { code?: unknown; rawCode?: unknown };
    return JSON.stringify([e.name, e.message, e.code, e.rawCode]);
  }
  return undefined;
}

let chosen: ReadPath | undefined;
/** The native reader once checked (`undefined` if unavailable); checked on first use, once per process. */
let checked: { read: ReadAll | undefined } | undefined;

/** The reader a new connection takes: the native one if chosen (the default) and available. */
export function readerFor(libsql: LibsqlForRead, loaded: () => LoadedModule | undefined): ReadAll {
  if (chosen === 'documented') return readAllDocumented;
  checked ??= { read: loadNativeRead(libsql, loaded) };
  return checked.read ?? readAllDocumented;
}

/**
 * Makes connections opened from now on read through `path` (`'native'` still
 * falls back when the native path is unavailable), or, with `undefined`, the
 * default: native when available. For tests, which run on both paths.
 */
export function useReadPath(path: ReadPath | undefined): void {
  chosen = path;
}
