import { createRequire } from 'node:module';
import { createClient } from '@libsql/client';
import { createPool } from '../../lib';
import { normaliseArgs } from '../../lib/drivers/args';
import { loadNativeRead, readAllDocumented, type LibsqlForRead } from '../../lib/drivers/native-read';
import type { LibsqlStatement } from '../../lib/drivers/native-statement';
import { describeSql } from '../../lib/drivers/sql-text';
import { ResultSetImpl, arraysFromSql, rowsFromSql } from '../../lib/drivers/result';
import { createFixture, idCycler, openRaw } from './fixture';
import { MapOnlyCache } from './map-cache';
import { find, measure, measureOptions, type VariantSpec } from './measure';
import { breakdown, ceilings, joinNotes, usPerOp, type Layer } from './notes';
import { emitReport, ratioOf, type Comparison, type VariantResult } from './protocol';

export interface ReadCaseOptions {
  key: string;
  title: string;
  sql: string;
  /** Statements per tinybench iteration. */
  batch: number;
  /**
   * Also time a cached raw `.get([id])`, libsql's fastest single-row read, and
   * the query with `LIMIT 1` appended (as ORMs write a lookup by key) on the
   * pool, which reads it with `.get`, and on the client, as references.
   */
  withRawGet: boolean;
  /** The pool with the client's rows against the client. */
  clientRowsGoal: number;
  /** `rowMode: 'array'` against the client and against raw `.all`; `null`: reported as a reference. */
  arrayGoals: { vsClient: number; vsRawAll: number } | null;
}

/** The pool's path with the client's rows, innermost first; each variant adds one layer to the one before. */
const LAYERS: Layer[] = [
  { variant: 'raw-native', adds: 'libsql native read' },
  { variant: 'raw-rows', adds: 'args + client-shaped rows + ResultSet' },
  { variant: 'lease-map', adds: 'lease.execute path (Map lookup, checks, await)' },
  { variant: 'lease', adds: 'statement-cache LRU update' },
  { variant: 'pool', adds: 'acquire + release' },
];

/** The same with `rowMode: 'array'`. */
const ARRAY_LAYERS: Layer[] = [
  { variant: 'raw-native', adds: 'libsql native read' },
  { variant: 'raw-arrays', adds: 'args + array rows + ResultSet' },
  { variant: 'lease-array', adds: 'lease.execute path (cache lookup, checks, await)' },
  { variant: 'pool-array', adds: 'acquire + release' },
];

/**
 * The pool's `execute` (the client's rows, and `rowMode: 'array'`) against
 * `@libsql/client`'s and a cached raw `libsql` statement, on one query. More
 * variants split the pool's time into layers for the notes: `raw-native` (the
 * native driver's read on a raw statement: libsql's addon functions when they
 * pass their self-check, else `.all`), `raw-rows` and `raw-arrays` (that read
 * plus the result objects the pool builds, with the pool's own functions),
 * `lease` and `lease-array` (`lease.execute` on one held lease, so no
 * acquire/release per call) and `lease-map` (the same with a cache that skips
 * the LRU update, see map-cache.ts).
 */
export async function runReadCase(o: ReadCaseOptions): Promise<void> {
  const started = performance.now();
  const fx = createFixture();
  const pool = await createPool({ url: fx.url });
  const client = createClient({ url: fx.url });
  const db = openRaw(fx.path);
  const rawAll = db.prepare(o.sql).raw(true);
  // Separate statements: get() after all() on one statement returns stale rows.
  const rawGet = db.prepare(o.sql).raw(true);
  const rawRows = db.prepare(o.sql).safeIntegers(true).raw(true); // configured as the native driver does
  const rawArrays = db.prepare(o.sql).safeIntegers(true).raw(true);
  const rawNative = db.prepare(o.sql).safeIntegers(true).raw(true);
  const libsqlRequire = createRequire(require.resolve('@libsql/client'));
  const loaded = () => require.cache[libsqlRequire.resolve('libsql')];
  const read = loadNativeRead(libsqlRequire('libsql') as LibsqlForRead, loaded) ?? readAllDocumented;
  const columns = rawRows.columns().map((c) => c.name);
  const columnTypes = rawRows.columns().map((c) => c.type ?? '');
  const shape = describeSql(o.sql).params;
  const held = await pool.acquire();
  const mapPool = await createPool({ url: fx.url, statementCache: new MapOnlyCache() });
  const heldMap = await mapPool.acquire();

  // As an ORM's `findFirst` writes a lookup: bounded to one row by its own LIMIT.
  const limitOne = `${o.sql} LIMIT 1`;

  // Same answers from all of them, or the comparison means nothing.
  const [expected] = rawAll.all([1]) as unknown[][];
  const keyed = (await pool.execute({ sql: o.sql, args: [1], rowMode: 'object' })).rows[0]!;
  const answers: Array<[string, unknown]> = [
    ['pool', (await pool.execute(o.sql, [1])).rows[0]],
    ['client', (await client.execute({ sql: o.sql, args: [1] })).rows[0]],
    ['pool-array', (await pool.execute({ sql: o.sql, args: [1], rowMode: 'array' })).rows[0]],
    ['pool-object', columns.map((name) => keyed[name])],
  ];
  if (o.withRawGet) {
    answers.push(['pool-limit1', (await pool.execute(limitOne, [1])).rows[0]]);
    answers.push(['client-limit1', (await client.execute({ sql: limitOne, args: [1] })).rows[0]]);
  }
  for (const [who, row] of answers) {
    if (JSON.stringify(Array.from(row as ArrayLike<unknown>)) !== JSON.stringify(expected)) {
      throw new Error(`${who} returned ${JSON.stringify(row)}, raw returned ${JSON.stringify(expected)}`);
    }
  }

  const B = o.batch;
  const next = idCycler();
  const asRead = (st: unknown) => st as LibsqlStatement;
  const variants: VariantSpec[] = [
    {
      name: 'pool',
      label: 'pool.execute(sql, [id])',
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) await pool.execute(o.sql, [next()]);
      },
    },
    {
      name: 'pool-array',
      label: "pool.execute({ sql, args: [id], rowMode: 'array' })",
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) await pool.execute({ sql: o.sql, args: [next()], rowMode: 'array' });
      },
    },
    {
      name: 'pool-object',
      label: "pool.execute({ sql, args: [id], rowMode: 'object' })",
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) await pool.execute({ sql: o.sql, args: [next()], rowMode: 'object' });
      },
    },
    {
      name: 'raw-all',
      label: 'raw cached stmt.raw(true).all([id])',
      opsPerIteration: B,
      fn: () => {
        for (let i = 0; i < B; i++) rawAll.all([next()]);
      },
    },
  ];
  if (o.withRawGet) {
    variants.push({
      name: 'raw-get',
      label: 'raw cached stmt.raw(true).get([id])',
      opsPerIteration: B,
      fn: () => {
        for (let i = 0; i < B; i++) rawGet.get([next()]);
      },
    });
    variants.push({
      name: 'pool-limit1',
      label: 'pool.execute(sql + " LIMIT 1", [id])',
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) await pool.execute(limitOne, [next()]);
      },
    });
  }
  variants.push(
    {
      name: 'lease',
      label: '(diag) lease.execute, one held lease',
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) await held.execute(o.sql, [next()]);
      },
    },
    {
      name: 'lease-map',
      label: '(diag) same, cache without LRU update',
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) await heldMap.execute(o.sql, [next()]);
      },
    },
    {
      name: 'lease-array',
      label: "(diag) lease.execute, one held lease, rowMode 'array'",
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) await held.execute({ sql: o.sql, args: [next()], rowMode: 'array' });
      },
    },
    {
      name: 'raw-native',
      label: `(diag) the native driver's read on a raw statement (${read === readAllDocumented ? '.all' : 'native'})`,
      opsPerIteration: B,
      fn: () => {
        for (let i = 0; i < B; i++) read(asRead(rawNative), [next()]);
      },
    },
    {
      name: 'raw-rows',
      label: '(diag) native read + pool result objects',
      opsPerIteration: B,
      fn: () => {
        for (let i = 0; i < B; i++) {
          const raw = read(asRead(rawRows), normaliseArgs([next()], 'number', shape));
          new ResultSetImpl(columns.slice(), columnTypes.slice(), rowsFromSql(raw, columns, 'number'), 0, undefined);
        }
      },
    },
    {
      name: 'raw-arrays',
      label: "(diag) native read + pool result objects, rowMode 'array'",
      opsPerIteration: B,
      fn: () => {
        for (let i = 0; i < B; i++) {
          const raw = read(asRead(rawArrays), normaliseArgs([next()], 'number', shape));
          new ResultSetImpl(columns.slice(), columnTypes.slice(), arraysFromSql(raw, 'number') as never, 0, undefined);
        }
      },
    },
    ...(o.withRawGet
      ? [
          {
            name: 'client-limit1',
            label: '@libsql/client client.execute, sql + " LIMIT 1"',
            opsPerIteration: B,
            fn: async () => {
              for (let i = 0; i < B; i++) await client.execute({ sql: limitOne, args: [next()] });
            },
          },
        ]
      : []),
    // Last: every call prepares a statement that only GC frees.
    {
      name: 'client',
      label: '@libsql/client client.execute',
      opsPerIteration: B,
      fn: async () => {
        for (let i = 0; i < B; i++) await client.execute({ sql: o.sql, args: [next()] });
      },
    },
  );

  const results = await measure(variants, measureOptions());
  held.release();
  heldMap.release();
  await pool.close();
  await mapPool.close();
  client.close();
  db.close();
  fx.cleanup();

  const split = joinNotes(largest(results, LAYERS), breakdown(results, LAYERS));
  const arraySplit = joinNotes(largest(results, ARRAY_LAYERS), breakdown(results, ARRAY_LAYERS));
  const native = { name: 'raw-native', text: 'native read' };
  const comparisons: Comparison[] = [
    compare(
      results,
      'client',
      o.clientRowsGoal,
      `>= ${o.clientRowsGoal}x client`,
      joinNotes(
        split,
        ceilings(results, { name: 'client', text: 'client' }, [native, { name: 'raw-rows', text: 'native read + client-shaped results' }]),
      ),
    ),
    compare(
      results,
      'client',
      o.arrayGoals?.vsClient ?? null,
      o.arrayGoals ? `>= ${o.arrayGoals.vsClient}x client` : "reference: rowMode 'array' vs the client",
      joinNotes(
        arraySplit,
        ceilings(results, { name: 'client', text: 'client' }, [native, { name: 'raw-arrays', text: 'native read + array results' }]),
      ),
      'pool-array',
    ),
    compare(
      results,
      'raw-all',
      o.arrayGoals?.vsRawAll ?? null,
      o.arrayGoals ? `>= ${o.arrayGoals.vsRawAll}x raw .all` : "reference: rowMode 'array' vs raw .all",
      joinNotes(
        arraySplit,
        ceilings(results, { name: 'raw-all', text: 'raw .all' }, [
          native,
          { name: 'raw-arrays', text: 'native read + array results' },
          { name: 'lease-array', text: 'lease.execute (no acquire/release)' },
        ]),
      ),
      'pool-array',
    ),
    compare(results, 'raw-all', null, "reference: the client's rows vs raw .all", split),
  ];
  if (o.withRawGet) {
    const get = "raw .get reads one row and cannot tell whether more follow, so it is no path for every result size";
    comparisons.push(compare(results, 'raw-get', null, 'reference: raw .get, one row and no end check', joinNotes(get, split)));
    const bounded = 'a SELECT whose own LIMIT bounds it to one row is read with .get, one step and no cursor';
    comparisons.push(compare(results, 'client-limit1', null, 'reference: both with LIMIT 1', bounded, 'pool-limit1'));
    comparisons.push(compare(results, 'raw-get', null, 'reference: the pool with LIMIT 1 vs raw .get', bounded, 'pool-limit1'));
  }
  // What rows as arrays save over the client's row objects, on the same pool and query.
  const rows = "the difference is building the client's row objects (indexes and length by defineProperty)";
  comparisons.push(compare(results, 'pool', null, "reference: rowMode 'array' vs the client's rows", rows, 'pool-array'));
  const objects = 'plain objects keyed by name: one assignment per column, no indexes or length';
  comparisons.push(compare(results, 'client', null, "reference: rowMode 'object' vs the client", objects, 'pool-object'));
  comparisons.push(compare(results, 'pool', null, "reference: rowMode 'object' vs the client's rows", objects, 'pool-object'));
  emitReport({
    case: o.key,
    title: o.title,
    status: 'ok',
    variants: results,
    comparisons,
    env: { sql: o.sql, batch: B },
    durationMs: Math.round(performance.now() - started),
  });
}

function compare(
  results: VariantResult[],
  baseline: string,
  goal: number | null,
  goalText: string,
  note: string | undefined,
  subject = 'pool',
): Comparison {
  const ratio = ratioOf(find(results, subject), find(results, baseline));
  const met = goal === null || ratio === null ? null : ratio >= goal;
  const c: Comparison = { subject, baseline, ratio, goal, goalText, met };
  // Every row says what limits it, met or not.
  if (note) c.note = note;
  return c;
}

/** `limited by acquire + release (6.2 µs of 11.5)`: the costliest layer of the subject's path on this run. */
function largest(results: VariantResult[], layers: Layer[]): string | undefined {
  const times = layers.map((l) => find(results, l.variant));
  if (times.some((v) => v === undefined)) return undefined;
  let previous = 0;
  let top = { adds: '', cost: -Infinity };
  layers.forEach((l, i) => {
    const t = usPerOp(times[i]!);
    if (t - previous > top.cost) top = { adds: l.adds, cost: t - previous };
    previous = t;
  });
  return `limited by ${top.adds} (${top.cost.toFixed(2)} µs of ${previous.toFixed(2)})`;
}
