import type * as hrana from '@libsql/hrana-client';
import type { DriverStatement } from './driver';
import { scanParameters } from './args';
import { statementKind, type StatementKind } from './statement-kind';

/**
 * What a statement does to the transaction when it succeeds. Only BEGIN and
 * SAVEPOINT open one; only COMMIT (END), ROLLBACK and RELEASE end one.
 * - `keeps`: a statement of any other kind;
 * - `opens`: BEGIN, or SAVEPOINT (which opens one or nests): one is open after it;
 * - `ends`: COMMIT, END or a plain ROLLBACK: none is open after it;
 * - `unknown`: RELEASE (which ends it only if its savepoint opened it),
 *   ROLLBACK TO, or a statement not recognised: the server is asked.
 * Each is recognised by what it is, never by what it is not, so that anything
 * unforeseen is asked about. A statement that fails is another matter: see
 * the connection's `#fail`.
 */
export type TransactionEffect = 'keeps' | 'opens' | 'ends' | 'unknown';

const LEADING_COMMENTS = String.raw`^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*`;
const KEEPS = new RegExp(
  `${LEADING_COMMENTS}(?:SELECT|INSERT|UPDATE|DELETE|REPLACE|WITH|VALUES|CREATE|ALTER|DROP|PRAGMA|EXPLAIN|ANALYZE|REINDEX|VACUUM|ATTACH|DETACH)\\b`,
  'i',
);
const OPENS = new RegExp(`${LEADING_COMMENTS}(?:BEGIN|SAVEPOINT)\\b`, 'i');
/** A ROLLBACK only when nothing follows that could make it a ROLLBACK TO. */
const ENDS = new RegExp(`${LEADING_COMMENTS}(?:(?:COMMIT|END)\\b|ROLLBACK(?:\\s+TRANSACTION)?\\s*;?\\s*$)`, 'i');

function transactionEffect(sql: string): TransactionEffect {
  if (KEEPS.test(sql)) return 'keeps';
  if (OPENS.test(sql)) return 'opens';
  if (ENDS.test(sql)) return 'ends';
  return 'unknown';
}

/** A plain `SELECT` with a `*`: its columns follow the tables, and re-running it is harmless. */
const SELECT = /^\s*(?:(?:--[^\n]*\n|\/\*[\s\S]*?\*\/)\s*)*SELECT\b/i;

/** A statement as the remote driver runs it; stored SQL and schema tracking are the connection's. */
export class RemoteStatement implements DriverStatement {
  readonly sql: string;
  readonly kind: StatementKind;
  readonly selectsStar: boolean;
  readonly effect: TransactionEffect;
  /** The text sent: `sql`, or `sql` with a comment naming the schema version (see `#runStar` in remote.ts). */
  text: string;
  /** `PRAGMA schema_version` when this connection last ran it. */
  schemaVersion: unknown = undefined;
  /** The SQL stored on the server, and the stream generation it belongs to. */
  stored: hrana.Sql | undefined;
  generation = -1;
  dispose: () => void;

  constructor(sql: string, dispose: (st: RemoteStatement) => void) {
    this.sql = sql;
    this.text = sql;
    this.kind = statementKind(sql);
    this.selectsStar = SELECT.test(sql) && scanParameters(sql).star;
    this.effect = transactionEffect(sql);
    this.dispose = () => dispose(this);
  }
}
