/**
 * What a statement does to the connection's transaction or schema, read from
 * its first keyword (after comments). Drivers use it to track whether a
 * transaction is open and when cached statements may describe a stale schema.
 */
export type StatementKind = 'begin' | 'commit' | 'rollback' | 'rollbackTo' | 'ddl' | 'other';

const KEYWORD = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*([A-Za-z]+)(?:\s+(?:TRANSACTION\s+)?([A-Za-z]+))?/i;

export function statementKind(sql: string): StatementKind {
  const match = KEYWORD.exec(sql);
  if (match === null) return 'other';
  switch (match[1]!.toUpperCase()) {
    case 'BEGIN':
      return 'begin';
    case 'COMMIT':
    case 'END':
      return 'commit';
    case 'ROLLBACK':
      return match[2]?.toUpperCase() === 'TO' ? 'rollbackTo' : 'rollback';
    case 'CREATE':
    case 'ALTER':
    case 'DROP':
      return 'ddl';
    default:
      return 'other';
  }
}
