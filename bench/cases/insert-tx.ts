import { createClient } from '@libsql/client';
import { createPool } from '../../lib';
import { normaliseArgs } from '../../lib/drivers/args';
import { describeSql } from '../../lib/drivers/sql-text';
import { ResultSetImpl } from '../../lib/drivers/result';
import { SQL, createFixture, openRaw } from '../support/fixture';
import { MapOnlyCache } from '../support/map-cache';
import { find, measure, measureOptions, type VariantSpec } from '../support/measure';
import { breakdown, ceilings, joinNotes, type Layer } from '../support/notes';
import { emitReport, ratioOf, type Comparison } from '../support/protocol';

/** Inserts per transaction (and per tinybench iteration). */
const B = 200;

const LAYERS: Layer[] = [
  { variant: 'raw', adds: 'libsql .run' },
  { variant: 'raw-await', adds: 'an awaited async call' },
  { variant: 'raw-result', adds: 'args + ResultSet' },
  { variant: 'lease-map', adds: 'lease.execute path (Map lookup, checks, await)' },
  { variant: 'lease', adds: 'statement-cache LRU update' },
  { variant: 'pool', adds: 'pool.transaction (acquire, BEGIN/COMMIT via execute, release)' },
];

async function main(): Promise<void> {
  const started = performance.now();
  const fx = createFixture();
  const pool = await createPool({ url: fx.url });
  const client = createClient({ url: fx.url });
  const db = openRaw(fx.path);
  const ins = db.prepare(SQL.insert);
  const insResult = db.prepare(SQL.insert).safeIntegers(true);
  const shape = describeSql(SQL.insert).params;
  // What any promise-returning API adds to the synchronous driver: one async call awaited per statement.
  const runAwaited = async (args: unknown[]) => ins.run(args);
  const runAwaitedSafe = async (args: unknown) => insResult.run(args);
  const held = await pool.acquire();
  const mapPool = await createPool({ url: fx.url, statementCache: new MapOnlyCache() });
  const heldMap = await mapPool.acquire();
  let n = 0;

  const variants: VariantSpec[] = [
    {
      name: 'pool',
      label: 'pool.transaction + tx.execute × 200',
      opsPerIteration: B,
      fn: () =>
        pool.transaction(async (tx) => {
          for (let i = 0; i < B; i++) await tx.execute(SQL.insert, ['pool', n++]);
        }),
    },
    {
      name: 'raw',
      label: 'raw BEGIN; cached stmt.run × 200; COMMIT',
      opsPerIteration: B,
      fn: () => {
        db.exec('BEGIN IMMEDIATE');
        for (let i = 0; i < B; i++) ins.run(['raw', n++]);
        db.exec('COMMIT');
      },
    },
    {
      name: 'lease',
      label: '(diag) held lease: BEGIN; execute × 200; COMMIT',
      opsPerIteration: B,
      fn: async () => {
        await held.execute('BEGIN IMMEDIATE');
        for (let i = 0; i < B; i++) await held.execute(SQL.insert, ['lease', n++]);
        await held.execute('COMMIT');
      },
    },
    {
      name: 'lease-map',
      label: '(diag) same, cache without LRU update',
      opsPerIteration: B,
      fn: async () => {
        await heldMap.execute('BEGIN IMMEDIATE');
        for (let i = 0; i < B; i++) await heldMap.execute(SQL.insert, ['lease-map', n++]);
        await heldMap.execute('COMMIT');
      },
    },
    {
      name: 'raw-await',
      label: '(diag) raw BEGIN; await async stmt.run × 200; COMMIT',
      opsPerIteration: B,
      fn: async () => {
        db.exec('BEGIN IMMEDIATE');
        for (let i = 0; i < B; i++) await runAwaited(['raw-await', n++]);
        db.exec('COMMIT');
      },
    },
    {
      name: 'raw-result',
      label: '(diag) raw .run awaited + pool args/ResultSet',
      opsPerIteration: B,
      fn: async () => {
        db.exec('BEGIN IMMEDIATE');
        for (let i = 0; i < B; i++) {
          const info = await runAwaitedSafe(normaliseArgs(['raw', n++], 'number', shape));
          new ResultSetImpl([], [], [], info.changes, BigInt(info.lastInsertRowid));
        }
        db.exec('COMMIT');
      },
    },
    {
      name: 'client',
      label: "@libsql/client transaction('write') + tx.execute × 200",
      opsPerIteration: B,
      fn: async () => {
        const tx = await client.transaction('write');
        try {
          for (let i = 0; i < B; i++) await tx.execute({ sql: SQL.insert, args: ['client', n++] });
          await tx.commit();
        } finally {
          tx.close();
        }
      },
    },
  ];

  const results = await measure(variants, measureOptions());
  held.release();
  heldMap.release();
  await mapPool.close();
  const rows = Number((await pool.execute('SELECT count(*) FROM w')).rows[0]![0]);
  await pool.close();
  client.close();
  db.close();
  fx.cleanup();

  const split = breakdown(results, LAYERS);
  const comparisons: Comparison[] = [
    {
      baseline: 'client',
      goal: 5,
      goalText: '>= 5x client',
      note: joinNotes(split, ceilings(results, { name: 'client', text: 'client' }, [{ name: 'raw', text: 'raw .run' }])),
    },
    { baseline: 'raw', goal: 0.9, goalText: '>= 0.9x raw .run', note: split },
    { baseline: 'raw-await', goal: null, goalText: 'reference, no goal: raw .run awaited per statement', note: undefined },
  ].map(({ baseline, goal, goalText, note }: { baseline: string; goal: number | null; goalText: string; note: string | undefined }) => {
    const ratio = ratioOf(find(results, 'pool'), find(results, baseline));
    const met = ratio === null || goal === null ? null : ratio >= goal;
    const c: Comparison = { subject: 'pool', baseline, ratio, goal, goalText, met };
    if (note) c.note = note;
    return c;
  });
  emitReport({
    case: 'insert-tx',
    title: 'INSERT inside a transaction',
    status: 'ok',
    variants: results,
    comparisons,
    metrics: { rowsInserted: rows },
    env: { sql: SQL.insert, insertsPerTransaction: B },
    durationMs: Math.round(performance.now() - started),
  });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
