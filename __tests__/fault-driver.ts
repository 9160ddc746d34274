import type { InArgs } from '@libsql/client';
import { DelegatingDriver, createDriver, readUrl, type DriverConnection, type DriverStatement, type PoolConfig } from '../lib';

interface WrappedStatement extends DriverStatement {
  readonly inner: DriverStatement;
}

/**
 * A real driver with faults switched on by the test: connects that fail,
 * connects that hang until released, rollbacks that fail. Everything else
 * reaches the real database.
 */
export class FaultyDriver extends DelegatingDriver {
  /** How many of the next connects fail with `connectError`. */
  failConnects = 0;
  connectError: Error = new Error('connection refused (injected)');
  /** While set, connects wait for `releaseConnects()`. */
  holdConnects = false;
  #held: Array<() => void> = [];
  rollbackFails = false;
  /** Connects take this long (a timer, so fake timers drive it). */
  connectDelayMs = 0;
  /** While set, pings fail. */
  pingFails = false;
  pings = 0;
  /** SQL of every statement the pool disposed of, in order. */
  readonly disposed: string[] = [];
  connects = 0;
  readonly opened: DriverConnection[] = [];

  constructor(url: string, config: Omit<PoolConfig, 'url'> = {}) {
    super(createDriver(readUrl(url, config), config));
  }

  releaseConnects(): void {
    this.holdConnects = false;
    for (const go of this.#held.splice(0)) go();
  }

  override async connect(): Promise<DriverConnection> {
    this.connects++;
    if (this.holdConnects) await new Promise<void>((resolve) => this.#held.push(resolve));
    if (this.connectDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.connectDelayMs));
    if (this.failConnects > 0) {
      this.failConnects--;
      throw this.connectError;
    }
    const inner = await this.inner.connect();
    const driver = this;
    const connection: DriverConnection = {
      prepare: (sql: string): WrappedStatement => {
        const statement = inner.prepare(sql);
        return { sql, inner: statement, dispose: () => driver.disposed.push(sql) };
      },
      execute: (st: DriverStatement, args: InArgs | undefined) => inner.execute((st as WrappedStatement).inner, args),
      executeMultiple: (sql: string) => inner.executeMultiple(sql),
      inTransaction: () => inner.inTransaction(),
      rollback: () => (driver.rollbackFails ? Promise.reject(new Error('rollback failed (injected)')) : inner.rollback()),
      get brokenBy() {
        return inner.brokenBy;
      },
      ping: async () => {
        driver.pings++;
        if (driver.pingFails) throw new Error('ping failed (injected)');
        await inner.ping?.();
      },
      pending: () => inner.pending?.(),
      close: () => inner.close(),
    };
    this.opened.push(connection);
    return connection;
  }
}
