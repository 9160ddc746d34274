import { createRequire } from 'node:module';
import type { InArgs, IntMode, ResultSet, Row } from '@libsql/client';
import { LibsqlError } from '@libsql/core/api';
import { PoolError } from '../errors';
import { isBusy, retryWhileBusy } from './busy-wait';
import type { Driver, DriverConnection, DriverStatement, Replicated } from './driver';
import { normaliseArgs } from './args';
import { NativeStatement, type LibsqlStatement } from './native-statement';
import { describeSql } from './sql-text';
import { ResultSetImpl, arraysFromSql, mapSqliteError, rowsFromSql } from './result';
import type { RowMode } from './row-mode';
import { readAllDocumented, readerFor, type LoadedModule, type ReadAll, type ReadPath } from './native-read';

// `libsql` 0.5 ships better-sqlite3's typings, which declare methods it lacks
// (bind, finalize, source) and type rows as unknown. This is what it really has.
interface LibsqlDatabase {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(sql: string): LibsqlStatement;
  exec(sql: string): void;
  close(): void;
  sync(): { frames_synced: number; frame_no: number };
}
interface LibsqlModule {
  new (path: string, options?: Record<string, unknown>): LibsqlDatabase;
  SqliteError: new (message: string, code: string, rawCode: number) => Error;
}
// The copy of `libsql` that `@libsql/client` loads, never a second one: two
// copies of SQLite in one process do not see each other's POSIX locks, so a
// write through one can run inside the other's transaction and corrupt the file.
const libsqlRequire = createRequire(require.resolve('@libsql/client'));
const Database = libsqlRequire('libsql') as LibsqlModule;
const libsqlModule = (): LoadedModule | undefined => require.cache[libsqlRequire.resolve('libsql')];

/** How connections opened now read rows (see `native-read.ts`). */
export function nativeReadPath(): ReadPath {
  return readerFor(Database, libsqlModule) === readAllDocumented ? 'documented' : 'native';
}

export interface NativeDriverOptions {
  /** What `libsql` opens: a path, or `file::memory:` for an in-memory database. */
  path: string;
  memory: boolean;
  intMode: IntMode;
  /** How long a connect or a statement waits for a lock held elsewhere before SQLITE_BUSY. */
  busyTimeoutMs: number;
  wal: boolean;
  authToken?: string;
  encryptionKey?: string;
  /** The primary of an embedded replica. */
  syncUrl?: string;
  /** Background sync period in seconds. */
  syncInterval?: number;
  /** The key of a database the primary stores encrypted, as `@libsql/client`'s `remoteEncryptionKey`. */
  remoteEncryptionKey?: string | undefined;
  /** Embedded replicas: `libsql`'s `readYourWrites`, as the client passes it. */
  readYourWrites?: boolean | undefined;
  /** Embedded replicas: `libsql`'s `offline`, as the client passes it. */
  offline?: boolean | undefined;
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

function isReadonly(error: unknown): boolean {
  return error instanceof LibsqlError && error.code === 'SQLITE_READONLY';
}

/**
 * One schema epoch per database file, shared by every pool in the process
 * that opens it: DDL through any of them makes all re-prepare. (An in-memory
 * database is private to its driver.)
 */
const epochs = new Map<string, { value: number }>();

/**
 * `file:` and `:memory:` databases through `libsql`, with one real prepared
 * statement per (connection, SQL). The sharp edges of `libsql` 0.5 are
 * handled here:
 * - readers always run with `raw().all()` (or its own native path, see
 *   `native-read.ts`) and writers with `run()`: mixing methods on one
 *   statement returns stale rows or leaves it mid-step;
 * - arguments are normalised first (`args.ts`): some inputs abort the process,
 *   and missing positional arguments would silently reuse old bindings;
 * - `columns()` is cached per statement and the statement re-prepared after
 *   DDL through this pool, since its metadata can go stale;
 * - `close()` rolls back first and never reads `inTransaction` once closed;
 * - on an embedded replica it issues no statement libsql would forward to the
 *   primary (the answer would pull a sync nobody asked for).
 */
export class NativeDriver implements Driver {
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

  async connect(signal?: AbortSignal): Promise<DriverConnection> {
    const o = this.#options;
    signal?.throwIfAborted();
    let db: LibsqlDatabase;
    try {
      db = new Database(o.path, {
        // Locks are waited for in `retryWhileBusy`, off the event loop; a
        // script run by `executeMultiple` fails at once instead.
        timeout: 0,
        authToken: o.authToken,
        encryptionKey: o.encryptionKey,
        syncUrl: o.syncUrl,
        syncPeriod: o.syncInterval,
        remoteEncryptionKey: o.remoteEncryptionKey,
        readYourWrites: o.readYourWrites,
        offline: o.offline,
      });
    } catch (error) {
      throw mapSqliteError(error, Database.SqliteError);
    }
    // A replica's journal belongs to its sync machinery.
    if (!o.memory && o.wal && o.syncUrl === undefined) {
      try {
        await this.#preferWal(db, signal);
      } catch (error) {
        db.close();
        throw error;
      }
    }
    return new NativeConnection(db, this, o.syncUrl !== undefined);
  }

  /**
   * WAL is a preference: a file this process may only read (or in a directory
   * it may not write) keeps its journal mode, and then reads work and writes
   * fail with SQLITE_READONLY, as through `@libsql/client`. Switching a
   * rollback-journal file needs a lock another process may hold: that waits
   * as a statement does.
   */
  async #preferWal(db: LibsqlDatabase, signal: AbortSignal | undefined): Promise<void> {
    const setWal = (): void => {
      try {
        db.exec('PRAGMA journal_mode=WAL');
      } catch (error) {
        throw mapSqliteError(error, Database.SqliteError);
      }
    };
    try {
      try {
        setWal();
      } catch (error) {
        if (!isBusy(error)) throw error;
        await retryWhileBusy(setWal, error, { timeoutMs: this.busyTimeoutMs, signal });
      }
    } catch (error) {
      if (!isReadonly(error)) throw error;
    }
  }
}

class NativeConnection implements DriverConnection {
  readonly #db: LibsqlDatabase;
  readonly #driver: NativeDriver;
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
  #pending: Promise<unknown> | undefined;
  #open = true;
  brokenBy: unknown = undefined;

  constructor(db: LibsqlDatabase, driver: NativeDriver, replica: boolean) {
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
    const wasInTransaction = this.#begun || this.#db.inTransaction;
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
    if (st.epoch !== this.#driver.epoch.value) this.#reprepare(st);
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
      raw = this.#readAll(st.stmt, bound);
      if (st.columns === undefined || (raw.length > 0 && raw[0]!.length !== st.columns.length)) {
        st.readColumns();
      }
    } catch (error) {
      throw this.#fail(error);
    }
    const columns = st.columns!;
    // `raw(true)` already gave arrays: in 'array' mode they are the rows, once their values are the client's.
    const rows = rowMode === 'array' ? (arraysFromSql(raw, intMode) as unknown as Row[]) : rowsFromSql(raw, columns, intMode);
    return new ResultSetImpl(columns.slice(), st.columnTypes!.slice(), rows, 0, undefined);
  }

  async executeMultiple(sql: string): Promise<void> {
    this.#begun = false;
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
    this.#begun = false;
    try {
      const { frames_synced, frame_no } = this.#guard(() => this.#db.sync());
      return { frames_synced, frame_no };
    } finally {
      // What the primary sent may include DDL.
      this.#driver.epoch.value++;
    }
  }

  async rollback(): Promise<void> {
    this.#begun = false;
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

  /** Maps a driver error to the client's, remembering it if the connection is done for. */
  #fail(error: unknown): unknown {
    // SQLite may have rolled the transaction back (SQLITE_BUSY, SQLITE_FULL, a constraint's ON CONFLICT ROLLBACK).
    this.#begun = false;
    const mapped = mapSqliteError(error, Database.SqliteError);
    if (!(mapped instanceof LibsqlError) || FATAL_CODES.has(mapped.code)) this.brokenBy = mapped;
    return mapped;
  }
}
