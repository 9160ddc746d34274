import type { InArgs, InStatement } from '@libsql/client';
import type { ConnectionId } from './events';
import type { AfterConnectHook, SessionConnection } from './session';
import { ATTACHED, TEMP_OBJECTS, sessionChange } from './session-change';

/** A cheap first look: only statements naming one of these words can change what is kept. */
const MAY_CHANGE = /attach|detach|pragma/i;

/**
 * Restored at checkin but never kept. TEMP objects: their rows belong to one
 * connection, and creating them empty elsewhere is not what the caller made.
 * `busy_timeout`: a non-zero one sleeps inside SQLite, freezing the process
 * (the pool waits for locks itself). `locking_mode`: an exclusive lock on
 * every connection would shut each out of the others.
 */
const NOT_KEPT = new Set([TEMP_OBJECTS, 'busy_timeout', 'locking_mode']);

/**
 * The session a drop-in client's caller set up on a file with single
 * statements (`ATTACH`, `DETACH`, a `PRAGMA` the pool restores), kept on every
 * connection of the pool.
 *
 * The client runs its calls one after the other on the connection it has, so
 * `execute("ATTACH …")` is seen by every later call. A pool restores a
 * connection's session at checkin, and the next call may get another
 * connection. So each such statement that succeeded is added to the setup of
 * the pool's connections (run after the caller's own `afterConnect`), and a
 * connection set up before it is closed instead of lent, to be replaced by one
 * that has it. Such statements are rare (start-up code), and replacing a few
 * connections once is cheaper than replaying them at every checkout.
 */
export class ClientSession {
  readonly #statements: Array<{ sql: string; args: InArgs | undefined }> = [];
  /** How many of the statements each connection was set up with; absent is none. */
  readonly #applied = new Map<ConnectionId, number>();

  /** The setup hook for the pool: the caller's own, then the statements kept so far. */
  afterConnect(own: AfterConnectHook | undefined): AfterConnectHook {
    return async (connection: SessionConnection) => {
      if (own !== undefined) await own(connection);
      const count = this.#statements.length;
      for (let i = 0; i < count; i++) {
        const { sql, args } = this.#statements[i]!;
        await connection.execute(sql, args);
      }
      if (count > 0) this.#applied.set(connection.connectionId, count);
    };
  }

  /** Whether a connection has every statement kept so far. */
  isCurrent(connectionId: ConnectionId): boolean {
    const count = this.#statements.length;
    return count === 0 || this.#applied.get(connectionId) === count;
  }

  /** The connection is gone: nothing more to know about it. */
  forget(connectionId: ConnectionId): void {
    this.#applied.delete(connectionId);
  }

  /**
   * Keeps `stmt`, which has just run outside a transaction, if it changes the
   * attached databases or a setting the pool restores (but see `NOT_KEPT`).
   */
  record(stmt: InStatement, args: InArgs | undefined): boolean {
    const { sql, args: bound } = typeof stmt === 'string' ? { sql: stmt, args } : stmt;
    if (!MAY_CHANGE.test(sql)) return false;
    const items = sessionChange(sql);
    if (items === undefined || !items.some((item) => item === ATTACHED || !NOT_KEPT.has(item))) return false;
    this.#statements.push({ sql, args: bound });
    return true;
  }

  /** A new pool (`reconnect()`) starts from the caller's own setup, as the client's new connection does. */
  reset(): void {
    this.#statements.length = 0;
    this.#applied.clear();
  }
}
