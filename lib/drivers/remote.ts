import * as hrana from '@libsql/hrana-client';
import type { InArgs, IntMode, ResultSet } from '@libsql/client';
import { LibsqlError } from '@libsql/core/api';
import { PoolError } from '../errors';
import type { Driver, DriverConnection, DriverStatement } from './driver';
import { isBackpressure, isConnectionError, mapHranaError, resultSetFromHrana, stmtToHrana } from './hrana';
import { scanParameters } from './args';
import { statementKind, type StatementKind } from './statement-kind';

export interface RemoteDriverOptions {
  /** The server's base URL, with a `ws:`, `wss:`, `http:` or `https:` scheme. */
  url: URL;
  protocol: 'ws' | 'http';
  authToken: string | undefined;
  intMode: IntMode;
}

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
 * A libSQL server (sqld, Turso) over Hrana. One pooled connection is one
 * long-lived stream, which is one server-side SQLite connection: session state
 * and transactions carry across calls, as on a local connection, and a round
 * trip to open and close a stream per call (what `@libsql/client` does) is
 * saved. Over WebSocket each connection has its own socket, so a socket that
 * dies takes one connection with it, not the pool.
 */
export class RemoteDriver implements Driver {
  readonly protocol: 'ws' | 'http';
  readonly maxConnections = Number.POSITIVE_INFINITY;
  readonly intMode: IntMode;
  onBackpressure: (() => void) | undefined;
  readonly #options: RemoteDriverOptions;

  constructor(options: RemoteDriverOptions) {
    this.#options = options;
    this.protocol = options.protocol;
    this.intMode = options.intMode;
  }

  async connect(): Promise<DriverConnection> {
    const { url, authToken, protocol } = this.#options;
    let client: hrana.WsClient | hrana.HttpClient;
    try {
      // Protocol 3 where the server has it, for `getAutocommit()`.
      client = protocol === 'ws' ? hrana.openWs(url, authToken, 3) : hrana.openHttp(url, authToken, undefined, undefined, 3);
    } catch (error) {
      throw mapHranaError(error);
    }
    try {
      const version = await client.getVersion();
      const connection = new RemoteConnection(client, version, this.#options, () => this.onBackpressure?.());
      // One round trip now, so a bad URL or token fails here and not on first use.
      await connection.ping();
      return connection;
    } catch (error) {
      client.close();
      throw mapHranaError(error);
    }
  }
}

/** A plain `SELECT` with a `*`: its columns follow the tables, and re-running it is harmless. */
const SELECT = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*SELECT\b/i;

class RemoteStatement implements DriverStatement {
  readonly sql: string;
  readonly kind: StatementKind;
  readonly selectsStar: boolean;
  /** The text sent: `sql`, or `sql` with a comment naming the schema version (see `#runStar`). */
  text: string;
  /** `PRAGMA schema_version` when this connection last ran it. */
  schemaVersion: unknown = undefined;
  /** The SQL stored on the server, and the stream generation it belongs to. */
  stored: hrana.Sql | undefined;
  generation = -1;
  dispose: () => void;

  constructor(sql: string, dispose: (st: RemoteStatement) => void) {
    this.sql = sql;
    this.text = sql;
    this.kind = statementKind(sql);
    this.selectsStar = SELECT.test(sql) && scanParameters(sql).star;
    this.dispose = () => dispose(this);
  }
}

class RemoteConnection implements DriverConnection {
  readonly #client: hrana.WsClient | hrana.HttpClient;
  readonly #version: number;
  readonly #options: RemoteDriverOptions;
  #stream: hrana.Stream;
  /** Bumped when an HTTP stream is replaced: SQL stored on the old one is gone. */
  #generation = 0;
  #storedCount = 0;
  #inTransaction = false;
  #lastUsed = performance.now();
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
    return this.#broken;
  }

  async ping(): Promise<void> {
    await this.#stream.query('SELECT 1');
  }

  prepare(sql: string): DriverStatement {
    if (typeof sql !== 'string') {
      throw new TypeError(`SQL must be a string, got ${sql === null ? 'null' : typeof sql}`);
    }
    return new RemoteStatement(sql, (st) => this.#release(st));
  }

  execute(statement: DriverStatement, args: InArgs | undefined): Promise<ResultSet> {
    return this.#execute(statement as RemoteStatement, args, true);
  }

  async #execute(st: RemoteStatement, args: InArgs | undefined, mayRetry: boolean): Promise<ResultSet> {
    this.#beforeRequest();
    // Built before anything is sent: a value Hrana cannot encode throws here,
    // as it does in the client, and the connection is untouched.
    const stmt = stmtToHrana(this.#sqlFor(st), args);
    try {
      const rows = st.selectsStar ? await this.#runStar(st, stmt, args) : await this.#stream.query(stmt);
      this.#afterStatement(st.kind);
      return resultSetFromHrana(rows);
    } catch (error) {
      if (mayRetry && this.#isExpiredStream(error)) {
        // The server refused the stream itself (expired or unknown baton), so
        // nothing ran: outside a transaction, a new stream loses nothing.
        this.#renewStream();
        return this.#execute(st, args, false);
      }
      throw await this.#fail(error);
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

  async executeMultiple(sql: string): Promise<void> {
    this.#beforeRequest();
    try {
      await this.#stream.sequence(sql);
    } catch (error) {
      throw await this.#fail(error);
    }
    // The script may have opened or ended a transaction.
    await this.#refreshTransactionState(true);
  }

  inTransaction(): boolean {
    return this.#inTransaction;
  }

  async rollback(): Promise<void> {
    try {
      await this.#stream.run('ROLLBACK');
    } catch (error) {
      const mapped = mapHranaError(error);
      // The server may already have rolled it back (an error inside it, or expiry).
      if (isConnectionError(error)) {
        this.#broken ??= mapped;
        throw mapped;
      }
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
  }

  /** The stored SQL for `st`, storing it now if there is room; else its text. */
  #sqlFor(st: RemoteStatement): string | hrana.Sql {
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

  #afterStatement(kind: StatementKind): void {
    if (kind === 'begin') this.#inTransaction = true;
    else if (kind === 'commit' || kind === 'rollback') this.#inTransaction = false;
  }

  async #fail(error: unknown): Promise<unknown> {
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
    // Some errors end the transaction on the server (SQLite rolls back on a few).
    if (this.#inTransaction) await this.#refreshTransactionState(false);
    return mapped;
  }

  async #refreshTransactionState(afterScript: boolean): Promise<void> {
    if (this.#version >= 3) {
      try {
        this.#inTransaction = !(await this.#stream.getAutocommit());
      } catch (error) {
        if (isConnectionError(error)) this.#broken ??= mapHranaError(error);
        this.#inTransaction = true;
      }
    } else if (afterScript) {
      // Without protocol 3 the state cannot be read: assume the worst, so the
      // pool rolls back at checkin (a no-op error if nothing is open).
      this.#inTransaction = true;
    }
  }
}
