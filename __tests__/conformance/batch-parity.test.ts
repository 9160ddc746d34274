import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client, type InStatement, type IntMode, type ResultSet, type TransactionMode } from '@libsql/client';
import { LibsqlBatchError, LibsqlError } from '@libsql/core/api';
import { createPool, createPooledClient, type PooledClient } from '../../lib';
import { queryChannel, type QueryContext } from '../../lib/diagnostics';
import { servers, table } from '../support/remote';

// A batch is the client's, result for result and error for error, whichever
// way it travels: over a remote connection the pool sends it whole, in one
// request, as the client does, and on a file it runs statement by statement.
// Each case runs through `@libsql/client`, the drop-in client and
// `pool.batch`, each on its own table, and compares what a caller observes.

type Backend = 'ws' | 'http' | 'file';
const BACKENDS: Backend[] = ['ws', 'http', 'file'];

/** What runs a batch: the client, the drop-in client, or the pool under it. */
interface Subject {
  name: string;
  batch(stmts: InStatement[], mode?: TransactionMode): Promise<ResultSet[]>;
  execute(stmt: InStatement): Promise<ResultSet>;
  executeMultiple(sql: string): Promise<void>;
}

interface Sides {
  client: Client;
  pooled: PooledClient;
  subjects: Subject[];
}

let fileDir: string;
beforeAll(() => {
  fileDir = mkdtempSync(join(tmpdir(), 'libsql-pool-batch-'));
});
afterAll(() => {
  rmSync(fileDir, { recursive: true, force: true });
});

let files = 0;
function urlOf(backend: Backend): string {
  return backend === 'file' ? `file:${join(fileDir, `db${files++}.db`)}` : servers[backend];
}

/** The client and a pooled client (one connection: a batch must leave it clean for the next) on one database. */
async function withSides<T>(
  backend: Backend,
  fn: (sides: Sides) => Promise<T>,
  options: { intMode?: IntMode; url?: string } = {},
): Promise<T> {
  const url = options.url ?? urlOf(backend);
  const client = createClient({ url, intMode: options.intMode });
  const pooled = await createPooledClient({ url, intMode: options.intMode, max: 1 });
  const subjects: Subject[] = [
    { name: 'client', batch: (s, m) => client.batch(s, m), execute: (s) => client.execute(s), executeMultiple: (s) => client.executeMultiple(s) },
    { name: 'pooled', batch: (s, m) => pooled.batch(s, m), execute: (s) => pooled.execute(s), executeMultiple: (s) => pooled.executeMultiple(s) },
    {
      name: 'pool',
      batch: (s, m) => pooled.pool.batch(s, m),
      execute: (s) => pooled.pool.execute(s),
      executeMultiple: (s) => pooled.pool.use((lease) => lease.executeMultiple(s)),
    },
  ];
  try {
    return await fn({ client, pooled, subjects });
  } finally {
    client.close();
    await pooled.pool.close();
  }
}

/** Everything a caller can read from a result, as plain values. */
function plain(rs: ResultSet): unknown {
  return {
    columns: [...rs.columns],
    columnTypes: [...rs.columnTypes],
    rows: rs.rows.map((row) => ({
      values: Array.from(row as ArrayLike<unknown>, value),
      named: Object.fromEntries(Object.entries(row).map(([k, v]) => [k, value(v)])),
    })),
    rowsAffected: rs.rowsAffected,
    lastInsertRowid: rs.lastInsertRowid,
  };
}

/** A blob as its bytes: the two sides' ArrayBuffers may come from different realms. */
function value(v: unknown): unknown {
  return Object.prototype.toString.call(v) === '[object ArrayBuffer]' ? { blob: Array.from(new Uint8Array(v as ArrayBuffer)) } : v;
}

/** Everything a caller can read from a batch's error. */
function errorShape(error: unknown, t: string): unknown {
  const e = error as LibsqlBatchError;
  return {
    class: e?.constructor?.name,
    isLibsqlError: e instanceof LibsqlError,
    // Each side has a table of its own.
    message: e.message.replaceAll(t, 'T'),
    code: e.code,
    extendedCode: e.extendedCode,
    rawCode: e.rawCode,
    statementIndex: e.statementIndex,
  };
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Each subject runs `fn` on a table of its own; the outcomes must all be the client's. */
async function sameForAll(sides: Sides, fn: (s: Subject, t: string) => Promise<unknown>): Promise<unknown> {
  const outcomes: unknown[] = [];
  for (const s of sides.subjects) outcomes.push(await fn(s, table()));
  for (let i = 1; i < outcomes.length; i++) {
    expect({ subject: sides.subjects[i]!.name, outcome: outcomes[i] }).toStrictEqual({
      subject: sides.subjects[i]!.name,
      outcome: outcomes[0],
    });
  }
  return outcomes[0];
}

/** The pooled client's one connection is not left inside a transaction. */
async function expectNoTransaction(pooled: PooledClient): Promise<void> {
  expect(await pooled.pool.use((lease) => lease.inTransaction())).toBe(false);
}

const create = (t: string): string =>
  `CREATE TABLE ${t} (id INTEGER PRIMARY KEY, name TEXT NOT NULL, score REAL, big INTEGER, data BLOB, flag BOOLEAN)`;

describe.each(BACKENDS)('over %s', (backend) => {
  test.each<IntMode>(['number', 'bigint', 'string'])('results are the client’s (intMode %s)', async (intMode) => {
    await withSides(
      backend,
      async (sides) => {
        await sameForAll(sides, async (s, t) => {
          await s.execute(create(t));
          const results = await s.batch([
            { sql: `INSERT INTO ${t} (name, score, big, data, flag) VALUES (?, ?, ?, ?, ?)`, args: ['a', 1.5, 9007199254740991n, new Uint8Array([1, 2, 3]), true] },
            { sql: `INSERT INTO ${t} (name, score, big) VALUES (:name, :score, :big)`, args: { name: 'b', score: null, big: -7 } },
            [`INSERT INTO ${t} (name) VALUES (?)`, ['c']] as unknown as InStatement,
            `SELECT * FROM ${t} ORDER BY id`,
            `SELECT id, name AS n, score * 2 AS doubled, typeof(big) AS kind, length(data) FROM ${t} ORDER BY id`,
            `UPDATE ${t} SET score = 3 WHERE id > 1`,
            `DELETE FROM ${t} WHERE name = 'c'`,
            `SELECT count(*) AS n, max(id) FROM ${t}`,
          ]);
          return results.map(plain);
        });
      },
      { intMode },
    );
  });

  test('a failing statement rolls back the whole batch, with the client’s LibsqlBatchError', async () => {
    await withSides(backend, async (sides) => {
      await sameForAll(sides, async (s, t) => {
        await s.execute(create(t));
        const failures = [];
        for (const bad of [`INSERT INTO ${t} (id, name) VALUES (1, 'dup')`, `SELEC nope`, `INSERT INTO ${t} (id) VALUES (9)`]) {
          const error = await rejection(
            s.batch([
              `INSERT INTO ${t} (id, name) VALUES (1, 'a')`,
              `SELECT * FROM ${t}`,
              `INSERT INTO ${t} (id, name) VALUES (2, 'b')`,
              bad,
              `INSERT INTO ${t} (id, name) VALUES (3, 'c')`,
            ]),
          );
          // sqld refuses a batch holding SQL it cannot parse before running
          // any of it, with a LibsqlError; the rest are LibsqlBatchErrors.
          expect(error).toBeInstanceOf(LibsqlError);
          failures.push(errorShape(error, t));
        }
        const count = (await s.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n;
        return { failures, count };
      });
      await expectNoTransaction(sides.pooled);
    });
  });

  test('batch modes: write, read and deferred', async () => {
    await withSides(backend, async (sides) => {
      await sameForAll(sides, async (s, t) => {
        await s.execute(create(t));
        const outcomes: unknown[] = [];
        for (const mode of ['write', 'read', 'deferred'] as TransactionMode[]) {
          const read = await s.batch([`SELECT count(*) AS n FROM ${t}`], mode);
          outcomes.push(read.map(plain));
          const write = s.batch([`INSERT INTO ${t} (name) VALUES ('${mode}')`, `SELECT count(*) AS n FROM ${t}`], mode);
          outcomes.push(await write.then((rs) => rs.map(plain), (e: unknown) => errorShape(e, t)));
        }
        outcomes.push(plain(await s.execute(`SELECT name FROM ${t} ORDER BY id`)));
        return outcomes;
      });
      await expectNoTransaction(sides.pooled);
    });
  });

  test('a batch inside client.transaction() joins it, and a failure there does not roll it back', async () => {
    await withSides(backend, async (sides) => {
      const outcomes: unknown[] = [];
      for (const client of [sides.client, sides.pooled] as Client[]) {
        const t = table();
        await client.execute(create(t));
        const tx = await client.transaction('write');
        let outcome: Record<string, unknown>;
        try {
          await tx.execute(`INSERT INTO ${t} (id, name) VALUES (1, 'a')`);
          const joined = await tx.batch([`INSERT INTO ${t} (id, name) VALUES (2, 'b')`, `SELECT count(*) AS n FROM ${t}`]);
          const failed = await rejection(
            tx.batch([`INSERT INTO ${t} (id, name) VALUES (3, 'c')`, `INSERT INTO ${t} (id, name) VALUES (1, 'dup')`, `SELECT 1`]),
          );
          const inside = await tx.execute(`SELECT count(*) AS n FROM ${t}`);
          outcome = { joined: joined.map(plain), failed: errorShape(failed, t), inside: plain(inside), closed: tx.closed };
          await tx.rollback();
        } finally {
          tx.close();
        }
        outcome.afterRollback = plain(await client.execute(`SELECT count(*) AS n FROM ${t}`));
        outcomes.push(outcome);
      }
      expect(outcomes[1]).toStrictEqual(outcomes[0]);
      await expectNoTransaction(sides.pooled);
    });
  });

  test('a batch inside a transaction stops once a statement ends it', async () => {
    // Where the client's connection cannot ask whether a transaction is open
    // (its WebSocket speaks Hrana 2), it runs what follows outside of one: the
    // pool stops instead, as the client over HTTP.
    await withSides(backend, async ({ pooled }) => {
      const t = table();
      await pooled.execute(create(t));
      const tx = await pooled.transaction('write');
      const ended = await rejection(tx.batch([`INSERT INTO ${t} (id, name) VALUES (4, 'd')`, 'ROLLBACK', `INSERT INTO ${t} (id, name) VALUES (5, 'e')`]));
      expect(errorShape(ended, t)).toMatchObject({ class: 'LibsqlBatchError', code: 'TRANSACTION_CLOSED', statementIndex: 2 });
      expect(tx.closed).toBe(true);
      tx.close();
      expect((await pooled.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n).toBe(0);
      // The same in a batch of its own: what ran before its COMMIT stays, nothing runs after it.
      const own = await rejection(
        pooled.batch([`INSERT INTO ${t} (id, name) VALUES (6, 'f')`, 'COMMIT', `INSERT INTO ${t} (id, name) VALUES (7, 'g')`]),
      );
      expect(errorShape(own, t)).toMatchObject({ class: 'LibsqlBatchError', code: 'TRANSACTION_CLOSED', statementIndex: 2 });
      expect(plain(await pooled.execute(`SELECT id FROM ${t}`))).toMatchObject({ rows: [{ values: [6] }] });
      await expectNoTransaction(pooled);
    });
  });

  test('statements leaving the cache while a batch is put together are sent as text', async () => {
    // Each text is stored on the server when first used: with a cache of
    // four, most are evicted (and their stored SQL released) before the batch is sent.
    const url = urlOf(backend);
    const pooled = await createPooledClient({ url, max: 1, statementCache: { maxSize: 4, maxPerConnection: 4 } });
    try {
      const t = table();
      await pooled.execute(create(t));
      const texts = Array.from({ length: 12 }, (_, i) => `INSERT INTO ${t} (name, score) VALUES (?, ${i})`);
      for (const sql of texts) await pooled.execute({ sql, args: ['warm'] });
      const stmts = [...texts, ...texts].map((sql) => ({ sql, args: ['batch'] }));
      const results = await pooled.batch([...stmts, `SELECT count(*) AS n FROM ${t} WHERE name = 'batch'`]);
      expect(results[stmts.length]!.rows[0]!.n).toBe(24);
      await expectNoTransaction(pooled);
    } finally {
      await pooled.pool.close();
    }
  });

  test('a batch in a lease’s manual transaction joins it: no BEGIN or COMMIT of its own', async () => {
    await withSides(backend, async ({ pooled }) => {
      const t = table();
      await pooled.execute(create(t));
      await pooled.pool.use(async (lease) => {
        await lease.execute('BEGIN');
        const results = await lease.batch([`INSERT INTO ${t} (name) VALUES ('a')`, `SELECT count(*) AS n FROM ${t}`], 'write');
        expect(results[1]!.rows[0]!.n).toBe(1);
        expect(lease.inTransaction()).toBe(true);
        const error = await rejection(lease.batch([`INSERT INTO ${t} (name) VALUES (NULL)`]));
        expect(errorShape(error, t)).toMatchObject({ class: 'LibsqlBatchError', code: 'SQLITE_CONSTRAINT', statementIndex: 0 });
        expect(lease.inTransaction()).toBe(true);
        await lease.execute('ROLLBACK');
        expect(lease.inTransaction()).toBe(false);
      });
      expect((await pooled.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n).toBe(0);
    });
  });

  test('a 2,001-statement batch', async () => {
    await withSides(backend, async (sides) => {
      await sameForAll(sides, async (s, t) => {
        await s.execute(create(t));
        const stmts: InStatement[] = [];
        for (let i = 0; i < 2000; i++) stmts.push({ sql: `INSERT INTO ${t} (name, score) VALUES (?, ?)`, args: [`n${i}`, i / 2] });
        stmts.push(`SELECT count(*) AS n, sum(score) AS s FROM ${t}`);
        const results = await s.batch(stmts, 'write');
        return { length: results.length, first: plain(results[0]!), last: plain(results[2000]!) };
      });
      await expectNoTransaction(sides.pooled);
    });
  });

  test('SELECT * in a batch follows a schema changed on another connection', async () => {
    await withSides(backend, async ({ client, pooled }) => {
      const t = table();
      await client.execute(create(t));
      await client.execute(`INSERT INTO ${t} (id, name) VALUES (1, 'a')`);
      const star = `SELECT * FROM ${t}`;
      const before = await pooled.batch([star, `SELECT 1`]);
      expect(before[0]!.columns).toHaveLength(6);
      await client.execute(`ALTER TABLE ${t} ADD COLUMN extra TEXT DEFAULT 'x'`);
      const results = await pooled.batch([`INSERT INTO ${t} (id, name) VALUES (2, 'b')`, star, `SELECT count(*) AS n FROM ${t}`, star]);
      const expected = await client.batch([`SELECT 1`, star, `SELECT count(*) AS n FROM ${t}`, star]);
      expect(results.slice(1).map(plain)).toStrictEqual(expected.slice(1).map(plain));
      // A failure after a SELECT * still rolls back everything before it.
      const error = await rejection(pooled.batch([`INSERT INTO ${t} (id, name) VALUES (3, 'c')`, star, `INSERT INTO ${t} (id) VALUES (4)`]));
      expect(errorShape(error, t)).toMatchObject({ class: 'LibsqlBatchError', code: 'SQLITE_CONSTRAINT', statementIndex: 2 });
      expect((await client.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n).toBe(2);
      await expectNoTransaction(pooled);
    });
  });

  test('migrate is the client’s, and leaves foreign keys as they were', async () => {
    await withSides(backend, async (sides) => {
      const foreignKeys = async () => (await sides.pooled.execute('PRAGMA foreign_keys')).rows[0]![0];
      const before = await foreignKeys();
      const outcomes: unknown[] = [];
      for (const client of [sides.client, sides.pooled] as Client[]) {
        const t = table();
        const results = await client.migrate([create(t), `INSERT INTO ${t} (id, name) VALUES (1, 'a')`, `SELECT * FROM ${t}`]);
        const failed = await rejection(client.migrate([`INSERT INTO ${t} (id, name) VALUES (2, 'b')`, `INSERT INTO ${t} (id) VALUES (3)`]));
        outcomes.push({ results: results.map(plain), failed: errorShape(failed, t), rows: plain(await client.execute(`SELECT id FROM ${t}`)) });
      }
      expect(outcomes[1]).toStrictEqual(outcomes[0]);
      expect(await foreignKeys()).toBe(before);
      await expectNoTransaction(sides.pooled);
    });
  });

  test('a batch is traced statement by statement', async () => {
    await withSides(backend, async ({ pooled }) => {
      const seen: string[] = [];
      const subscribers = {
        start: (context: unknown) => void seen.push((context as QueryContext).sql),
        end: () => undefined,
        asyncStart: () => undefined,
        asyncEnd: () => undefined,
        error: () => undefined,
      };
      queryChannel.subscribe(subscribers);
      try {
        await pooled.batch(['SELECT 1', 'SELECT 2']);
      } finally {
        queryChannel.unsubscribe(subscribers);
      }
      // A file's batch runs its BEGIN and COMMIT as statements of their own.
      expect(seen).toEqual(backend === 'file' ? ['BEGIN DEFERRED', 'SELECT 1', 'SELECT 2', 'COMMIT'] : ['SELECT 1', 'SELECT 2']);
    });
  });

  test('executeMultiple succeeds and fails as the client’s, and leaves no transaction open', async () => {
    await withSides(backend, async (sides) => {
      await sameForAll(sides, async (s, t) => {
        await s.executeMultiple(`${create(t)}; INSERT INTO ${t} (id, name) VALUES (1, 'a'); INSERT INTO ${t} (id, name) VALUES (2, 'b');`);
        const failed = await rejection(
          s.executeMultiple(`BEGIN; INSERT INTO ${t} (id, name) VALUES (3, 'c'); INSERT INTO ${t} (id, name) VALUES (1, 'dup'); COMMIT;`),
        );
        const rows = await s.execute(`SELECT id FROM ${t} ORDER BY id`);
        return { failed: { class: (failed as Error).constructor.name, code: (failed as LibsqlError).code }, rows: plain(rows) };
      });
      await expectNoTransaction(sides.pooled);
    });
  });
});

/**
 * A proxy on 127.0.0.1 in front of sqld's HTTP port that counts the requests
 * going through it.
 */
async function countingProxy(target: string): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  const to = new URL(target);
  let count = 0;
  const server: Server = createServer((req, res) => {
    count++;
    const upstream = request(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    count: () => count,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

test('over HTTP a batch, and a script, is one request, as in the client', async () => {
  const proxy = await countingProxy(servers.http);
  try {
    await withSides(
      'http',
      async ({ client, pooled }) => {
        const t = table();
        // Both ends found their protocol version and opened their connection beforehand.
        await client.execute(create(t));
        await pooled.execute('SELECT 1');
        const stmts: InStatement[] = [];
        for (let i = 0; i < 200; i++) stmts.push({ sql: `INSERT INTO ${t} (name) VALUES (?)`, args: [`n${i}`] });
        const counted = async (run: () => Promise<unknown>): Promise<number> => {
          const before = proxy.count();
          await run().catch(() => undefined);
          return proxy.count() - before;
        };
        const requests = {
          batch: [await counted(() => client.batch(stmts)), await counted(() => pooled.batch(stmts))],
          failing: [
            await counted(() => client.batch([...stmts, 'SELEC nope'])),
            await counted(() => pooled.batch([...stmts, 'SELEC nope'])),
          ],
          script: [
            await counted(() => client.executeMultiple(`INSERT INTO ${t} (name) VALUES ('x'); SELECT 1;`)),
            await counted(() => pooled.executeMultiple(`INSERT INTO ${t} (name) VALUES ('x'); SELECT 1;`)),
          ],
        };
        expect(requests).toEqual({ batch: [1, 1], failing: [1, 1], script: [1, 1] });
        expect((await pooled.execute(`SELECT count(*) AS n FROM ${t}`)).rows[0]!.n).toBe(402);
      },
      { url: proxy.url },
    );
  } finally {
    await proxy.close();
  }
});

test('over HTTP a statement run once is one request: a text not yet kept in the cache is sent, not stored and then released', async () => {
  const proxy = await countingProxy(servers.http);
  try {
    const pool = await createPool({ url: proxy.url, max: 1 });
    const opened = proxy.count();
    // Three first sightings: the cache keeps a text from its second run on.
    for (const n of [41, 42, 43]) await pool.execute(`SELECT ${n}`);
    await pool.close();
    // One request each (closing the stream rides on the last): storing each
    // text would have cost more requests to release it.
    expect(proxy.count() - opened).toBe(3);
  } finally {
    await proxy.close();
  }
});
