import type { IntMode } from '@libsql/client';
import { LibsqlError } from '@libsql/core/api';
import { isBusy, retryWhileBusy } from './busy-wait';
import type { Driver, DriverConnection } from './driver';
import { Database, libsqlModule, type LibsqlDatabase } from './libsql-module';
import { NativeConnection } from './native-connection';
import { mapSqliteError } from './result';
import { schemaEpochOf, type SchemaEpoch } from './schema-epochs';
import { readAllDocumented, readerFor, type ReadPath } from './native-read';

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

function isReadonly(error: unknown): boolean {
  return error instanceof LibsqlError && error.code === 'SQLITE_READONLY';
}

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
  /**
   * Bumped by DDL or ROLLBACK on any connection, so every cached statement re-prepares once.
   * @internal
   */
  readonly epoch: SchemaEpoch;

  constructor(options: NativeDriverOptions) {
    this.#options = options;
    this.intMode = options.intMode;
    this.busyTimeoutMs = options.busyTimeoutMs;
    // An in-memory database exists only on the connection that opened it.
    this.maxConnections = options.memory ? 1 : Number.POSITIVE_INFINITY;
    // An in-memory database is private to its driver, and so is its epoch.
    this.epoch = options.memory ? { value: 0 } : schemaEpochOf(options.path);
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
