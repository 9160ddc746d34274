import type { Client, InArgs, InStatement, Replicated, ResultSet, Transaction, TransactionMode } from '@libsql/client';
import { LibsqlBatchError, LibsqlError } from '@libsql/core/api';
import { isInMemoryConfig } from '@libsql/core/config';
import { transactionModeToBegin } from '@libsql/core/util';
import { expandClientConfig } from './client-config';
import { ClientSession } from './client-session';
import { CLIENT_SEMANTICS, type PoolConfig } from './config';
import { isBusy } from './drivers/busy-wait';
import { isPoolError } from './errors';
import { AdaptiveConnectionPool } from './pool/pool';
import { createPool } from './pool/create-pool';
import type { BatchStatement, PooledConnection } from './pool/pooled-connection';

/**
 * Opens a pool (its first connection too, so a bad URL or token fails here)
 * and returns it behind `@libsql/client`'s `Client` interface, for code and
 * ORMs written against the client (`drizzle(client)`, Kysely's libSQL dialect).
 *
 * A config that `createClient` refuses throws here synchronously, with the
 * client's error, as `createClient` throws; anything found while opening the
 * pool (`PoolError` `INVALID_CONFIG`, `CONNECT_FAILED`) rejects the promise.
 */
export function createPooledClient(config: PoolConfig): Promise<PooledClient> {
  // The client's own reading first, before any promise exists: code written
  // for `createClient` catches its `LibsqlError` (`URL_INVALID`, …) or
  // `TypeError` around the call, not in a rejection handler.
  const expanded = expandClientConfig(config, true);
  // A copy, marked to be read as the client reads it (`libsql:` over HTTP, its
  // busy timeout); `reconnect()` opens the new pool with the same copy.
  const asClient: PoolConfig = Object.assign({ ...config }, { [CLIENT_SEMANTICS]: true });
  // Only a file shared by several connections: a server refuses `ATTACH`, and
  // the client's remote calls each start a fresh session anyway.
  let session: ClientSession | undefined;
  if (expanded.scheme === 'file' && !isInMemoryConfig(expanded) && expanded.syncUrl === undefined) {
    session = new ClientSession();
    asClient.afterConnect = session.afterConnect(config.afterConnect);
  }
  return createPool(asClient).then((pool) => new PooledClient(pool, asClient, session));
}

/**
 * `@libsql/client`'s `Client` over an `AdaptiveConnectionPool`: each call
 * borrows a connection (with its cached statements) and gives it back, and a
 * `transaction()` holds one connection from `BEGIN` until it settles. Results
 * and SQL errors are the client's; pool conditions other than a closed pool
 * (`ACQUIRE_TIMEOUT`, `POOL_EXHAUSTED`, …) surface as `PoolError`.
 */
export class PooledClient implements Client {
  #pool: AdaptiveConnectionPool;
  readonly #config: PoolConfig;
  #closed = false;
  /** Where the next multi-statement call on a file waits for its turn (see `#serialUse`). */
  #serialTail: Promise<unknown> = Promise.resolve();
  /** The multi-statement call on a file running now, once it holds its connection. */
  #serialRunning: Promise<unknown> | undefined;
  /** What callers attached or set with single statements, on a file (see `ClientSession`). */
  readonly #session: ClientSession | undefined;

  /**
   * Wraps an open pool. `config` is what `reconnect()` opens a new pool
   * with; `createPooledClient` passes the pool's own.
   */
  constructor(pool: AdaptiveConnectionPool, config: PoolConfig, session?: ClientSession) {
    this.#pool = pool;
    this.#config = config;
    this.#session = session;
    if (session !== undefined) pool.on('close', ({ connectionId }) => session.forget(connectionId));
  }

  /** The pool underneath: its events, `stats()`, `acquire()`, and `close()`, whose promise `close()` starts. */
  get pool(): AdaptiveConnectionPool {
    return this.#pool;
  }

  /** Whether `close()` was called (or the pool was closed underneath). */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * `"file"`, `"ws"` or `"http"`, as the client's `protocol`: the transport
   * actually used. A `libsql:` URL is `"http"`, as in the client on Node.
   */
  get protocol(): string {
    return this.#pool.config.protocol;
  }

  /** Runs one statement on a pooled connection, as `client.execute`. */
  execute(stmt: InStatement): Promise<ResultSet>;
  execute(sql: string, args?: InArgs): Promise<ResultSet>;
  async execute(stmtOrSql: InStatement, args?: InArgs): Promise<ResultSet> {
    const session = this.#session;
    if (session === undefined) return this.#afterSerial(() => this.#use((lease) => lease.execute(stmtOrSql, args)));
    return this.#afterSerial(() =>
      this.#use(async (lease) => {
        const result = await lease.execute(stmtOrSql, args);
        // Its checkin would undo the change: it is closed, and replaced by a
        // connection set up with it.
        if (session.record(stmtOrSql, args)) lease.destroy();
        return result;
      }),
    );
  }

  /** Runs statements in one transaction (`"deferred"` by default), all or nothing, as `client.batch`. */
  async batch(stmts: Array<InStatement | [string, InArgs?]>, mode: TransactionMode = 'deferred'): Promise<ResultSet[]> {
    // A read batch under WAL takes no lock a writer waits for: it may run beside the others.
    if (mode === 'read' && this.#pool.config.wal) return this.#use((lease) => lease.batch(stmts as BatchStatement[], mode));
    return this.#serialUse((lease) => lease.batch(stmts as BatchStatement[], mode));
  }

  /**
   * Runs statements as `client.migrate`: with foreign keys off, in one
   * deferred transaction on one connection. The connection's previous
   * `foreign_keys` setting is restored afterwards (the client always turns it
   * on), so later borrowers of that connection see what they saw before.
   */
  async migrate(stmts: InStatement[]): Promise<ResultSet[]> {
    return this.#serialUse(async (lease) => {
      const before = (await lease.execute('PRAGMA foreign_keys')).rows[0]?.[0];
      await lease.execute('PRAGMA foreign_keys=off');
      try {
        return await lease.batch(stmts, 'deferred');
      } finally {
        try {
          await lease.execute(`PRAGMA foreign_keys=${Number(before) === 0 ? 'off' : 'on'}`);
        } catch (error) {
          // A connection left with foreign keys off must not be lent again.
          lease.destroy(error);
        }
      }
    });
  }

  /**
   * Starts an interactive transaction (`"write"` by default, as the client)
   * on one connection, which it holds until `commit()`, `rollback()` or
   * `close()`. Always settle it, in a `finally` or with `await using`.
   */
  async transaction(mode: TransactionMode = 'write'): Promise<PooledTransaction> {
    const begin = transactionModeToBegin(mode);
    const lease = await this.#acquire();
    try {
      await this.#afterSerial(() => lease.execute(begin));
    } catch (error) {
      lease.release();
      throw clientError(error);
    }
    return new PooledTransaction(lease, this.protocol !== 'file');
  }

  /** Runs `;`-separated SQL on one connection, as `client.executeMultiple`. */
  async executeMultiple(sql: string): Promise<void> {
    return this.#serialUse((lease) => lease.executeMultiple(sql));
  }

  /**
   * Pulls changes into an embedded replica (`syncUrl`), as `client.sync` (see
   * `pool.sync()`). On a server it throws `SYNC_NOT_SUPPORTED` at once, open
   * or closed, as the client's remote modes do: synchronously, so code that
   * calls it without `await` inside a `try` goes on catching it.
   */
  sync(): Promise<Replicated> {
    const { protocol } = this;
    if (protocol !== 'file') throw new LibsqlError(`sync not supported in ${protocol} mode`, 'SYNC_NOT_SUPPORTED');
    return this.#syncReplica();
  }

  async #syncReplica(): Promise<Replicated> {
    this.#checkOpen();
    try {
      return await this.#pool.sync();
    } catch (error) {
      throw this.#mapClosed(error);
    }
  }

  /**
   * After `close()`, opens a new pool with the same config; the listeners of
   * the old pool are added to the new one, so events and metrics carry on.
   * On an open client it does nothing: the pool replaces broken connections
   * by itself.
   */
  reconnect(): void {
    if (!this.#closed) return;
    const old = this.#pool;
    const pool = new AdaptiveConnectionPool(this.#config);
    for (const event of old.eventNames()) {
      for (const listener of old.listeners(event)) pool.on(event, listener as never);
    }
    this.#pool = pool;
    this.#closed = false;
    this.#session?.reset();
  }

  /**
   * Closes the pool, as `client.close`: `closed` is true at once and later
   * calls fail with `LibsqlError` `CLIENT_CLOSED`. Calls in flight finish
   * (up to `closeTimeoutMs`); `await client.pool.close()` waits for the end.
   */
  close(): void {
    this.#closed = true;
    this.#pool.close().catch(() => undefined);
  }

  /** `await using client = await createPooledClient(…)` closes it and waits. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.#pool.close();
  }

  async #use<T>(fn: (lease: PooledConnection) => Promise<T>): Promise<T> {
    const lease = await this.#acquire();
    try {
      return await fn(lease);
    } catch (error) {
      throw this.#mapClosed(error);
    } finally {
      lease.release();
    }
  }

  /**
   * Runs a call that takes the write lock across several statements (a batch,
   * `migrate`, `executeMultiple`) after the previous one has ended, on a file.
   * The client runs each of its calls start to end without yielding, so two
   * of them never hold SQLite's lock at once, and with its busy timeout of 0
   * they would fail with SQLITE_BUSY if they did. Pooled calls interleave on
   * several connections; these take turns instead. The turn is taken before
   * the connection, so no call waits for a turn while holding a connection the
   * running one might need.
   */
  #serialUse<T>(fn: (lease: PooledConnection) => Promise<T>): Promise<T> {
    if (this.protocol !== 'file') return this.#use(fn);
    const turn = this.#serialTail.then(() =>
      this.#use((lease) => {
        const running = fn(lease);
        this.#serialRunning = running;
        const done = (): void => {
          if (this.#serialRunning === running) this.#serialRunning = undefined;
        };
        running.then(done, done);
        return running;
      }),
    );
    this.#serialTail = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Runs a single statement again after SQLITE_BUSY, as long as a call of
   * `#serialUse` held the lock when it failed: in the client that call would
   * have ended before this one started. A busy statement changed nothing, so
   * it may run again. The running call waits for nothing this one holds, so
   * the wait always ends. A lock held elsewhere (another process, an open
   * transaction) still fails at once, as in the client.
   */
  async #afterSerial<T>(attempt: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await attempt();
      } catch (error) {
        const running = this.#serialRunning;
        if (running === undefined || !isBusy(error)) throw error;
        await running.catch(() => undefined);
      }
    }
  }

  async #acquire(): Promise<PooledConnection> {
    this.#checkOpen();
    try {
      let lease = await this.#pool.acquire();
      const session = this.#session;
      // A connection set up before the caller's last `ATTACH` or setting is replaced, not lent.
      while (session !== undefined && !session.isCurrent(lease.connectionId)) {
        lease.destroy();
        lease = await this.#pool.acquire();
      }
      return lease;
    } catch (error) {
      throw this.#mapClosed(error);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new LibsqlError('The client is closed', 'CLIENT_CLOSED');
  }

  /** A pool closed underneath (`client.pool.close()`) reads as a closed client. */
  #mapClosed(error: unknown): unknown {
    if (!isPoolError(error, 'POOL_CLOSED')) return error;
    this.#closed = true;
    return clientError(error);
  }
}

/**
 * `@libsql/client`'s `Transaction` on one pooled connection, held from
 * `BEGIN` until `commit()`, `rollback()` or `close()`, each of which gives
 * the connection back (idempotently). Once settled, or once the transaction
 * has ended on its own (a `ROLLBACK` statement, an error that rolled it
 * back), calls fail with `LibsqlError` `TRANSACTION_CLOSED` and the connection
 * is given back.
 */
export class PooledTransaction implements Transaction {
  #lease: PooledConnection | null;
  /** On a server, a settled transaction says so in the words of the client's remote modes. */
  readonly #remote: boolean;

  /** @internal Transactions come from `client.transaction()`. */
  constructor(lease: PooledConnection, remote = false) {
    this.#lease = lease;
    this.#remote = remote;
  }

  /** Whether the transaction is over: settled, ended by a statement, or its connection closed. */
  get closed(): boolean {
    const lease = this.#lease;
    return lease === null || lease.released || !lease.inTransaction();
  }

  /** Runs one statement inside the transaction. */
  execute(stmt: InStatement): Promise<ResultSet>;
  execute(sql: string, args?: InArgs): Promise<ResultSet>;
  async execute(stmtOrSql: InStatement, args?: InArgs): Promise<ResultSet> {
    const running = this.#live().execute(stmtOrSql, args);
    return running.catch(this.#remote ? rethrowAsBatchOfOne : rethrowClientError);
  }

  /**
   * Runs statements in order inside the transaction. A failure stops the
   * batch with a `LibsqlBatchError` naming the statement, but does not roll
   * back, as the client's.
   */
  async batch(stmts: Array<InStatement | [string, InArgs?]>): Promise<ResultSet[]> {
    // The lease's batch joins the open transaction, and stops once it ends.
    return this.#live().batch(stmts as BatchStatement[]).catch(rethrowClientError);
  }

  /** Runs `;`-separated SQL inside the transaction. */
  async executeMultiple(sql: string): Promise<void> {
    return this.#live().executeMultiple(sql).catch(rethrowClientError);
  }

  /** Rolls back and gives the connection back. Does nothing once settled. */
  async rollback(): Promise<void> {
    const lease = this.#lease;
    if (lease === null) return;
    try {
      if (!lease.released && lease.inTransaction()) await lease.execute('ROLLBACK');
    } catch (error) {
      throw clientError(error);
    } finally {
      this.#settle();
    }
  }

  /** Commits and gives the connection back, whether the commit succeeded or not. */
  async commit(): Promise<void> {
    try {
      await this.#live('commit').execute('COMMIT');
    } catch (error) {
      throw clientError(error);
    } finally {
      this.#settle();
    }
  }

  /** Gives the connection back; the pool rolls back what was not committed. Idempotent. */
  close(): void {
    this.#settle();
  }

  /** `await using tx = await client.transaction()` closes it on scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }

  #settle(): void {
    const lease = this.#lease;
    if (lease === null) return;
    this.#lease = null;
    lease.release();
  }

  #live(use: 'execute' | 'commit' = 'execute'): PooledConnection {
    if (this.closed) {
      this.#settle();
      throw new LibsqlError(closedMessage(this.#remote, use), 'TRANSACTION_CLOSED');
    }
    return this.#lease!;
  }
}

/** The client's words for a settled transaction: one text locally, two over Hrana. */
function closedMessage(remote: boolean, use: 'execute' | 'commit'): string {
  if (!remote) return 'The transaction is closed';
  return use === 'commit'
    ? 'Cannot commit the transaction because it is already closed'
    : 'Cannot execute statements because the transaction is closed';
}

/** The pool closed under a lease or a waiter: the client's `CLIENT_CLOSED`. */
function clientError(error: unknown): unknown {
  if (!isPoolError(error, 'POOL_CLOSED')) return error;
  return new LibsqlError('The client is closed', 'CLIENT_CLOSED', undefined, undefined, error);
}

function rethrowClientError(error: unknown): never {
  throw clientError(error);
}

/**
 * The client's remote transactions run `execute` as a batch of one statement,
 * so a SQL error arrives as a `LibsqlBatchError` at index 0, its message
 * prefixed with the code once more; callers matching on either see the same.
 */
function rethrowAsBatchOfOne(error: unknown): never {
  if (!(error instanceof LibsqlError) || error instanceof LibsqlBatchError) throw clientError(error);
  const cause = error.cause instanceof Error ? error.cause : undefined;
  throw new LibsqlBatchError(error.message, 0, error.code, error.extendedCode, error.rawCode, cause);
}
