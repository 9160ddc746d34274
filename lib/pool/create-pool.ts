import type { PoolConfig } from '../config';
import type { Driver } from '../drivers/driver';
import { AdaptiveConnectionPool } from './pool';

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
export async function createPool(config: PoolConfig, driver?: Driver): Promise<AdaptiveConnectionPool> {
  const pool = new AdaptiveConnectionPool(config, driver);
  try {
    await pool.warmUp();
  } catch (error) {
    await pool.close({ timeoutMs: 0 });
    throw error;
  }
  return pool;
}
