import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client, type Config } from '@libsql/client';
import { LibsqlError, PoolError, createPool, createPooledClient, type PoolConfig } from '../../lib';
import { servers, table } from '../support/remote';

// `createPooledClient` takes `createClient`'s config and fails as it fails:
// each case runs the same assertions against both. What must stay different
// is named in a test below (`a difference:`) and listed in docs/drop-in.md.

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'libsql-pool-parity-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
let files = 0;
/** A database file of its own. */
const fileUrl = (): string => `file:${join(dir, `db${files++}.db`)}`;

/** Opens both (the plain client's `createClient` is synchronous) and always closes them. */
async function withBoth<T>(config: Config, fn: (client: Client, pooled: Client) => Promise<T>): Promise<T> {
  const client = createClient(config);
  let pooled: Client | undefined;
  try {
    pooled = await createPooledClient(config as PoolConfig);
    return await fn(client, pooled);
  } finally {
    client.close();
    if (pooled !== undefined) {
      pooled.close();
      await (pooled as Awaited<ReturnType<typeof createPooledClient>>).pool.close();
    }
  }
}

/** What a call threw, in the terms compared: class, code and message. */
function failure(error: unknown): { class: string; code: unknown; message: string } {
  const e = error as Error & { code?: unknown };
  return { class: e.constructor.name, code: e.code, message: e.message };
}

function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('a config createClient refuses fails the same way in createPooledClient', () => {
  const http = 'http://127.0.0.1:8080';
  // Every case fails before anything is opened, in the client as in the pool.
  const cases: Array<[string, unknown]> = [
    ['a URL string instead of a config', 'libsql://db.example.com'],
    ['no config', undefined],
    ['null', null],
    ['no url', {}],
    ['an empty url', { url: '' }],
    ['a number as url', { url: 42 }],
    ['an unknown scheme', { url: 'postgres://db' }],
    ['libsql: with ?tls=0 and no port', { url: 'libsql://db.example.com?tls=0' }],
    ['libsql: with tls: false and no port', { url: 'libsql://db.example.com', tls: false }],
    ['an unknown query parameter', { url: 'libsql://db.example.com?foo=1' }],
    ['an unknown query parameter on a file', { url: 'file:x.db?cache=shared' }],
    ['?tls=2', { url: 'libsql://db.example.com?tls=2' }],
    ['ws: with ?tls=1', { url: 'ws://127.0.0.1:8080?tls=1' }],
    ['wss: with ?tls=0', { url: 'wss://db.example.com?tls=0' }],
    ['http: with tls: true', { url: http, tls: true }],
    ['https: with tls: false', { url: 'https://db.example.com', tls: false }],
    ['a fragment', { url: 'file:x.db#part' }],
    ['a file URL with a host', { url: 'file://host/x.db' }],
    ['a file URL with a port', { url: 'file://localhost:3/x.db' }],
    ['a file URL with credentials', { url: 'file://user:pw@/x.db' }],
    ['an in-memory replica', { url: ':memory:', syncUrl: http }],
    ['an unknown cache mode', { url: 'file::memory:?cache=none' }],
    ['an encryptionKey over HTTP', { url: http, encryptionKey: 'k' }],
    ['an encryptionKey over WebSocket', { url: 'ws://127.0.0.1:8080', encryptionKey: 'k' }],
    ['an unknown intMode', { url: 'file:x.db', intMode: 'float' }],
    ['a URL the WHATWG parser refuses', { url: 'http://' }],
  ];

  test.each(cases)('%s', async (_name, config) => {
    const expected = failure(thrownBy(() => createClient(config as Config)));
    // Thrown by the call itself, as `createClient` throws, not a rejected promise.
    const error = thrownBy(() => createPooledClient(config as PoolConfig));
    expect(failure(error)).toEqual(expected);
    // `createPool` keeps its own error, with the client's as `cause`.
    if (config !== null && typeof config === 'object' && typeof (config as Config).url === 'string') {
      const poolError = await createPool(config as PoolConfig).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(poolError).toBeInstanceOf(PoolError);
      expect(poolError).toMatchObject({ code: 'INVALID_CONFIG' });
      // (An empty `url` fails the pool's own field check first, with no cause.)
      if (expected.class === 'LibsqlError' && (config as Config).url !== '') {
        expect(failure((poolError as PoolError).cause)).toEqual(expected);
      }
    }
  });
});

describe('every field of the client config is accepted, with the client meaning', () => {
  const fetchFn = (request: Request): Promise<Response> => fetch(request);
  /** `[name, url, extra config]`: both clients must open with it and run a statement. */
  const cases: Array<[string, () => string, Partial<Config>]> = [
    ['timeout on a file', fileUrl, { timeout: 500 }],
    ['concurrency on a file', fileUrl, { concurrency: 3 }],
    ['concurrency 0 (the default) on a file', fileUrl, { concurrency: 0 }],
    ['tls on a file', fileUrl, { tls: false }],
    ['readYourWrites and offline on a file', fileUrl, { readYourWrites: false, offline: true }],
    ['fetch on a file', fileUrl, { fetch: fetchFn }],
    ['syncInterval without syncUrl', fileUrl, { syncInterval: 5 }],
    ['authToken and intMode on a file', fileUrl, { authToken: 'unused', intMode: 'bigint' }],
    ['timeout on ws', () => servers.ws, { timeout: 500 }],
    ['tls: false on ws', () => servers.ws, { tls: false }],
    ['concurrency on ws', () => servers.ws, { concurrency: 2 }],
    ['fetch on ws (unused)', () => servers.ws, { fetch: fetchFn }],
    ['remoteEncryptionKey on ws (unused)', () => servers.ws, { remoteEncryptionKey: 'k' }],
    ['fetch on http', () => servers.http, { fetch: fetchFn }],
    ['tls: false on http', () => servers.http, { tls: false }],
    ['concurrency on http', () => servers.http, { concurrency: 2 }],
    ['a syncUrl beside a server URL (ignored)', () => servers.http, { syncUrl: servers.http }],
    ['libsql: with ?tls=0 and a port', () => servers.http.replace(/^http:/, 'libsql:') + '?tls=0', {}],
    ['libsql: with tls: false and a port', () => servers.http.replace(/^http:/, 'libsql:'), { tls: false }],
  ];

  test.each(cases)('%s', async (_name, url, extra) => {
    await withBoth({ url: url(), ...extra }, async (client, pooled) => {
      expect(pooled.protocol).toBe(client.protocol);
      expect(pooled.closed).toBe(client.closed);
      const [a, b] = await Promise.all([client.execute('SELECT 1 AS one'), pooled.execute('SELECT 1 AS one')]);
      expect(b.columns).toEqual(a.columns);
      expect(b.rows.map((row) => Number(row[0]))).toEqual(a.rows.map((row) => Number(row[0])));
    });
  });

  test("the client's Config type is accepted as it is", async () => {
    const config: Config = { url: fileUrl(), timeout: 10, concurrency: 2, tls: false, fetch: fetchFn };
    const pooled = await createPooledClient(config);
    expect(pooled.pool.config).toMatchObject({ busyTimeoutMs: 10, max: 2 });
    await pooled[Symbol.asyncDispose]();
  });

  test('concurrency is max when max is not given, and max wins when it is', async () => {
    const url = fileUrl();
    const a = await createPooledClient({ url, concurrency: 3 });
    const b = await createPooledClient({ url, concurrency: 3, max: 5 });
    const c = await createPooledClient({ url });
    expect([a.pool.config.max, b.pool.config.max, c.pool.config.max]).toEqual([3, 5, 10]);
    await Promise.all([a, b, c].map((p) => p[Symbol.asyncDispose]()));
  });

  test('timeout and busyTimeoutMs that disagree are refused; equal ones are one setting', async () => {
    const url = fileUrl();
    await expect(createPooledClient({ url, timeout: 100, busyTimeoutMs: 200 })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringMatching(/timeout.*busyTimeoutMs/),
    });
    const pooled = await createPooledClient({ url, timeout: 100, busyTimeoutMs: 100 });
    expect(pooled.pool.config.busyTimeoutMs).toBe(100);
    await pooled[Symbol.asyncDispose]();
  });
});

describe('libsql: URLs and protocol', () => {
  test('a libsql: URL speaks HTTP, as the client on Node, and protocol says so', async () => {
    const url = `${servers.http.replace(/^http:/, 'libsql:')}?tls=0`;
    await withBoth({ url }, async (client, pooled) => {
      expect(client.protocol).toBe('http');
      expect(pooled.protocol).toBe('http');
      const name = table();
      await pooled.execute(`CREATE TABLE ${name} (x)`);
      await pooled.execute(`INSERT INTO ${name} VALUES (1)`);
      expect((await client.execute(`SELECT count(*) FROM ${name}`)).rows[0]![0]).toBe(1);
      await client.execute(`DROP TABLE ${name}`);
    });
  });

  test('createPool keeps WebSocket for libsql: URLs (its documented reading)', async () => {
    const pool = await createPool({ url: `${servers.ws.replace(/^ws:/, 'libsql:')}?tls=0` });
    expect(pool.config.protocol).toBe('ws');
    await pool.close();
  });
});

describe('fetch', () => {
  test('every HTTP request of the pooled client goes through the given fetch', async () => {
    const original = globalThis.fetch;
    let custom = 0;
    let global = 0;
    globalThis.fetch = ((...args: Parameters<typeof fetch>) => {
      global++;
      return original(...args);
    }) as typeof fetch;
    try {
      const counting = (request: Request): Promise<Response> => {
        expect(request).toBeInstanceOf(Request);
        custom++;
        return original(request);
      };
      const pooled = await createPooledClient({ url: servers.http, fetch: counting, min: 2 });
      const name = table();
      await pooled.execute(`CREATE TABLE ${name} (x)`);
      await pooled.batch([`INSERT INTO ${name} VALUES (1)`, `INSERT INTO ${name} VALUES (2)`]);
      const tx = await pooled.transaction();
      await tx.execute(`INSERT INTO ${name} VALUES (3)`);
      await tx.commit();
      await pooled.executeMultiple(`DROP TABLE ${name};`);
      await pooled[Symbol.asyncDispose]();
      expect(custom).toBeGreaterThanOrEqual(6);
      expect(global).toBe(0);
    } finally {
      globalThis.fetch = original;
    }
  });
});

describe('busy timeout on a file', () => {
  /**
   * A write through `client` while another connection holds the write lock:
   * how long it waited, and whether it settled before the event loop's next
   * turn (a write that waits for the lock at all cannot).
   */
  async function lockedWrite(url: string, client: Client): Promise<{ ms: number; error: unknown; atOnce: boolean }> {
    const holder = createClient({ url });
    const tx = await holder.transaction('write');
    await tx.execute('INSERT INTO t VALUES (1)');
    let nextTurn = false;
    setImmediate(() => (nextTurn = true));
    const start = performance.now();
    try {
      await client.execute('INSERT INTO t VALUES (2)');
      return { ms: performance.now() - start, error: undefined, atOnce: !nextTurn };
    } catch (error) {
      return { ms: performance.now() - start, error, atOnce: !nextTurn };
    } finally {
      await tx.rollback();
      holder.close();
    }
  }

  async function prepared(): Promise<string> {
    const url = fileUrl();
    const setup = createClient({ url });
    await setup.execute('CREATE TABLE t (x)');
    setup.close();
    return url;
  }

  test('without timeout both fail at once with SQLITE_BUSY (the client sets no busy timeout)', async () => {
    const url = await prepared();
    await withBoth({ url }, async (client, pooled) => {
      for (const c of [client, pooled]) {
        const { error, atOnce } = await lockedWrite(url, c);
        expect(error).toBeInstanceOf(LibsqlError);
        expect(error).toMatchObject({ code: 'SQLITE_BUSY' });
        expect(atOnce).toBe(true);
      }
      expect((await client.execute('PRAGMA busy_timeout')).rows[0]![0]).toBe(0);
      expect((await pooled.execute('PRAGMA busy_timeout')).rows[0]![0]).toBe(0);
    });
  });

  test('with timeout: 500 both wait about 500 ms, then fail with SQLITE_BUSY', async () => {
    const url = await prepared();
    await withBoth({ url, timeout: 500 }, async (client, pooled) => {
      for (const c of [client, pooled]) {
        const { ms, error } = await lockedWrite(url, c);
        expect(error).toMatchObject({ code: 'SQLITE_BUSY' });
        // A lower bound only: a loaded machine can make a wait longer, never shorter.
        expect(ms).toBeGreaterThanOrEqual(450);
      }
    });
  });

  test('a difference: PRAGMA busy_timeout reads 0 through the pool, which waits off the event loop', async () => {
    const url = await prepared();
    await withBoth({ url, timeout: 500 }, async (client, pooled) => {
      expect((await client.execute('PRAGMA busy_timeout')).rows[0]![0]).toBe(500);
      expect((await pooled.execute('PRAGMA busy_timeout')).rows[0]![0]).toBe(0);
    });
  });

  test('createPool keeps its own default of 5000 ms', async () => {
    const pool = await createPool({ url: fileUrl() });
    expect(pool.config.busyTimeoutMs).toBe(5_000);
    await pool.close();
  });
});

describe('closed, sync() and settled transactions', () => {
  const targets: Array<[string, () => string]> = [
    ['a file', fileUrl],
    ['ws', () => servers.ws],
    ['http', () => servers.http],
  ];

  test.each(targets.slice(1))('sync() on %s throws SYNC_NOT_SUPPORTED synchronously, open or closed', async (_name, url) => {
    await withBoth({ url: url() }, async (client, pooled) => {
      const expected = failure(thrownBy(() => client.sync()));
      expect(failure(thrownBy(() => pooled.sync()))).toEqual(expected);
      client.close();
      pooled.close();
      expect(pooled.closed).toBe(client.closed);
      expect(failure(thrownBy(() => pooled.sync()))).toEqual(failure(thrownBy(() => client.sync())));
    });
  });

  test('a difference: sync() on a plain file is LibsqlError SYNC_NOT_SUPPORTED, where the client throws an untyped Error', async () => {
    await withBoth({ url: fileUrl() }, async (client, pooled) => {
      const plain = await client.sync().catch((e: unknown) => e);
      expect(plain).not.toBeInstanceOf(LibsqlError);
      await expect(pooled.sync()).rejects.toMatchObject({ code: 'SYNC_NOT_SUPPORTED' });
    });
  });

  test.each(targets)('on %s a settled transaction fails as in the client', async (name, url) => {
    await withBoth({ url: url() }, async (client, pooled) => {
      const outcomes = async (c: Client): Promise<unknown[]> => {
        const results: unknown[] = [];
        const settle = async (fn: () => Promise<unknown>): Promise<void> => {
          results.push(await fn().then(() => 'ok', failure));
        };
        const committed = await c.transaction();
        await committed.commit();
        results.push(committed.closed);
        await settle(() => committed.execute('SELECT 1'));
        await settle(() => committed.executeMultiple('SELECT 1;'));
        await settle(() => committed.commit());
        await settle(() => committed.rollback());
        const bad = await c.transaction();
        await settle(() => bad.executeMultiple('SELECT 1; SELEC 2;'));
        results.push(bad.closed);
        await settle(() => bad.commit());
        // Remotely the client checks the mode only when it sends BEGIN, with the first statement (below).
        if (name === 'a file') await settle(() => c.transaction('bogus' as never).then((tx) => tx.close()));
        return results;
      };
      expect(await outcomes(pooled)).toEqual(await outcomes(client));
    });
  });

  test.each(targets)('on %s closed calls fail with CLIENT_CLOSED (http: see the difference below)', async (name, url) => {
    await withBoth({ url: url() }, async (client, pooled) => {
      client.close();
      pooled.close();
      expect([pooled.closed, client.closed]).toEqual([true, true]);
      const pooledError = failure(await pooled.execute('SELECT 1').catch((e: unknown) => e));
      expect(pooledError).toEqual({ class: 'LibsqlError', code: 'CLIENT_CLOSED', message: 'CLIENT_CLOSED: The client is closed' });
      const clientError = failure(await client.execute('SELECT 1').catch((e: unknown) => e));
      // A difference: the client's HTTP mode reports a closed client as UNKNOWN.
      expect(clientError.code).toBe(name === 'http' ? 'UNKNOWN' : 'CLIENT_CLOSED');
    });
  });

  test.each(targets.slice(1))(
    'a difference: on %s a COMMIT inside executeMultiple ends the transaction, where the client goes on',
    async (_name, url) => {
      await withBoth({ url: url() }, async (client, pooled) => {
        const after = async (c: Client): Promise<unknown> => {
          const tx = await c.transaction();
          try {
            await tx.executeMultiple('SELECT 1; COMMIT;');
            return await tx.execute('SELECT 1').then(() => 'ok', failure);
          } finally {
            tx.close();
          }
        };
        expect(await after(client)).toBe('ok');
        expect(await after(pooled)).toMatchObject({ class: 'LibsqlError', code: 'TRANSACTION_CLOSED' });
      });
    },
  );
});

test.each([
  ['ws', () => servers.ws],
  ['http', () => servers.http],
])('a difference: on %s an unknown transaction mode fails in transaction(), where the client fails on the first statement', async (_name, url) => {
  await withBoth({ url: url() }, async (client, pooled) => {
    const tx = await client.transaction('bogus' as never);
    const clientError = await tx.execute('SELECT 1').catch((e: unknown) => e);
    tx.close();
    const pooledError = await pooled.transaction('bogus' as never).catch((e: unknown) => e);
    expect(failure(pooledError)).toEqual(failure(clientError));
    expect(pooledError).toBeInstanceOf(RangeError);
  });
});

describe('differences in what is accepted', () => {
  test('a difference: an empty file path is refused, where the client opens a private temporary database', async () => {
    const client = createClient({ url: 'file:' });
    client.close();
    await expect(createPooledClient({ url: 'file:' })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
  });

  test('a difference: an unknown field is refused, where the client ignores it', async () => {
    const url = fileUrl();
    createClient({ url, maxLifetime: 1 } as Config).close();
    await expect(createPooledClient({ url, maxLifetime: 1 } as PoolConfig)).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
      message: expect.stringContaining('maxLifetime'),
    });
  });

  test('a difference: a file that cannot be opened fails in createPooledClient with CONNECT_FAILED, its error as cause', async () => {
    const url = `file:${join(dir, 'missing', 'dir', 'x.db')}`;
    const clientError = thrownBy(() => createClient({ url }));
    const pooledError = await createPooledClient({ url }).catch((e: unknown) => e);
    expect(pooledError).toBeInstanceOf(PoolError);
    expect(pooledError).toMatchObject({ code: 'CONNECT_FAILED' });
    // The driver's error, with the client's text (it comes from the addon, another realm under jest).
    expect(((pooledError as PoolError).cause as Error).message).toBe((clientError as Error).message);
  });

  test('a difference: a file is put in WAL mode unless wal: false; max is 10, not 20', async () => {
    const url = fileUrl();
    await withBoth({ url }, async (client, pooled) => {
      expect((await pooled.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('wal');
      expect((await client.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('wal');
      expect((pooled as Awaited<ReturnType<typeof createPooledClient>>).pool.config.max).toBe(10);
    });
    await withBoth({ url: fileUrl(), wal: false } as Config, async (client, pooled) => {
      expect((await pooled.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('delete');
      expect((await client.execute('PRAGMA journal_mode')).rows[0]![0]).toBe('delete');
    });
  });
});
