/**
 * Quick start (`npm start`): a pool on a temporary file database, its lifecycle
 * events, its statement cache, and a speed check against `@libsql/client`
 * reading the same file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, type Client } from '@libsql/client';
import { AdaptiveConnectionPool } from '../lib';

const line = (event: string, text: string) => console.log(`  ${`[${event}]`.padEnd(10)} ${text}`);

/** Prints each lifecycle event as it happens. */
function printEvents(pool: AdaptiveConnectionPool): void {
  pool.on('create', (e) => line('create', `connection #${e.connectionId}`));
  pool.on('checkout', (e) => line('checkout', `connection #${e.connectionId} (use ${e.uses}, waited ${e.waitedMs.toFixed(2)} ms)`));
  pool.on('checkin', (e) => line('checkin', `connection #${e.connectionId} (held ${e.heldMs.toFixed(2)} ms)`));
  pool.on('close', (e) => line('close', `connection #${e.connectionId} (${e.reason})`));
}

const POINT_READ = 'SELECT id, name, value FROM t WHERE id = ?';
const ROWS = 1000;

/** Ops/s of `n` sequential point reads: each awaits the previous, as request handlers do. */
async function opsPerSecond(run: (sql: string, args: [number]) => Promise<unknown>, n: number): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < n; i++) await run(POINT_READ, [1 + ((i * 7919) % ROWS)]);
  return n / ((performance.now() - started) / 1000);
}

async function main(url: string): Promise<void> {
  // `createPool(config)` is `new` + `warmUp()`; split here so the listeners
  // also see the first connection open. warmUp opens `min` connections (at
  // least one), so a bad URL fails here rather than on first use.
  const pool = new AdaptiveConnectionPool({ url, min: 1, max: 4 });
  let client: Client | undefined;
  try {
    console.log('workload:');
    printEvents(pool);
    await pool.warmUp();
    await pool.execute('CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, value REAL NOT NULL)');

    // One transaction, one connection: the INSERT is prepared once and reused 999 times.
    await pool.transaction(async (tx) => {
      for (let i = 1; i <= ROWS; i++) {
        await tx.execute('INSERT INTO t (name, value) VALUES (?, ?)', [`item-${i}`, i / 4]);
      }
    });

    // Four reads at once: the idle connection takes the first, the others queue
    // and the pool opens connections for them (up to max).
    const [count, avg, top, like] = await Promise.all([
      pool.execute('SELECT count(*) AS n FROM t'),
      pool.execute('SELECT avg(value) AS v FROM t'),
      pool.execute('SELECT name FROM t ORDER BY value DESC LIMIT 1'),
      pool.execute({ sql: 'SELECT count(*) AS n FROM t WHERE name LIKE ?', args: ['item-1%'] }),
    ]);
    console.log(`  rows ${count.rows[0]!.n}, avg ${avg.rows[0]!.v}, top ${top.rows[0]!.name}, item-1* ${like.rows[0]!.n}`);

    // A batch runs in one transaction ('deferred' by default): all or nothing.
    const batch = await pool.batch([
      { sql: 'UPDATE t SET value = value * 2 WHERE id <= ?', args: [10] },
      ['INSERT INTO t (name, value) VALUES (?, ?)', ['extra', 0]],
    ]);
    console.log(`  batch: updated ${batch[0]!.rowsAffected}, inserted row ${batch[1]!.lastInsertRowid}`);

    // Throwing inside a transaction rolls it back: the DELETE never lands.
    const rows = async () => (await pool.execute('SELECT count(*) AS n FROM t')).rows[0]!.n;
    const before = await rows();
    const failed = await pool
      .transaction(async (tx) => {
        await tx.execute('DELETE FROM t');
        throw new Error('changed my mind');
      })
      .catch((error: Error) => error.message);
    console.log(`  rolled back (${failed}): rows ${before} -> ${await rows()}`);

    const s = pool.stats();
    const cache = s.statementCache!;
    console.log('stats:');
    console.log(`  statement cache: ${cache.hits} hits, ${cache.misses} misses, hit rate ${(cache.hitRate * 100).toFixed(1)}%`);
    console.log(`  connections: size ${s.size}, idle ${s.idle}, active ${s.active}`);
    console.log(`  acquire wait: p50 ${s.acquireWaitMs.p50.toFixed(3)} ms, p99 ${s.acquireWaitMs.p99.toFixed(3)} ms`);

    // Thousands of events would drown the speed test. (The pool evicts its own
    // statement cache without listeners, so removing them all is safe.)
    pool.removeAllListeners();
    client = createClient({ url });
    const c = client;
    const viaPool = (sql: string, args: [number]) => pool.execute(sql, args);
    const viaClient = (sql: string, args: [number]) => c.execute({ sql, args });
    await opsPerSecond(viaPool, 2000); // warm-up: JIT, page cache, prepared statements
    await opsPerSecond(viaClient, 2000);
    // Two alternating rounds of N/2 each side; keep each side's better round, so a
    // noisy moment on a shared machine hurts neither.
    const N = 20_000;
    const p1 = await opsPerSecond(viaPool, N / 2);
    const c1 = await opsPerSecond(viaClient, N / 2);
    const c2 = await opsPerSecond(viaClient, N / 2);
    const p2 = await opsPerSecond(viaPool, N / 2);
    const [poolOps, clientOps] = [Math.max(p1, p2), Math.max(c1, c2)];
    console.log(`speed: ${N.toLocaleString('en-US')} sequential point reads by primary key, each side (better of 2 rounds):`);
    console.log(`  libsql-pool      ${Math.round(poolOps).toLocaleString('en-US').padStart(9)} ops/s`);
    console.log(`  @libsql/client   ${Math.round(clientOps).toLocaleString('en-US').padStart(9)} ops/s`);
    console.log(`  pool is ${(poolOps / clientOps).toFixed(1)}x @libsql/client`);

    console.log('close:');
    printEvents(pool);
  } finally {
    client?.close();
    await pool.close(); // waits for leases, then closes every connection
  }
}

const dir = mkdtempSync(join(tmpdir(), 'libsql-pool-quickstart-'));
main(`file:${join(dir, 'quickstart.db')}`)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
