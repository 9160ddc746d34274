import type { InArgs, ResultSet } from '@libsql/client';
import type { RowMode } from './row-mode';

/**
 * A prepared statement owned by one `DriverConnection`. It must only ever be
 * run on that connection; the pool guarantees this by keying its cache on the
 * connection id.
 */
export interface DriverStatement {
  readonly sql: string;
  /**
   * Set by the pool before the only run of a statement it will not keep (a
   * text's first sighting, or no cache at all): the driver need keep nothing
   * for it past that run, so a remote one sends the text instead of storing it
   * on the server, which would cost a second request to release.
   */
  once?: boolean;
  /** Releases what the statement holds (e.g. server-side stored SQL). */
  dispose?(): void;
}

/** One statement of a `DriverConnection.batch`: prepared by that connection, with its arguments. */
export interface DriverBatchStep {
  readonly statement: DriverStatement;
  readonly args: InArgs | undefined;
}

/** One physical connection. Calls are never concurrent: one lease at a time. */
export interface DriverConnection {
  /** Prepares `sql` for repeated use on this connection. Throws `LibsqlError` on bad SQL. */
  prepare(sql: string): DriverStatement;
  /**
   * Runs a statement prepared by this connection; the result matches
   * `@libsql/client`'s. With `rowMode` `'array'` its rows must be plain arrays
   * of the values the client's rows would hold (the pool's callers were
   * promised them): a driver that cannot build them directly converts its rows
   * with `Array.from`.
   */
  execute(statement: DriverStatement, args: InArgs | undefined, rowMode?: RowMode): Promise<ResultSet>;
  /** Runs several `;`-separated statements without arguments or results. */
  executeMultiple(sql: string): Promise<void>;
  /**
   * Runs statements in order, sent together rather than one round trip each,
   * as `client.batch` sends them. With `begin` (`BEGIN DEFERRED`, …) they run
   * in a transaction of their own, committed if all succeed and rolled back
   * if one fails; without it, inside the transaction already open, which a
   * failure does not end. Either way, once the transaction has ended no
   * further statement runs. A statement that fails, or that did not run
   * because the transaction had ended, rejects with `LibsqlBatchError` naming
   * it; a failed `BEGIN` or `COMMIT` rejects with its `LibsqlError`. Drivers
   * whose calls are cheap (a local file) leave it out, and the lease runs the
   * statements one by one.
   */
  batch?(steps: readonly DriverBatchStep[], begin: string | undefined): Promise<ResultSet[]>;
  /** Whether a transaction is open (after a `BEGIN`, until `COMMIT`/`ROLLBACK`). */
  inTransaction(): boolean;
  /** Rolls back an open transaction. Throws if the connection cannot. */
  rollback(): Promise<void>;
  /**
   * Set once an error showed that the connection can no longer be trusted
   * (closed handle, I/O error, corruption); the pool retires it at checkin.
   */
  readonly brokenBy: unknown;
  /** Releases the physical connection. Idempotent, never throws. */
  close(): void;
  /** Pulls changes from the primary, for an embedded replica; absent where there is none. */
  sync?(): Promise<Replicated>;
  /** A cheap round trip proving the connection works (validation after a long idle time). */
  ping?(): Promise<void>;
  /**
   * Work still running on the connection after its caller moved on (a statement
   * waiting for a lock, not awaited), or `undefined`. The pool lends the
   * connection again only once it settles.
   */
  pending?(): Promise<unknown> | undefined;
  /**
   * Set by the pool when it sets connections up (`afterConnect`): the driver
   * calls it when it had to replace the server session under the connection
   * (an expired HTTP stream starts from the server's defaults), before the next
   * statement runs there, so the setup runs again. If it rejects, the
   * statement fails with its error and the connection is not lent again.
   */
  onNewSession?: () => Promise<void>;
}

/** What `sync()` did, as `@libsql/client` reports it. */
export interface Replicated {
  frames_synced: number;
  frame_no: number;
}

/** Opens connections for one database. One driver per pool. */
export interface Driver {
  /**
   * The most connections that make sense for this database, if it has a hard
   * limit: an in-memory database exists only on the connection that opened it.
   */
  readonly maxConnections: number;
  /**
   * Opens a connection. When `signal` aborts (the connect timed out, or the
   * pool is closing) the driver should close what it half opened and reject
   * with `signal.reason`; a driver whose connect cannot be interrupted may
   * ignore it.
   */
  connect(signal?: AbortSignal): Promise<DriverConnection>;
  /**
   * Set by the first adaptive pool given the driver: the driver calls it when
   * the database pushes back (SQLITE_BUSY after waiting, "too many
   * requests"), and every adaptive pool that shares the driver shrinks.
   */
  onBackpressure?: () => void;
}
