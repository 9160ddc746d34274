import type { InArgs, ResultSet } from '@libsql/client';
import {
  DelegatingDriver,
  LibsqlError,
  createDriver,
  readUrl,
  type DriverConnection,
  type DriverStatement,
  type PoolConfig,
} from '../../lib';

/**
 * What the next `execute()` on any connection of a `FakeDriver` does instead
 * of (or before) reaching the real database:
 * - `error`: rejects with a `LibsqlError` (`SQLITE_ERROR`); the connection stays healthy;
 * - `die`: the connection dies mid-query: `execute` rejects with `SQLITE_IOERR`,
 *   `brokenBy` is set, and every later call on it fails the same way;
 * - `stall`: the query hangs until `resumeStalled()` lets it run or kills it.
 */
export type QueryFault = 'error' | 'die' | 'stall';

/** Where a stalled query goes when released. */
export type StallOutcome = 'ok' | 'die';

interface FakeStatement extends DriverStatement {
  readonly inner: DriverStatement;
}

/** Every physical close and connect, in order, for drop-order assertions. */
export type DriverLogEntry = { op: 'connect' | 'close'; serial: number };

/**
 * The one fault-injecting `Driver` of the tests: a `DelegatingDriver` over the
 * real driver for the URL (the native one on a file database), with faults in
 * front of it that a test switches on. Everything else reaches the database.
 *
 * - connects: `connectDelayMs`, `holdConnects`/`releaseConnects()`,
 *   `failNextConnects` (with `connectError`);
 * - queries: `nextQueryFault` (`error`, `die`, `stall`, then `resumeStalled()`),
 *   or `FakeConnection.die()` on one connection;
 * - rollbacks: `rollbackDelayMs`, `holdRollbacks`/`releaseRollbacks()`, `failNextRollbacks`;
 * - pings (validation after idle): `failNextPings`.
 *
 * A count of `Infinity` keeps a fault on until the test sets it back to 0.
 * It holds no randomness of its own: a test (a fast-check command, usually)
 * switches each fault on just before the call it should hit, so a failing
 * sequence shrinks and replays exactly. Delays use `setTimeout`, so jest's
 * fake timers drive them; gates (`holdConnects`, stalled queries, held
 * rollbacks) are opened by the test. What happened is recorded: connect
 * attempts and failures, the connections opened, pings, disposed statements,
 * and the order of physical connects and closes.
 */
export class FakeDriver extends DelegatingDriver {

  // ---- faults ------------------------------------------------------------
  /** Milliseconds each connect takes (a `setTimeout`; fake timers drive it). */
  connectDelayMs = 0;
  /** While set, connects wait for `releaseConnects()`. */
  holdConnects = false;
  /** How many of the next connects fail (after their delay) with `connectError`. */
  failNextConnects = 0;
  /** What a failing connect throws: the same object every time, so a test can find it as a `cause`. */
  connectError: Error = new LibsqlError('SQLITE_CANTOPEN: unable to open database file (injected)', 'SQLITE_CANTOPEN');
  /** Consumed by the next `execute()` on any connection of this driver. */
  nextQueryFault: QueryFault | undefined;
  /** Milliseconds each `rollback()` takes; a checkin inside a transaction waits for it. */
  rollbackDelayMs = 0;
  /** While set, rollbacks wait for `releaseRollbacks()`. */
  holdRollbacks = false;
  /** How many of the next rollbacks fail. */
  failNextRollbacks = 0;
  /** How many of the next pings (validation after idle) fail; the connection dies with them. */
  failNextPings = 0;

  // ---- observations ------------------------------------------------------
  /** Connects attempted, including failed ones. */
  connectAttempts = 0;
  /** Connects that failed (injected). */
  connectFailures = 0;
  /** Pings attempted, including failed ones. */
  pings = 0;
  /** Connections opened, in order. */
  readonly connections: FakeConnection[] = [];
  readonly log: DriverLogEntry[] = [];
  /** SQL of every statement whose `dispose()` the pool called. */
  readonly disposed: string[] = [];
  #heldConnects: Array<() => void> = [];
  #heldRollbacks: Array<() => void> = [];
  readonly #stalled = new Set<StalledQuery>();

  /** `config` is read as the pool reads it (`url`, `busyTimeoutMs`…); the pool itself may use another. */
  constructor(config: PoolConfig) {
    super(createDriver(readUrl(config.url, config), config));
  }

  /** Connects waiting on `holdConnects`. */
  get heldConnects(): number {
    return this.#heldConnects.length;
  }

  /** Queries waiting in a `stall` fault, oldest first. */
  get stalled(): number {
    return this.#stalled.size;
  }

  /** Lets every held connect go on, and stops holding new ones. */
  releaseConnects(): void {
    this.holdConnects = false;
    for (const go of this.#heldConnects.splice(0)) go();
  }

  /** Lets every held rollback go on, and stops holding new ones. */
  releaseRollbacks(): void {
    this.holdRollbacks = false;
    for (const go of this.#heldRollbacks.splice(0)) go();
  }

  /** Ends the oldest stalled query: runs it for real (`ok`) or kills its connection (`die`). */
  resumeStalled(outcome: StallOutcome = 'ok'): boolean {
    const first = this.#stalled.values().next();
    if (first.done === true) return false;
    this.#stalled.delete(first.value);
    first.value.resume(outcome);
    return true;
  }

  override async connect(): Promise<DriverConnection> {
    this.connectAttempts++;
    if (this.connectDelayMs > 0) await delay(this.connectDelayMs);
    if (this.holdConnects) await new Promise<void>((resolve) => this.#heldConnects.push(resolve));
    if (this.failNextConnects > 0) {
      this.failNextConnects--;
      this.connectFailures++;
      throw this.connectError;
    }
    const connection = new FakeConnection(this, await this.inner.connect(), this.connections.length + 1);
    this.connections.push(connection);
    this.log.push({ op: 'connect', serial: connection.serial });
    return connection;
  }

  /** @internal */
  takeFault(): QueryFault | undefined {
    const fault = this.nextQueryFault;
    this.nextQueryFault = undefined;
    return fault;
  }

  /** @internal */
  stall(query: StalledQuery): void {
    this.#stalled.add(query);
  }

  /** @internal */
  async gateRollback(): Promise<void> {
    if (this.rollbackDelayMs > 0) await delay(this.rollbackDelayMs);
    if (this.holdRollbacks) await new Promise<void>((resolve) => this.#heldRollbacks.push(resolve));
    if (this.failNextRollbacks > 0) {
      this.failNextRollbacks--;
      throw new LibsqlError('SQLITE_IOERR: rollback failed (injected)', 'SQLITE_IOERR');
    }
  }
}

interface StalledQuery {
  resume(outcome: StallOutcome): void;
}

/** One real native connection with the driver's faults in front of it. */
export class FakeConnection implements DriverConnection {
  readonly serial: number;
  readonly #driver: FakeDriver;
  readonly #inner: DriverConnection;
  #brokenBy: unknown = undefined;
  readonly #inFlight = new Set<Promise<ResultSet>>();
  /** How many times the pool called `close()`; exactly once is right. */
  closeCalls = 0;
  executes = 0;

  constructor(driver: FakeDriver, inner: DriverConnection, serial: number) {
    this.#driver = driver;
    this.#inner = inner;
    this.serial = serial;
  }

  get brokenBy(): unknown {
    return this.#brokenBy ?? this.#inner.brokenBy;
  }

  /** Whether the pool closed it. */
  get closed(): boolean {
    return this.closeCalls > 0;
  }

  /** Kills the connection as a lost socket or an I/O error would: every later call fails. */
  die(): LibsqlError {
    const error = new LibsqlError(
      `SQLITE_IOERR: disk I/O error: connection ${this.serial} died mid-query (injected)`,
      'SQLITE_IOERR',
    );
    this.#brokenBy ??= error;
    return error;
  }

  prepare(sql: string): FakeStatement {
    this.#checkAlive();
    const driver = this.#driver;
    return { sql, inner: this.#inner.prepare(sql), dispose: () => driver.disposed.push(sql) };
  }

  execute(statement: DriverStatement, args: InArgs | undefined): Promise<ResultSet> {
    const running = this.#execute(statement, args);
    // Tracked so that `pending()` reports a query still running (a stalled one, say).
    this.#inFlight.add(running);
    const done = () => this.#inFlight.delete(running);
    running.then(done, done);
    return running;
  }

  /** Work still running here, as the real connection reports it, plus stalled queries. */
  pending(): Promise<unknown> | undefined {
    const inner = this.#inner.pending?.();
    if (this.#inFlight.size === 0) return inner;
    return Promise.allSettled([...this.#inFlight, inner]);
  }

  async ping(): Promise<void> {
    this.#driver.pings++;
    this.#checkAlive();
    if (this.#driver.failNextPings > 0) {
      this.#driver.failNextPings--;
      throw this.die();
    }
    await this.#inner.ping?.();
  }

  async #execute(statement: DriverStatement, args: InArgs | undefined): Promise<ResultSet> {
    this.executes++;
    this.#checkAlive();
    switch (this.#driver.takeFault()) {
      case 'error':
        throw new LibsqlError('SQLITE_ERROR: query failed (injected)', 'SQLITE_ERROR');
      case 'die':
        throw this.die();
      case 'stall': {
        const outcome = await new Promise<StallOutcome>((resume) => this.#driver.stall({ resume }));
        if (outcome === 'die') throw this.die();
        this.#checkAlive();
        break;
      }
      default:
    }
    return this.#inner.execute((statement as FakeStatement).inner, args);
  }

  async executeMultiple(sql: string): Promise<void> {
    this.#checkAlive();
    return this.#inner.executeMultiple(sql);
  }

  inTransaction(): boolean {
    return this.#inner.inTransaction();
  }

  async rollback(): Promise<void> {
    this.#checkAlive();
    await this.#driver.gateRollback();
    return this.#inner.rollback();
  }

  close(): void {
    this.closeCalls++;
    if (this.closeCalls === 1) this.#driver.log.push({ op: 'close', serial: this.serial });
    this.#inner.close();
  }

  #checkAlive(): void {
    if (this.#brokenBy !== undefined) throw this.#brokenBy;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
