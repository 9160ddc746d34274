import type { Driver } from '../drivers/driver';

/**
 * The pools listening to each driver. A driver has one hook
 * (`Driver.onBackpressure`) and several pools may share a driver; they share
 * the database that pushed back, so the hook tells every one of them.
 */
const listeners = new WeakMap<Driver, Set<() => void>>();

/** Calls `listener` whenever `driver` reports backpressure, until the function returned is called. */
export function listenForBackpressure(driver: Driver, listener: () => void): () => void {
  let pools = listeners.get(driver);
  if (pools === undefined) {
    const all = new Set<() => void>();
    listeners.set(driver, all);
    driver.onBackpressure = () => {
      for (const pool of all) pool();
    };
    pools = all;
  }
  pools.add(listener);
  const listening = pools;
  return () => void listening.delete(listener);
}
