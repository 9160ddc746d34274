import { Buffer } from 'node:buffer';
import { BACKENDS, BIG, EXTREME_INTS, PEOPLE, testCases, useOwnSqld, type Case } from '../support/conformance';

// The pool's promise, part one: values, placeholders and writes come back
// from \`pool.execute\` as \`client.execute\` returns them (see
// support/conformance.ts for how a case runs).

useOwnSqld();

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
];

test('the table has at least 25 cases', () => {
  expect(cases.length).toBeGreaterThanOrEqual(25);
});

describe.each(BACKENDS)('on %s', (backend) => {
  describe('pool.execute returns what @libsql/client 0.18 returns', () => {
    testCases(backend, cases);
  });
});
