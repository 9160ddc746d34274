import { createClient, type Client, type InArgs, type InStatement } from '@libsql/client';
import {
  LibsqlBatchError,
  LibsqlError,
  PoolError,
  createPooledClient,
  type AdaptiveConnectionPool,
  type PoolConfig,
  type PooledClient,
} from '../../lib';
import { tempDir } from '../support/helpers';

// `createPooledClient` is a drop-in `Client`: every method is checked against
// a plain `createClient` on the same database, and a transaction must hold
// exactly one lease from BEGIN until it settles, whichever way it settles.

type Tmp = ReturnType<typeof tempDir>;
let tmp: Tmp;
beforeEach(() => {
  tmp = tempDir();
});
afterEach(() => {
  tmp.dispose();
});

/** A pooled client and a plain client on the same database, both closed afterwards. */
async function withBoth<T>(
  config: Partial<PoolConfig>,
  fn: (pooled: PooledClient, plain: Client) => Promise<T>,
): Promise<T> {
  const url = config.url ?? tmp.url();
  const pooled = await createPooledClient({ ...config, url });
  const plain = createClient({ url, intMode: config.intMode });
  try {
    return await fn(pooled, plain);
  } finally {
    plain.close();
    pooled.close();
    await pooled.pool.close();
  }
}

/** Waits until no lease is out. A rolled-back lease is counted active until its rollback is done. */
async function settled(pool: AdaptiveConnectionPool): Promise<void> {
  while (pool.stats().active > 0) await new Promise((resolve) => pool.once('checkin', resolve));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

/** What a caller can observe of an error, for comparing ours with the client's. */
function errorShape(error: unknown): object {
  const e = error as LibsqlBatchError;
  return {
    class: error instanceof LibsqlBatchError ? 'LibsqlBatchError' : error instanceof LibsqlError ? 'LibsqlError' : String(error),
    code: e.code,
    extendedCode: e.extendedCode,
    rawCode: e.rawCode,
    statementIndex: e.statementIndex,
    message: e.message,
  };
}

const SCHEMA = 'CREATE TABLE books (id INTEGER PRIMARY KEY, title TEXT NOT NULL UNIQUE, year INTEGER, price REAL, cover BLOB)';

describe('createPooledClient on a file database', () => {
  test('fails fast on a database it cannot open', async () => {
    const error = await rejection(createPooledClient({ url: `file:${tmp.dir}/missing/dir/x.db` }));
    expect(error).toBeInstanceOf(PoolError);
    expect((error as PoolError).code).toBe('CONNECT_FAILED');
  });

  test('protocol, closed and pool', async () => {
    await withBoth({ max: 3 }, async (pooled, plain) => {
      expect(pooled.protocol).toBe(plain.protocol);
      expect(pooled.protocol).toBe('file');
      expect(pooled.closed).toBe(false);
      expect(pooled.pool.config.max).toBe(3);
    });
  });

  test('execute, both overloads, returns what the client returns', async () => {
    await withBoth({}, async (pooled, plain) => {
      await pooled.execute(SCHEMA);
      const steps: Array<InStatement | [string, InArgs?]> = [
        { sql: 'INSERT INTO books (title, year, price, cover) VALUES (?, ?, ?, ?)', args: ['Emma', 1815, 9.5, new Uint8Array([1, 2, 3])] },
        ['INSERT INTO books (title, year) VALUES (:t, :y)', { t: 'Persuasion', y: 1817 }],
        'SELECT * FROM books ORDER BY id',
        ['SELECT title, year FROM books WHERE year > ?', [1816]],
        { sql: 'SELECT count(*) AS n, sum(price) AS total FROM books' },
        ['UPDATE books SET price = price * 2 WHERE price IS NOT NULL'],
        ['SELECT 1 AS one, NULL AS empty, x\'ff\' AS blob, 2.5 AS real'],
      ];
      for (const step of steps) {
        // Writes run once on each side against its own copy of the rows, so
        // reset between: run on the pooled client, read both, compare.
        const ours = await (Array.isArray(step) ? pooled.execute(step[0], step[1]) : pooled.execute(step));
        if (ours.columns.length > 0) {
          const theirs = await (Array.isArray(step) ? plain.execute(step[0], step[1]) : plain.execute(step));
          expect(ours).toStrictEqual(theirs);
          expect(JSON.stringify(ours)).toBe(JSON.stringify(theirs));
        } else {
          expect(ours.rowsAffected).toBe(1);
        }
      }
      // A write's result through each side, on its own row.
      const a = await pooled.execute('INSERT INTO books (title) VALUES (?)', ['A']);
      const b = await plain.execute('INSERT INTO books (title) VALUES (?)', ['B']);
      expect(b.lastInsertRowid).toBe(a.lastInsertRowid! + 1n);
      expect({ ...a, lastInsertRowid: 0n }).toStrictEqual({ ...b, lastInsertRowid: 0n });
    });
  });

  test('intMode bigint and string come back as the client returns them', async () => {
    for (const intMode of ['bigint', 'string'] as const) {
      await withBoth({ intMode, url: tmp.url(`${intMode}.db`) }, async (pooled, plain) => {
        const sql = 'SELECT 9007199254740993 AS big, 1 AS small';
        expect(await pooled.execute(sql)).toStrictEqual(await plain.execute(sql));
      });
    }
  });

  test('SQL errors are the client errors', async () => {
    await withBoth({}, async (pooled, plain) => {
      await pooled.execute(SCHEMA);
      await pooled.execute("INSERT INTO books (title) VALUES ('Emma')");
      for (const sql of ['SELEC 1', "INSERT INTO books (title) VALUES ('Emma')", 'SELECT nope FROM books']) {
        const ours = await rejection(pooled.execute(sql));
        const theirs = await rejection(plain.execute(sql));
        expect(errorShape(ours)).toStrictEqual(errorShape(theirs));
      }
    });
  });

  test('batch commits all or nothing, with the client results and LibsqlBatchError', async () => {
    await withBoth({}, async (pooled, plain) => {
      await pooled.execute(SCHEMA);
      const ok: Array<InStatement | [string, InArgs?]> = [
        "INSERT INTO books (title) VALUES ('one')",
        ['INSERT INTO books (title, year) VALUES (?, ?)', ['two', 2]],
        { sql: 'SELECT title FROM books ORDER BY id', args: [] },
      ];
      const ours = await pooled.batch(ok);
      expect(ours).toHaveLength(3);
      expect(ours[2]!.rows.map((r) => r.title)).toEqual(['one', 'two']);
      await plain.execute('DELETE FROM books');
      const theirs = await plain.batch(ok);
      expect(ours.map((r) => ({ ...r, lastInsertRowid: undefined }))).toStrictEqual(
        theirs.map((r) => ({ ...r, lastInsertRowid: undefined })),
      );

      for (const mode of ['write', 'deferred'] as const) {
        const failing = ["INSERT INTO books (title) VALUES ('three')", "INSERT INTO books (title) VALUES ('one')"];
        const e1 = await rejection(pooled.batch(failing, mode));
        const e2 = await rejection(plain.batch(failing, mode));
        expect(e1).toBeInstanceOf(LibsqlBatchError);
        expect(errorShape(e1)).toStrictEqual(errorShape(e2));
        expect((e1 as LibsqlBatchError).statementIndex).toBe(1);
        const titles = await pooled.execute('SELECT title FROM books ORDER BY id');
        expect(titles.rows.map((r) => r.title)).toEqual(['one', 'two']);
      }
      expect(pooled.pool.stats().active).toBe(0);
    });
  });

  test('migrate runs with foreign keys off in one transaction, then restores them', async () => {
    await withBoth({ max: 1 }, async (pooled, plain) => {
      const stmts: InStatement[] = [
        'CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT)',
        'CREATE TABLE works (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL REFERENCES authors(id))',
        // Would fail with foreign keys on: author 7 does not exist.
        { sql: 'INSERT INTO works (author_id) VALUES (?)', args: [7] },
        'PRAGMA foreign_key_check',
      ];
      const ours = await pooled.migrate(stmts);
      await plain.executeMultiple('DROP TABLE works; DROP TABLE authors;');
      const theirs = await plain.migrate(stmts);
      expect(ours.map((r) => ({ ...r, lastInsertRowid: undefined }))).toStrictEqual(
        theirs.map((r) => ({ ...r, lastInsertRowid: undefined })),
      );
      // Same connection (max 1): foreign keys are on again, as before.
      expect((await pooled.execute('PRAGMA foreign_keys')).rows[0]![0]).toBe(1);
      await expect(pooled.execute('INSERT INTO works (author_id) VALUES (8)')).rejects.toMatchObject({
        code: 'SQLITE_CONSTRAINT',
      });

      // A failing migration is rolled back whole, as the client's.
      const failing: InStatement[] = ['CREATE TABLE extra (x)', 'INSERT INTO nowhere VALUES (1)'];
      const e1 = await rejection(pooled.migrate(failing));
      const e2 = await rejection(plain.migrate(failing));
      expect(errorShape(e1)).toStrictEqual(errorShape(e2));
      expect((await pooled.execute("SELECT count(*) AS n FROM sqlite_master WHERE name = 'extra'")).rows[0]!.n).toBe(0);

      expect(pooled.pool.stats().active).toBe(0);
    });
  });

  test('migrate on a connection set up with foreign keys off leaves them off', async () => {
    await withBoth({ max: 1, afterConnect: async (conn) => void (await conn.execute('PRAGMA foreign_keys=off')) }, async (pooled) => {
      expect((await pooled.execute('PRAGMA foreign_keys')).rows[0]![0]).toBe(0);
      await pooled.migrate(['SELECT 1']);
      expect((await pooled.execute('PRAGMA foreign_keys')).rows[0]![0]).toBe(0);
    });
  });

  test("a caller's PRAGMA foreign_keys=off holds for its later calls, on every connection, as in the client", async () => {
    await withBoth({ min: 2, max: 2 }, async (pooled, plain) => {
      const setting = async (c: Client): Promise<unknown> => (await c.execute('PRAGMA foreign_keys')).rows[0]![0];
      await pooled.execute('PRAGMA foreign_keys=off');
      await plain.execute('PRAGMA foreign_keys=off');
      expect(await setting(plain)).toBe(0);
      // Two calls at once: each on its own connection.
      expect(await Promise.all([setting(pooled), setting(pooled)])).toEqual([0, 0]);
    });
  });

  test('a caller\'s ATTACH is seen by its later calls and transactions, as in the client', async () => {
    const other = tmp.url('aux.db').replace(/^file:/, '');
    const setup = createClient({ url: `file:${other}` });
    await setup.execute('CREATE TABLE t (x)');
    await setup.execute('INSERT INTO t VALUES (42)');
    setup.close();
    await withBoth({ min: 2, max: 2 }, async (pooled) => {
      await pooled.execute({ sql: 'ATTACH ? AS aux', args: [other] });
      const tx = await pooled.transaction('read');
      const [inTx, outside] = await Promise.all([tx.execute('SELECT x FROM aux.t'), pooled.execute('SELECT x FROM aux.t')]);
      tx.close();
      expect([inTx.rows[0]![0], outside.rows[0]![0]]).toEqual([42, 42]);
      await pooled.execute('DETACH aux');
      await expect(pooled.execute('SELECT x FROM aux.t')).rejects.toThrow(/no such table/);
    });
  });

  test('executeMultiple runs a script, as the client', async () => {
    await withBoth({}, async (pooled, plain) => {
      await pooled.executeMultiple(`${SCHEMA}; INSERT INTO books (title) VALUES ('a'); INSERT INTO books (title) VALUES ('b');`);
      const ours = await pooled.execute('SELECT * FROM books');
      expect(ours).toStrictEqual(await plain.execute('SELECT * FROM books'));
      expect(ours.rows).toHaveLength(2);
      const e1 = await rejection(pooled.executeMultiple('SELECT 1; BOGUS;'));
      const e2 = await rejection(plain.executeMultiple('SELECT 1; BOGUS;'));
      expect(errorShape(e1)).toStrictEqual(errorShape(e2));
    });
  });

  test('sync on a database that is not a replica fails as a LibsqlError', async () => {
    await withBoth({}, async (pooled) => {
      await expect(pooled.sync()).rejects.toBeInstanceOf(LibsqlError);
    });
  });

  describe('transaction', () => {
    test('holds one lease from BEGIN until commit', async () => {
      await withBoth({ max: 4 }, async (pooled, plain) => {
        const { pool } = pooled;
        await pooled.execute(SCHEMA);
        expect(pool.stats().active).toBe(0);
        const tx = await pooled.transaction('write');
        expect(pool.stats().active).toBe(1);
        expect(tx.closed).toBe(false);
        await tx.execute("INSERT INTO books (title) VALUES ('in tx')");
        await tx.execute('INSERT INTO books (title) VALUES (?)', ['second']);
        // Other calls use other connections and do not see the uncommitted rows.
        expect((await pooled.execute('SELECT count(*) AS n FROM books')).rows[0]!.n).toBe(0);
        expect((await plain.execute('SELECT count(*) AS n FROM books')).rows[0]!.n).toBe(0);
        expect(pool.stats().active).toBe(1);
        expect((await tx.execute('SELECT count(*) AS n FROM books')).rows[0]!.n).toBe(2);
        await tx.commit();
        expect(tx.closed).toBe(true);
        expect(pool.stats().active).toBe(0);
        expect((await plain.execute('SELECT count(*) AS n FROM books')).rows[0]!.n).toBe(2);
        expect(pool.stats().totals.acquired).toBe(pool.stats().totals.released);
      });
    });

    test('rollback undoes and releases; close rolls back and releases', async () => {
      await withBoth({}, async (pooled) => {
        const { pool } = pooled;
        await pooled.execute(SCHEMA);

        const tx1 = await pooled.transaction('deferred');
        await tx1.execute("INSERT INTO books (title) VALUES ('undone')");
        expect(pool.stats().active).toBe(1);
        await tx1.rollback();
        expect(tx1.closed).toBe(true);
        expect(pool.stats().active).toBe(0);

        const tx2 = await pooled.transaction();
        await tx2.execute("INSERT INTO books (title) VALUES ('dropped')");
        expect(pool.stats().active).toBe(1);
        tx2.close();
        expect(tx2.closed).toBe(true);
        await settled(pool);
        expect(pool.stats().active).toBe(0);
        tx2.close(); // idempotent
        expect((await pooled.execute('SELECT count(*) AS n FROM books')).rows[0]!.n).toBe(0);
        expect(pool.stats().totals.acquired).toBe(pool.stats().totals.released);
      });
    });

    test('after it settles, calls fail with TRANSACTION_CLOSED as the client', async () => {
      await withBoth({}, async (pooled, plain) => {
        await pooled.execute(SCHEMA);
        for (const client of [pooled, plain] as Client[]) {
          const tx = await client.transaction('write');
          await tx.commit();
          for (const call of [
            () => tx.execute('SELECT 1'),
            () => tx.batch(['SELECT 1']),
            () => tx.executeMultiple('SELECT 1'),
            () => tx.commit(),
          ]) {
            const error = await rejection(call());
            expect(error).toBeInstanceOf(LibsqlError);
            expect((error as LibsqlError).code).toBe('TRANSACTION_CLOSED');
          }
          await tx.rollback(); // a no-op once settled, as the client's
          tx.close();
          expect(tx.closed).toBe(true);
        }
        expect(pooled.pool.stats().active).toBe(0);
      });
    });

    test('a transaction ended by its own statement reads closed and gives its lease back', async () => {
      await withBoth({}, async (pooled, plain) => {
        await pooled.execute(SCHEMA);
        for (const client of [pooled, plain] as Client[]) {
          const tx = await client.transaction('write');
          await tx.execute('ROLLBACK');
          expect(tx.closed).toBe(true);
          await expect(tx.execute('SELECT 1')).rejects.toMatchObject({ code: 'TRANSACTION_CLOSED' });
          tx.close();
        }
        expect(pooled.pool.stats().active).toBe(0);
      });
    });

    test('batch inside a transaction stops at a failure without rolling back', async () => {
      await withBoth({}, async (pooled, plain) => {
        await pooled.execute(SCHEMA);
        const results: unknown[] = [];
        for (const client of [pooled, plain] as Client[]) {
          const tx = await client.transaction('write');
          try {
            await tx.execute('DELETE FROM books');
            const ok = await tx.batch(["INSERT INTO books (title) VALUES ('a')", 'SELECT title FROM books']);
            const error = await rejection(
              tx.batch(["INSERT INTO books (title) VALUES ('b')", "INSERT INTO books (title) VALUES ('a')", 'SELECT 1']),
            );
            expect(tx.closed).toBe(false);
            const rows = await tx.execute('SELECT title FROM books ORDER BY title');
            await tx.executeMultiple("INSERT INTO books (title) VALUES ('c'); INSERT INTO books (title) VALUES ('d');");
            await tx.commit();
            results.push({ ok: ok[1], error: errorShape(error), rows });
          } finally {
            tx.close();
          }
        }
        expect(results[0]).toStrictEqual(results[1]);
        expect((await pooled.execute('SELECT count(*) AS n FROM books')).rows[0]!.n).toBe(4);
        expect(pooled.pool.stats().active).toBe(0);
      });
    });

    test('a BEGIN that fails gives its lease back', async () => {
      await withBoth({}, async (pooled) => {
        await expect(pooled.transaction('bogus' as 'write')).rejects.toBeInstanceOf(RangeError);
        expect(pooled.pool.stats().active).toBe(0);
        expect(pooled.pool.stats().totals.acquired).toBe(0);
      });
    });

    test('await using closes it', async () => {
      await withBoth({}, async (pooled) => {
        await pooled.execute(SCHEMA);
        {
          await using tx = await pooled.transaction('write');
          await tx.execute("INSERT INTO books (title) VALUES ('never')");
        }
        await settled(pooled.pool);
        expect((await pooled.execute('SELECT count(*) AS n FROM books')).rows[0]!.n).toBe(0);
      });
    });
  });

  describe('close and reconnect', () => {
    test('close is immediate for the caller and later calls fail with CLIENT_CLOSED', async () => {
      const url = tmp.url();
      const pooled = await createPooledClient({ url });
      const plain = createClient({ url });
      pooled.close();
      plain.close();
      expect(pooled.closed).toBe(true);
      for (const client of [pooled, plain] as Client[]) {
        for (const call of [
          () => client.execute('SELECT 1'),
          () => client.batch(['SELECT 1']),
          () => client.migrate(['SELECT 1']),
          () => client.transaction('write'),
          () => client.executeMultiple('SELECT 1'),
          () => client.sync(),
        ]) {
          const error = await rejection(call());
          expect(error).toBeInstanceOf(LibsqlError);
          expect((error as LibsqlError).code).toBe('CLIENT_CLOSED');
        }
      }
      await pooled.pool.close();
      expect(pooled.pool.stats().size).toBe(0);
    });

    test('calls in flight finish before the pool closes', async () => {
      await withBoth({}, async (pooled) => {
        await pooled.execute(SCHEMA);
        const tx = await pooled.transaction('write');
        pooled.close();
        await tx.execute("INSERT INTO books (title) VALUES ('late')");
        await tx.commit();
        await pooled.pool.close();
        expect(pooled.pool.stats().size).toBe(0);
      });
    });

    test('a pool closed underneath reads as a closed client', async () => {
      await withBoth({}, async (pooled) => {
        await pooled.pool.close();
        await expect(pooled.execute('SELECT 1')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
        expect(pooled.closed).toBe(true);
      });
    });

    test('reconnect opens a new pool with the same config and listeners', async () => {
      await withBoth({ max: 2 }, async (pooled) => {
        await pooled.execute(SCHEMA);
        const created: number[] = [];
        pooled.pool.on('create', (e) => created.push(e.connectionId));
        pooled.reconnect(); // open: nothing to do
        const first = pooled.pool;
        pooled.close();
        await first.close();
        pooled.reconnect();
        expect(pooled.closed).toBe(false);
        expect(pooled.pool).not.toBe(first);
        expect(pooled.pool.config.max).toBe(2);
        await pooled.execute("INSERT INTO books (title) VALUES ('again')");
        expect((await pooled.execute('SELECT count(*) AS n FROM books')).rows[0]!.n).toBe(1);
        expect(created).toHaveLength(1);
      });
    });
  });
});

describe.each([
  ['ws', process.env.LIBSQL_POOL_TEST_SQLD_WS!],
  ['http', process.env.LIBSQL_POOL_TEST_SQLD_HTTP!],
])('createPooledClient against sqld over %s', (protocol, url) => {
  let counter = 0;
  const table = () => `pc_${protocol}_${process.pid}_${Date.now().toString(36)}_${counter++}`;

  test('every method returns what the client returns on the same server', async () => {
    const t = table();
    await withBoth({ url, max: 3 }, async (pooled, plain) => {
      expect(pooled.protocol).toBe(protocol);
      await pooled.executeMultiple(`CREATE TABLE ${t} (id INTEGER PRIMARY KEY, title TEXT UNIQUE, year INTEGER);`);
      try {
        await pooled.execute(`INSERT INTO ${t} (title, year) VALUES (?, ?)`, ['Emma', 1815]);
        await pooled.execute({ sql: `INSERT INTO ${t} (title, year) VALUES (:t, :y)`, args: { t: 'Persuasion', y: 1817 } });
        const select = `SELECT * FROM ${t} ORDER BY id`;
        expect(await pooled.execute(select)).toStrictEqual(await plain.execute(select));

        const batch = [`INSERT INTO ${t} (title) VALUES ('x')`, `SELECT count(*) AS n FROM ${t}`];
        const ours = await pooled.batch(batch, 'write');
        expect(ours[1]!.rows[0]!.n).toBe(3);
        const failing = [`INSERT INTO ${t} (title) VALUES ('y')`, `INSERT INTO ${t} (title) VALUES ('x')`];
        const e1 = await rejection(pooled.batch(failing));
        const e2 = await rejection(plain.batch(failing));
        expect(e1).toBeInstanceOf(LibsqlBatchError);
        expect((e1 as LibsqlBatchError).statementIndex).toBe((e2 as LibsqlBatchError).statementIndex);
        expect((e1 as LibsqlBatchError).code).toBe((e2 as LibsqlBatchError).code);
        expect(await pooled.execute(select)).toStrictEqual(await plain.execute(select));

        const migrated = await pooled.migrate([`UPDATE ${t} SET year = 2000 WHERE year IS NULL`]);
        expect(migrated[0]!.rowsAffected).toBe(1);
        // migrate's PRAGMA foreign_keys is a session change, checked at checkin
        // (a round trip to the server) before its connection counts as idle.
        await settled(pooled.pool);

        const tx = await pooled.transaction('write');
        expect(pooled.pool.stats().active).toBe(1);
        await tx.execute(`INSERT INTO ${t} (title) VALUES ('tx')`);
        expect((await plain.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n).toBe(3);
        await tx.commit();
        expect(pooled.pool.stats().active).toBe(0);
        expect((await plain.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n).toBe(4);

        const tx2 = await pooled.transaction('write');
        await tx2.execute(`DELETE FROM ${t}`);
        tx2.close();
        await settled(pooled.pool);
        expect(pooled.pool.stats().active).toBe(0);
        expect(await pooled.execute(select)).toStrictEqual(await plain.execute(select));
        await expect(tx2.execute('SELECT 1')).rejects.toMatchObject({ code: 'TRANSACTION_CLOSED' });
      } finally {
        await plain.execute(`DROP TABLE IF EXISTS ${t}`);
      }
    });
  });
});

test('sync pulls changes into an embedded replica', async () => {
  const t = `pc_sync_${process.pid}_${Date.now().toString(36)}`;
  const primary = createClient({ url: process.env.LIBSQL_POOL_TEST_SQLD_HTTP! });
  const replica = await createPooledClient({ url: tmp.url('replica.db'), syncUrl: process.env.LIBSQL_POOL_TEST_SQLD_HTTP! });
  try {
    await primary.execute(`CREATE TABLE ${t} (x INTEGER)`);
    await primary.execute(`INSERT INTO ${t} VALUES (42)`);
    const replicated = await replica.sync();
    expect(replicated?.frames_synced).toBeGreaterThan(0);
    expect((await replica.execute(`SELECT x FROM ${t}`)).rows[0]!.x).toBe(42);
  } finally {
    replica.close();
    await replica.pool.close();
    await primary.execute(`DROP TABLE IF EXISTS ${t}`);
    primary.close();
  }
});
