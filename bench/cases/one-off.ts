import { setImmediate as nextTurn } from 'node:timers/promises';
import { createClient, type InStatement } from '@libsql/client';
import { createPool } from '../../lib';
import { leaseConnection } from '../../lib/pool/pooled-connection';
import { createFixture, idCycler } from '../support/fixture';
import { find, measure, measureOptions, type VariantSpec } from '../support/measure';
import { breakdown, usPerOp, type Layer } from '../support/notes';
import { emitReport, ratioOf, type Comparison, type VariantResult } from '../support/protocol';

/** Statements per tinybench iteration in the single-statement variants. */
const B = 50;
/** The batch: this many statements cycling through `TEXTS` distinct texts. */
const BATCH = 2001;
const TEXTS = 200;

/** The pool's path for a new text, layer by layer, each variant adding one to the one before. */
const LAYERS: Layer[] = [
  { variant: 'driver', adds: 'driver (describe, libsql prepare + all + columns, rows, ResultSet)' },
  { variant: 'lease', adds: 'lease path (session check, cache lookup and admission)' },
  { variant: 'pool', adds: 'pool.execute (acquire + release)' },
];

/**
 * Ends an iteration with a turn of the event loop. A statement no cache keeps
 * is freed only by its native finalizer, which Node runs from the event
 * loop, never between promise jobs: without a turn, no variant pays for the
 * statements it leaves behind, they pile up (4 KB each) for the whole run, and
 * whichever code turns the loop first pays for all of them.
 */
async function settle(work: Promise<unknown>): Promise<void> {
  await work;
  await nextTurn();
}

/**
 * SQL run once per text (generated SQL with its values inlined), where a
 * statement cache can only cost: the pool's default admission policy vs
 * `'always'` vs `@libsql/client`, one statement at a time and as one batch of
 * 2,001 statements cycling through 200 texts, twice the default per-connection bound.
 */
async function main(): Promise<void> {
  const started = performance.now();
  const fx = createFixture();
  const pool = await createPool({ url: fx.url });
  const always = await createPool({ url: fx.url, statementCache: { admission: 'always' } });
  const client = createClient({ url: fx.url });
  // The layers below the pool: a lease held throughout, and its driver connection.
  const layered = await createPool({ url: fx.url });
  const held = await layered.acquire();
  const connection = held[leaseConnection]();
  const next = idCycler();
  let unique = 0;
  // A new text every call: the id and a bound no two calls share are inlined.
  const adHoc = () => `SELECT id, name, value FROM t WHERE id = ${next()} AND value > ${-++unique}`;
  /** `B` statements, each a new text, one after another. */
  const each = async (run: (sql: string) => Promise<unknown>): Promise<void> => {
    for (let i = 0; i < B; i++) await run(adHoc());
  };
  const cycle: InStatement[] = Array.from({ length: BATCH }, (_, i) => ({
    sql: `SELECT id, name, value FROM t WHERE id = ? AND value > ${-(i % TEXTS) - 1}`,
    args: [(i % 1000) + 1],
  }));

  // Each compared pair runs back to back, so a busy spell of this shared
  // machine tends to land on both sides, and the layers of the pool's path
  // right after it; the other diagnostics come last.
  const variants: VariantSpec[] = [
    {
      name: 'pool',
      label: 'pool.execute(new text), default admission',
      opsPerIteration: B,
      fn: () => settle(each((sql) => pool.execute(sql))),
    },
    {
      name: 'client',
      label: '@libsql/client client.execute(new text)',
      opsPerIteration: B,
      fn: () => settle(each((sql) => client.execute(sql))),
    },
    {
      name: 'driver',
      label: '(diag) driver alone: connection.prepare(new text) + execute',
      opsPerIteration: B,
      fn: () => settle(each((sql) => connection.execute(connection.prepare(sql), undefined))),
    },
    {
      name: 'lease',
      label: '(diag) lease.execute(new text) on a held lease',
      opsPerIteration: B,
      fn: () => settle(each((sql) => held.execute(sql))),
    },
    {
      name: 'batch-pool',
      label: 'pool.batch, 2,001 stmts over 200 texts',
      opsPerIteration: BATCH,
      fn: () => settle(pool.batch(cycle, 'read')),
    },
    {
      name: 'batch-client',
      label: '@libsql/client client.batch, same',
      opsPerIteration: BATCH,
      fn: () => settle(client.batch(cycle, 'read')),
    },
    {
      name: 'pool-always',
      label: "(diag) pool.execute(new text), admission: 'always'",
      opsPerIteration: B,
      fn: () => settle(each((sql) => always.execute(sql))),
    },
    {
      name: 'batch-pool-always',
      label: "(diag) pool.batch, 2,001 stmts over 200 texts, admission: 'always'",
      opsPerIteration: BATCH,
      fn: () => settle(always.batch(cycle, 'read')),
    },
  ];

  const results = await measure(variants, measureOptions());
  const cache = pool.stats().statementCache!;
  const cacheAlways = always.stats().statementCache!;
  held.release();
  await layered.close();
  await pool.close();
  await always.close();
  client.close();
  fx.cleanup();

  const comparisons: Comparison[] = [
    withNote(compare(results, 'pool', 'client', 1, '>= 1x client'), layersNote(results)),
    compare(results, 'batch-pool', 'batch-client', 1, '>= 1x client'),
    compare(results, 'pool-always', 'client', null, "reference: admission 'always'"),
    compare(results, 'batch-pool-always', 'batch-client', null, "reference: admission 'always'"),
  ];
  emitReport({
    case: 'one-off',
    title: 'Each SQL text run once',
    status: 'ok',
    variants: results,
    comparisons,
    metrics: {
      hitRate: Number(cache.hitRate.toFixed(3)),
      admissionsRefused: cache.admissionsRefused,
      evictions: cache.evictions,
      hitRateAlways: Number(cacheAlways.hitRate.toFixed(3)),
      evictionsAlways: cacheAlways.evictions,
    },
    env: { batch: BATCH, distinctTextsInBatch: TEXTS, perIteration: B },
    durationMs: Math.round(performance.now() - started),
  });
}

/** What the pool's time per new text is made of, beside the client's. */
function layersNote(results: VariantResult[]): string | undefined {
  const split = breakdown(results, LAYERS);
  const client = find(results, 'client');
  return split === undefined || client === undefined ? undefined : `${split}; client ${usPerOp(client).toFixed(1)} µs/op`;
}

function withNote(comparison: Comparison, note: string | undefined): Comparison {
  return note === undefined ? comparison : { ...comparison, note };
}

function compare(
  results: VariantResult[],
  subject: string,
  baseline: string,
  goal: number | null,
  goalText: string,
): Comparison {
  const ratio = ratioOf(find(results, subject), find(results, baseline));
  return { subject, baseline, ratio, goal, goalText, met: goal === null || ratio === null ? null : ratio >= goal };
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
