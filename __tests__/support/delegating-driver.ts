import { createDriver, resolveConfig, type Driver, type DriverConnection, type PoolConfig } from '../../lib';

/**
 * The real driver for a config, for test and benchmark drivers that change
 * only how connections are opened or behave: everything else, the pool's
 * back-pressure hook included, reaches the real driver.
 */
export abstract class DelegatingDriver implements Driver {
  protected readonly inner: Driver;

  constructor(config: PoolConfig) {
    this.inner = createDriver(resolveConfig(config));
  }

  get protocol(): string {
    return this.inner.protocol;
  }
  get maxConnections(): number {
    return this.inner.maxConnections;
  }
  get intMode() {
    return this.inner.intMode;
  }
  get onBackpressure(): (() => void) | undefined {
    return this.inner.onBackpressure;
  }
  set onBackpressure(hook: (() => void) | undefined) {
    this.inner.onBackpressure = hook;
  }

  abstract connect(): Promise<DriverConnection>;
}
