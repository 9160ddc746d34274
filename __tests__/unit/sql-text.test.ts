import fc from 'fast-check';
import * as sqlText from '../../lib/drivers/sql-text';
import { describeScript, describeSql, type SqlDescription } from '../../lib/drivers/sql-text';
import { withPool } from '../support/helpers';

// The one reading of SQL text that the drivers and the session check share.
// Comments, quoting and parameters are read as SQLite's tokenizer reads them;
// where that matters on a real database, the tests that pin it run there
// (bad-input, sessions, transactions, the conformance suites).

describe('statement kind and transaction effect', () => {
  test.each<[string, SqlDescription['kind'], SqlDescription['effect']]>([
    ['SELECT 1', 'other', 'keeps'],
    ['begin immediate', 'begin', 'opens'],
    ['  -- why\n /* and how */ BEGIN', 'begin', 'opens'],
    ['/**/BEGIN/**/TRANSACTION', 'begin', 'opens'],
    // SQLite skips empty statements before the first real one.
    [';; BEGIN', 'begin', 'opens'],
    ['COMMIT', 'commit', 'ends'],
    ['end transaction', 'commit', 'ends'],
    ['ROLLBACK', 'rollback', 'ends'],
    ['ROLLBACK;', 'rollback', 'ends'],
    ['ROLLBACK -- done', 'rollback', 'ends'],
    ['ROLLBACK TRANSACTION', 'rollback', 'ends'],
    ['ROLLBACK TRANSACTION tx', 'rollback', 'ends'],
    ['ROLLBACK; SELECT 1', 'rollback', 'unknown'],
    ['ROLLBACK TO s', 'rollbackTo', 'unknown'],
    ['ROLLBACK /* not the transaction */ TO s', 'rollbackTo', 'unknown'],
    ['rollback transaction to savepoint s', 'rollbackTo', 'unknown'],
    ['SAVEPOINT s', 'other', 'opens'],
    ['RELEASE s', 'other', 'unknown'],
    ['CREATE TABLE t(v)', 'ddl', 'keeps'],
    ['-- BEGIN\nDROP TABLE t', 'ddl', 'keeps'],
    ['/* COMMIT */ alter table t add column w', 'ddl', 'keeps'],
    ["SELECT 'BEGIN'", 'other', 'keeps'],
    ['"BEGIN"', 'other', 'unknown'],
    ['[COMMIT]', 'other', 'unknown'],
    ['EXPLAIN BEGIN', 'other', 'keeps'],
    ['EXPLAIN QUERY PLAN SELECT 1', 'other', 'keeps'],
    ['WITH c AS (SELECT 1) SELECT * FROM c', 'other', 'keeps'],
    ['WITH c AS (SELECT 1) INSERT INTO t SELECT * FROM c', 'other', 'keeps'],
    ['VACUUM', 'other', 'keeps'],
    ['frobnicate', 'other', 'unknown'],
    ['/* unterminated', 'other', 'unknown'],
    ["'unterminated", 'other', 'unknown'],
  ])('%j is %s and %s the transaction', (sql, kind, effect) => {
    expect(describeSql(sql)).toMatchObject({ kind, effect });
  });
});

describe('empty statements', () => {
  test.each(['', '   ', '\t\n\r\f\v', ';', ' ; ;\n', '-- only a comment', '-- a\n', '/* c */', '/* unterminated', '-- a\n/* b */ ;\n'])(
    '%j is empty',
    (sql) => {
      expect(describeSql(sql)).toMatchObject({ empty: true, kind: 'other', effect: 'unknown', session: undefined });
    },
  );

  test.each(["''", '""', 'x', '/* c */ SELECT 1 /* unterminated', "'unterminated", ';SELECT 1'])('%j is not', (sql) => {
    expect(describeSql(sql).empty).toBe(false);
  });
});

describe('`*` and SELECT *', () => {
  test.each<[string, boolean, boolean]>([
    ['SELECT * FROM t', true, true],
    ['/* a */ select t.*, u.id FROM t JOIN u', true, true],
    ['SELECT count(*) FROM t', false, false],
    ['SELECT count( /* all */ * ) FROM t WHERE id = ?', false, false],
    // An overcount: it only costs a schema check.
    ['SELECT a * 2 FROM t', true, true],
    ["SELECT '*' /* * */ FROM t -- *", false, false],
    ['SELECT "*" FROM t', false, false],
    ['WITH c AS (SELECT 1 AS x) SELECT * FROM c', true, true],
    ['WITH RECURSIVE c(x) AS (VALUES (1) UNION ALL SELECT x + 1 FROM c) SELECT * FROM c', true, true],
    ['WITH c AS (SELECT * FROM t) INSERT INTO u SELECT * FROM c', true, false],
    ['WITH c(x) AS (VALUES (1)) DELETE FROM t WHERE id IN c RETURNING *', true, false],
    ['INSERT INTO t VALUES (1) RETURNING *', true, false],
    ['EXPLAIN QUERY PLAN SELECT * FROM t', true, false],
  ])('%j: star %s, selectsStar %s', (sql, star, selectsStar) => {
    expect(describeSql(sql)).toMatchObject({ star, selectsStar });
  });
});

describe('parameters, numbered as SQLite numbers them', () => {
  test.each<[string, number, boolean]>([
    ['SELECT ?', 1, true],
    ['SELECT ?, ?', 2, true],
    ['SELECT ?3', 3, true],
    ['SELECT ?3, ?', 4, true],
    ['SELECT ?1, ?1', 1, false],
    ['SELECT ?1, ?3', 3, true],
    ['SELECT :a, :a, :b', 2, false],
    ['SELECT :a, ?', 2, true],
    ['SELECT :a, ?1', 1, false],
    ['SELECT $x', 1, false],
    ['SELECT @x', 1, false],
    ['SELECT #a, #a', 1, false],
    ['SELECT :x, @x, $x', 3, false],
    ['SELECT :ä', 1, false],
    // `$` continues a name, and `::` continues a `$` name.
    ['SELECT :a$b, :a$b', 1, false],
    ['SELECT $ns::v, $ns::v', 1, false],
    ["SELECT '?'", 0, false],
    ["SELECT 'it''s ?', ':a'", 0, false],
    ["SELECT x'3f'", 0, false],
    ['SELECT "a?" FROM t', 0, false],
    ['SELECT "a""?" FROM t', 0, false],
    ['SELECT `a?` FROM t', 0, false],
    ['SELECT [a?b] FROM t', 0, false],
    ['SELECT 1 -- ?', 0, false],
    ['SELECT 1 -- ?\n, ?', 1, true],
    ['SELECT /* ? :a */ 1', 0, false],
    ['SELECT /* ? */ ?', 1, true],
    ['SELECT 1 /* ? unterminated', 0, false],
    ["SELECT 'unterminated ?", 0, false],
    ['SELECT ?, :a, ?5, @b, ?, :a', 7, true],
    ["INSERT INTO t(a, b) VALUES (:a, '?') -- ?\n/* ? */", 1, false],
    ['SELECT 1', 0, false],
    ['SELECT ?2', 2, true],
    ['SELECT :a, ?3', 3, true],
    ['SELECT : a', 0, false],
  ])('%j has count %i, anonymous %s', (sql, count, anonymous) => {
    expect(describeSql(sql).params).toEqual({ count, anonymous });
  });
});

describe('what a statement may change in the session', () => {
  const none = { pragmas: [], temp: false, attached: false };
  test.each<[string, object | undefined]>([
    ['PRAGMA foreign_keys = OFF', { ...none, pragmas: ['foreign_keys'] }],
    ['/* why */ pragma main."query_only"(1)', { ...none, pragmas: ['query_only'] }],
    ['PRAGMA/**/Foreign_Keys=0', { ...none, pragmas: ['foreign_keys'] }],
    // SQLite takes a string where a name is expected.
    ["PRAGMA 'foreign_keys' = 0", { ...none, pragmas: ['foreign_keys'] }],
    ['PRAGMA [main].[busy_timeout] = 5', { ...none, pragmas: ['busy_timeout'] }],
    // SQLite applies these as it prepares them, explained or not.
    ['EXPLAIN PRAGMA busy_timeout = 5', { ...none, pragmas: ['busy_timeout'] }],
    ['explain query plan pragma foreign_keys = 0', { ...none, pragmas: ['foreign_keys'] }],
    ['PRAGMA foreign_keys', undefined],
    ['PRAGMA table_info(t)', { ...none, pragmas: ['table_info'] }],
    ["SELECT 'PRAGMA foreign_keys = 0'", undefined],
    ['-- PRAGMA foreign_keys = 0\nSELECT 1', undefined],
    ['CREATE TEMPORARY TABLE t(v)', { ...none, temp: true }],
    ['CREATE TABLE temp.t(v)', { ...none, temp: true }],
    ['CREATE TABLE "temp".t(v)', { ...none, temp: true }],
    ["CREATE TABLE 'temp'.t(v)", { ...none, temp: true }],
    ['DROP TABLE [temp].t', { ...none, temp: true }],
    ['CREATE TABLE t(v) -- not temp', undefined],
    ['CREATE TABLE temperature(v)', undefined],
    ['SELECT * FROM temp.t', undefined],
    ["ATTACH ':memory:' AS aux", { ...none, attached: true }],
    ['/* x */ detach aux', { ...none, attached: true }],
    ["SELECT 'ATTACH'", undefined],
  ])('%j: %j', (sql, session) => {
    expect(describeSql(sql).session).toEqual(session);
  });

  test('a script is read whole: every PRAGMA assigned, TEMP and ATTACH anywhere outside comments', () => {
    expect(describeScript('CREATE TABLE a(v); PRAGMA busy_timeout = 10; CREATE TEMP VIEW v AS SELECT 1')).toEqual({
      pragmas: ['busy_timeout'],
      temp: true,
      attached: false,
    });
    expect(describeScript("INSERT INTO a VALUES (1); ATTACH 'x.db' AS x")).toEqual({ ...none, attached: true });
    expect(describeScript('CREATE TABLE a(v); -- ATTACH temp\nINSERT INTO a VALUES (1) /* PRAGMA foreign_keys = 0 */')).toBeUndefined();
  });
});

describe('one row at most, by the statement\'s own LIMIT', () => {
  test.each<[string, number]>([
    ['SELECT * FROM t WHERE id = ? LIMIT 1', 0],
    ['select * from t limit 0', 0],
    ['SELECT a FROM t LIMIT 1 OFFSET 20', 0],
    ['SELECT a FROM t LIMIT 1 OFFSET ?', 0],
    ['SELECT a FROM t WHERE b = :b LIMIT 1', 0],
    ['SELECT a FROM t LIMIT 1; SELECT b FROM u', 0],
    ['SELECT a FROM t LIMIT 1 -- the first', 0],
    ['WITH c AS (SELECT * FROM t LIMIT 5) SELECT * FROM c LIMIT 1', 0],
    ['SELECT a FROM t UNION SELECT b FROM u LIMIT 1', 0],
    ['SELECT * FROM t LIMIT ?', 1],
    ['SELECT * FROM t WHERE a = ? AND b = ? LIMIT ? OFFSET ?', 3],
    ['SELECT * FROM t WHERE a = ? LIMIT?', 2],
    // Not one row at most, or not said so by the text alone.
    ['SELECT * FROM t LIMIT 2', -1],
    ['SELECT * FROM t LIMIT 01', -1],
    ['SELECT * FROM t LIMIT 1 + 1', -1],
    ['SELECT * FROM t LIMIT 1, 5', -1],
    ['SELECT * FROM t LIMIT ?, ?', -1],
    ['SELECT * FROM t LIMIT (1)', -1],
    ['SELECT * FROM (SELECT * FROM t LIMIT 1)', -1],
    ['SELECT * FROM t WHERE a IN (SELECT a FROM u LIMIT 1)', -1],
    ['SELECT * FROM t LIMIT :n', -1],
    ['SELECT * FROM t WHERE a = :a LIMIT ?', -1],
    ['SELECT * FROM t WHERE a = ?1 LIMIT ?', -1],
    ['SELECT * FROM t LIMIT ?2', -1],
    ['SELECT * FROM t LIMIT 1 OFFSET 2 + 1', -1],
    ['SELECT * FROM t \u0131imit 1', -1],
    ['SELECT * FROM t LIM\u0131T 1', -1],
    ["SELECT 'LIMIT 1'", -1],
    ['SELECT * FROM t /* LIMIT 1 */', -1],
    ['SELECT * FROM t; SELECT * FROM u LIMIT 1', -1],
    ['DELETE FROM t LIMIT 1', -1],
    ['EXPLAIN SELECT * FROM t LIMIT 1', -1],
    ['VALUES (1), (2) LIMIT 1', -1],
    ['CREATE VIEW v AS SELECT * FROM t LIMIT 1', -1],
  ])('%j: oneRowLimit %i', (sql, limit) => {
    expect(describeSql(sql).oneRowLimit).toBe(limit);
  });
});

describe('comments and whitespace between tokens change nothing', () => {
  // Tokens that stay tokens whatever separates them; no `-` or `/`, which a
  // following comment could join.
  const token = fc.oneof(
    fc.constantFrom(
      'SELECT', 'INSERT', 'INTO', 'VALUES', 'FROM', 'WHERE', 'WITH', 'AS', 'BEGIN', 'COMMIT', 'END', 'ROLLBACK',
      'TRANSACTION', 'TO', 'SAVEPOINT', 'RELEASE', 'CREATE', 'DROP', 'ALTER', 'TABLE', 'TEMP', 'TEMPORARY', 'PRAGMA',
      'ATTACH', 'DETACH', 'EXPLAIN', 'QUERY', 'PLAN', 'count', 't', 'main', 'foreign_keys', 'busy_timeout', '1', '2.5',
      '(', ')', ',', '.', '*', '=', ';', '?', '?2', ':a', '@b', '$c', '#d', ':a', "'it''s'", "'temp'", "'?'",
      '"col"', '"temp"', '`x`', '[y z]', "x'00'", 'LIMIT', 'limit', 'OFFSET', '0',
    ),
    fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/),
  );
  const space = fc.constantFrom(' ', '\t', '\n', '\r', '\f', '\v');
  const separator = fc
    .array(
      fc.oneof(
        space,
        fc.string({ maxLength: 8 }).map((s) => `--${s.replace(/\n/g, '')}\n`),
        fc.string({ maxLength: 8 }).filter((s) => !s.includes('*/')).map((s) => `/*${s}*/`),
      ),
      { minLength: 1, maxLength: 3 },
    )
    .map((parts) => parts.join(''));

  test('a statement described with single spaces is described the same with any comments and whitespace', () => {
    fc.assert(
      fc.property(
        fc.array(token, { minLength: 1, maxLength: 16 }),
        fc.array(separator, { minLength: 17, maxLength: 17 }),
        (tokens, separators) => {
          const plain = tokens.join(' ');
          const decorated = separators[0] + tokens.map((t, i) => t + separators[i + 1]).join('');
          expect(describeSql(decorated)).toEqual(describeSql(plain));
          expect(describeScript(decorated)).toEqual(describeScript(plain));
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('so are the statements of the tables above', () => {
    const statements = fc.constantFrom(
      'BEGIN IMMEDIATE',
      'ROLLBACK TRANSACTION TO s',
      'WITH c AS ( SELECT * FROM t ) SELECT * FROM c',
      "PRAGMA main . 'foreign_keys' = 0",
      'EXPLAIN QUERY PLAN PRAGMA busy_timeout ( 5 )',
      'SELECT count ( * ) , ?3 , :a FROM t',
      'SELECT * FROM t WHERE a = ? LIMIT ? OFFSET ?',
    );
    fc.assert(
      fc.property(statements, separator, (sql, sep) => {
        expect(describeSql(sql.split(' ').join(sep))).toEqual(describeSql(sql));
      }),
    );
  });
});

test('text is read when a statement is prepared, once, and never on a cache hit', async () => {
  // Cached from its first run, so the second run is already a hit.
  await withPool({ max: 1, statementCache: { admission: 'always' } }, async (pool) => {
    const read = jest.spyOn(sqlText, 'describeSql');
    try {
      // The lease's session check and the driver share one reading of a new text.
      const sql = `SELECT ? AS n -- ${Date.now()}`;
      await pool.execute(sql, [1]);
      expect(read.mock.calls.every(([text]) => text === sql)).toBe(true);
      expect(new Set(read.mock.results.map((r) => r.value)).size).toBe(1);
      const afterPrepare = read.mock.calls.length;
      expect(afterPrepare).toBeGreaterThan(0);

      await pool.execute(sql, [2]);
      await pool.use((lease) => lease.execute(sql, [3]));
      expect(read.mock.calls.length).toBe(afterPrepare);
    } finally {
      read.mockRestore();
    }
  });
});
