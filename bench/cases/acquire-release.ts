import * as genericPool from 'generic-pool';
import { Pool as TarnPool } from 'tarn';
import { createPool } from '../../lib';
import { openRaw } from '../support/fixture';
import { find, measure, measureOptions, type VariantSpec } from '../support/measure';
import { usPerOp } from '../support/notes';
import { emitReport, ratioOf, type Comparison, type VariantResult } from '../support/protocol';

/** Acquire/release pairs per tinybench iteration. */
const B = 1000;

async function main(): Promise<void> {
  const started = performance.now();
  // One connection (`:memory:` pools are size 1), so every acquire finds it idle.
  const pool = await createPool({ url: ':memory:' });
  const observed = await createPool({ url: ':memory:' });
  let events = 0;
  observed.on('checkout', () => events++);
  observed.on('checkin', () => events++);

  // The same trivial resource for both: a plain object, min 1 / max 1, created up front.
  const tarn = new TarnPool<object>({ create: async () => ({}), destroy: () => undefined, min: 1, max: 1 });
  const generic = genericPool.createPool<object>(
    { create: async () => ({}), destroy: async () => undefined },
    { min: 1, max: 1 },
  );
  // For the diagnostics: costs inside the pool's pair, timed on their own.
  const memoryDb = openRaw(':memory:');
  let sink = 0;
  tarn.release(await tarn.acquire().promise);
  await generic.release(await generic.acquire());

  const variants: VariantSpec[] = [
    {
      name: 'pool',
      label: 'pool: await acquire(); lease.release()',
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) (await pool.acquire()).release();
      },
    },
    {
      name: 'tarn',
      label: 'tarn: await acquire().promise; release(r)',
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) tarn.release(await tarn.acquire().promise);
      },
    },
    {
      name: 'generic-pool',
      label: 'generic-pool: await acquire(); release(r)',
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) void generic.release(await generic.acquire());
      },
    },
    {
      name: 'pool-events',
      label: '(diag) pool with checkout + checkin listeners',
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) (await observed.acquire()).release();
      },
    },
    {
      name: 'clock',
      label: '(diag) 2× performance.now()',
      opsPerIteration: B,
      fn: () => {
        for (let i = 0; i < B; i++) sink += performance.now() + performance.now();
      },
    },
    {
      name: 'in-transaction',
      label: '(diag) libsql db.inTransaction read',
      opsPerIteration: B,
      fn: () => {
        for (let i = 0; i < B; i++) if (memoryDb.inTransaction) sink++;
      },
    },
  ];

  const results = await measure(variants, measureOptions());
  memoryDb.close();
  if (sink === -1) console.error(sink); // keeps the diagnostic loops from being optimised away
  const totals = pool.stats().totals;
  await pool.close();
  await observed.close();
  await tarn.destroy();
  await generic.drain();
  await generic.clear();

  const poolR = find(results, 'pool');
  const tarnR = find(results, 'tarn');
  const genericR = find(results, 'generic-pool');
  const faster = [tarnR, genericR]
    .filter((r) => r !== undefined)
    .sort((a, b) => b!.opsPerSec - a!.opsPerSec)[0];
  const ratio = ratioOf(poolR, faster);
  const met = ratio === null ? null : ratio >= 2;
  const comparison: Comparison = {
    subject: 'pool',
    baseline: faster?.name ?? 'tarn',
    ratio,
    goal: 2,
    goalText: '>= 2x the faster of tarn, generic-pool',
    met,
  };
  const withEvents = find(results, 'pool-events');
  const clock = find(results, 'clock');
  const inTx = find(results, 'in-transaction');
  const µs = (v: VariantResult) => `${usPerOp(v).toFixed(2)} µs`;
  if (met === false && poolR !== undefined && faster !== undefined) {
    comparison.note = [
      `pool ${µs(poolR)} per acquire+release vs ${faster.name} ${µs(faster)}`,
      clock && `of which 2 clock reads (performance.now() at checkout and at checkin, for waitedMs/heldMs and idle time) ${µs(clock)}`,
      inTx && `(not paid here: a lease that ran nothing skips the libsql inTransaction check, ${µs(inTx)})`,
      withEvents && `with checkout + checkin listeners the pair takes ${µs(withEvents)}`,
    ]
      .filter(Boolean)
      .join('; ');
  }
  emitReport({
    case: 'acquire-release',
    title: 'Acquire + release, idle connection',
    status: 'ok',
    variants: results,
    comparisons: [comparison],
    metrics: { poolAcquired: totals.acquired, poolReleased: totals.released, listenerCalls: events },
    notes: [
      "The pool's lease is a fresh PooledConnection per checkout (a released handle must stay dead); release records " +
        'stats and returns the connection to the idle stack, asking the driver for an open transaction only if the ' +
        'lease ran something. tarn and generic-pool hand out a plain object.',
    ],
    env: { pairsPerIteration: B, poolUrl: ':memory:' },
    durationMs: Math.round(performance.now() - started),
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
