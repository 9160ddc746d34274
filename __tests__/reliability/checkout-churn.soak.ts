import { readdirSync } from 'node:fs';
import { createPool } from '../../lib';
import { tempDir } from '../support/helpers';

// Soak (not in `npm test`: run `npm run test:soak`, which matches *.soak.ts and
// runs node with --expose-gc). One million checkouts with connection churn
// (`maxUses: 1000`): the heap after GC and the statement cache must stay
// bounded, and closed connections must give their descriptors back.
// SOAK_CHECKOUTS overrides the count.

const CHECKOUTS = Number(process.env.SOAK_CHECKOUTS ?? 1_000_000);
const WORKERS = 16;
const MAX = 8;
const MAX_USES = 1_000;
const DISTINCT_SQL = 24;
const MiB = 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
const fdCount = () => readdirSync('/proc/self/fd').length;

async function collect(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return process.memoryUsage().heapUsed;
}

const tmp = tempDir();
afterAll(() => tmp.dispose());

test(`${CHECKOUTS.toLocaleString('en')} checkouts with maxUses ${MAX_USES}: heap, statement cache and descriptors stay bounded`, async () => {
  if (gc === undefined) throw new Error('run the soak with node --expose-gc (npm run test:soak)');
  const pool = await createPool({ url: tmp.url('soak.db'), min: 2, max: MAX, maxUses: MAX_USES, acquireTimeoutMs: 60_000 });
  const setup = [
    'CREATE TABLE kv(k INTEGER PRIMARY KEY, v TEXT)',
    "WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 1000) INSERT INTO kv SELECT x, 'v' || x FROM s",
  ];
  for (const sql of setup) await pool.execute(sql);
  const statements = Array.from({ length: DISTINCT_SQL }, (_, i) => `SELECT v, ${i} AS q FROM kv WHERE k = ?`);
  const update = 'UPDATE kv SET v = v WHERE k = ?';
  /** Every SQL text this pool ever runs: the most one connection can have cached. */
  const distinct = new Set([...setup, ...statements, update]).size;
  const cache = pool.statementCache;
  if (cache === false) throw new Error('expected the default cache');

  const fdsBefore = fdCount();
  const heapBefore = await collect();
  const samples: Array<{ at: number; heapMiB: number; cache: number; connections: number; fds: number }> = [];
  let done = 0;
  let wrong = 0;
  let peakCache = 0;
  const every = Math.max(1, Math.floor(CHECKOUTS / 10));
  let nextSample = every;
  const started = performance.now();

  const worker = async (w: number) => {
    for (let i = w; done < CHECKOUTS; i += WORKERS) {
      const lease = await pool.acquire();
      try {
        const k = (i % 1000) + 1;
        const sql = statements[i % DISTINCT_SQL]!;
        const result = await lease.execute(sql, [k]);
        if (result.rows[0]?.v !== `v${k}`) wrong++;
        if (i % 100 === 0) await lease.execute(update, [k]);
      } finally {
        lease.release();
      }
      done++;
      if (cache.size > peakCache) peakCache = cache.size;
      if (done >= nextSample) {
        nextSample += every;
        // Sampled between checkouts, without stopping the others for long.
        samples.push({
          at: done,
          heapMiB: (process.memoryUsage().heapUsed - heapBefore) / MiB,
          cache: cache.size,
          connections: cache.connectionCount(),
          fds: fdCount() - fdsBefore,
        });
      }
    }
  };
  await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
  const seconds = (performance.now() - started) / 1000;
  const stats = pool.stats();
  const heapAfter = await collect();
  const fdsAfter = fdCount() - fdsBefore;
  await pool.close();
  const heapClosed = await collect();
  const fdsClosed = fdCount() - fdsBefore;

  const growthMiB = (heapAfter - heapBefore) / MiB;
  console.log(
    [
      `soak: ${done.toLocaleString('en')} checkouts in ${seconds.toFixed(1)} s (${Math.round(done / seconds).toLocaleString('en')}/s), ` +
        `${WORKERS} workers on max ${MAX}, maxUses ${MAX_USES}`,
      `  connections opened ${stats.totals.created}, closed for maxUses ${stats.totals.closed.maxUses}; ` +
        `acquire wait p50 ${stats.acquireWaitMs.p50.toFixed(3)} ms, p99 ${stats.acquireWaitMs.p99.toFixed(3)} ms`,
      `  heap after GC: ${(heapBefore / MiB).toFixed(1)} MiB before, ${(heapAfter / MiB).toFixed(1)} MiB after ` +
        `(growth ${growthMiB.toFixed(2)} MiB), ${(heapClosed / MiB).toFixed(1)} MiB after close`,
      `  statement cache: size ${cache.size} at the end, peak ${peakCache} (bound ${distinct} SQL texts x ${MAX} connections = ${distinct * MAX}), ` +
        `hit rate ${(stats.statementCache!.hitRate * 100).toFixed(2)}%, ${stats.statementCache!.cleared} entries cleared by closes`,
      `  fds above the start: ${fdsAfter} at the end (after GC; parked by SQLite, reused by new connections), ${fdsClosed} after close`,
      `  samples (heap growth without a forced GC, MiB / cache size / connections with entries / fds):`,
      ...samples.map(
        (s) => `    ${s.at.toLocaleString('en').padStart(9)}: ${s.heapMiB.toFixed(1)} / ${s.cache} / ${s.connections} / ${s.fds}`,
      ),
    ].join('\n'),
  );

  expect(done).toBeGreaterThanOrEqual(CHECKOUTS);
  expect(wrong).toBe(0);
  expect(stats.totals.acquired).toBeGreaterThanOrEqual(CHECKOUTS);
  expect(stats.totals.closed.maxUses).toBeGreaterThanOrEqual(Math.floor(CHECKOUTS / MAX_USES) - MAX);
  // The cache never holds more than each open connection's distinct statements,
  // whatever the churn: entries of closed connections leave with them.
  expect(peakCache).toBeLessThanOrEqual(distinct * MAX);
  for (const s of samples) expect(s.connections).toBeLessThanOrEqual(MAX);
  expect(cache.size).toBe(0);
  // One million checkouts and ~1000 connections later, the heap (after GC) is where it started.
  expect(growthMiB).toBeLessThan(8);
  // Descriptors of retired connections are parked by SQLite while others stay
  // open (see load.test.ts) and reused; once the pool closes, all come back.
  expect(fdsClosed).toBeLessThanOrEqual(0);
}, 30 * 60_000);
