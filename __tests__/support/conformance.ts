import { createClient, type Client, type InArgs, type InStatement, type IntMode, type ResultSet } from '@libsql/client';
import { createPool, type AdaptiveConnectionPool } from '../../lib';
import { sessionChange } from '../../lib/session-change';
import { startSqld, type SqldServer } from '../../scripts/sqld';
import { tempDir } from './helpers';

// What the conformance files share: a user switching from `client.execute`
// sees the same values. A case runs the same statements through
// `@libsql/client` 0.18 and through the pool, on the same database, from the
// same setup, and everything a caller can observe is compared, on a file
// database and on a real sqld over WebSocket and over HTTP. Each file has a
// server of its own (`useOwnSqld`), since every case drops all tables.

export type Backend = 'file' | 'ws' | 'http';
export const BACKENDS: Backend[] = ['file', 'ws', 'http'];

let server: SqldServer | undefined;
/** The suites of this test file that asked for the server: one file may load several (the documented-path run). */
let users = 0;

/** Starts a sqld for this test file before its tests, and stops it after the last suite that uses it. */
export function useOwnSqld(): void {
  beforeAll(async () => {
    if (users++ === 0) server = await startSqld();
  });
  afterAll(async () => {
    if (--users > 0) return;
    await server?.dispose();
    server = undefined;
  });
}

function ownServer(): SqldServer {
  if (server === undefined) throw new Error('useOwnSqld() starts the server these tests use');
  return server;
}

export type Step = InStatement | [sql: string, args?: InArgs];

export interface Case {
  name: string;
  /** `;`-separated SQL run through the side under test before its steps. */
  setup?: string;
  steps: Step[];
  intMode?: IntMode;
}

/** What a case needs from `@libsql/client` or from the pool. */
export interface Side {
  /** Remote sides reset without a TEMP table, which sqld does not support. */
  remote: boolean;
  execute(step: Step): Promise<ResultSet>;
  executeMultiple(sql: string): Promise<void>;
}

export function clientSide(client: Client): Side {
  return {
    remote: client.protocol !== 'file',
    execute: (step) => (Array.isArray(step) ? client.execute(step[0], step[1]) : client.execute(step)),
    executeMultiple: (sql) => client.executeMultiple(sql),
  };
}

export function poolSide(pool: AdaptiveConnectionPool): Side {
  return {
    remote: pool.config.protocol !== 'file',
    execute: (step) => (Array.isArray(step) ? pool.execute(step[0], step[1]) : pool.execute(step)),
    executeMultiple: (sql) => pool.use((lease) => lease.executeMultiple(sql)),
  };
}

/** A client and a pool on one database of `backend` (a fresh file, or the server), both closed afterwards. */
export async function withClientAndPool<T>(
  backend: Backend,
  intMode: IntMode | undefined,
  fn: (client: Client, pool: AdaptiveConnectionPool) => Promise<T>,
): Promise<T> {
  const tmp = tempDir();
  const url = backend === 'file' ? tmp.url() : backend === 'ws' ? ownServer().wsUrl : ownServer().httpUrl;
  let pool: AdaptiveConnectionPool | undefined;
  let client: Client | undefined;
  try {
    // One connection: a case's second run must find its statements cached there.
    pool = await createPool({ url, intMode, max: 1 });
    client = createClient({ url, intMode });
    return await fn(client, pool);
  } finally {
    client?.close();
    await pool?.close();
    tmp.dispose();
  }
}

/**
 * Through `side`, drops every table and view and leaves the connection's
 * `last_insert_rowid()` at 1 (what a write without rowid, such as DDL, reports
 * as `lastInsertRowid`), so every run starts from the same state.
 */
export async function reset(side: Side): Promise<void> {
  const { rows } = await side.execute(
    "SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'",
  );
  const drops = rows.map((r) => `DROP ${String(r.type).toUpperCase()} IF EXISTS "${String(r.name)}";`);
  await side.executeMultiple(
    `PRAGMA foreign_keys=OFF;${drops.join('')}` +
      (side.remote ? '' : 'CREATE TEMP TABLE IF NOT EXISTS run_marker(x); INSERT OR REPLACE INTO run_marker(rowid) VALUES (1);'),
  );
}

export type Outcome = { result: ResultSet } | { error: unknown };

export async function attempt(run: () => Promise<ResultSet>): Promise<Outcome> {
  try {
    return { result: await run() };
  } catch (error) {
    return { error };
  }
}

export async function runCase(side: Side, c: Case): Promise<Outcome[]> {
  await reset(side);
  if (c.setup !== undefined) await side.executeMultiple(c.setup);
  const outcomes: Outcome[] = [];
  for (const step of c.steps) outcomes.push(await attempt(() => side.execute(step)));
  return outcomes;
}

/**
 * Everything a caller can see of a result. Indexed values and `length` are
 * non-enumerable, so `toStrictEqual` on the result alone would not see them.
 */
export function resultView(result: ResultSet) {
  return {
    columns: result.columns,
    columnTypes: result.columnTypes,
    rowsAffected: result.rowsAffected,
    lastInsertRowid: result.lastInsertRowid,
    rows: result.rows.map((row) => ({
      length: row.length,
      values: Array.from(row as ArrayLike<unknown>),
      named: { ...row },
      // Each property as the client defines it (indexes and `length` neither
      // enumerable nor writable, names both), in its order, on a plain object.
      keys: Reflect.ownKeys(row),
      descriptors: Object.getOwnPropertyDescriptors(row),
      prototype: Object.getPrototypeOf(row) === Object.prototype,
    })),
    json: result.toJSON(),
  };
}

export function errorView(error: unknown) {
  const e = error as Error & { code?: unknown; extendedCode?: unknown; rawCode?: unknown; statementIndex?: unknown };
  return {
    constructor: e?.constructor?.name,
    code: e.code,
    extendedCode: e.extendedCode,
    rawCode: e.rawCode,
    message: e.message,
    statementIndex: e.statementIndex,
    cause: (e.cause as object | undefined)?.constructor?.name,
  };
}

export function outcomeView(outcome: Outcome) {
  return 'error' in outcome ? { error: errorView(outcome.error) } : { result: resultView(outcome.result) };
}

export function sqlOf(step: Step): string {
  return typeof step === 'string' ? step : Array.isArray(step) ? step[0] : step.sql;
}

/** Pool and client outcomes must be indistinguishable; `label` and `step` only make a diff readable. */
export function expectSameOutcome(label: string, step: Step, actual: Outcome, expected: Outcome): void {
  const context = { run: label, sql: sqlOf(step) };
  expect({ ...context, ...outcomeView(actual) }).toStrictEqual({ ...context, ...outcomeView(expected) });
  if ('result' in actual && 'result' in expected) expect(actual.result).toStrictEqual(expected.result);
}

/**
 * The cases' tests on `backend`: the pool runs each case three times (its
 * statements new, then cached, then from the cache) and must match the
 * client every time.
 */
export function testCases(backend: Backend, cases: Case[]): void {
  test.each(cases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    await withClientAndPool(backend, c.intMode, async (client, pool) => {
      const expected = await runCase(clientSide(client), c);
      // First run: each text seen once, prepared, run and released; second: cached; third: from the cache.
      const first = await runCase(poolSide(pool), c);
      const second = await runCase(poolSide(pool), c);

      const cache = pool.statementCache;
      if (cache === false) throw new Error('the pool should have its default statement cache');
      const connectionId = await pool.use((lease) => lease.connectionId);
      // A statement that changes the session is never cached: the pool must see every run, to undo it at checkin.
      const prepared = c.steps
        .filter((_, i) => 'result' in first[i]!)
        .map(sqlOf)
        .filter((sql) => sessionChange(sql) === undefined);
      for (const sql of prepared) {
        expect({ sql, cached: cache.isCached(connectionId, sql) }).toEqual({ sql, cached: true });
      }
      const hitsBefore = cache.stats().hits;

      const third = await runCase(poolSide(pool), c);
      expect(cache.stats().hits - hitsBefore).toBeGreaterThanOrEqual(prepared.length);

      c.steps.forEach((step, i) => {
        expectSameOutcome('pool, first run (uncached statements)', step, first[i]!, expected[i]!);
        expectSameOutcome('pool, second run (statements cached)', step, second[i]!, expected[i]!);
        expectSameOutcome('pool, third run (cached statements)', step, third[i]!, expected[i]!);
      });
    });
  });
}

export const PEOPLE = `
  CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, score REAL, avatar BLOB);
  INSERT INTO people(name, age, score, avatar) VALUES
    ('Ada', 36, 91.5, x'0102'), ('Brian', 41, NULL, NULL), ('Chidi', 29, 77.25, x'');
  CREATE TABLE pets(id INTEGER PRIMARY KEY, owner INTEGER, kind TEXT);
  INSERT INTO pets(owner, kind) VALUES (1, 'cat'), (1, 'dog'), (2, 'cat'), (3, 'fish'), (3, 'cat');
`;

export const ACCOUNTS = `
  CREATE TABLE accounts(
    id INTEGER PRIMARY KEY,
    email TEXT UNIQUE NOT NULL,
    balance INTEGER CHECK (balance >= 0)
  );
  INSERT INTO accounts(email, balance) VALUES ('a@example.com', 10);
`;

export const BIG = `
  CREATE TABLE big(id INTEGER PRIMARY KEY, n INTEGER);
  INSERT INTO big VALUES (9223372036854775807, -9223372036854775808), (9007199254740993, 1);
`;

export const EXTREME_INTS =
  'SELECT 9223372036854775807 AS max, -9223372036854775808 AS min, 9007199254740993 AS above_safe, 1 AS one';
