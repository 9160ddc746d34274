import { Buffer } from 'node:buffer';
import { LibsqlError } from '@libsql/core/api';
import type { IntMode, ResultSet, Row, Value } from '@libsql/client';
import type { RowMode } from './row-mode';
import { ResultSetImpl } from '@libsql/core/util';

// The row and error shapes below are `@libsql/client` 0.18's (`sqlite3.js`),
// reproduced value for value so that a user switching from `client.execute`
// sees the same results; the tests in `__tests__/conformance/` compare them.

export { ResultSetImpl };

/**
 * `libsql`'s raw rows as the values the client would put in its rows, in
 * place: the arrays are new for every run, so nothing else sees them, and no
 * row object is built at all.
 */
export function arraysFromSql(raw: unknown[][], intMode: IntMode): Value[][] {
  for (let r = 0; r < raw.length; r++) {
    const sqlRow = raw[r]!;
    for (let i = 0; i < sqlRow.length; ++i) {
      const value = sqlRow[i];
      if (typeof value === 'bigint' || value instanceof Buffer) sqlRow[i] = valueFromSql(value, intMode);
    }
  }
  return raw as Value[][];
}

/**
 * A result whose rows come already built as the client's (a server's, or a
 * batch's) in the rows of `rowMode`: for `'array'`, `Array.from` reads a
 * row's `length` and indexes, which hold every column even where names repeat.
 */
export function withRowMode(result: ResultSet, rowMode: RowMode): ResultSet {
  if (rowMode === 'client') return result;
  const { columns, columnTypes, rowsAffected, lastInsertRowid } = result;
  if (rowMode === 'array') {
    const rows = result.rows.map((row) => Array.from(row));
    return new ResultSetImpl(columns, columnTypes, rows as unknown as Row[], rowsAffected, lastInsertRowid);
  }
  return new ObjectRowsResult(columns, columnTypes, objectsFromArrays(result.rows, columns), rowsAffected, lastInsertRowid);
}

/**
 * The result of `rowMode` `'object'`. The client's `toJSON()` reads each row
 * as an array, which a keyed object is not: here each row is an object of the
 * same JSON values (a bigint as its digits, a blob as base64).
 */
export class ObjectRowsResult extends ResultSetImpl {
  constructor(
    columns: string[],
    columnTypes: string[],
    rows: Record<string, Value>[],
    rowsAffected: number,
    lastInsertRowid: bigint | undefined,
  ) {
    super(columns, columnTypes, rows as unknown as Row[], rowsAffected, lastInsertRowid);
  }

  override toJSON(): ReturnType<ResultSetImpl['toJSON']> {
    const json = super.toJSON();
    json.rows = (this.rows as unknown as Record<string, Value>[]).map(objectToJson);
    return json;
  }
}

function objectToJson(row: Record<string, Value>): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const name of Object.keys(row)) {
    const value = row[name];
    setColumn(
      json,
      name,
      typeof value === 'bigint' ? '' + value : value instanceof ArrayBuffer ? Buffer.from(value).toString('base64') : value,
    );
  }
  return json;
}

/**
 * Rows of `rowMode` `'object'` from rows of values (arrays, or the client's
 * rows, which are indexed): one enumerable property per column name, the
 * first column of a name winning as in the client's rows. Values are taken
 * as they are: converted already (`arraysFromSql`, or the client's own).
 */
export function objectsFromArrays(values: ArrayLike<Value>[], columns: string[]): Record<string, Value>[] {
  const rows = new Array<Record<string, Value>>(values.length);
  const assignable = distinctNames(columns);
  for (let r = 0; r < values.length; r++) {
    const from = values[r]!;
    const row: Record<string, Value> = {};
    if (assignable) {
      for (let i = 0; i < columns.length; i++) row[columns[i]!] = from[i]!;
    } else {
      for (let i = 0; i < columns.length; i++) if (!Object.hasOwn(row, columns[i]!)) setColumn(row, columns[i]!, from[i]!);
    }
    rows[r] = row;
  }
  return rows;
}

/** A named property as the client defines one: also for `__proto__`, which an assignment would take as the prototype. */
function setColumn(row: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(row, name, { value, enumerable: true, configurable: true, writable: true });
}

/** Whether `distinctNames` holds for a column array, remembered per array (a statement keeps its own). */
const distinctness = new WeakMap<string[], boolean>();

/** Whether assigning every column name builds an object row: no name repeats, and none is `__proto__`. */
function distinctNames(columns: string[]): boolean {
  let distinct = distinctness.get(columns);
  if (distinct === undefined) {
    distinct = !columns.includes('__proto__') && new Set(columns).size === columns.length;
    distinctness.set(columns, distinct);
  }
  return distinct;
}

const MIN_SAFE = -9007199254740991n;
const MAX_SAFE = 9007199254740991n;

/**
 * Builds the client's row: indexed and named, non-enumerable `length`. The
 * reference construction, kept for column sets `rowsFromSql` cannot build
 * faster (see `plainNames`).
 */
export function rowFromSql(sqlRow: unknown[], columns: string[], intMode: IntMode): Row {
  const row = {};
  Object.defineProperty(row, 'length', { value: sqlRow.length });
  for (let i = 0; i < sqlRow.length; ++i) {
    const value = valueFromSql(sqlRow[i], intMode);
    Object.defineProperty(row, i, { value });
    const column = columns[i]!;
    if (!Object.hasOwn(row, column)) {
      Object.defineProperty(row, column, { value, enumerable: true, configurable: true, writable: true });
    }
  }
  return row as Row;
}

/**
 * The client's rows for a whole result. A named property the client defines
 * as enumerable, writable and configurable is exactly what an assignment
 * creates, and an assignment costs a fraction of a `defineProperty` (a point
 * read's row in about half the time): only `length` and the indexes, which are
 * neither enumerable nor writable, need `defineProperty`. Column sets where an
 * assignment would differ go the reference way.
 */
export function rowsFromSql(raw: unknown[][], columns: string[], intMode: IntMode): Row[] {
  const rows = new Array<Row>(raw.length);
  if (raw.length === 0) return rows;
  if (!plainNames(columns)) {
    for (let r = 0; r < raw.length; r++) rows[r] = rowFromSql(raw[r]!, columns, intMode);
    return rows;
  }
  for (let r = 0; r < raw.length; r++) {
    const sqlRow = raw[r]!;
    const row: Record<string | number, unknown> = {};
    // First, as in the client: own string keys keep their creation order.
    Object.defineProperty(row, 'length', { value: sqlRow.length });
    for (let i = 0; i < sqlRow.length; ++i) {
      const value = valueFromSql(sqlRow[i], intMode);
      Object.defineProperty(row, i, { value });
      row[columns[i]!] = value;
    }
    rows[r] = row as unknown as Row;
  }
  return rows;
}

/** Whether `plainNames` holds for a column array, remembered per array (a statement keeps its own). */
const plainness = new WeakMap<string[], boolean>();

/**
 * Whether assigning every column name builds the client's row: no name
 * repeats (the client keeps the first), none is `length` or an array index
 * (the client's own properties), and none is `__proto__` (an assignment would
 * set the prototype where the client defines a property).
 */
function plainNames(columns: string[]): boolean {
  let plain = plainness.get(columns);
  if (plain === undefined) {
    const seen = new Set<string>();
    plain = columns.every((name) => {
      if (seen.has(name) || name === 'length' || name === '__proto__' || /^(0|[1-9]\d*)$/.test(name)) return false;
      seen.add(name);
      return true;
    });
    plainness.set(columns, plain);
  }
  return plain;
}

function valueFromSql(value: unknown, intMode: IntMode): unknown {
  if (typeof value === 'bigint') {
    if (intMode === 'number') {
      if (value < MIN_SAFE || value > MAX_SAFE) {
        throw new RangeError('Received integer which cannot be safely represented as a JavaScript number');
      }
      return Number(value);
    }
    return intMode === 'bigint' ? value : '' + value;
  }
  if (value instanceof Buffer) return value.buffer;
  return value;
}

/** SQLite's base result codes, by number. */
const BASE_CODES: Record<number, string> = {
  1: 'SQLITE_ERROR', 2: 'SQLITE_INTERNAL', 3: 'SQLITE_PERM', 4: 'SQLITE_ABORT', 5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED', 7: 'SQLITE_NOMEM', 8: 'SQLITE_READONLY', 9: 'SQLITE_INTERRUPT', 10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT', 12: 'SQLITE_NOTFOUND', 13: 'SQLITE_FULL', 14: 'SQLITE_CANTOPEN',
  15: 'SQLITE_PROTOCOL', 16: 'SQLITE_EMPTY', 17: 'SQLITE_SCHEMA', 18: 'SQLITE_TOOBIG',
  19: 'SQLITE_CONSTRAINT', 20: 'SQLITE_MISMATCH', 21: 'SQLITE_MISUSE', 22: 'SQLITE_NOLFS',
  23: 'SQLITE_AUTH', 24: 'SQLITE_FORMAT', 25: 'SQLITE_RANGE', 26: 'SQLITE_NOTADB', 27: 'SQLITE_NOTICE',
  28: 'SQLITE_WARNING',
};

interface SqliteErrorLike extends Error {
  code: string;
  rawCode?: number;
}

/** `libsql`'s `SqliteError` becomes the client's `LibsqlError`; anything else passes through. */
export function mapSqliteError(error: unknown, SqliteError: new (...args: never[]) => Error): unknown {
  if (!(error instanceof SqliteError)) return error;
  const e = error as SqliteErrorLike;
  const base =
    e.rawCode === undefined ? 'SQLITE_UNKNOWN' : BASE_CODES[e.rawCode & 0xff] ?? `SQLITE_UNKNOWN_${e.rawCode & 0xff}`;
  return new LibsqlError(e.message, base, e.code, e.rawCode, e);
}
