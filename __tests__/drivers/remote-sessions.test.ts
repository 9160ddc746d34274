import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import * as hrana from '@libsql/hrana-client';
import { createClient } from '@libsql/client';
import { createPooledClient, type CloseEvent, type PooledConnection } from '../../lib';
import { servers, table, withRemotePool } from '../support/remote';

// A pooled remote connection is one server session. What the server holds
// open on it (a transaction) must be known from the server before the next
// caller gets it: otherwise that caller's writes join a transaction nobody
// will commit. Against the real sqld that the jest global set-up started.

/** Rows with `v` in `t`, read over a connection of its own (`@libsql/client`, a stream per call). */
async function countElsewhere(url: string, t: string, v: number): Promise<unknown> {
  const client = createClient({ url });
  try {
    return (await client.execute({ sql: `select count(*) as n from ${t} where v = ?`, args: [v] })).rows[0]!.n;
  } finally {
    client.close();
  }
}

/**
 * Ways a lease can leave its connection inside a server-side transaction.
 * Each leaves the lease released and returns what it left running, to be
 * awaited once the test is done.
 */
const triggers: Array<[string, (lease: PooledConnection, t: string) => Promise<unknown>]> = [
  [
    'an executeMultiple that fails after its own BEGIN',
    async (lease, t) => {
      await expect(lease.executeMultiple(`BEGIN; INSERT INTO ${t} VALUES (1); SELECT * FROM nosuchtable;`)).rejects.toThrow(
        /nosuchtable/,
      );
      lease.release();
    },
  ],
  [
    'a SAVEPOINT outside a transaction',
    async (lease) => {
      await lease.execute('SAVEPOINT s');
      lease.release();
    },
  ],
  [
    'a RELEASE of a savepoint nested in a transaction',
    async (lease) => {
      await lease.execute('BEGIN');
      await lease.execute('SAVEPOINT s');
      await lease.execute('RELEASE s');
      lease.release();
    },
  ],
  [
    'a ROLLBACK TO the savepoint that opened the transaction',
    async (lease) => {
      await lease.execute('SAVEPOINT s');
      await lease.execute('ROLLBACK /* not the transaction */ TO s');
      lease.release();
    },
  ],
  [
    'a BEGIN not awaited before release',
    async (lease) => {
      const begun = lease.execute('BEGIN');
      lease.release();
      return begun;
    },
  ],
  [
    'an INSERT inside a BEGIN, neither awaited before release',
    async (lease, t) => {
      const begun = lease.execute('BEGIN');
      const inserted = lease.execute(`INSERT INTO ${t} VALUES (1)`);
      lease.release();
      return Promise.all([begun, inserted]);
    },
  ],
];

describe.each(Object.entries(servers))('over %s, a connection is lent only outside a server-side transaction', (_protocol, url) => {
  test.each(triggers)("after %s, the next lease's INSERT is committed: seen elsewhere, and kept after close", async (_name, leave) => {
    const t = table();
    await withRemotePool(url, { max: 1 }, async (pool) => {
      await pool.execute(`create table ${t}(v)`);
      const leftRunning = await leave(await pool.acquire(), t);
      const next = await pool.acquire();
      try {
        expect(next.inTransaction()).toBe(false);
        await next.execute(`insert into ${t} values (42)`);
      } finally {
        next.release();
      }
      await leftRunning;
      expect(await countElsewhere(url, t, 42)).toBe(1);
    });
    await withRemotePool(url, {}, async (reopened) => {
      expect((await reopened.execute(`select count(*) as n from ${t} where v = 42`)).rows[0]!.n).toBe(1);
    });
    // What the trigger wrote inside its transaction was rolled back.
    expect(await countElsewhere(url, t, 1)).toBe(0);
  });

  test("a migration script that fails inside its transaction, run through the pooled client, leaves the next caller's writes committed", async () => {
    const t = table();
    const client = await createPooledClient({ url, max: 1 });
    try {
      await client.execute(`create table ${t}(v)`);
      await expect(client.executeMultiple(`BEGIN; INSERT INTO ${t} VALUES (1); SELECT * FROM nosuchtable;`)).rejects.toThrow(
        /nosuchtable/,
      );
      await client.execute(`insert into ${t} values (42)`);
      expect(await countElsewhere(url, t, 42)).toBe(1);
    } finally {
      client.close();
      await client.pool.close();
    }
    expect(await countElsewhere(url, t, 1)).toBe(0);
  });

  test('no lease is handed out while its connection is inside a transaction, whatever the previous lease left', async () => {
    const t = table();
    await withRemotePool(url, { max: 1 }, async (pool) => {
      await pool.execute(`create table ${t}(v)`);
      for (const [, leave] of triggers) {
        const leftRunning = await leave(await pool.acquire(), t);
        // The server's own answer: BEGIN fails inside a transaction.
        const next = await pool.acquire();
        try {
          await next.execute('BEGIN');
          await next.execute('ROLLBACK');
        } finally {
          next.release();
        }
        await leftRunning;
      }
    });
  });
});

/** The server behind an HTTP proxy that hides Hrana 3, as an older sqld would. */
async function hrana2Proxy(target: string): Promise<{ url: string; close: () => Promise<void> }> {
  const proxy = createHttpServer((req, res) => {
    if (req.url!.startsWith('/v3')) {
      res.writeHead(404).end();
      return;
    }
    const body: Buffer[] = [];
    req.on('data', (chunk: Buffer) => body.push(chunk));
    req.on('end', () => {
      fetch(new URL(req.url!, target), {
        method: req.method,
        headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
        body: req.method === 'GET' ? undefined : Buffer.concat(body),
      })
        .then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch(() => res.writeHead(502).end());
    });
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  const { port } = proxy.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      proxy.closeAllConnections();
      proxy.close();
      await once(proxy, 'close');
    },
  };
}

describe('over HTTP to a server that speaks only Hrana 2, which cannot say whether a transaction is open', () => {
  test("a connection that ran a script is closed with reason 'error' at release; one that ran BEGIN … COMMIT is lent again", async () => {
    const t = table();
    const proxy = await hrana2Proxy(servers.http);
    try {
      await withRemotePool(proxy.url, { max: 1 }, async (pool) => {
        const closed: CloseEvent[] = [];
        pool.on('close', (event) => closed.push(event));
        await pool.execute(`create table ${t}(v)`);
        // What BEGIN and COMMIT do is certain when they succeed: no need to ask.
        const first = await pool.acquire();
        await first.execute('BEGIN');
        await first.execute(`insert into ${t} values (1)`);
        await first.execute('COMMIT');
        first.release();
        const again = await pool.acquire();
        expect(again.connectionId).toBe(first.connectionId);
        // Where a script left the transaction, only the server knows.
        await again.executeMultiple(`insert into ${t} values (2); insert into ${t} values (3);`);
        again.release();
        expect(closed).toEqual([expect.objectContaining({ connectionId: first.connectionId, reason: 'error' })]);
        expect((await pool.execute(`select count(*) as n from ${t}`)).rows[0]!.n).toBe(3);
      });
    } finally {
      await proxy.close();
    }
  });
});

describe.each([
  ['ws', servers.ws, hrana.WsStream],
  ['http', servers.http, hrana.HttpStream],
] as const)('over %s, a connection whose transaction state cannot be learnt', (_protocol, url, Stream) => {
  afterEach(() => jest.restoreAllMocks());

  test("is closed with reason 'error' at release, never lent again", async () => {
    const t = table();
    await withRemotePool(url, { max: 1 }, async (pool) => {
      await pool.execute(`create table ${t}(v)`);
      const closed: CloseEvent[] = [];
      pool.on('close', (event) => closed.push(event));
      const lease = await pool.acquire();
      const first = lease.connectionId;
      const asked = jest
        .spyOn(Stream.prototype, 'getAutocommit')
        .mockImplementation(() => Promise.reject(new Error('no answer (injected)')));
      await lease.executeMultiple(`BEGIN; insert into ${t} values (1);`);
      lease.release();
      const next = await pool.acquire();
      try {
        expect(asked).toHaveBeenCalled();
        expect(closed).toEqual([expect.objectContaining({ connectionId: first, reason: 'error' })]);
        expect(next.connectionId).not.toBe(first);
        await next.execute(`insert into ${t} values (42)`);
      } finally {
        next.release();
      }
      expect(await countElsewhere(url, t, 42)).toBe(1);
      expect(await countElsewhere(url, t, 1)).toBe(0);
    });
  });
});
