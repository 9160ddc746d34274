import type { InArgs } from '@libsql/client';
import { DelegatingDriver, createDriver, readUrl, type DriverConnection, type DriverStatement, type PoolConfig } from '../../lib';

/**
 * The real driver for `url` (native `libsql` for a `file:` URL), with every
 * connect made to cost `connectDelayMs` of real time first (a timer), the way
 * a remote connection's handshake would. The idea of `__tests__/support/fake-driver.ts`
 * without the faults, plus counters for the spike case:
 *
 * - `live`: connections opening or open (a connect counts from the moment the
 *   pool calls `connect()`, since that is when it pays for it);
 * - `peakLive`: the highest `live` since the last `resetPeak()`.
 */
export class SlowConnectDriver extends DelegatingDriver {
  readonly connectDelayMs: number;
  /** Called as each connect starts, after `live` counts it. */
  onConnect: (() => void) | undefined;
  connects = 0;
  closes = 0;
  live = 0;
  peakLive = 0;

  constructor(url: string, connectDelayMs: number, config: Omit<PoolConfig, 'url'> = {}) {
    super(createDriver(readUrl(url, config), config));
    this.connectDelayMs = connectDelayMs;
  }


  resetPeak(): void {
    this.peakLive = this.live;
  }

  override async connect(): Promise<DriverConnection> {
    this.connects++;
    if (++this.live > this.peakLive) this.peakLive = this.live;
    this.onConnect?.();
    let inner: DriverConnection;
    try {
      await new Promise((resolve) => setTimeout(resolve, this.connectDelayMs));
      inner = await this.inner.connect();
    } catch (error) {
      this.live--;
      throw error;
    }
    const driver = this;
    let closed = false;
    return {
      prepare: (sql: string): DriverStatement => inner.prepare(sql),
      execute: (st: DriverStatement, args: InArgs | undefined) => inner.execute(st, args),
      executeMultiple: (sql: string) => inner.executeMultiple(sql),
      inTransaction: () => inner.inTransaction(),
      rollback: () => inner.rollback(),
      get brokenBy() {
        return inner.brokenBy;
      },
      ...(inner.ping ? { ping: () => inner.ping!() } : {}),
      pending: () => inner.pending?.(),
      close: () => {
        if (!closed) {
          closed = true;
          driver.closes++;
          driver.live--;
        }
        inner.close();
      },
    };
  }
}
