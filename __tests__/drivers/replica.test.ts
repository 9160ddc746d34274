import { createClient, type Client } from '@libsql/client';
import { createPool, type AdaptiveConnectionPool } from '../../lib';
import { tempDir } from '../support/helpers';
import { startSqld, type SqldServer } from '../../scripts/sqld';

// Embedded replicas: a local file that syncs from a primary (this file's own
// sqld, which serves replication here).
let server: SqldServer;
let primary: Client;
const tmp = tempDir();

beforeAll(async () => {
  server = await startSqld();
  primary = createClient({ url: server.httpUrl });
  await primary.execute('create table items(id integer primary key, name text)');
});

afterAll(async () => {
  primary.close();
  await server.dispose();
  tmp.dispose();
});

let n = 0;
async function withReplica<T>(fn: (pool: AdaptiveConnectionPool) => Promise<T>): Promise<T> {
  const pool = await createPool({ url: tmp.url(`replica-${n++}.db`), syncUrl: server.httpUrl, max: 8 });
  try {
    return await fn(pool);
  } finally {
    await pool.close();
  }
}

describe('embedded replica (syncUrl)', () => {
  test('is one connection, like :memory:, since each connection carries its own sync state', async () => {
    await withReplica(async (pool) => {
      expect(pool.stats()).toMatchObject({ min: 1, max: 1 });
    });
  });

  test('pool.sync() pulls what the primary committed, and reads are then local', async () => {
    await primary.execute({ sql: 'insert into items(name) values (?)', args: ['from primary'] });
    await withReplica(async (pool) => {
      const report = await pool.sync();
      expect(report.frame_no).toBeGreaterThan(0);
      const names = (await pool.execute('select name from items')).rows.map((r) => r.name);
      expect(names).toContain('from primary');
    });
  });

  test('concurrent sync() calls run one after another and all settle', async () => {
    await withReplica(async (pool) => {
      const order: string[] = [];
      const syncs = [1, 2, 3].map((i) => pool.sync().then((r) => (order.push(`sync ${i}`), r)));
      const reports = await Promise.all(syncs);
      expect(order).toEqual(['sync 1', 'sync 2', 'sync 3']);
      const frames = reports.map((r) => r.frame_no);
      expect([...frames].sort((a, b) => a - b)).toEqual(frames);
    });
  });

  test('a write through the replica reaches the primary', async () => {
    await withReplica(async (pool) => {
      await pool.execute({ sql: 'insert into items(name) values (?)', args: ['from replica'] });
      const names = (await primary.execute('select name from items')).rows.map((r) => r.name);
      expect(names).toContain('from replica');
    });
  });

  test('sync() on a pool that is not a replica rejects with SYNC_NOT_SUPPORTED', async () => {
    const pool = await createPool({ url: tmp.url('plain.db') });
    try {
      await expect(pool.sync()).rejects.toMatchObject({ code: 'SYNC_NOT_SUPPORTED' });
      expect(pool.stats().active).toBe(0);
    } finally {
      await pool.close();
    }
  });
});
