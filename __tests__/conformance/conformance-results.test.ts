import { BACKENDS, ACCOUNTS, BIG, PEOPLE, testCases, useOwnSqld, type Case } from '../support/conformance';

// The pool's promise, part two: queries, schema changes, errors and
// statements bounded to one row by their LIMIT come back from
// \`pool.execute\` as \`client.execute\` returns them (see
// support/conformance.ts for how a case runs).

useOwnSqld();

const cases: Case[] = [
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

test('the table has at least 20 cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(20);
});

describe.each(BACKENDS)('on %s', (backend) => {
  describe('pool.execute returns what @libsql/client 0.18 returns', () => {
    testCases(backend, cases);
  });
});
