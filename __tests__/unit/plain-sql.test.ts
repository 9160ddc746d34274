import fc from 'fast-check';
import { describePlain } from '../../lib/drivers/plain-sql';
import { describeSql, describeSqlInFull } from '../../lib/drivers/sql-text';

// The shortcut for plain SELECT/INSERT/UPDATE/DELETE/REPLACE/VALUES text must
// give exactly what the tokenizer gives, and leave every other text to it.

describe('which texts the shortcut reads', () => {
  test.each([
    'SELECT id, name, value FROM t WHERE id = 7 AND value > -12',
    '  select count(*) from t',
    'SELECT count ( * ) FROM t',
    'SELECT * FROM t WHERE a = ?2 AND b = ?',
    'INSERT INTO t (a, b) VALUES (1, 2.5e3) RETURNING *',
    'update t set v = v * 2 where id = ?',
    'DELETE FROM t WHERE a / 2 - 1 > 0',
    'REPLACE INTO t VALUES (?1, ?1)',
    'VALUES (1), (2)',
    '\t\n\v\f\rSELECT 1',
  ])('%j is read by the shortcut, as the tokenizer reads it', (sql) => {
    const plain = describePlain(sql);
    expect(plain).toBeDefined();
    expect(plain).toEqual(describeSqlInFull(sql));
  });

  test.each([
    ["a string: SELECT 'a;b'", "SELECT 'a;b'"],
    ['a quoted name', 'SELECT "temp" FROM t'],
    ['a backquoted name', 'SELECT `x` FROM t'],
    ['a bracketed name', 'SELECT [x] FROM t'],
    ['a line comment', 'SELECT 1 -- ATTACH'],
    ['a block comment', 'SELECT 1 /* ; */'],
    ['a named parameter', 'SELECT :a, @b, $c, #d'],
    ['a second statement', 'SELECT 1; PRAGMA foreign_keys = 0'],
    ['a non-ASCII character', 'SELECT 1 AS é'],
    ['WITH', 'WITH c AS (SELECT 1) SELECT * FROM c'],
    ['PRAGMA', 'PRAGMA foreign_keys = 0'],
    ['EXPLAIN', 'EXPLAIN SELECT 1'],
    ['CREATE TEMP', 'CREATE TEMP TABLE x (a)'],
    ['ATTACH', 'ATTACH x AS y'],
    ['BEGIN', 'BEGIN IMMEDIATE'],
    ['ROLLBACK', 'ROLLBACK'],
    ['a leading parenthesis', '(SELECT 1)'],
    ['a longer first word', 'SELECTED 1'],
    ['a LIMIT, which may bound a SELECT to one row', 'SELECT * FROM t WHERE id = ? LIMIT 1'],
    ['nothing', '   '],
  ])('a text with %s is left to the tokenizer', (_, sql) => {
    expect(describePlain(sql)).toBeUndefined();
  });
});

describe('the shortcut and the tokenizer agree', () => {
  const verb = fc.constantFrom('SELECT', 'select', 'Insert', 'UPDATE', 'delete', 'REPLACE', 'values', 'WITH', 'PRAGMA', 'CREATE', 'BEGIN');
  const token = fc.oneof(
    fc.constantFrom(
      'FROM', 'INTO', 'TEMP', 'TEMPORARY', 'ATTACH', 'DETACH', 'PRAGMA', 'count', 't', '1', '2.5', '0x1F', '(', ')',
      ',', '.', '*', '=', '-', '/', '%', '<', '>', '?', '?2', '?10', ';', ':a', '@b', '$c', '#d', "'it''s'", "'*'",
      '"col"', '`x`', '[y z]', '--', '/*', '*/', '\n', 'é', 'LIMIT', 'limit', 'OFFSET', '0',
    ),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/),
  );
  const space = fc.constantFrom('', ' ', '  ', '\t', '\n', '\r', '\f', '\v');

  test('on statements built from words, punctuation, parameters, quotes and comments', () => {
    fc.assert(
      fc.property(space, verb, fc.array(fc.tuple(space, token), { maxLength: 20 }), (lead, first, rest) => {
        const sql = lead + first + rest.map(([s, t]) => s + t).join('');
        expect(describeSql(sql)).toEqual(describeSqlInFull(sql));
      }),
      { numRuns: 5000 },
    );
  });

  test('on a verb followed by any characters', () => {
    const tail = fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '*', '?', '(', ')', '1', '9', 'a', 'Z', '_', '-', '/', ',', '\u0000', "'", ';') });
    fc.assert(
      fc.property(verb, tail, (first, rest) => {
        const sql = first + rest;
        expect(describeSql(sql)).toEqual(describeSqlInFull(sql));
      }),
      { numRuns: 5000 },
    );
  });

  test('on any text at all', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (sql) => {
        expect(describeSql(sql)).toEqual(describeSqlInFull(sql));
      }),
      { numRuns: 2000 },
    );
  });
});
