import { createRequire } from 'node:module';
import type { InArgs, IntMode, ResultSet } from '@libsql/client';
import { LibsqlError } from '@libsql/core/api';
import { PoolError } from '../errors';
import type { Driver, DriverConnection, DriverStatement, Replicated } from './driver';
import { normaliseArgs, scanParameters, type ParameterShape } from './args';
import { ResultSetImpl, mapSqliteError, rowFromSql } from './result';
import { statementKind, type StatementKind } from './statement-kind';

// `libsql` 0.5 ships better-sqlite3's typings, which declare methods it lacks
// (bind, finalize, source) and type rows as unknown. This is what it really has.
interface LibsqlStatement {
  readonly reader: boolean;
  raw(on: boolean): LibsqlStatement;
  safeIntegers(on: boolean): LibsqlStatement;
  columns(): Array<{ name: string; type: string | null }>;
  all(args: unknown): unknown[][];
  get(args?: unknown): unknown;
  run(args: unknown): { changes: number; lastInsertRowid: number | bigint };
}
interface LibsqlDatabase {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(sql: string): LibsqlStatement;
  exec(sql: string): void;
  close(): void;
  sync(): { frames_synced: number; frame_no: number };
}
interface LibsqlModule {
  new (path: string, options: Record<string, unknown>): LibsqlDatabase;
  SqliteError: new (...args: never[]) => Error;
}
// The copy of `libsql` that `@libsql/client` loads, never a second one: two
// copies of SQLite in one process do not see each other's POSIX locks, so a
// write through one can run inside the other's transaction and corrupt the file.
const Database = createRequire(require.resolve('@libsql/client'))('libsql') as LibsqlModule;

export interface NativeDriverOptions {
  /** What `libsql` opens: a path, or `file::memory:` for an in-memory database. */
  path: string;
  memory: boolean;
  intMode: IntMode;
  /** How long a statement waits for a lock held elsewhere before SQLITE_BUSY. */
  busyTimeoutMs: number;
  wal: boolean;
  authToken?: string;
  encryptionKey?: string;
  /** The primary of an embedded replica. */
  syncUrl?: string;
  /** Background sync period in seconds. */
  syncInterval?: number;
}

/** Errors after which a connection is not trusted again. */
const FATAL_CODES = new Set(['SQLITE_IOERR', 'SQLITE_CORRUPT', 'SQLITE_NOTADB', 'SQLITE_CANTOPEN', 'SQLITE_NOMEM']);

/** Only whitespace, comments and semicolons. */
const EMPTY = /^(?:\s|;|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/)*$/;

/** Longest pause between two attempts while a lock is held elsewhere. */
const MAX_BUSY_DELAY_MS = 50;

function isBusy(error: unknown): boolean {
  return error instanceof LibsqlError && error.code === 'SQLITE_BUSY';
}

/**
 * One schema epoch per database file, shared by every pool in the process
 * that opens it: DDL through any of them makes all re-prepare. (An in-memory
 * database is private to its driver.)
 */
const epochs = new Map<string, { value: number }>();

/**
 * `file:` and `:memory:` databases through `libsql`, with one real prepared
 * statement per (connection, SQL). Every sharp edge of `libsql` 0.5 that
 * `research/libsql-facts.md` §2 records is handled here:
 * - readers always run with `raw().all()` and writers with `run()`: mixing
 *   methods on one statement returns stale rows or leaves it mid-step;
 * - arguments are normalised first (`args.ts`): some inputs abort the process,
 *   and missing positional arguments would silently reuse old bindings;
 * - `columns()` is cached per statement and the statement re-prepared after
 *   DDL through this pool, since its metadata can go stale;
 * - `close()` rolls back first and never reads `inTransaction` once closed.
 */
export class NativeDriver implements Driver {
  readonly protocol = 'file';
  readonly maxConnections: number;
  readonly intMode: IntMode;
  readonly busyTimeoutMs: number;
  onBackpressure: (() => void) | undefined;
  readonly #options: NativeDriverOptions;
  /** Bumped by DDL or ROLLBACK on any connection, so every cached statement re-prepares once. */
  readonly epoch: { value: number };

  constructor(options: NativeDriverOptions) {
    this.#options = options;
    this.intMode = options.intMode;
    this.busyTimeoutMs = options.busyTimeoutMs;
    // An in-memory database exists only on the connection that opened it.
    this.maxConnections = options.memory ? 1 : Number.POSITIVE_INFINITY;
    let epoch = options.memory ? undefined : epochs.get(options.path);
    if (epoch === undefined) {
      epoch = { value: 0 };
      if (!options.memory) epochs.set(options.path, epoch);
    }
    this.epoch = epoch;
  }

  async connect(): Promise<DriverConnection> {
    const o = this.#options;
    let db: LibsqlDatabase;
    try {
      db = new Database(o.path, {
        // Locks are waited for in `#retryWhileBusy`, off the event loop; a
        // script run by `executeMultiple` fails at once instead.
        timeout: 0,
        authToken: o.authToken,
        encryptionKey: o.encryptionKey,
        syncUrl: o.syncUrl,
        syncPeriod: o.syncInterval,
      });
    } catch (error) {
      throw mapSqliteError(error, Database.SqliteError);
    }
    try {
      // A replica's journal belongs to its sync machinery.
      if (!o.memory && o.wal && o.syncUrl === undefined) db.exec('PRAGMA journal_mode=WAL');
    } catch (error) {
      db.close();
      throw mapSqliteError(error, Database.SqliteError);
    }
    return new NativeConnection(db, this, o.syncUrl !== undefined);
  }
}

class NativeStatement implements DriverStatement {
  readonly sql: string;
  readonly reader: boolean;
  /** DDL and ROLLBACK can leave other cached statements describing a schema that is gone. */
  readonly kind: StatementKind;
  readonly empty: boolean;
  readonly shape: ParameterShape;
  stmt: LibsqlStatement;
  epoch: number;
  /** `PRAGMA schema_version` when `columns` were read; checked for `SELECT *`-like statements. */
  schemaVersion = -1;
  columns: string[] | undefined;
  columnTypes: string[] | undefined;

  constructor(sql: string, stmt: LibsqlStatement, epoch: number) {
    this.sql = sql;
    this.stmt = stmt;
    this.epoch = epoch;
    this.reader = stmt.reader;
    this.kind = this.reader ? 'other' : statementKind(sql);
    this.empty = EMPTY.test(sql);
    this.shape = scanParameters(sql);
    configure(stmt, this.reader);
  }

  readColumns(): void {
    const columns = this.stmt.columns();
    this.columns = columns.map((c) => c.name);
    this.columnTypes = columns.map((c) => c.type ?? '');
  }
}

function configure(stmt: LibsqlStatement, reader: boolean): void {
  stmt.safeIntegers(true);
  if (reader) stmt.raw(true);
}

class NativeConnection implements DriverConnection {
  readonly #db: LibsqlDatabase;
  readonly #driver: NativeDriver;
  #schemaStmt: LibsqlStatement | undefined;
  #uncommittedDdl = false;
  #pending: Promise<unknown> | undefined;
  #open = true;
  brokenBy: unknown = undefined;

  constructor(db: LibsqlDatabase, driver: NativeDriver, replica: boolean) {
    this.#db = db;
    this.#driver = driver;
    this.sync = replica ? () => this.#sync() : undefined;
  }

  prepare(sql: string): NativeStatement {
    if (typeof sql !== 'string') {
      throw new TypeError(`SQL must be a string, got ${sql === null ? 'null' : typeof sql}`);
    }
    return new NativeStatement(sql, this.#guard(() => this.#db.prepare(sql)), this.#driver.epoch.value);
  }

  async execute(statement: DriverStatement, args: InArgs | undefined): Promise<ResultSet> {
    const st = statement as NativeStatement;
    if (st.empty) {
      // SQLite's own answer is "not an error" (code 0), which says nothing.
      throw new PoolError('INVALID_ARGUMENT', 'The SQL statement is empty (only whitespace or comments)');
    }
    const bound = normaliseArgs(args, this.#driver.intMode, st.shape);
    this.#checkOpen();
    const wasInTransaction = this.#db.inTransaction;
    try {
      return this.#run(st, bound);
    } catch (error) {
      // Only a statement that left nothing behind may run again: one outside a
      // transaction (it rolled back whole), or a COMMIT (the transaction stays).
      if (isBusy(error) && (st.kind === 'commit' || (!wasInTransaction && !this.#db.inTransaction))) {
        const retry = this.#retryWhileBusy(st, bound, error);
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
   * Waits for a lock without blocking the event loop. SQLite's own busy
   * handler sleeps inside the synchronous call, so a lock held by another lease
   * of this process could never be released meanwhile: the wait would always
   * end in SQLITE_BUSY, with the whole process frozen until then.
   */
  async #retryWhileBusy(st: NativeStatement, bound: unknown, busy: unknown): Promise<ResultSet> {
    const deadline = performance.now() + this.#driver.busyTimeoutMs;
    let delay = 1;
    let last = busy;
    while (performance.now() + delay <= deadline) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, MAX_BUSY_DELAY_MS);
      this.#checkOpen();
      try {
        return this.#run(st, bound);
      } catch (error) {
        if (!isBusy(error)) throw error;
        last = error;
      }
    }
    // Waited the whole busy timeout: the database is saturated with writers.
    this.#driver.onBackpressure?.();
    throw last;
  }

  /** Runs a statement once. No closure per call: this is the hot path the statement cache exists for. */
  #run(st: NativeStatement, bound: unknown): ResultSet {
    const intMode = this.#driver.intMode;
    if (st.epoch !== this.#driver.epoch.value) this.#reprepare(st);
    let raw: unknown[][];
    try {
      if (!st.reader) {
        const info = st.stmt.run(bound);
        if (st.kind === 'ddl' || st.kind === 'rollback' || st.kind === 'rollbackTo') this.#schemaMayHaveChanged(st.kind);
        return new ResultSetImpl([], [], [], info.changes, BigInt(info.lastInsertRowid));
      }
      // Column names of `SELECT *` follow the table, which another process may
      // have altered; checking costs one more native call, so only those pay it.
      if (st.shape.star) {
        const version = this.#schemaVersion();
        if (version !== st.schemaVersion) {
          st.schemaVersion = version;
          st.columns = undefined;
        }
      }
      raw = st.stmt.all(bound);
      if (st.columns === undefined || (raw.length > 0 && raw[0]!.length !== st.columns.length)) {
        st.readColumns();
      }
    } catch (error) {
      throw this.#fail(error);
    }
    const columns = st.columns!;
    const rows = new Array(raw.length);
    for (let i = 0; i < raw.length; i++) rows[i] = rowFromSql(raw[i]!, columns, intMode);
    return new ResultSetImpl(columns.slice(), st.columnTypes!.slice(), rows, 0, undefined);
  }

  async executeMultiple(sql: string): Promise<void> {
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

  pending(): Promise<unknown> | undefined {
    return this.#pending;
  }

  async ping(): Promise<void> {
    this.#guard(() => this.#db.exec('SELECT 1'));
  }

  /** Defined only on an embedded replica (the pool checks for it). */
  readonly sync: (() => Promise<Replicated>) | undefined;

  async #sync(): Promise<Replicated> {
    try {
      const { frames_synced, frame_no } = this.#guard(() => this.#db.sync());
      return { frames_synced, frame_no };
    } finally {
      // What the primary sent may include DDL.
      this.#driver.epoch.value++;
    }
  }

  async rollback(): Promise<void> {
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

  /** Used with `get()` only: mixing methods on one libsql statement returns stale rows. */
  #schemaVersion(): number {
    this.#schemaStmt ??= this.#db.prepare('PRAGMA schema_version').raw(true);
    return (this.#schemaStmt.get() as unknown as [number])[0];
  }

  #reprepare(st: NativeStatement): void {
    st.stmt = this.#guard(() => this.#db.prepare(st.sql));
    configure(st.stmt, st.reader);
    st.epoch = this.#driver.epoch.value;
    st.columns = undefined;
    st.columnTypes = undefined;
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

  /** Maps a driver error to the client's, remembering it if the connection is done for. */
  #fail(error: unknown): unknown {
    const mapped = mapSqliteError(error, Database.SqliteError);
    if (!(mapped instanceof LibsqlError) || FATAL_CODES.has(mapped.code)) this.brokenBy = mapped;
    return mapped;
  }
}
