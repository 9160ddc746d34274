import * as hrana from '@libsql/hrana-client';
import type { InArgs, ResultSet } from '@libsql/client';
import { LibsqlError } from '@libsql/core/api';
import { PoolError } from '../errors';
import type { DriverBatchStep, DriverConnection, DriverStatement } from './driver';
import { isBackpressure, isConnectionError, mapHranaError, resultSetFromHrana, stmtToHrana } from './hrana';
import { InFlight } from './in-flight';
import { runBatch, type BatchHost } from './remote-batch';
import { RemoteStatement } from './remote-statement';
import type { RowMode } from './row-mode';
import type { RemoteDriverOptions } from './remote-options';
import { describeSql } from './sql-text';


/**
 * Most SQL texts one connection keeps stored on the server. sqld allows 150
 * per WebSocket (the 151st closes the socket, killing every stream on it) and
 * 50 per HTTP stream; these stay well under, as `@libsql/client` does.
 */
const STORED_SQL_LIMIT = { ws: 100, http: 30 } as const;
/** sqld refuses to store texts of 5 kB or more. */
const MAX_STORED_SQL_LENGTH = 5000;
/**
 * sqld drops an HTTP stream idle for 10 s. A stream idle for this long is
 * replaced before use, outside a transaction, so the expiry is never seen.
 */
const HTTP_STREAM_RENEW_AFTER_MS = 8_000;

/**
 * One pooled connection to a server: one long-lived Hrana stream, which is one
 * server-side SQLite connection. It stores SQL on the server, renews an HTTP
 * stream before sqld expires it, and learns the transaction state from the
 * server, so a lease never hands on an open transaction.
 */
export class RemoteConnection implements DriverConnection {
  readonly #client: hrana.WsClient | hrana.HttpClient;
  readonly #version: number;
  readonly #options: RemoteDriverOptions;
  #stream: hrana.Stream;
  /** Bumped when an HTTP stream is replaced: SQL stored on the old one is gone. */
  #generation = 0;
  #storedCount = 0;
  /**
   * Whether a transaction is open: what the last statement certainly did
   * (BEGIN succeeded), else the server's answer (`#askInTransaction`).
   */
  #inTransaction = false;
  /** Why the server could not say whether a transaction is open: the connection is not lent again. */
  #stateUnknown: unknown;
  readonly #inFlight = new InFlight();
  #lastUsed = performance.now();
  /** The stream was replaced since the session was last set up (see `onNewSession`). */
  #renewed = false;
  onNewSession: (() => Promise<void>) | undefined;
  #broken: unknown;
  #closed = false;

  readonly #backpressure: () => void;

  constructor(
    client: hrana.WsClient | hrana.HttpClient,
    version: number,
    options: RemoteDriverOptions,
    backpressure: () => void,
  ) {
    this.#backpressure = backpressure;
    this.#client = client;
    this.#version = version;
    this.#options = options;
    this.#stream = this.#openStream();
  }

  get brokenBy(): unknown {
    if (this.#broken === undefined && this.#client.closed && !this.#closed) {
      this.#broken = new LibsqlError('The connection to the server was closed', 'HRANA_CLOSED_ERROR');
    }
    return this.#broken ?? this.#stateUnknown;
  }

  async ping(): Promise<void> {
    await this.#inFlight.track(this.#stream.query('SELECT 1'));
  }

  pending(): Promise<unknown> | undefined {
    return this.#inFlight.settled();
  }

  prepare(sql: string): DriverStatement {
    if (typeof sql !== 'string') {
      throw new TypeError(`SQL must be a string, got ${sql === null ? 'null' : typeof sql}`);
    }
    return new RemoteStatement(sql, describeSql(sql), (st) => this.#release(st));
  }

  execute(statement: DriverStatement, args: InArgs | undefined, rowMode?: RowMode): Promise<ResultSet> {
    return this.#inFlight.track(this.#execute(statement as RemoteStatement, args, rowMode, true));
  }

  async #execute(
    st: RemoteStatement,
    args: InArgs | undefined,
    rowMode: RowMode | undefined,
    mayRetry: boolean,
  ): Promise<ResultSet> {
    this.#beforeRequest();
    if (this.#renewed) await this.#setUpAgain();
    // Built before anything is sent: a value Hrana cannot encode throws here,
    // as it does in the client, and the connection is untouched.
    const stmt = stmtToHrana(this.#sqlFor(st), args);
    let asked: Promise<unknown> | undefined;
    try {
      const running = st.selectsStar ? this.#runStar(st, stmt, args) : this.#stream.query(stmt);
      if (st.effect === 'unknown') asked = this.#askInTransaction();
      const rows = await running;
      if (st.effect === 'opens') this.#inTransaction = true;
      else if (st.effect === 'ends') this.#inTransaction = false;
      this.#learnt(await asked);
      return resultSetFromHrana(rows, rowMode);
    } catch (error) {
      const unanswered = await asked;
      if (mayRetry && this.#isExpiredStream(error)) {
        // The server refused the stream itself (expired or unknown baton), so
        // nothing ran: outside a transaction, a new stream loses nothing.
        this.#renewStream();
        return this.#execute(st, args, rowMode, false);
      }
      this.#learnt(unanswered);
      // A statement that fails may end a transaction (SQLite rolls back on a
      // few errors), and is not trusted to have left one unopened.
      throw await this.#fail(error, asked !== undefined || (!this.#inTransaction && st.effect !== 'opens'));
    }
  }

  /**
   * sqld keeps a prepared statement per connection and SQL text, and after a
   * schema change made on another connection it goes on answering with the old
   * columns (seen with sqld 0.24: a `SELECT *` kept the old names, and after
   * ADD COLUMN the old set of columns). `@libsql/client` never sees this, since
   * it opens a new server connection per call; a pooled connection lives on.
   * So a `SELECT *` runs in one round trip with `PRAGMA schema_version`, and
   * when the schema changed since this connection last ran it, it runs again
   * under a new text, which the server prepares afresh.
   */
  async #runStar(st: RemoteStatement, stmt: hrana.Stmt, args: InArgs | undefined): Promise<hrana.RowsResult> {
    // Without a cursor: sqld 0.24 answers cursor batches over protocol 3 with
    // entries hrana-client 0.10 does not recognise.
    const batch = this.#stream.batch(false);
    const versionStep = batch.step().queryValue('PRAGMA schema_version');
    const rowsStep = batch.step().query(stmt);
    await batch.execute();
    const version = (await versionStep)?.value;
    const rows = (await rowsStep)!;
    const seen = st.schemaVersion;
    st.schemaVersion = version;
    if (seen === undefined || seen === version) return rows;
    this.#release(st);
    st.text = `${st.sql}\n-- libsql-pool: schema ${String(version)}`;
    return this.#stream.query(stmtToHrana(this.#sqlFor(st), args));
  }

  #isExpiredStream(error: unknown): boolean {
    return (
      this.#options.protocol === 'http' &&
      error instanceof hrana.HttpServerError &&
      error.status >= 400 &&
      error.status < 500 &&
      !this.#inTransaction
    );
  }

  batch(steps: readonly DriverBatchStep[], begin: string | undefined): Promise<ResultSet[]> {
    return this.#inFlight.track(runBatch(this.#batchHost, steps, begin));
  }

  /** What `runBatch` (remote-batch.ts) needs of this connection. */
  readonly #batchHost: BatchHost = {
    start: () => (this.#beforeRequest(), this.#renewed ? this.#setUpAgain() : Promise.resolve()),
    stream: () => this.#stream,
    version: () => this.#version,
    sql: (st) => (st.disposed ? st.text : this.#sqlFor(st)),
    ask: () => this.#askInTransaction(),
    learnt: (unanswered) => this.#learnt(unanswered),
    known: (open) => void (this.#inTransaction = open),
    fail: (error, settled) => this.#fail(error, settled),
    expired: (error) => this.#isExpiredStream(error),
    renew: () => this.#renewStream(),
    release: (st) => this.#release(st),
  };

  executeMultiple(sql: string): Promise<void> {
    return this.#inFlight.track(this.#executeMultiple(sql));
  }

  async #executeMultiple(sql: string): Promise<void> {
    this.#beforeRequest();
    if (this.#renewed) await this.#setUpAgain();
    let asked: Promise<unknown> | undefined;
    try {
      const running = this.#stream.sequence(sql);
      // A script may open or end a transaction, and may stop halfway: ask either way.
      asked = this.#askInTransaction();
      await running;
    } catch (error) {
      this.#learnt(await asked);
      throw await this.#fail(error, true);
    } finally {
      // An older server cannot say (and the pool will not lend the connection
      // again): for the rest of this lease, assume the worst.
      if (this.#version < 3) this.#inTransaction = true;
    }
    this.#learnt(await asked);
  }

  inTransaction(): boolean {
    return this.#inTransaction;
  }

  rollback(): Promise<void> {
    return this.#inFlight.track(this.#rollback());
  }

  async #rollback(): Promise<void> {
    try {
      await this.#stream.run('ROLLBACK');
    } catch (error) {
      const mapped = mapHranaError(error);
      if (isConnectionError(error)) {
        this.#broken ??= mapped;
        throw mapped;
      }
      // Most likely none was open any more (an error inside it rolled it
      // back), but that is the server's to say.
      this.#learnt(await this.#askInTransaction());
      if (this.#inTransaction) throw mapped;
      return;
    }
    this.#inTransaction = false;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#stream.close();
    } catch {
      // the stream may already be gone with its socket
    }
    this.#client.close();
  }

  #openStream(): hrana.Stream {
    const stream = this.#client.openStream();
    stream.intMode = this.#options.intMode;
    return stream;
  }

  #beforeRequest(): void {
    if (this.#closed || this.#broken !== undefined) {
      throw new PoolError('CONNECTION_LOST', 'This connection to the server was lost; the pool will replace it', {
        cause: this.#broken,
      });
    }
    const now = performance.now();
    const idleMs = now - this.#lastUsed;
    this.#lastUsed = now;
    if (this.#options.protocol === 'http' && idleMs >= HTTP_STREAM_RENEW_AFTER_MS && !this.#inTransaction) {
      this.#renewStream();
    }
  }

  /** A fresh HTTP stream; statements re-store their SQL on it as they are next used. */
  #renewStream(): void {
    try {
      this.#stream.close();
    } catch {
      // already closed by the server
    }
    this.#stream = this.#openStream();
    this.#generation++;
    this.#storedCount = 0;
    this.#renewed = this.onNewSession !== undefined;
  }

  /**
   * The new stream is a new server connection, with the server's defaults:
   * what the pool's setup set there must be set again before anything runs.
   */
  async #setUpAgain(): Promise<void> {
    this.#renewed = false;
    try {
      await this.onNewSession!();
    } catch (error) {
      this.#broken ??= error;
      throw error;
    }
  }

  /** The stored SQL for `st`, storing it now if there is room; else its text. */
  #sqlFor(st: RemoteStatement): string | hrana.Sql {
    if (st.once) return st.text;
    if (st.stored !== undefined && st.generation === this.#generation) return st.stored;
    st.stored = undefined;
    if (st.text.length >= MAX_STORED_SQL_LENGTH || this.#storedCount >= STORED_SQL_LIMIT[this.#options.protocol]) {
      return st.text;
    }
    // Stored SQL lives on the socket over WebSocket, on the stream over HTTP.
    const owner = this.#options.protocol === 'ws' ? (this.#client as hrana.WsClient) : (this.#stream as hrana.HttpStream);
    const stored = owner.storeSql(st.text);
    st.stored = stored;
    st.generation = this.#generation;
    this.#storedCount++;
    return stored;
  }

  /** Evicted from the pool's cache: free its slot on the server. */
  #release(st: RemoteStatement): void {
    const stored = st.stored;
    st.stored = undefined;
    if (stored === undefined || st.generation !== this.#generation) return;
    this.#storedCount--;
    if (this.#closed || this.#client.closed) return;
    try {
      stored.close();
    } catch {
      // the owner is closing; the server frees it with the connection
    }
  }

  /**
   * Asks the server whether a transaction is open, and records the answer.
   * Asked in the same tick as the request it is about, where there is one, so
   * the question travels with it (one HTTP request, one WebSocket flush) and
   * the answer comes right after its result: no round trip of its own. Never
   * rejects: resolves with the error when the server did not answer.
   */
  #askInTransaction(): Promise<unknown> {
    if (this.#version < 3) {
      return Promise.resolve(
        new PoolError('CONNECTION_LOST', `The server speaks Hrana ${this.#version}, which cannot say whether a transaction is open`),
      );
    }
    let answer: Promise<boolean>;
    try {
      answer = this.#stream.getAutocommit();
    } catch (error) {
      return Promise.resolve(error);
    }
    return answer.then(
      (autocommit) => {
        this.#inTransaction = !autocommit;
        return undefined;
      },
      (error: unknown) => error,
    );
  }

  /** After `#askInTransaction()`: `error` if the server did not answer, which leaves the state unknown. */
  #learnt(error: unknown): void {
    if (error === undefined) return;
    const cause = mapHranaError(error);
    if (isConnectionError(error)) this.#broken ??= cause;
    this.#stateUnknown ??= new PoolError(
      'CONNECTION_LOST',
      'Could not learn from the server whether a transaction is open; the connection is closed rather than lent again',
      { cause },
    );
  }

  /** `settled`: whether the transaction state after this failure is known, or the server must be asked. */
  async #fail(error: unknown, settled: boolean): Promise<unknown> {
    const mapped = mapHranaError(error);
    if (isBackpressure(error)) this.#backpressure();
    if (isConnectionError(error)) {
      this.#broken ??= mapped;
      if (this.#inTransaction) {
        return new PoolError(
          'CONNECTION_LOST',
          'The connection to the server was lost inside a transaction, which the server has rolled back',
          { cause: mapped },
        );
      }
      // A LibsqlError (HRANA_WEBSOCKET_ERROR, SERVER_ERROR…) is what the client
      // would throw; anything else (fetch's TypeError) gets a type of its own.
      if (!(mapped instanceof LibsqlError)) {
        return new PoolError('CONNECTION_LOST', `The connection to the server was lost: ${String(mapped)}`, {
          cause: mapped,
        });
      }
      return mapped;
    }
    if (!settled) this.#learnt(await this.#askInTransaction());
    return mapped;
  }
}
