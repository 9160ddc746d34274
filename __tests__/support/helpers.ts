import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdaptiveConnectionPool, createPool, type CloseEvent, type PoolConfig, type PoolEvents } from '../../lib';

/** A fresh directory for one test's database files, removed by `dispose`. */
export function tempDir(): { dir: string; url: (name?: string) => string; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'libsql-pool-'));
  return {
    dir,
    url: (name = 'test.db') => `file:${join(dir, name)}`,
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * Runs `fn` with a pool on a temporary file database (unless `config.url` is
 * given) and always closes the pool and removes the files.
 */
export async function withPool<T>(
  config: Partial<PoolConfig>,
  fn: (pool: AdaptiveConnectionPool, url: string) => Promise<T>,
): Promise<T> {
  const tmp = tempDir();
  const url = config.url ?? tmp.url();
  const pool = await createPool({ ...config, url });
  try {
    return await fn(pool, url);
  } finally {
    await pool.close({ timeoutMs: 0 });
    tmp.dispose();
  }
}

type Lifecycle = 'create' | 'checkout' | 'checkin' | 'close';
type Recorded = { [E in Lifecycle]: [E, ...PoolEvents[E]] }[Lifecycle];

/** Records every lifecycle event, in order, as `[name, payload]`. */
export function recordEvents(pool: AdaptiveConnectionPool): Recorded[] {
  const events: Recorded[] = [];
  for (const name of ['create', 'checkout', 'checkin', 'close'] as const) {
    pool.on(name, (payload: unknown) => events.push([name, payload] as Recorded));
  }
  return events;
}

/** `[event, connectionId]` pairs, the shape most ordering assertions need. */
export function eventIds(events: Recorded[]): Array<[string, number]> {
  return events.map(([name, payload]) => [name, (payload as CloseEvent).connectionId]);
}
