import type { DriverStatement } from './driver';
import type { ParameterShape, SqlDescription, StatementKind } from './sql-text';

/** A `libsql` 0.5 statement as it really is (its bundled typings are better-sqlite3's). */
export interface LibsqlStatement {
  readonly reader: boolean;
  raw(on: boolean): LibsqlStatement;
  safeIntegers(on: boolean): LibsqlStatement;
  columns(): Array<{ name: string; type: string | null }>;
  all(args: unknown): unknown[][];
  get(args?: unknown): unknown;
  run(args: unknown): { changes: number; lastInsertRowid: number | bigint };
}

/** The epoch of a statement not prepared yet: it matches none, so the first run prepares it. */
const UNPREPARED = -1;

/** One `libsql` statement and what the driver knows about it. */
export class NativeStatement implements DriverStatement {
  readonly sql: string;
  readonly empty: boolean;
  readonly shape: ParameterShape;
  /** Result columns may follow a table's definition (see `SqlDescription.star`). */
  readonly star: boolean;
  /** Running it cannot open a transaction: its text leads with SELECT, INSERT, PRAGMA, … (`effect` 'keeps'). */
  readonly keepsAutocommit: boolean;
  /** `SqlDescription.oneRowLimit`: whether (and by which argument) a run returns one row at most. */
  readonly oneRowLimit: number;
  /** Declared, so the pool setting it (see `DriverStatement.once`) keeps the object's shape. */
  once = false;
  readonly #kind: StatementKind;
  // Set by `prepared()`. A statement that could not be prepared yet (a lock
  // held elsewhere) keeps UNPREPARED, and its first run prepares it.
  stmt!: LibsqlStatement;
  /**
   * The same text prepared again for runs that return one row at most (see
   * `oneRowLimit`), read with `get()`. Its own statement, because libsql's
   * `get()` on a statement that `all()` has run returns that run's row.
   */
  oneRow: LibsqlStatement | undefined = undefined;
  reader = false;
  /** DDL and ROLLBACK can leave other cached statements describing a schema that is gone. */
  kind: StatementKind = 'other';
  /** The driver's epoch when `stmt` was prepared; another means prepare again first. */
  epoch = UNPREPARED;
  /** The schema cookie when `columns` were read; checked for `SELECT *`-like statements. */
  schemaVersion = -1;
  columns: string[] | undefined;
  columnTypes: string[] | undefined;

  constructor(sql: string, description: SqlDescription) {
    this.sql = sql;
    this.empty = description.empty;
    this.shape = description.params;
    this.star = description.star;
    this.keepsAutocommit = description.effect === 'keeps';
    this.oneRowLimit = description.oneRowLimit;
    this.#kind = description.kind;
  }

  /** Takes `stmt`, (re)prepared at `epoch`, as this statement's native one. */
  prepared(stmt: LibsqlStatement, epoch: number): this {
    this.stmt = stmt;
    this.oneRow = undefined;
    this.epoch = epoch;
    this.reader = stmt.reader;
    this.kind = this.reader ? 'other' : this.#kind;
    this.columns = undefined;
    this.columnTypes = undefined;
    stmt.safeIntegers(true);
    if (this.reader) stmt.raw(true);
    return this;
  }

  /**
   * Whether a run with `bound` returns one row at most: its LIMIT is 0 or 1,
   * or a `?` bound to 0 or 1 (a number or a bigint, as `normaliseArgs` leaves it).
   */
  atMostOneRow(bound: unknown): boolean {
    const index = this.oneRowLimit;
    if (index <= 0) return index === 0;
    if (!Array.isArray(bound)) return false;
    const limit: unknown = bound[index - 1];
    return limit === 1 || limit === 0 || limit === 1n || limit === 0n;
  }

  /** Reads the result columns of `from`, this text's native statement that ran last. */
  readColumns(from: LibsqlStatement): void {
    const columns = from.columns();
    this.columns = columns.map((c) => c.name);
    this.columnTypes = columns.map((c) => c.type ?? '');
  }
}
