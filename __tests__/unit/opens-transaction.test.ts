import { mayOpenTransaction } from '../../lib/pool/opens-transaction';

describe('mayOpenTransaction', () => {
  test.each(['BEGIN', 'begin immediate', '  \n\tBegin', 'SAVEPOINT a', 'savepoint a'])('%j may open a transaction', (sql) => {
    expect(mayOpenTransaction(sql)).toBe(true);
  });

  test.each(['/* x */ BEGIN', '-- x\nBEGIN', '(select 1)', '', '   '])('%j, not led by a keyword, counts as one that may', (sql) => {
    expect(mayOpenTransaction(sql)).toBe(true);
  });

  test.each(['select 1; begin', "insert into t values (';')", 'select 1;'])('%j, holding a `;`, counts as one that may', (sql) => {
    expect(mayOpenTransaction(sql)).toBe(true);
  });

  test.each([
    'SELECT id FROM t WHERE id = ?',
    'insert into t values (1)',
    'UPDATE t SET x = 1',
    'delete from t',
    'with a as (select 1) select * from a',
    'COMMIT',
    'END',
    'ROLLBACK',
    'RELEASE a',
    'PRAGMA foreign_keys = ON',
    'create table t(x)',
    'EXPLAIN BEGIN',
  ])('%j cannot open one', (sql) => {
    expect(mayOpenTransaction(sql)).toBe(false);
  });
});
