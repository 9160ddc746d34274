import { Buffer } from 'node:buffer';
import { createClient, type Client, type InArgs, type InStatement, type IntMode, type ResultSet } from '@libsql/client';
import { LibsqlBatchError, createPool, type AdaptiveConnectionPool } from '../../lib';
import { tempDir } from '../support/helpers';
import { startSqld, type SqldServer } from '../../scripts/sqld';
import { sessionChange } from '../../lib/session-change';

// The pool's promise: a user switching from `client.execute` sees the same
// values. Every case runs the same statements through `@libsql/client` 0.18
// and through the pool, on the same database, from the same setup, and
// compares everything a caller can observe. The pool runs each case twice: the
// second run finds every statement in its cache. All of it runs on each
// backend: a file database, and a real sqld over WebSocket and over HTTP (a
// server of this file's own, since every case drops all tables).

type Backend = 'file' | 'ws' | 'http';
const BACKENDS: Backend[] = ['file', 'ws', 'http'];

let server: SqldServer | undefined;
beforeAll(async () => {
  server = await startSqld();
});
afterAll(async () => {
  await server?.dispose();
});

/** `{ sql, args }` or a plain string is `execute(stmt)`; a tuple is `execute(sql, args)`. */
type Step = InStatement | [sql: string, args?: InArgs];

interface Case {
  name: string;
  /** `;`-separated SQL run through the side under test before its steps. */
  setup?: string;
  steps: Step[];
  intMode?: IntMode;
}

/** What a case needs from `@libsql/client` or from the pool. */
interface Side {
  /** Remote sides reset without a TEMP table, which sqld does not support. */
  remote: boolean;
  execute(step: Step): Promise<ResultSet>;
  executeMultiple(sql: string): Promise<void>;
}

function clientSide(client: Client): Side {
  return {
    remote: client.protocol !== 'file',
    execute: (step) => (Array.isArray(step) ? client.execute(step[0], step[1]) : client.execute(step)),
    executeMultiple: (sql) => client.executeMultiple(sql),
  };
}

function poolSide(pool: AdaptiveConnectionPool): Side {
  return {
    remote: pool.config.protocol !== 'file',
    execute: (step) => (Array.isArray(step) ? pool.execute(step[0], step[1]) : pool.execute(step)),
    executeMultiple: (sql) => pool.use((lease) => lease.executeMultiple(sql)),
  };
}

/** A client and a pool on one database of `backend` (a fresh file, or the server), both closed afterwards. */
async function withClientAndPool<T>(
  backend: Backend,
  intMode: IntMode | undefined,
  fn: (client: Client, pool: AdaptiveConnectionPool) => Promise<T>,
): Promise<T> {
  const tmp = tempDir();
  const url = backend === 'file' ? tmp.url() : backend === 'ws' ? server!.wsUrl : server!.httpUrl;
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
async function reset(side: Side): Promise<void> {
  const { rows } = await side.execute(
    "SELECT type, name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'",
  );
  const drops = rows.map((r) => `DROP ${String(r.type).toUpperCase()} IF EXISTS "${String(r.name)}";`);
  await side.executeMultiple(
    `PRAGMA foreign_keys=OFF;${drops.join('')}` +
      (side.remote ? '' : 'CREATE TEMP TABLE IF NOT EXISTS run_marker(x); INSERT OR REPLACE INTO run_marker(rowid) VALUES (1);'),
  );
}

type Outcome = { result: ResultSet } | { error: unknown };

async function attempt(run: () => Promise<ResultSet>): Promise<Outcome> {
  try {
    return { result: await run() };
  } catch (error) {
    return { error };
  }
}

async function runCase(side: Side, c: Case): Promise<Outcome[]> {
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
function resultView(result: ResultSet) {
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

function errorView(error: unknown) {
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

function outcomeView(outcome: Outcome) {
  return 'error' in outcome ? { error: errorView(outcome.error) } : { result: resultView(outcome.result) };
}

function sqlOf(step: Step): string {
  return typeof step === 'string' ? step : Array.isArray(step) ? step[0] : step.sql;
}

/** Pool and client outcomes must be indistinguishable; `label` and `step` only make a diff readable. */
function expectSameOutcome(label: string, step: Step, actual: Outcome, expected: Outcome): void {
  const context = { run: label, sql: sqlOf(step) };
  expect({ ...context, ...outcomeView(actual) }).toStrictEqual({ ...context, ...outcomeView(expected) });
  if ('result' in actual && 'result' in expected) expect(actual.result).toStrictEqual(expected.result);
}

const PEOPLE = `
  CREATE TABLE people(id INTEGER PRIMARY KEY, name TEXT NOT NULL, age INTEGER, score REAL, avatar BLOB);
  INSERT INTO people(name, age, score, avatar) VALUES
    ('Ada', 36, 91.5, x'0102'), ('Brian', 41, NULL, NULL), ('Chidi', 29, 77.25, x'');
  CREATE TABLE pets(id INTEGER PRIMARY KEY, owner INTEGER, kind TEXT);
  INSERT INTO pets(owner, kind) VALUES (1, 'cat'), (1, 'dog'), (2, 'cat'), (3, 'fish'), (3, 'cat');
`;

const ACCOUNTS = `
  CREATE TABLE accounts(
    id INTEGER PRIMARY KEY,
    email TEXT UNIQUE NOT NULL,
    balance INTEGER CHECK (balance >= 0)
  );
  INSERT INTO accounts(email, balance) VALUES ('a@example.com', 10);
`;

const BIG = `
  CREATE TABLE big(id INTEGER PRIMARY KEY, n INTEGER);
  INSERT INTO big VALUES (9223372036854775807, -9223372036854775808), (9007199254740993, 1);
`;

const EXTREME_INTS =
  'SELECT 9223372036854775807 AS max, -9223372036854775808 AS min, 9007199254740993 AS above_safe, 1 AS one';

const cases: Case[] = [
  // --- values -----------------------------------------------------------
  { name: 'integer literals', steps: ['SELECT 0, 1, -1, 42, 9007199254740991, -9007199254740991'] },
  {
    name: 'integer arguments',
    steps: [{ sql: 'SELECT ?, ?, ?, typeof(?)', args: [0, -5, 9007199254740991, 7] }],
  },
  {
    name: 'real literals and arguments',
    steps: [{ sql: 'SELECT 1.5, -0.25, 1e300, ?, ?', args: [3.14159, -2.5e-10] }],
  },
  {
    name: 'an integer-valued real (3.0) literal and argument',
    steps: [
      'SELECT 3.0, typeof(3.0)',
      { sql: 'SELECT ?, typeof(?)', args: [3.0, 3.0] },
      'SELECT CAST(3 AS REAL) AS r, 6.0 / 2 AS q',
    ],
  },
  {
    name: 'text, including unicode and emoji',
    steps: [
      { sql: 'SELECT ?, ?, ?, length(?)', args: ['', 'héllo wörld', '日本語 🎉👩‍👩‍👧', '👩‍👩‍👧'] },
      "SELECT 'ünïcödé ✓' AS t, '🦀' AS crab",
    ],
  },
  {
    name: 'text round trip through a table',
    setup: 'CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);',
    steps: [
      { sql: 'INSERT INTO notes(body) VALUES (?), (?)', args: ['Grüße 🌍', 'line\nbreak\ttab'] },
      'SELECT id, body, typeof(body) FROM notes ORDER BY id',
    ],
  },
  {
    name: 'blob arguments (ArrayBuffer, Uint8Array, Buffer) come back as ArrayBuffer',
    steps: [
      {
        sql: 'SELECT ?, ?, ?, typeof(?), length(?)',
        args: [
          new Uint8Array([0, 255, 1]).buffer,
          new Uint8Array([1, 2, 3]),
          Buffer.from('abc'),
          Buffer.from([9]),
          new Uint8Array([4, 5]),
        ],
      },
      "SELECT x'', x'00ff10', zeroblob(3)",
      { sql: 'SELECT ?', args: [new Uint8Array(0)] },
    ],
  },
  {
    name: 'blob round trip through a table',
    setup: PEOPLE,
    steps: [
      { sql: 'UPDATE people SET avatar = ? WHERE id = ?', args: [Buffer.from([0xde, 0xad, 0xbe, 0xef]), 2] },
      'SELECT id, avatar, typeof(avatar) FROM people ORDER BY id',
    ],
  },
  {
    name: 'NULL literal, argument and column',
    setup: PEOPLE,
    steps: [
      { sql: 'SELECT NULL, ?, typeof(?)', args: [null, null] },
      'SELECT name, score FROM people WHERE score IS NULL',
    ],
  },
  {
    name: "large integers with intMode 'bigint'",
    intMode: 'bigint',
    setup: BIG,
    steps: [
      EXTREME_INTS,
      { sql: 'SELECT ?, ?, ?', args: [9223372036854775807n, -9223372036854775808n, 42] },
      'SELECT id, n FROM big ORDER BY id',
      { sql: 'INSERT INTO big(id, n) VALUES (?, ?)', args: [9007199254740995n, 123n] },
      { sql: 'INSERT INTO big(id, n) VALUES (?, 0)', args: [-9223372036854775807n] },
    ],
  },
  {
    name: "large integers with intMode 'string'",
    intMode: 'string',
    setup: BIG,
    steps: [
      EXTREME_INTS,
      { sql: 'SELECT ?, ?', args: [9223372036854775807n, 12] },
      'SELECT id, n FROM big ORDER BY id',
    ],
  },
  {
    name: "an integer beyond 2^53 in intMode 'number' is a RangeError",
    setup: BIG,
    steps: ['SELECT 9007199254740993', 'SELECT n FROM big WHERE id = 9223372036854775807', 'SELECT 9007199254740991'],
  },
  {
    name: "a bigint argument comes back as a number in intMode 'number'",
    steps: [{ sql: 'SELECT ?, typeof(?)', args: [42n, -1n] }],
  },
  {
    name: 'boolean arguments become 1 and 0',
    steps: [
      { sql: 'SELECT ?, ?, typeof(?)', args: [true, false, true] },
      { sql: 'SELECT :yes, :no', args: { yes: true, no: false } },
    ],
  },
  {
    name: "boolean arguments in intMode 'bigint'",
    intMode: 'bigint',
    steps: [{ sql: 'SELECT ?, ?, typeof(?)', args: [true, false, true] }],
  },
  {
    name: "boolean arguments in intMode 'string' are bound as text",
    intMode: 'string',
    steps: [{ sql: 'SELECT ?, ?, typeof(?)', args: [true, false, true] }],
  },
  {
    name: 'Date arguments become milliseconds since the epoch',
    steps: [
      {
        sql: 'SELECT ?, typeof(?)',
        args: [new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678)), new Date(0)],
      },
    ],
  },

  // --- placeholders -------------------------------------------------------
  {
    name: 'positional ? arguments, as { sql, args } and as execute(sql, args)',
    setup: PEOPLE,
    steps: [
      { sql: 'SELECT name, age FROM people WHERE age > ? AND name <> ? ORDER BY id', args: [30, 'Brian'] },
      ['SELECT name, age FROM people WHERE age > ? AND name <> ? ORDER BY id', [20, 'Ada']],
      ['SELECT 1 + 1 AS two'],
    ],
  },
  { name: 'numbered ?1 ?2 arguments', steps: [{ sql: 'SELECT ?2, ?1, ?2', args: ['first', 'second'] }] },
  {
    name: 'named :a arguments, keys with and without the prefix',
    steps: [
      { sql: 'SELECT :a, :b', args: { a: 1, ':b': 'two' } },
      { sql: 'SELECT :a, :b, :a', args: { ':a': 3, b: null } },
    ],
  },
  {
    name: 'named @a arguments, keys with and without the prefix',
    steps: [{ sql: 'SELECT @a, @b', args: { a: 1.5, '@b': 'x' } }],
  },
  {
    name: 'named $a arguments, keys with and without the prefix',
    steps: [{ sql: 'SELECT $a, $b', args: { $a: 'dollar', b: 2 } }],
  },
  {
    name: 'positional arguments for named placeholders bind in order',
    steps: [{ sql: 'SELECT :a, @b, $c', args: [1, 2, 3] }],
  },
  {
    name: 'a named map missing a key binds NULL, also after a call that had the key',
    steps: [
      { sql: 'SELECT :a, :b', args: { a: 1, b: 2 } },
      { sql: 'SELECT :a, :b', args: { a: 1 } },
      { sql: 'SELECT :a, :b', args: {} },
    ],
  },
  {
    name: 'too few positional arguments after a call with all of them bind NULL, not the old values',
    steps: [
      { sql: 'SELECT ?, ?', args: [1, 2] },
      { sql: 'SELECT ?, ?', args: [7] },
      { sql: 'SELECT ?, ?', args: [] },
      { sql: 'SELECT ?, ?', args: ['a', 'b'] },
      ['SELECT ?, ?'],
    ],
  },
  {
    name: 'too few numbered arguments after a call with all of them bind NULL',
    steps: [
      { sql: 'SELECT ?1, ?3', args: [1, 2, 3] },
      { sql: 'SELECT ?1, ?3', args: [9] },
    ],
  },
  {
    name: 'too few positional arguments for named placeholders after a full call bind NULL',
    steps: [
      { sql: 'SELECT :a, :b', args: [1, 2] },
      { sql: 'SELECT :a, :b', args: [5] },
    ],
  },
  {
    name: 'too few arguments for a #name placeholder after a full call bind NULL',
    steps: [
      { sql: 'SELECT #a', args: [1] },
      { sql: 'SELECT #a', args: [] },
    ],
  },
  {
    name: 'too few positional arguments in a write do not reuse the previous row',
    setup: 'CREATE TABLE kv(k TEXT, v TEXT);',
    steps: [
      { sql: 'INSERT INTO kv VALUES (?, ?)', args: ['one', 'uno'] },
      { sql: 'INSERT INTO kv VALUES (?, ?)', args: ['two'] },
      'SELECT k, v FROM kv ORDER BY rowid',
    ],
  },
  { name: 'too many positional arguments are ignored', steps: [{ sql: 'SELECT ?', args: [1, 2, 3] }] },

  // --- writes -------------------------------------------------------------
  {
    name: 'INSERT reports rowsAffected and lastInsertRowid',
    setup: PEOPLE,
    steps: [
      { sql: 'INSERT INTO people(name, age) VALUES (?, ?)', args: ['Dana', 50] },
      { sql: 'INSERT INTO people(name, age) VALUES (?, ?), (?, ?), (?, ?)', args: ['E', 1, 'F', 2, 'G', 3] },
      { sql: 'INSERT INTO people(id, name) VALUES (?, ?)', args: [1000, 'H'] },
      'SELECT count(*) AS n, max(id) AS top FROM people',
    ],
  },
  {
    name: 'UPDATE reports rowsAffected and keeps the connection lastInsertRowid',
    setup: PEOPLE,
    steps: [
      { sql: 'UPDATE people SET age = age + ? WHERE age > ?', args: [1, 30] },
      { sql: 'UPDATE people SET age = 0 WHERE id = ?', args: [404] },
      'SELECT id, age FROM people ORDER BY id',
    ],
  },
  {
    name: 'DELETE reports rowsAffected',
    setup: PEOPLE,
    steps: [
      { sql: 'DELETE FROM pets WHERE kind = ?', args: ['cat'] },
      'DELETE FROM pets',
      'SELECT count(*) FROM pets',
    ],
  },
  {
    name: 'INSERT ... RETURNING returns rows, not rowsAffected',
    setup: PEOPLE,
    steps: [
      { sql: 'INSERT INTO people(name, age) VALUES (?, ?) RETURNING id, name, age', args: ['Eve', 22] },
      { sql: 'INSERT INTO people(name) VALUES (?), (?) RETURNING *', args: ['Fay', 'Gus'] },
      { sql: 'UPDATE people SET age = ? WHERE name = ? RETURNING id, age', args: [23, 'Eve'] },
      { sql: 'DELETE FROM people WHERE name = ? RETURNING name', args: ['Fay'] },
      'SELECT count(*) FROM people',
    ],
  },
  {
    name: 'BEGIN through execute does not leave a transaction open for the next call',
    setup: PEOPLE,
    steps: [
      'BEGIN',
      { sql: 'INSERT INTO pets(owner, kind) VALUES (?, ?)', args: [2, 'owl'] },
      'ROLLBACK',
      'SELECT count(*) FROM pets',
    ],
  },

  // --- queries ------------------------------------------------------------
  {
    name: 'duplicate column names keep the first value by name and every value by index',
    setup: PEOPLE,
    steps: [
      'SELECT 1 AS a, 2 AS a',
      'SELECT 1 AS "length", 2 AS "0", 3 AS "2", 4 AS "01"',
      'SELECT 1 AS x, 2 AS "2", 3 AS y',
      'SELECT people.id, pets.id, pets.kind FROM people JOIN pets ON pets.owner = people.id ORDER BY pets.id',
    ],
  },
  {
    name: 'JOIN with GROUP BY and aggregates',
    setup: PEOPLE,
    steps: [
      `SELECT people.name, count(pets.id) AS pets, group_concat(pets.kind, ',') AS kinds,
              max(pets.id) AS last, avg(people.age) AS avg_age, total(people.score) AS total_score
         FROM people LEFT JOIN pets ON pets.owner = people.id
        GROUP BY people.id ORDER BY people.id`,
      { sql: 'SELECT kind, count(*) AS n FROM pets GROUP BY kind HAVING count(*) >= ? ORDER BY kind', args: [2] },
    ],
  },
  {
    name: 'CTE, recursive and not',
    setup: PEOPLE,
    steps: [
      {
        sql: 'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ?) SELECT x, x * x FROM c',
        args: [5],
      },
      'WITH older AS (SELECT * FROM people WHERE age > 30) SELECT name FROM older ORDER BY name',
    ],
  },
  {
    name: 'an empty result keeps its columns',
    setup: PEOPLE,
    steps: [{ sql: 'SELECT * FROM people WHERE id = ?', args: [999] }, 'SELECT name FROM people WHERE 0'],
  },
  {
    name: 'columnTypes follow the declared types',
    setup: 'CREATE TABLE typed(a INTEGER, b TEXT, c REAL, d BLOB, e NUMERIC, f, g VARCHAR(20));',
    steps: [
      "INSERT INTO typed VALUES (1, 'b', 1.5, x'00', 10, 'any', 'v')",
      'SELECT * FROM typed',
      'SELECT a + 1 AS expr, b, typeof(f) FROM typed',
    ],
  },
  { name: 'PRAGMA results', setup: PEOPLE, steps: ['PRAGMA table_info(people)', 'PRAGMA user_version'] },

  // --- schema changes -----------------------------------------------------
  {
    name: 'CREATE TABLE and CREATE INDEX',
    steps: [
      'CREATE TABLE items(id INTEGER PRIMARY KEY, sku TEXT, qty INTEGER)',
      'CREATE UNIQUE INDEX items_sku ON items(sku)',
      { sql: 'INSERT INTO items(sku, qty) VALUES (?, ?)', args: ['A-1', 3] },
      { sql: 'SELECT id, sku, qty FROM items WHERE sku = ?', args: ['A-1'] },
      "SELECT type, name, tbl_name FROM sqlite_schema WHERE tbl_name = 'items' ORDER BY name",
    ],
  },
  {
    name: 'ALTER TABLE ADD COLUMN: a SELECT * cached before it returns the new column',
    setup: PEOPLE,
    steps: [
      'SELECT * FROM pets ORDER BY id',
      "ALTER TABLE pets ADD COLUMN name TEXT DEFAULT 'unnamed'",
      'SELECT * FROM pets ORDER BY id',
      { sql: 'SELECT * FROM pets WHERE id = ?', args: [0] },
    ],
  },
  {
    name: 'ALTER TABLE ADD COLUMN on an empty table: a cached SELECT * returns the new column',
    setup: 'CREATE TABLE empty(a INTEGER);',
    steps: ['SELECT * FROM empty', 'ALTER TABLE empty ADD COLUMN b TEXT', 'SELECT * FROM empty'],
  },
  {
    name: 'RENAME COLUMN: a cached SELECT * returns the new name, a statement naming the old one fails',
    setup: PEOPLE,
    steps: [
      'SELECT * FROM pets ORDER BY id',
      'SELECT kind FROM pets ORDER BY id',
      'ALTER TABLE pets RENAME COLUMN kind TO species',
      'SELECT * FROM pets ORDER BY id',
      'SELECT kind FROM pets ORDER BY id',
    ],
  },
  {
    name: 'DROP COLUMN: a cached statement naming the column fails, a cached SELECT * narrows',
    setup: PEOPLE,
    steps: [
      'SELECT * FROM people ORDER BY id',
      'SELECT score FROM people ORDER BY id',
      'ALTER TABLE people DROP COLUMN score',
      'SELECT * FROM people ORDER BY id',
      'SELECT score FROM people ORDER BY id',
    ],
  },
  {
    name: 'DROP TABLE then CREATE with another shape: a cached SELECT * returns the new shape',
    setup: PEOPLE,
    steps: [
      'SELECT * FROM pets ORDER BY id',
      'DROP TABLE pets',
      'SELECT * FROM pets ORDER BY id',
      'CREATE TABLE pets(id INTEGER PRIMARY KEY, tag TEXT, weight REAL, legs INTEGER, owner INTEGER)',
      "INSERT INTO pets VALUES (7, 'rex', 12.5, 4, 1)",
      'SELECT * FROM pets ORDER BY id',
    ],
  },
  {
    name: 'DROP TABLE then CREATE with the same width but other names: a cached SELECT * returns the new names',
    setup: 'CREATE TABLE t(a INTEGER, b TEXT); INSERT INTO t VALUES (1, \'x\');',
    steps: [
      'SELECT * FROM t',
      'DROP TABLE t',
      'CREATE TABLE t(c TEXT, d INTEGER)',
      "INSERT INTO t VALUES ('y', 2)",
      'SELECT * FROM t',
    ],
  },

  // --- errors -------------------------------------------------------------
  {
    name: 'UNIQUE constraint error',
    setup: ACCOUNTS,
    steps: [
      { sql: 'INSERT INTO accounts(email, balance) VALUES (?, ?)', args: ['a@example.com', 1] },
      'SELECT count(*) FROM accounts',
    ],
  },
  {
    name: 'NOT NULL constraint error',
    setup: ACCOUNTS,
    steps: [{ sql: 'INSERT INTO accounts(email, balance) VALUES (?, ?)', args: [null, 1] }],
  },
  {
    name: 'CHECK constraint error',
    setup: ACCOUNTS,
    steps: [{ sql: 'UPDATE accounts SET balance = ? WHERE id = 1', args: [-5] }, 'SELECT balance FROM accounts'],
  },
  {
    name: 'PRIMARY KEY constraint error',
    setup: ACCOUNTS,
    steps: [{ sql: 'INSERT INTO accounts(id, email) VALUES (?, ?)', args: [1, 'b@example.com'] }],
  },
  {
    name: 'FOREIGN KEY constraint error with PRAGMA foreign_keys=ON on the same connection',
    setup: `
      CREATE TABLE parent(id INTEGER PRIMARY KEY);
      CREATE TABLE child(id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id));
      INSERT INTO parent VALUES (1);
    `,
    steps: [
      'PRAGMA foreign_keys=ON',
      { sql: 'INSERT INTO child(parent_id) VALUES (?)', args: [1] },
      { sql: 'INSERT INTO child(parent_id) VALUES (?)', args: [99] },
      'SELECT count(*) FROM child',
    ],
  },
  { name: 'syntax error', steps: ['SELEC 1', 'SELECT * FROM', { sql: 'SELECT ? ?', args: [1, 2] }] },
  { name: 'no such table', steps: ['SELECT * FROM missing', { sql: 'INSERT INTO missing VALUES (?)', args: [1] }] },
  { name: 'no such column', setup: PEOPLE, steps: ['SELECT nope FROM people'] },
  {
    name: 'an undefined argument is a TypeError',
    steps: [
      { sql: 'SELECT ?', args: [undefined as unknown as null] },
      { sql: 'SELECT :a', args: { a: undefined as unknown as null } },
    ],
  },
  {
    name: 'NaN and Infinity arguments are RangeErrors',
    steps: [
      { sql: 'SELECT ?', args: [Number.NaN] },
      { sql: 'SELECT ?', args: [Number.POSITIVE_INFINITY] },
      { sql: 'SELECT :x', args: { x: Number.NEGATIVE_INFINITY } },
    ],
  },
  {
    name: 'a bigint argument outside 64 bits is a RangeError',
    steps: [
      { sql: 'SELECT ?', args: [2n ** 63n] },
      { sql: 'SELECT ?', args: [-(2n ** 63n) - 1n] },
      { sql: 'SELECT ?', args: [2n ** 63n - 1n] },
    ],
  },
  // --- one row at most, by LIMIT (read with one step on files) ------------
  {
    name: 'LIMIT 1: a row, no row, every value type',
    setup: PEOPLE,
    steps: [
      ['SELECT * FROM people WHERE id = ? LIMIT 1', [1]],
      ['SELECT * FROM people WHERE id = ? LIMIT 1', [99]],
      ['SELECT * FROM people WHERE id = ? LIMIT 1', [3]],
      'SELECT name FROM people ORDER BY name DESC LIMIT 1 OFFSET 1',
      'SELECT name FROM people LIMIT 0',
      'WITH n AS (SELECT name FROM people) SELECT * FROM n LIMIT 1',
    ],
  },
  {
    name: 'LIMIT ? bound to 1, then more, then 1 and 0 again',
    setup: PEOPLE,
    steps: [
      ['SELECT id, kind FROM pets WHERE owner = ? ORDER BY id LIMIT ?', [1, 1]],
      ['SELECT id, kind FROM pets WHERE owner = ? ORDER BY id LIMIT ?', [1, 5]],
      ['SELECT id, kind FROM pets WHERE owner = ? ORDER BY id LIMIT ?', [3, 1]],
      ['SELECT id, kind FROM pets WHERE owner = ? ORDER BY id LIMIT ?', [3, -1]],
      ['SELECT id, kind FROM pets WHERE owner = ? ORDER BY id LIMIT ?', [1, 0]],
      ['SELECT id, kind FROM pets WHERE owner = ? ORDER BY id LIMIT ?', [1, 1n]],
      ['SELECT id FROM pets ORDER BY id LIMIT ? OFFSET ?', [1, 3]],
    ],
  },
  {
    name: 'LIMITs that do not bound the rows to one',
    setup: PEOPLE,
    steps: [
      // `LIMIT offset, count`: the first value is the offset.
      ['SELECT id FROM pets ORDER BY id LIMIT ?, ?', [1, 3]],
      'SELECT id FROM pets ORDER BY id LIMIT 1, 3',
      'SELECT id FROM pets WHERE id > (SELECT 1 LIMIT 1) ORDER BY id',
      'SELECT * FROM (SELECT id FROM pets ORDER BY id LIMIT 1) UNION ALL SELECT 7',
      'SELECT id FROM pets ORDER BY id LIMIT 1 + 1',
      ['SELECT id FROM pets ORDER BY id LIMIT :n', { n: 1 }],
    ],
  },
  {
    name: 'LIMIT 1: errors as the client raises them',
    setup: PEOPLE,
    steps: [
      ['SELECT json(?) LIMIT 1', ['{']],
      ['SELECT json(?) LIMIT 1', ['{}']],
      ['SELECT id FROM pets LIMIT ?', ['x']],
      'SELECT nope FROM people LIMIT 1',
    ],
  },
  {
    name: "LIMIT 1 in intMode 'number': an unsafe integer is a RangeError",
    intMode: 'number',
    setup: BIG,
    steps: [['SELECT n FROM big WHERE id = ? LIMIT 1', [9007199254740993n]], 'SELECT id FROM big ORDER BY id LIMIT 1'],
  },
];

describe.each(BACKENDS)('on %s', (backend) => {
describe('pool.execute returns what @libsql/client 0.18 returns', () => {
  test('the table has at least 30 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

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
});

describe('cached statements after schema changes the pool did not make', () => {
  test('a cached SELECT * returns a column renamed by another connection', async () => {
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a');");
      await pool.execute('SELECT * FROM t');
      await pool.execute('SELECT * FROM t');
      await client.execute('ALTER TABLE t RENAME COLUMN name TO nm');

      const expected = await attempt(() => client.execute('SELECT * FROM t'));
      const actual = await attempt(() => pool.execute('SELECT * FROM t'));
      expectSameOutcome('pool', 'SELECT * FROM t', actual, expected);
    });
  });

  test.each([
    ['a column renamed', 'renamed', 'ALTER TABLE renamed RENAME COLUMN name TO nm'],
    ['a column added', 'widened', 'ALTER TABLE widened ADD COLUMN extra INTEGER DEFAULT 7'],
  ])('a cached SELECT * … LIMIT 1 returns the columns after %s by another connection', async (_, table, change) => {
    // A table of its own per case: once another connection has changed a
    // table's columns, sqld can answer a later case's SELECT * of a table of
    // the same name, rebuilt with fewer columns, with "Invalid column index"
    // (HTTP 500, or a WebSocket closed).
    const query = `SELECT * FROM ${table} WHERE id = ? LIMIT 1`;
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple(`CREATE TABLE ${table}(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO ${table} VALUES (1, 'a');`);
      await pool.execute(query, [1]);
      await pool.execute(query, [1]);
      await client.execute(change);

      const expected = await attempt(() => client.execute(query, [1]));
      const actual = await attempt(() => pool.execute(query, [1]));
      expectSameOutcome('pool', query, actual, expected);
    });
  });

  test('a cached WITH … SELECT * returns a column renamed by another connection', async () => {
    const query = 'WITH r AS (SELECT * FROM t) SELECT * FROM r';
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a');");
      await pool.execute(query);
      await pool.execute(query);
      await client.execute('ALTER TABLE t RENAME COLUMN name TO nm');

      const expected = await attempt(() => client.execute(query));
      const actual = await attempt(() => pool.execute(query));
      expectSameOutcome('pool', query, actual, expected);
    });
  });

  test('a cached SELECT * with no rows returns the real columns after a rolled-back batch added one', async () => {
    await withClientAndPool(backend, undefined, async (client, pool) => {
      const setup = 'CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT);';
      const query = 'SELECT * FROM t WHERE id = 0';
      const failing = ['ALTER TABLE t ADD COLUMN extra TEXT', query, 'INSERT INTO t(id) VALUES (1), (1)'];

      await reset(clientSide(client));
      await client.executeMultiple(setup);
      await client.execute(query);
      await expect(client.batch(failing)).rejects.toBeInstanceOf(LibsqlBatchError);
      const expected = await attempt(() => client.execute(query));

      await reset(poolSide(pool));
      await pool.use((lease) => lease.executeMultiple(setup));
      await pool.execute(query);
      await expect(pool.batch(failing)).rejects.toBeInstanceOf(LibsqlBatchError);
      const actual = await attempt(() => pool.execute(query));

      expectSameOutcome('pool', query, actual, expected);
    });
  });
});

describe('pool.batch returns what client.batch returns', () => {
  const setup = 'CREATE TABLE log(id INTEGER PRIMARY KEY, msg TEXT UNIQUE, at INTEGER);';

  test('a successful batch gives the same result sets', async () => {
    const batch: InStatement[] = [
      { sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['start', 1] },
      { sql: 'INSERT INTO log(msg, at) VALUES (:m, :t) RETURNING id, msg', args: { m: 'middle', t: 2n } },
      'UPDATE log SET at = at * 10',
      'SELECT * FROM log ORDER BY id',
    ];
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple(setup);
      const expected = await client.batch(batch, 'write');
      await reset(poolSide(pool));
      await pool.use((lease) => lease.executeMultiple(setup));
      const actual = await pool.batch(batch, 'write');

      expect(actual).toStrictEqual(expected);
      expect(actual.map(resultView)).toStrictEqual(expected.map(resultView));
    });
  });

  test('a failing batch rejects with the same LibsqlBatchError and rolls back its earlier writes', async () => {
    const batch: InStatement[] = [
      { sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['one', 1] },
      { sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['two', 2] },
      { sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['one', 3] },
      'SELECT 1',
    ];
    const count = 'SELECT count(*) AS n FROM log';
    await withClientAndPool(backend, undefined, async (client, pool) => {
      await reset(clientSide(client));
      await client.executeMultiple(setup);
      await client.execute({ sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['before', 0] });
      const expected = await client.batch(batch).then(
        () => undefined,
        (error: unknown) => error,
      );
      const expectedCount = await client.execute(count);

      await reset(poolSide(pool));
      await pool.use((lease) => lease.executeMultiple(setup));
      await pool.execute({ sql: 'INSERT INTO log(msg, at) VALUES (?, ?)', args: ['before', 0] });
      const actual = await pool.batch(batch).then(
        () => undefined,
        (error: unknown) => error,
      );
      const actualCount = await pool.execute(count);

      expect(expected).toBeInstanceOf(LibsqlBatchError);
      expect(actual).toBeInstanceOf(LibsqlBatchError);
      expect(errorView(actual)).toStrictEqual(errorView(expected));
      expect(errorView(actual)).toMatchObject({ statementIndex: 2, code: 'SQLITE_CONSTRAINT' });
      expect(resultView(actualCount)).toStrictEqual(resultView(expectedCount));
      expect(actualCount.rows[0]!.n).toBe(1);
    });
  });
});
});
