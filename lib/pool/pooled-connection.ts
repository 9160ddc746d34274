import type { InArgs, InStatement, ResultSet, TransactionMode } from '@libsql/client';
import { LibsqlBatchError, LibsqlError } from '@libsql/core/api';
import { transactionModeToBegin } from '@libsql/core/util';
import { PoolError, describeValue } from '../errors';
import type { ConnectionId } from '../events';
import type { DriverBatchStep, DriverConnection, DriverStatement } from '../drivers/driver';
import { withRowMode } from '../drivers/result';
import { ROW_MODES, type ResultIn, type RowMode } from '../drivers/row-mode';
import type { PreparedStatementCache } from '../statement-cache';
import type { ConnectionResource } from './resources';
import { queryChannel } from '../diagnostics';
import { scriptChange, sessionChange, type SessionTracker } from '../session-change';
import { mayOpenTransaction } from './opens-transaction';

/** A statement for `batch`: as for `@libsql/client`, `{ sql, args }`, a string, or `[sql, args]`. */
export type BatchStatement = InStatement | [string, InArgs?];

export type { ResultIn, RowMode };

/** A statement for `execute` that chooses its own rows, whatever the pool's `rowMode`. */
export interface RowModeStatement {
  sql: string;
  args?: InArgs;
  rowMode: RowMode;
}

/** What `execute` takes: a statement as for `@libsql/client`, or one with its own `rowMode`. */
export type ExecuteStatement = InStatement | RowModeStatement;

/**
 * The result of `execute(stmt)` on a pool or lease whose `rowMode` is `M`:
 * the statement's own `rowMode` wins.
 */
export type ResultFor<S, M extends RowMode> = S extends { rowMode: infer R extends RowMode } ? ResultIn<R> : ResultIn<M>;

/**
 * How a lease ended, as the pool learns it; `changed`: it changed session
 * state that the pool restores at checkin. @internal
 */
export type LeaseEnd = { destroy: false; changed?: true; noTransaction?: true } | { destroy: true; error: unknown };

const RELEASED: LeaseEnd = Object.freeze({ destroy: false });
/**
 * A lease that ran nothing that could open a transaction (see
 * `mayOpenTransaction`): the connection is lent outside one, so it is still
 * outside one, and checkin need not ask the driver. @internal
 */
export const RELEASED_NO_TRANSACTION: LeaseEnd = Object.freeze({ destroy: false, noTransaction: true });
/** A lease that changed the session, or one that can no longer say (collected unreleased). @internal */
export const SESSION_CHANGED: LeaseEnd = Object.freeze({ destroy: false, changed: true });

/**
 * What lent a lease: told when it ends, and asked for the connection's
 * resources. A slot of the pool; a lease with none (a setup or checkin hook's)
 * ends with nobody to tell. @internal
 */
export interface LeaseHolder {
  /** `lease` ended as `how`; one that is no longer the lease out is ignored. */
  leaseEnded(lease: PooledConnection<RowMode>, how: LeaseEnd): void;
  resource<T>(kind: ConnectionResource<T>): T;
}

/** Lets the pool end a lease it had to close under its holder. @internal */
export const revokeLease = Symbol('revokeLease');

/** Lets the pool reach the driver connection of a live lease. @internal */
export const leaseConnection = Symbol('leaseConnection');

/**
 * A connection lent to one caller. Return it with `release()` (or `await
 * using`); after that every call throws `PoolError` `LEASE_RELEASED`, so a
 * handle kept by mistake can never reach a connection that another caller holds.
 */
export class PooledConnection<M extends RowMode = 'client'> {
  /** The physical connection's id, unique in the process. */
  readonly connectionId: ConnectionId;
  #connection: DriverConnection | null;
  readonly #cache: PreparedStatementCache<DriverStatement> | false;
  readonly #holder: LeaseHolder | undefined;
  readonly #sessions: SessionTracker | undefined;
  /** The pool's `rowMode`: that of every call that does not choose its own. */
  readonly #rowMode: RowMode;
  /** Set by `#prepare` when the statement it just prepared changes the session; `#run` consumes it. */
  #changing = false;
  /** Whether this lease changed the session (see SESSION_CHANGED). */
  #changed = false;
  /** Whether something that could open a transaction ran through this lease (see RELEASED_NO_TRANSACTION). */
  #mayOpenTransaction = false;
  #revoked = false;

  /** @internal Leases come from `pool.acquire()`. */
  constructor(
    connectionId: ConnectionId,
    connection: DriverConnection,
    cache: PreparedStatementCache<DriverStatement> | false,
    sessions?: SessionTracker,
    rowMode: RowMode = 'client',
    holder?: LeaseHolder,
  ) {
    this.connectionId = connectionId;
    this.#connection = connection;
    this.#cache = cache;
    this.#sessions = sessions;
    this.#rowMode = rowMode;
    this.#holder = holder;
  }

  /** Whether the lease has been released, destroyed or revoked by `pool.close()`. */
  get released(): boolean {
    return this.#connection === null;
  }

  /**
   * Runs one statement, as `client.execute` does, on a statement prepared
   * once per connection. Its rows are as the pool's `rowMode` says, unless
   * it is given as `{ sql, args, rowMode }`.
   */
  execute<S extends ExecuteStatement>(stmtOrSql: S, args?: InArgs): Promise<ResultFor<S, M>> {
    return this.#execute(stmtOrSql, args) as Promise<ResultFor<S, M>>;
  }

  #execute(stmtOrSql: ExecuteStatement, args: InArgs | undefined): Promise<ResultSet> {
    const connection = this.#connection;
    if (connection === null) return Promise.reject(this.#releasedError());
    try {
      // The common call, SQL text and arguments with nobody tracing: no statement object is built.
      if (typeof stmtOrSql === 'string' && !queryChannel.hasSubscribers) {
        if (!this.#mayOpenTransaction) this.#mayOpenTransaction = mayOpenTransaction(stmtOrSql);
        return this.#run(connection, stmtOrSql, args, this.#rowMode);
      }
      const { sql, args: bound, rowMode } = statementOf(stmtOrSql, args, this.#rowMode);
      if (!this.#mayOpenTransaction) this.#mayOpenTransaction = mayOpenTransaction(sql);
      // Traced only while someone subscribes: the common path allocates nothing for it.
      if (queryChannel.hasSubscribers) {
        const context = { sql, connectionId: this.connectionId };
        return queryChannel.tracePromise(this.#run, context, this, connection, sql, bound, rowMode);
      }
      return this.#run(connection, sql, bound, rowMode);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Prepares `sql` once per connection (through the cache) and runs it. */
  #run(connection: DriverConnection, sql: string, bound: InArgs | undefined, rowMode: RowMode): Promise<ResultSet> {
    const cache = this.#cache;
    if (cache !== false) {
      // A statement that changes the session is never left cached (see `#runChange`), so a hit never is one.
      const cached = cache.lookup(this.connectionId, sql);
      if (cached !== undefined) return connection.execute(cached, bound, rowMode);
    }
    return this.#runNew(connection, sql, bound, rowMode);
  }

  /**
   * Prepares and runs a statement the cache does not hold, offering it to the
   * cache. One the cache refuses (its first sighting) runs once and is
   * released, as `@libsql/client` does with every statement.
   */
  #runNew(connection: DriverConnection, sql: string, bound: InArgs | undefined, rowMode: RowMode): Promise<ResultSet> {
    const cache = this.#cache;
    // Only a prepare the cache may keep is timed: one run once is not worth two clock reads.
    const timed = cache !== false && cache.mayKeep(this.connectionId, sql);
    const started = timed ? performance.now() : 0;
    const statement = this.#prepare(connection, sql);
    const kept = cache !== false && cache.offer(this.connectionId, sql, statement, timed ? (performance.now() - started) * 1000 : undefined);
    const changing = this.#changing;
    this.#changing = false;
    if (kept && !changing) return connection.execute(statement, bound, rowMode);
    if (!kept) statement.once = true;
    const running = connection.execute(statement, bound, rowMode);
    // Released once it ran. One that changes the session is not left cached
    // either: a hit would go unseen, so the next lease to run this text (which
    // may change the setting back and forth) must prepare it again. Removing
    // it from the cache releases it, through eviction.
    const release = kept ? () => cache.delete(this.connectionId, sql) : statement.dispose?.bind(statement);
    if (release !== undefined) running.then(release, release);
    return running;
  }

  /**
   * Prepares `sql`, telling the pool first if it changes the session. Only
   * here, when a statement is new to the connection: a cache hit pays nothing
   * for sessions. First, because SQLite applies many PRAGMAs as it prepares them.
   */
  #prepare(connection: DriverConnection, sql: string): DriverStatement {
    const change = this.#sessions === undefined ? undefined : sessionChange(sql);
    if (change !== undefined) {
      this.#changed = true;
      this.#sessions!.beforeChange(connection, change);
    }
    const statement = connection.prepare(sql);
    this.#changing = change !== undefined;
    return statement;
  }

  /**
   * Runs statements in order, as `client.batch` does: inside `BEGIN <mode>` …
   * `COMMIT`, rolled back if one fails (a `LibsqlBatchError` names which). On a
   * connection already inside a transaction they simply join it. Rows are as
   * the pool's `rowMode` says.
   */
  async batch(stmts: BatchStatement[], mode: TransactionMode = 'deferred'): Promise<Array<ResultIn<M>>> {
    return (await this.#batch(stmts, mode)) as Array<ResultIn<M>>;
  }

  async #batch(stmts: BatchStatement[], mode: TransactionMode): Promise<ResultSet[]> {
    const connection = this.#live();
    // The driver may run a batch whole, without `#execute`: assume it could.
    this.#mayOpenTransaction = true;
    if (!Array.isArray(stmts)) {
      throw new PoolError('INVALID_ARGUMENT', `Expected an array of statements, got ${describeValue(stmts)}`);
    }
    const own = !connection.inTransaction();
    if (connection.batch !== undefined) {
      try {
        return await this.#batchAtOnce(connection, connection.batch, stmts, own ? transactionModeToBegin(mode) : undefined);
      } catch (error) {
        // The driver rolls back what it opened; should that have failed too, try once more here.
        if (own && this.#connection !== null && connection.inTransaction()) {
          await connection.rollback().catch(() => undefined);
        }
        throw error;
      }
    }
    if (own) await this.execute(transactionModeToBegin(mode));
    try {
      const results = await executeEach(stmts, async (stmt, i) => {
        // Once the transaction is over (a statement ended it, an error rolled
        // it back), nothing more runs: it would run outside any transaction.
        if (!connection.inTransaction()) {
          throw new LibsqlBatchError('The transaction has been rolled back', i, 'TRANSACTION_CLOSED');
        }
        return this.#execute(stmt, undefined);
      });
      if (own) await this.execute('COMMIT');
      return results;
    } catch (error) {
      if (own && this.#connection !== null && connection.inTransaction()) {
        await connection.rollback().catch(() => undefined);
      }
      throw error;
    }
  }

  /**
   * A batch handed to the driver whole, to send as one request: each
   * statement is prepared (through the cache) first, as `execute` would, and
   * a statement that changes the session is told to the pool and left
   * uncached, as in `#runChange`. Traced statement by statement, each
   * settling with the batch.
   */
  #batchAtOnce(
    connection: DriverConnection,
    batch: NonNullable<DriverConnection['batch']>,
    stmts: readonly BatchStatement[],
    begin: string | undefined,
  ): Promise<ResultSet[]> {
    const cache = this.#cache;
    const steps: DriverBatchStep[] = [];
    const changing: DriverStatement[] = [];
    for (let i = 0; i < stmts.length; i++) {
      const stmt = stmts[i]!;
      const { sql, args } = Array.isArray(stmt) ? { sql: stmt[0], args: stmt[1] ?? [] } : statementOf(stmt, undefined, this.#rowMode);
      if (typeof sql !== 'string') {
        throw new PoolError('INVALID_ARGUMENT', `Expected a SQL string or { sql, args }, got ${describeValue(stmt)}`);
      }
      let statement: DriverStatement;
      try {
        statement =
          cache === false
            ? this.#prepare(connection, sql)
            : cache.getOrPrepare(this.connectionId, sql, () => this.#prepare(connection, sql));
      } catch (error) {
        throw toBatchError(error, i);
      }
      if (this.#changing) {
        this.#changing = false;
        changing.push(statement);
      }
      steps.push({ statement, args });
    }
    const sent = batch.call(connection, steps, begin);
    // A batch is sent whole, so its rows are converted once it has answered.
    const rowMode = this.#rowMode;
    const running = rowMode === 'client' ? sent : sent.then((results) => results.map((result) => withRowMode(result, rowMode)));
    if (cache !== false && changing.length > 0) {
      const uncache = () => {
        for (const statement of changing) cache.delete(this.connectionId, statement.sql);
      };
      running.then(uncache, uncache);
    }
    if (queryChannel.hasSubscribers) {
      steps.forEach(({ statement }, i) => {
        const traced = queryChannel.tracePromise(() => running.then((results) => results[i]!), {
          sql: statement.sql,
          connectionId: this.connectionId,
        });
        traced.catch(() => undefined);
      });
    }
    return running;
  }

  /** Runs `;`-separated SQL with no arguments, as `client.executeMultiple`. */
  async executeMultiple(sql: string): Promise<void> {
    const connection = this.#live();
    this.#mayOpenTransaction = true;
    if (typeof sql !== 'string') {
      throw new PoolError('INVALID_ARGUMENT', `Expected a SQL string, got ${describeValue(sql)}`);
    }
    const change = this.#sessions === undefined ? undefined : scriptChange(sql);
    if (change !== undefined) {
      this.#changed = true;
      this.#sessions!.beforeChange(connection, change);
    }
    if (queryChannel.hasSubscribers) {
      await queryChannel.tracePromise(connection.executeMultiple, { sql, connectionId: this.connectionId }, connection, sql);
    } else {
      await connection.executeMultiple(sql);
    }
  }

  /**
   * This connection's value of `kind` (see `pool.defineResource`), made now
   * if it has none yet. The same value for every lease of the connection, until it closes.
   */
  resource<T>(kind: ConnectionResource<T>): T {
    this.#live();
    if (this.#holder === undefined) {
      throw new PoolError('INVALID_ARGUMENT', `Connection ${this.connectionId} belongs to no pool that keeps resources`);
    }
    return this.#holder.resource(kind);
  }

  /** Whether a transaction is open on this connection. */
  inTransaction(): boolean {
    return this.#live().inTransaction();
  }

  /**
   * Gives the connection back to the pool; an open transaction is rolled back
   * first. Calling it again does nothing.
   */
  release(): void {
    if (this.#connection === null) return;
    this.#connection = null;
    this.#holder?.leaseEnded(this, this.#changed ? SESSION_CHANGED : this.#mayOpenTransaction ? RELEASED : RELEASED_NO_TRANSACTION);
  }

  /** Closes the physical connection instead of returning it (`close` reason `destroyed`). */
  destroy(error?: unknown): void {
    if (this.#connection === null) return;
    this.#connection = null;
    this.#holder?.leaseEnded(this, { destroy: true, error });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.release();
  }

  /** @internal */
  [leaseConnection](): DriverConnection {
    const connection = this.#live();
    // Whoever reaches the connection may run anything on it.
    this.#mayOpenTransaction = true;
    return connection;
  }

  /** @internal The pool closed this connection under the holder. */
  [revokeLease](): void {
    this.#connection = null;
    this.#revoked = true;
  }

  #live(): DriverConnection {
    if (this.#connection === null) throw this.#releasedError();
    return this.#connection;
  }

  #releasedError(): PoolError {
    return this.#revoked
      ? new PoolError('POOL_CLOSED', `Connection ${this.connectionId} was closed by pool.close() while leased`)
      : new PoolError('LEASE_RELEASED', `This lease of connection ${this.connectionId} was already released`);
  }
}

/**
 * Runs statements one after another through `run`, as `client.batch` reads
 * them: a `[sql, args]` tuple is `{ sql, args }`, and an SQL error becomes a
 * `LibsqlBatchError` naming the statement that failed. The loop of a lease's
 * `batch` where the driver has no batch of its own.
 */
async function executeEach(
  stmts: readonly BatchStatement[],
  run: (stmt: InStatement, index: number) => Promise<ResultSet>,
): Promise<ResultSet[]> {
  const results: ResultSet[] = [];
  for (let i = 0; i < stmts.length; i++) {
    const stmt = stmts[i]!;
    try {
      results.push(await run(Array.isArray(stmt) ? { sql: stmt[0], args: stmt[1] ?? [] } : stmt, i));
    } catch (e) {
      throw toBatchError(e, i);
    }
  }
  return results;
}

/** An SQL error of statement `index` of a batch, as the client reports it: a `LibsqlBatchError` naming it. */
function toBatchError(error: unknown, index: number): unknown {
  if (!(error instanceof LibsqlError) || error instanceof LibsqlBatchError) return error;
  return new LibsqlBatchError(error.message, index, error.code, error.extendedCode, error.rawCode, error.cause as Error | undefined);
}

/** The SQL and arguments of what `execute` was given: a string (with `args`) or `{ sql, args }`. */
function statementOf(
  stmtOrSql: ExecuteStatement,
  args: InArgs | undefined,
  rowMode: RowMode,
): { sql: string; args: InArgs | undefined; rowMode: RowMode } {
  if (typeof stmtOrSql === 'string') return { sql: stmtOrSql, args, rowMode };
  if (typeof stmtOrSql === 'object' && stmtOrSql !== null && typeof stmtOrSql.sql === 'string') {
    const own = (stmtOrSql as { rowMode?: unknown }).rowMode;
    if (own === undefined) return { sql: stmtOrSql.sql, args: stmtOrSql.args, rowMode };
    if (!(ROW_MODES as readonly unknown[]).includes(own)) {
      throw new PoolError('INVALID_ARGUMENT', `Expected \`rowMode\` to be one of ${ROW_MODES.map((m) => `'${m}'`).join(', ')}, got ${describeValue(own)}`);
    }
    return { sql: stmtOrSql.sql, args: stmtOrSql.args, rowMode: own as RowMode };
  }
  throw new PoolError('INVALID_ARGUMENT', `Expected a SQL string or { sql, args }, got ${describeValue(stmtOrSql)}`);
}
