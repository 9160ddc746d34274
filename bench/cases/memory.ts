import { createPool } from '../../lib';
import { createFixture } from '../support/fixture';
import { emitReport, type CaseReport } from '../support/protocol';

/**
 * Memory, not speed: heap and RSS per cached statement, and heap growth over a
 * million checkouts. Needs `--expose-gc` (bench/run.ts passes it).
 */
const STATEMENTS = Number(process.env.BENCH_MEMORY_STATEMENTS ?? 2000);
const CHECKOUTS = Number(process.env.BENCH_MEMORY_CHECKOUTS ?? 1_000_000);
/** "Bounded" for the checkout loop: less than this many bytes of heap left after it. */
const CHECKOUT_GROWTH_LIMIT = 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;

/** Heap and RSS after full collections; native statements are freed by GC finalizers, which need a few turns. */
async function settled(): Promise<{ heap: number; rss: number; external: number }> {
  for (let i = 0; i < 4; i++) {
    gc!();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, external: m.external };
}

const distinct = (i: number) => `SELECT id, name, value FROM t WHERE id = ? AND ${i} = ${i}`;

async function main(): Promise<void> {
  if (gc === undefined) throw new Error('run with node --expose-gc');
  const started = performance.now();
  const fx = createFixture();

  // 1. Bytes per cached statement: one connection, a cache big enough for all
  // of them, admitting each text on its first sighting (each runs only once here).
  const pool = await createPool({
    url: fx.url,
    max: 1,
    statementCache: { maxSize: STATEMENTS, maxPerConnection: STATEMENTS, admission: 'always' },
  });
  const lease = await pool.acquire();
  await lease.execute(distinct(-1), [1]); // warm every code path once
  const before = await settled();
  for (let i = 0; i < STATEMENTS; i++) await lease.execute(distinct(i), [1]);
  const cached = await settled();
  const perStatementHeap = (cached.heap - before.heap) / STATEMENTS;
  const perStatementRss = (cached.rss - before.rss) / STATEMENTS;
  const cacheSize = pool.stats().statementCache?.size ?? 0;

  // 2. The bound holds: as many again, new SQL, evicts rather than grows.
  for (let i = STATEMENTS; i < 2 * STATEMENTS; i++) await lease.execute(distinct(i), [1]);
  const overflowed = await settled();
  const cacheAfterOverflow = pool.stats().statementCache!;
  lease.release();
  await pool.close();
  const closed = await settled();

  // 3. A million checkouts on an idle connection: nothing should accumulate.
  const churn = await createPool({ url: fx.url, max: 1 });
  for (let i = 0; i < 10_000; i++) (await churn.acquire()).release(); // warm up
  const beforeChurn = await settled();
  const t0 = performance.now();
  for (let i = 0; i < CHECKOUTS; i++) (await churn.acquire()).release();
  const churnMs = performance.now() - t0;
  const afterChurn = await settled();
  const churnStats = churn.stats();
  await churn.close();
  fx.cleanup();

  const growth = afterChurn.heap - beforeChurn.heap;
  const bounded =
    growth < CHECKOUT_GROWTH_LIMIT &&
    cacheSize === STATEMENTS &&
    cacheAfterOverflow.size === STATEMENTS &&
    overflowed.heap - cached.heap < (cached.heap - before.heap) / 2;
  const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
  const report: CaseReport = {
    case: 'memory',
    title: 'Memory: cached statements, 1M checkouts',
    status: 'ok',
    variants: [],
    comparisons: [
      {
        subject: 'pool',
        baseline: '-',
        ratio: null,
        goal: null,
        goalText: 'bounded, reported',
        met: bounded,
        subjectCell:
          `${Math.round(perStatementHeap)} B heap + ${Math.round(perStatementRss)} B RSS per cached statement; ` +
          `heap ${growth >= 0 ? '+' : ''}${kb(growth)} after ${CHECKOUTS.toLocaleString('en-US')} checkouts`,
        baselineCell: '–',
        note:
          `cache held at ${cacheAfterOverflow.size} entries after ${2 * STATEMENTS + 1} distinct SQL ` +
          `(${cacheAfterOverflow.evictions} evicted; heap ${overflowed.heap >= cached.heap ? '+' : ''}${kb(overflowed.heap - cached.heap)} ` +
          `vs +${kb(cached.heap - before.heap)} for the first ${STATEMENTS}); checkout growth limit ${kb(CHECKOUT_GROWTH_LIMIT)}`,
      },
    ],
    metrics: {
      statements: STATEMENTS,
      heapPerStatementBytes: Math.round(perStatementHeap),
      rssPerStatementBytes: Math.round(perStatementRss),
      cacheSizeAfterFill: cacheSize,
      cacheSizeAfterOverflow: cacheAfterOverflow.size,
      evictions: cacheAfterOverflow.evictions,
      heapAfterOverflowDeltaBytes: overflowed.heap - cached.heap,
      heapAfterPoolCloseDeltaBytes: closed.heap - before.heap,
      checkouts: CHECKOUTS,
      checkoutsPerSec: Math.round((CHECKOUTS / churnMs) * 1000),
      heapBeforeCheckoutsBytes: beforeChurn.heap,
      heapAfterCheckoutsBytes: afterChurn.heap,
      heapGrowthAfterCheckoutsBytes: growth,
      checkoutHeapGrowthLimitBytes: CHECKOUT_GROWTH_LIMIT,
      rssGrowthAfterCheckoutsBytes: afterChurn.rss - beforeChurn.rss,
      acquiredTotal: churnStats.totals.acquired,
      bounded,
    },
    notes: [
      'Heap is V8 heapUsed after full GCs; a libsql statement lives mostly in native memory, which shows in RSS, ' +
        'not heapUsed. RSS is coarse (allocator pages), so its per-statement figure is indicative.',
    ],
    durationMs: Math.round(performance.now() - started),
  };
  emitReport(report);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
