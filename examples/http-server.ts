/**
 * An HTTP server with one pool for the whole process: each request borrows a
 * connection only while it queries. On SIGTERM it stops accepting, lets the
 * requests in flight finish, closes the pool and exits 0.
 * Run: `npx ts-node --transpile-only examples/http-server.ts`, then
 * `curl 127.0.0.1:<port>/hits` or `/slow?ms=500`, and `kill -TERM <pid>`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createPool } from '../lib';

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'libsql-pool-http-'));
  const pool = await createPool({ url: process.env.DATABASE_URL ?? `file:${join(dir, 'app.db')}`, max: 8 });
  await pool.execute('CREATE TABLE IF NOT EXISTS hits (id INTEGER PRIMARY KEY, path TEXT NOT NULL)');
  let draining = false;

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, body?: unknown) => {
      // Once draining, tell keep-alive clients to go, so their sockets close
      // after this response (a request that began before SIGTERM included).
      if (draining) res.setHeader('connection', 'close');
      res.writeHead(status, { 'content-type': 'application/json' }).end(body === undefined ? undefined : JSON.stringify(body));
    };
    try {
      let body: unknown;
      if (url.pathname === '/hits') {
        // One statement per call: the pool lends a connection and takes it back.
        await pool.execute('INSERT INTO hits (path) VALUES (?)', [url.pathname]);
        body = { hits: (await pool.execute('SELECT count(*) AS n FROM hits')).rows[0]!.n };
      } else if (url.pathname === '/slow') {
        // Slow work inside a transaction: it holds its connection until it commits.
        const ms = Number(url.searchParams.get('ms') ?? 300);
        console.log(`slow request started (${ms} ms)`);
        body = await pool.transaction(async (tx) => {
          await tx.execute('INSERT INTO hits (path) VALUES (?)', [url.pathname]);
          await sleep(ms);
          return { slow: true, hits: (await tx.execute('SELECT count(*) AS n FROM hits')).rows[0]!.n };
        });
      } else {
        return send(404);
      }
      send(200, body);
    } catch (error) {
      send(500, { error: String(error) });
    }
  });

  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    console.log(`listening on port ${typeof address === 'object' && address !== null ? address.port : address}`);
  });

  process.once('SIGTERM', () => {
    console.log('SIGTERM: no new connections; finishing requests in flight');
    draining = true;
    // `close` stops accepting and calls back once every open socket has ended;
    // idle keep-alive sockets are closed now, busy ones after their response.
    server.close(async () => {
      await pool.close(); // every lease is back by now: nothing is cut off
      rmSync(dir, { recursive: true, force: true });
      console.log(`pool closed after ${pool.stats().totals.acquired} checkouts; bye`);
      // Nothing is left holding the event loop, so the process exits with code 0.
    });
    server.closeIdleConnections();
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
