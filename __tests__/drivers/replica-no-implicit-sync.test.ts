import { createClient, type Client } from '@libsql/client';
import { createRequire } from 'node:module';
import { createPool, type AdaptiveConnectionPool } from '../../lib';
import { tempDir } from '../support/helpers';
import { startSqld, type SqldServer } from '../../scripts/sqld';

// An embedded replica reads what its last sync() brought, as @libsql/client's
// does. libsql forwards to the primary every statement it does not classify as
// a read (PRAGMA, BEGIN, ...), and a forwarded statement pulls the primary's
// changes on its way back: the driver must issue none of its own.

// The copy of libsql the pool loads: it shares the file's locks with the pool's connection.
const Database = createRequire(require.resolve('@libsql/client'))('libsql') as new (path: string, options: { syncUrl: string }) => {
  sync(): unknown;
  close(): void;
};

let server: SqldServer;
let primary: Client;
const tmp = tempDir();
let n = 0;

beforeAll(async () => {
  server = await startSqld();
  primary = createClient({ url: server.httpUrl });
});

afterAll(async () => {
  primary.close();
  await server.dispose();
  tmp.dispose();
});

/** A fresh table on the primary, and a replica pool that has synced it (still empty). */
async function withReplica(fn: (pool: AdaptiveConnectionPool, table: string, path: string) => Promise<void>) {
  const table = `t${n}`;
  await primary.execute(`create table ${table}(a)`);
  const path = tmp.url(`replica-${n++}.db`).slice('file:'.length);
  const pool = await createPool({ url: `file:${path}`, syncUrl: server.httpUrl });
  try {
    await pool.sync();
    await fn(pool, table, path);
  } finally {
    await pool.close();
  }
}

const insertThree = (table: string) => primary.execute(`insert into ${table} values (1), (2), (3)`);

describe('an embedded replica syncs only when asked', () => {
  test('SELECT * returns no rows written on the primary since the last sync(), as through the client, and all of them after pool.sync()', async () => {
    await withReplica(async (pool, table) => {
      const client = createClient({ url: tmp.url(`client-${n}.db`), syncUrl: server.httpUrl });
      try {
        await client.sync();
        await insertThree(table);
        const viaClient = await client.execute(`select * from ${table}`);
        const viaPool = await pool.execute(`select * from ${table}`);
        expect(viaClient.rows).toHaveLength(0);
        expect(viaPool.rows).toHaveLength(0);
        await pool.sync();
        expect((await pool.execute(`select * from ${table}`)).rows).toHaveLength(3);
      } finally {
        client.close();
      }
    });
  });

  test('reads of every shape, first and cached, on several leases, leave the replica where sync() left it', async () => {
    await withReplica(async (pool, table) => {
      await insertThree(table);
      for (let round = 0; round < 2; round++) {
        await pool.use(async (lease) => {
          await lease.execute(`select * from ${table}`);
          await lease.execute(`select ${table}.* from ${table} where a > ?`, [0]);
          await lease.execute(`select a from ${table} where a = :a`, { a: 1 });
          await lease.execute('select 1');
        });
      }
      expect((await pool.execute(`select count(*) as n from ${table}`)).rows[0]!.n).toBe(0);
    });
  });

  test('a cached SELECT * follows a column rename that a sync outside the pool brought in', async () => {
    await withReplica(async (pool, table, path) => {
      await primary.execute(`insert into ${table} values (1)`);
      await pool.sync();
      expect((await pool.execute(`select * from ${table}`)).columns).toEqual(['a']);
      await primary.execute(`alter table ${table} rename column a to b`);
      // Stands in for background sync (`syncInterval`): libsql applies it without the pool knowing.
      const outside = new Database(path, { syncUrl: server.httpUrl });
      try {
        outside.sync();
      } finally {
        outside.close();
      }
      const after = await pool.execute(`select * from ${table}`);
      expect(after.columns).toEqual(['b']);
      expect(after.rows[0]).toMatchObject({ b: 1 });
    });
  });
});
