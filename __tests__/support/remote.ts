import { createPool, type AdaptiveConnectionPool, type PoolConfig } from '../../lib';

/** The real sqld that the jest global set-up started (scripts/sqld.ts). */
export const servers = {
  ws: process.env.LIBSQL_POOL_TEST_SQLD_WS!,
  http: process.env.LIBSQL_POOL_TEST_SQLD_HTTP!,
};

let counter = 0;
/** A table name no other test uses: test files share the server and run side by side. */
export function table(): string {
  return `t_${process.pid}_${Date.now().toString(36)}_${counter++}`;
}

/** Runs `fn` with a pool on `url` and always closes it. */
export async function withRemotePool<T>(
  url: string,
  config: Partial<PoolConfig>,
  fn: (pool: AdaptiveConnectionPool) => Promise<T>,
): Promise<T> {
  const pool = await createPool({ ...config, url });
  try {
    return await fn(pool);
  } finally {
    await pool.close({ timeoutMs: 0 });
  }
}
