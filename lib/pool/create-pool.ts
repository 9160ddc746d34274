import type { PoolConfig } from '../config';
import type { Driver } from '../drivers/driver';
import { AdaptiveConnectionPool } from './pool';
import type { RowMode } from './pooled-connection';

/**
 * The `rowMode` a config's type states (a literal `{ rowMode: 'array' }`
 * does). A config typed only `PoolConfig` types the client's rows, as before
 * the option existed, so existing code keeps compiling: to have arrays typed,
 * state `rowMode` in the config's type.
 */
export type RowModeOf<C> = C extends { rowMode: infer R extends RowMode } ? R : 'client';

// The one-call way to a pool that is ready: a bad URL or an unreachable
// server fails here, and leaves nothing open behind it.

/**
 * Validates `config`, opens `min` connections (at least one) and resolves with
 * the pool. Listeners attached to the pool it returns miss the `create` of
 * those first connections; to see them, construct the pool, attach, then warm
 * it up:
 *
 * ```ts
 * const pool = new AdaptiveConnectionPool(config);
 * pool.on('create', onCreate);
 * await pool.warmUp();
 * ```
 */
export async function createPool<C extends PoolConfig>(config: C, driver?: Driver): Promise<AdaptiveConnectionPool<RowModeOf<C>>> {
  const pool = new AdaptiveConnectionPool<RowModeOf<C>>(config, driver);
  try {
    await pool.warmUp();
  } catch (error) {
    await pool.close({ timeoutMs: 0 });
    throw error;
  }
  return pool;
}
