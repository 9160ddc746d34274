import type { InArgs, IntMode, ResultSet, Row } from '@libsql/client';
import { LibsqlError } from '@libsql/core/api';
import { PoolError } from '../errors';
import { isBusy, retryWhileBusy } from './busy-wait';
import type { DriverConnection, DriverStatement, Replicated } from './driver';
import { normaliseArgs } from './args';
import { Database, libsqlModule, type LibsqlDatabase } from './libsql-module';
import { NativeStatement, type LibsqlStatement } from './native-statement';
import { describeSql } from './sql-text';
import { ObjectRowsResult, ResultSetImpl, arraysFromSql, mapSqliteError, objectsFromArrays, rowsFromSql } from './result';
import type { RowMode } from './row-mode';
import { readerFor, type ReadAll } from './native-read';

/** What a connection reads of the driver that opened it. */
export interface ConnectionOwner {
  readonly intMode: IntMode;
  /** How long a statement waits for a lock held elsewhere before SQLITE_BUSY. */
  readonly busyTimeoutMs: number;
  /** Bumped by DDL or ROLLBACK on any connection, so every cached statement re-prepares once. */
  readonly epoch: { value: number };
  readonly onBackpressure: (() => void) | undefined;
}

/** Errors after which a connection is not trusted again. */
const FATAL_CODES = new Set(['SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CANTOPEN', 'SQLITE_NOMEM']);

/**
 * The schema cookie, checked before a `SELECT *`. On an embedded replica libsql
 * forwards any PRAGMA to the primary, and the answer pulls a sync with it: a
 * SELECT of the pragma's table-valued function stays local (and costs ~3 µs
 * more, so plain files keep the PRAGMA).
 */
const SCHEMA_VERSION = 'PRAGMA schema_version';
const SCHEMA_VERSION_LOCAL = 'SELECT schema_version FROM pragma_schema_version';

/** A native statement left half-run by SQLITE_BUSY (see `NativeConnection.#halfRun`). */
interface HalfRun {
  readonly stmt: LibsqlStatement;
  readonly sql: string;
  readonly epoch: number;
  /** The SQLITE_BUSY it failed with. */
  readonly error: unknown;
}

/** Whether a statement may write: not a reader, or a reader that may be `… RETURNING` (read loosely). */
function mayWrite(st: NativeStatement): boolean {
  return !st.reader || /returning/i.test(st.sql);
}

function halfRunRefusal(half: HalfRun): PoolError {
  return new PoolError(
    'CONNECTION_LOST',
    'This connection cannot run another statement: a write on it failed with SQLITE_BUSY, and libsql cannot reset ' +
      'that statement, so no later write here would be committed. Run the same statement again, or release the ' +
      'connection (the pool replaces it) and retry on another.',
    { cause: half.error },
  );
}

/** One `libsql` connection: see `NativeDriver` for the sharp edges handled here. */
export class NativeConnection implements DriverConnection {
  readonly #db: LibsqlDatabase;
  readonly #driver: ConnectionOwner;
  #schemaStmt: LibsqlStatement | undefined;
  readonly #replica: boolean;
  readonly #readAll: ReadAll = readerFor(Database, libsqlModule);
  #uncommittedDdl = false;
  /**
   * Set by a BEGIN of this connection's that succeeded, cleared by anything
   * that may have ended its transaction (COMMIT, ROLLBACK, any error, a
   * script, a sync): while set, a statement knows it runs inside a transaction
   * without asking libsql (a native call per statement). Never set wrongly:
   * only BEGIN opens a transaction that RELEASE cannot end.
   */
  #begun = false;
  /**
   * Known to be outside any transaction: set when libsql said so, and kept
   * while only statements that cannot open one run (`keepsAutocommit`); any
   * other statement, a script, a sync or a rollback clears it. While set, a
   * statement learns without a native call that it runs in autocommit.
   */
  #autocommit = false;
  /**
   * A statement that may write and whose last run failed with SQLITE_BUSY.
   * libsql 0.5 leaves it half-run and has no reset: until it runs again (or
   * the garbage collector finalizes it) the connection's autocommit
   * transaction stays open, so a write run after it is acknowledged but never
   * committed, and is rolled back when it is reset. Meanwhile nothing else
   * that could write runs here (see `#whileHalfRun`).
   */
  #halfRun: HalfRun | undefined;
  #pending: Promise<unknown> | undefined;
  #open = true;
  #brokenBy: unknown = undefined;

  constructor(db: LibsqlDatabase, driver: ConnectionOwner, replica: boolean) {
    this.#db = db;
    this.#driver = driver;
    this.#replica = replica;
    this.sync = replica ? () => this.#sync() : undefined;
  }

  prepare(sql: string): NativeStatement {
    if (typeof sql !== 'string') {
      throw new TypeError(`SQL must be a string, got ${sql === null ? 'null' : typeof sql}`);
    }
    const st = new NativeStatement(sql, describeSql(sql));
    this.#checkOpen();
    try {
      return st.prepared(this.#db.prepare(sql), this.#driver.epoch.value);
    } catch (error) {
      const mapped = this.#fail(error);
      // Preparing reads the schema, which takes a lock another process may
      // hold. `prepare` cannot wait (it is synchronous): the statement is
      // prepared by its first run instead, which can.
      if (isBusy(mapped)) return st;
      throw mapped;
    }
  }

  async execute(statement: DriverStatement, args: InArgs | undefined, rowMode?: RowMode): Promise<ResultSet> {
    const st = statement as NativeStatement;
    if (st.empty) {
      // SQLite's own answer is "not an error" (code 0), which says nothing.
      throw new PoolError('INVALID_ARGUMENT', 'The SQL statement is empty (only whitespace or comments)');
    }
    const bound = normaliseArgs(args, this.#driver.intMode, st.shape);
    this.#checkOpen();
    if (this.#halfRun !== undefined && this.#halfRun.stmt !== st.stmt) return this.#whileHalfRun(st, bound, rowMode);
    return this.#execute(st, bound, rowMode);
  }

  #execute(st: NativeStatement, bound: unknown, rowMode: RowMode | undefined): ResultSet | Promise<ResultSet> {
    const wasInTransaction = this.#inTransactionNow();
    try {
      return this.#run(st, bound, rowMode);
    } catch (error) {
      if (isBusy(error) && this.#mayRetry(st, wasInTransaction)) {
        const retry = retryWhileBusy(() => this.#runAgain(st, bound, rowMode), error, {
          timeoutMs: this.#driver.busyTimeoutMs,
          retryable: (e) => isBusy(e) && this.#mayRetry(st, wasInTransaction),
          // Waited the whole busy timeout: the database is saturated with writers.
          onGiveUp: () => this.#driver.onBackpressure?.(),
        });
        // Until it settles the connection must not be lent again: a caller that
        // did not await it would have its write run in the next holder's session.
        const settled = retry.then(
          () => undefined,
          () => undefined,
        );
        const before = this.#pending;
        const all = before === undefined ? settled : Promise.all([before, settled]);
        this.#pending = all;
        void all.then(() => {
          if (this.#pending === all) this.#pending = undefined;
        });
        return retry;
      }
      throw error;
    }
  }

  /**
   * A statement while another is half-run (see `#halfRun`). One issued while
   * that one waits for a lock runs after it. Then: the same text runs on the
   * half-run native statement, which resets it first; a ROLLBACK runs (it
   * loses nothing); anything else is refused, and the pool retires the
   * connection at checkin (`brokenBy`).
   */
  async #whileHalfRun(st: NativeStatement, bound: unknown, rowMode: RowMode | undefined): Promise<ResultSet> {
    const half = await this.#halfRunOtherThan(st.stmt);
    if (half !== undefined && st.kind !== 'rollback') {
      if (half.sql !== st.sql) throw halfRunRefusal(half);
      st.prepared(half.stmt, half.epoch);
    }
    this.#checkOpen();
    return this.#execute(st, bound, rowMode);
  }

  /** Whether a statement about to run is inside a transaction, asking libsql only when the connection does not know. */
  #inTransactionNow(): boolean {
    if (this.#begun) return true;
    if (this.#autocommit) return false;
    const inside = this.#db.inTransaction;
    this.#autocommit = !inside;
    return inside;
  }

  /**
   * Whether a statement that failed with SQLITE_BUSY left nothing behind, so
   * it may run again: one not (re)prepared yet (nothing of it ran), one
   * outside a transaction (it rolled back whole), or a COMMIT (the
   * transaction stays).
   */
  #mayRetry(st: NativeStatement, wasInTransaction: boolean): boolean {
    return (
      st.epoch !== this.#driver.epoch.value ||
      st.kind === 'commit' ||
      (!wasInTransaction && !this.#db.inTransaction)
    );
  }

  #runAgain(st: NativeStatement, bound: unknown, rowMode: RowMode | undefined): ResultSet {
    this.#checkOpen();
    return this.#run(st, bound, rowMode);
  }

  /** Runs a statement once. No closure per call: this is the hot path the statement cache exists for. */
  #run(st: NativeStatement, bound: unknown, rowMode: RowMode | undefined): ResultSet {
    const intMode = this.#driver.intMode;
    if (!st.keepsAutocommit) this.#autocommit = false;
    // Running the half-run statement resets it first. It is not prepared
    // again, even for a new schema (SQLite recompiles it as it runs): a fresh
    // one would leave the half-run one as it is.
    if (this.#halfRun !== undefined && this.#halfRun.stmt === st.stmt) this.#halfRun = undefined;
    else if (st.epoch !== this.#driver.epoch.value) this.#reprepare(st);
    let raw: unknown[][];
    try {
      if (!st.reader) {
        const info = st.stmt.run(bound);
        if (st.kind !== 'other' && st.kind !== 'ddl') this.#begun = st.kind === 'begin';
        if (st.kind === 'ddl' || st.kind === 'rollback' || st.kind === 'rollbackTo') this.#schemaMayHaveChanged(st.kind);
        return new ResultSetImpl([], [], [], info.changes, BigInt(info.lastInsertRowid));
      }
      // Column names of `SELECT *` follow the table, which another process may
      // have altered; checking costs one more native call, so only those pay it.
      if (st.star) {
        const version = this.#schemaVersion();
        if (version !== st.schemaVersion) {
          st.schemaVersion = version;
          st.columns = undefined;
        }
      }
      const one = st.oneRowLimit >= 0 && st.atMostOneRow(bound);
      raw = one ? this.#readOne(st, bound) : this.#readAll(st.stmt, bound);
      // From the statement that ran: SQLite recompiles one for a schema
      // changed elsewhere as it runs, and the other only when it runs.
      if (st.columns === undefined || (raw.length > 0 && raw[0]!.length !== st.columns.length)) {
        st.readColumns(one ? st.oneRow! : st.stmt);
      }
    } catch (error) {
      const mapped = this.#fail(error);
      if (isBusy(mapped) && mayWrite(st)) this.#halfRun = { stmt: st.stmt, sql: st.sql, epoch: st.epoch, error: mapped };
      throw mapped;
    }
    const columns = st.columns!;
    if (rowMode === undefined || rowMode === 'client') {
      return new ResultSetImpl(columns.slice(), st.columnTypes!.slice(), rowsFromSql(raw, columns, intMode), 0, undefined);
    }
    // `raw(true)` already gave arrays: in 'array' mode they are the rows, once their values are the client's.
    const arrays = arraysFromSql(raw, intMode);
    if (rowMode === 'array') return new ResultSetImpl(columns.slice(), st.columnTypes!.slice(), arrays as unknown as Row[], 0, undefined);
    return new ObjectRowsResult(columns.slice(), st.columnTypes!.slice(), objectsFromArrays(arrays, columns), 0, undefined);
  }

  /**
   * The rows of a run that returns one row at most, through `get()`: SQLite
   * steps once, without the cursor `all()` builds to step on (half the time
   * of a point read). The statement's LIMIT bounds the rows whatever plan
   * SQLite compiles, so a schema changed under it cannot make this drop rows.
   */
  #readOne(st: NativeStatement, bound: unknown): unknown[][] {
    const one = (st.oneRow ??= this.#db.prepare(st.sql).safeIntegers(true).raw(true));
    let row: unknown[] | undefined;
    try {
      row = one.get(bound) as unknown[] | undefined;
    } catch (error) {
      // libsql does not reset a statement whose `get()` failed: the next
      // `get()` would throw the same error again, whatever it is given.
      st.oneRow = undefined;
      throw error;
    }
    return row === undefined ? [] : [row];
  }

  async executeMultiple(sql: string): Promise<void> {
    if (this.#halfRun !== undefined) {
      const half = await this.#halfRunOtherThan();
      if (half !== undefined) throw halfRunRefusal(half);
    }
    this.#forgetTransaction();
    try {
      this.#guard(() => this.#db.exec(sql));
    } finally {
      // Whatever it ran may have changed the schema.
      this.#driver.epoch.value++;
    }
  }

  inTransaction(): boolean {
    return this.#open && this.#db.open && this.#db.inTransaction;
  }

  /**
   * The statement left half-run, once any wait for a lock on this connection
   * is over (that wait may run it again, and so reset it); `undefined` if none
   * is, or if it is `stmt` itself.
   */
  async #halfRunOtherThan(stmt?: LibsqlStatement): Promise<HalfRun | undefined> {
    while (this.#halfRun !== undefined && this.#halfRun.stmt !== stmt && this.#pending !== undefined) {
      await this.#pending;
    }
    return this.#halfRun?.stmt === stmt ? undefined : this.#halfRun;
  }

  /**
   * Set once an error showed that the connection can no longer be trusted; or,
   * while a statement is half-run, the SQLITE_BUSY that left it so.
   */
  get brokenBy(): unknown {
    return this.#brokenBy ?? this.#halfRun?.error;
  }

  pending(): Promise<unknown> | undefined {
    return this.#pending;
  }

  async ping(): Promise<void> {
    this.#guard(() => this.#db.exec('SELECT 1'));
  }

  /** Defined only on an embedded replica (the pool checks for it). */
  readonly sync: (() => Promise<Replicated>) | undefined;

  async #sync(): Promise<Replicated> {
    this.#forgetTransaction();
    try {
      const { frames_synced, frame_no } = this.#guard(() => this.#db.sync());
      return { frames_synced, frame_no };
    } finally {
      // What the primary sent may include DDL.
      this.#driver.epoch.value++;
    }
  }

  async rollback(): Promise<void> {
    this.#forgetTransaction();
    try {
      this.#guard(() => this.#db.exec('ROLLBACK'));
    } finally {
      this.#schemaMayHaveChanged('rollback');
    }
  }

  /**
   * DDL changes the schema at once; a ROLLBACK undoes the DDL of its
   * transaction. Statements re-prepared in between saw a schema that is gone,
   * so both bump the epoch, a rollback only if its transaction ran DDL (every
   * bump costs each cached statement one re-prepare).
   */
  #schemaMayHaveChanged(kind: 'ddl' | 'rollback' | 'rollbackTo'): void {
    if (kind === 'ddl') {
      this.#driver.epoch.value++;
      this.#uncommittedDdl ||= this.#db.inTransaction;
    } else if (this.#uncommittedDdl) {
      this.#driver.epoch.value++;
      // A savepoint rollback may leave earlier DDL of the transaction in place.
      if (kind === 'rollback') this.#uncommittedDdl = false;
    }
  }

  close(): void {
    if (!this.#open) return;
    this.#open = false;
    try {
      // `close()` keeps the native connection (and its locks) alive until every
      // statement object is garbage-collected, so end the transaction first.
      if (this.#db.open && this.#db.inTransaction) this.#db.exec('ROLLBACK');
    } catch {
      // the connection is going away either way
    }
    try {
      this.#db.close();
    } catch {
      // nothing useful to do while tearing down
    }
  }

  /**
   * One method per statement: mixing them returns stale rows. `get()` is the
   * cheaper, but on a replica it leaves the statement mid-step (holding a read
   * snapshot) until the next call, which then returns nothing.
   */
  #schemaVersion(): number {
    if (this.#replica) {
      this.#schemaStmt ??= this.#db.prepare(SCHEMA_VERSION_LOCAL).raw(true);
      return (this.#schemaStmt.all([]) as [[number]])[0][0];
    }
    this.#schemaStmt ??= this.#db.prepare(SCHEMA_VERSION).raw(true);
    return (this.#schemaStmt.get() as unknown as [number])[0];
  }

  /** Prepares a statement whose schema may be gone, or that could not be prepared before. */
  #reprepare(st: NativeStatement): void {
    const epoch = this.#driver.epoch.value;
    st.prepared(this.#guard(() => this.#db.prepare(st.sql)), epoch);
  }

  #guard<T>(fn: () => T): T {
    this.#checkOpen();
    try {
      return fn();
    } catch (error) {
      throw this.#fail(error);
    }
  }

  #checkOpen(): void {
    if (!this.#open) {
      throw new LibsqlError('The connection was closed while this operation was in flight', 'CLIENT_CLOSED');
    }
  }

  /** Whatever runs next may find a transaction begun or ended: libsql is asked again. */
  #forgetTransaction(): void {
    this.#begun = false;
    this.#autocommit = false;
  }

  /** Maps a driver error to the client's, remembering it if the connection is done for. */
  #fail(error: unknown): unknown {
    // SQLite may have rolled the transaction back (SQLITE_BUSY, SQLITE_FULL, a
    // constraint's ON CONFLICT ROLLBACK). A failure in autocommit leaves
    // autocommit, so `#autocommit` stays as it is.
    this.#begun = false;
    const mapped = mapSqliteError(error, Database.SqliteError);
    if (!(mapped instanceof LibsqlError) || FATAL_CODES.has(mapped.code)) this.#brokenBy = mapped;
    return mapped;
  }
}
