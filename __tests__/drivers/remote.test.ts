import { createClient } from '@libsql/client';
import { createPool } from '../../lib';
import { recordEvents } from '../support/helpers';
import { servers, table, withRemotePool } from '../support/remote';

// Against the real sqld that the jest global set-up started (scripts/sqld.ts).
// Every test works on its own tables, since test files run side by side.
// Behaviours shared with local files (transactions, rollback before reuse,
// events, the cache) are in conformance-behaviour.test.ts, run on all backends.

describe.each(Object.entries(servers))('remote over %s', (protocol, url) => {
  test('returns what @libsql/client returns on the same server', async () => {
    const t = table();
    const client = createClient({ url });
    try {
      await withRemotePool(url, {}, async (pool) => {
        await pool.execute(`create table ${t}(id integer primary key, name text, score real, data blob)`);
        await pool.execute(`insert into ${t}(name, score, data) values (?, ?, ?)`, ['a', 1.5, new Uint8Array([1, 2])]);
        for (const sql of [`select * from ${t}`, `select count(*) as n, sum(score) from ${t}`]) {
          const [ours, theirs] = [await pool.execute(sql), await client.execute(sql)];
          expect(ours).toStrictEqual(theirs);
          expect(ours.rows.map((r) => Array.from(r))).toStrictEqual(theirs.rows.map((r) => Array.from(r)));
        }
        const insert = { sql: `insert into ${t}(name) values (:name)`, args: { name: 'b' } };
        const [ours, theirs] = [await pool.execute(insert), await client.execute(insert)];
        expect([ours.rowsAffected, typeof ours.lastInsertRowid]).toEqual([theirs.rowsAffected, typeof theirs.lastInsertRowid]);
        expect(pool.config.protocol).toBe(protocol);
      });
    } finally {
      client.close();
    }
  });

  test('a lease is one server session: BEGIN and COMMIT in separate calls, invisible to other leases until then', async () => {
    const t = table();
    await withRemotePool(url, { max: 2 }, async (pool) => {
      await pool.execute(`create table ${t}(v)`);
      const lease = await pool.acquire();
      await lease.execute('BEGIN');
      await lease.execute(`insert into ${t} values (1)`);
      expect(lease.inTransaction()).toBe(true);
      expect((await lease.execute(`select count(*) as n from ${t}`)).rows[0]!.n).toBe(1);
      expect((await pool.execute(`select count(*) as n from ${t}`)).rows[0]!.n).toBe(0);
      await lease.execute('COMMIT');
      expect(lease.inTransaction()).toBe(false);
      lease.release();
      expect((await pool.execute(`select count(*) as n from ${t}`)).rows[0]!.n).toBe(1);
    });
  });

  test('a script that leaves a transaction open is rolled back at release', async () => {
    const t = table();
    await withRemotePool(url, { max: 1 }, async (pool) => {
      await pool.execute(`create table ${t}(v)`);
      await pool.use((c) => c.executeMultiple(`begin; insert into ${t} values (1);`));
      expect((await pool.execute(`select count(*) as n from ${t}`)).rows[0]!.n).toBe(0);
    });
  });

  test('batch() is atomic and names the failing statement', async () => {
    const t = table();
    await withRemotePool(url, {}, async (pool) => {
      await pool.execute(`create table ${t}(v unique)`);
      const failure = await pool.batch([`insert into ${t} values (1)`, `insert into ${t} values (1)`]).catch((e) => e);
      expect(failure).toMatchObject({ statementIndex: 1, code: 'SQLITE_CONSTRAINT' });
      expect((await pool.execute(`select count(*) as n from ${t}`)).rows[0]!.n).toBe(0);
    });
  });

  test('statements are stored once per connection and reused across checkouts', async () => {
    await withRemotePool(url, { max: 1, statementCache: { admission: 'always' } }, async (pool) => {
      for (let i = 0; i < 5; i++) await pool.execute('select ? as v', [i]);
      expect(pool.stats().statementCache).toMatchObject({ misses: 1, hits: 4 });
    });
  });

  test('by default a statement is cached from its second run; each run once is released after it ran', async () => {
    await withRemotePool(url, { max: 1 }, async (pool) => {
      for (let i = 0; i < 200; i++) expect((await pool.execute(`select ${i} as once`)).rows[0]!.once).toBe(i);
      expect(pool.stats().statementCache).toMatchObject({ size: 0, misses: 200, admissionsRefused: 200 });
      for (let i = 0; i < 5; i++) expect((await pool.execute('select ? as v', [i])).rows[0]!.v).toBe(i);
      expect(pool.stats().statementCache).toMatchObject({ size: 1, misses: 202, hits: 3, admissionsRefused: 201 });
      expect(pool.stats().totals.created).toBe(1);
    });
  });

  test("more distinct statements than the server's stored-SQL limit all run, on one connection", async () => {
    // sqld closes a WebSocket on its 151st stored SQL (50 per HTTP stream):
    // the driver stores only up to its own bound and sends the rest as text.
    await withRemotePool(url, { max: 1, statementCache: { maxSize: 1000, maxPerConnection: 400 } }, async (pool) => {
      const events = recordEvents(pool);
      for (let i = 0; i < 220; i++) {
        expect((await pool.execute(`select ${i} as v`)).rows[0]!.v).toBe(i);
      }
      expect(events.filter(([name]) => name === 'close')).toEqual([]);
      expect(pool.stats().totals.created).toBe(1);
    });
  });

  test('evicting a statement frees its stored SQL on the server', async () => {
    // With room for 2 entries, 400 statements are stored and closed in turn;
    // if eviction did not close them, the server would refuse the 151st.
    const statementCache = { maxSize: 2, maxPerConnection: 2, admission: 'always' as const };
    await withRemotePool(url, { max: 1, statementCache }, async (pool) => {
      for (let i = 0; i < 400; i++) {
        expect((await pool.execute(`select ${i} as v`)).rows[0]!.v).toBe(i);
      }
      expect(pool.stats().statementCache).toMatchObject({ size: 2, evictions: 398 });
      expect(pool.stats().totals.created).toBe(1);
    });
  });

  test('closing a connection evicts its statements', async () => {
    await withRemotePool(url, { max: 1, statementCache: { admission: 'always' } }, async (pool) => {
      const lease = await pool.acquire();
      await lease.execute('select 1');
      await lease.execute('select 2');
      lease.destroy();
      expect(pool.stats().statementCache).toMatchObject({ size: 0, cleared: 2 });
    });
  });

  test('SQL errors are the LibsqlError the client gives, and the connection goes on serving', async () => {
    const client = createClient({ url });
    try {
      await withRemotePool(url, { max: 1 }, async (pool) => {
        const ours = await pool.execute('select * from no_such_table_here').catch((e) => e);
        const theirs = await client.execute('select * from no_such_table_here').catch((e) => e);
        expect({ name: ours.constructor.name, code: ours.code, message: ours.message }).toEqual({
          name: theirs.constructor.name,
          code: theirs.code,
          message: theirs.message,
        });
        expect((await pool.execute('select 7 as v')).rows[0]!.v).toBe(7);
        expect(pool.stats().totals.created).toBe(1);
      });
    } finally {
      client.close();
    }
  });

  test('an unreachable server fails createPool with CONNECT_FAILED', async () => {
    const dead = protocol === 'ws' ? 'ws://127.0.0.1:1' : 'http://127.0.0.1:1';
    await expect(createPool({ url: dead })).rejects.toBePoolError('CONNECT_FAILED');
  });
});
