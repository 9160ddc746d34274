// What the pool and its drivers read from a statement's text, apart from
// how it is read (sql-text.ts, plain-sql.ts), so that both readings share it.

/**
 * What a statement does to the connection's transaction or schema, read from
 * its first keywords. Drivers use it to track whether a transaction is open
 * and when cached statements may describe a stale schema.
 */
export type StatementKind = 'begin' | 'commit' | 'rollback' | 'rollbackTo' | 'ddl' | 'other';

/**
 * What a statement does to the transaction when it succeeds. Only BEGIN and
 * SAVEPOINT open one; only COMMIT (END), ROLLBACK and RELEASE end one.
 * - `keeps`: a statement of any other kind;
 * - `opens`: BEGIN, or SAVEPOINT (which opens one or nests): one is open after it;
 * - `ends`: COMMIT, END or a plain ROLLBACK: none is open after it;
 * - `unknown`: RELEASE (which ends it only if its savepoint opened it),
 *   ROLLBACK TO, or a statement not recognised: the connection must ask.
 * Each is recognised by what it is, never by what it is not, so that anything
 * unforeseen is asked about.
 */
export type TransactionEffect = 'keeps' | 'opens' | 'ends' | 'unknown';

/** What a statement's placeholders look like, numbered as SQLite numbers them. */
export interface ParameterShape {
  /** The highest parameter index (SQLite numbers named parameters too). */
  readonly count: number;
  /** Whether some parameter index has no name (a bare `?`, or a gap left by `?NNN`). */
  readonly anonymous: boolean;
}

/** The shape of a statement with no parameters. */
export const NO_PARAMS: ParameterShape = Object.freeze({ count: 0, anonymous: false });

/**
 * What the text may change in the connection's session, read loosely: a word
 * too many costs the pool a check at checkin, a word missed would leak state.
 */
export interface SessionTouch {
  /** Lower-cased names of the PRAGMAs the text assigns (`PRAGMA x = v` or `PRAGMA x(v)`), in order. */
  readonly pragmas: readonly string[];
  /** Whether TEMP objects may be made or dropped. */
  readonly temp: boolean;
  /** Whether a database may be attached or detached. */
  readonly attached: boolean;
}

/** Everything the pool and its drivers read from a statement's text, from one pass. */
export interface SqlDescription {
  readonly kind: StatementKind;
  readonly effect: TransactionEffect;
  /** Only whitespace, comments and semicolons: SQLite prepares nothing, and says "not an error". */
  readonly empty: boolean;
  /**
   * Whether the text has a `*` other than in `count(*)`: the result columns
   * may follow a table's definition, so their names can change under a
   * prepared statement. It may overcount (a multiplication), which costs a check.
   */
  readonly star: boolean;
  /** A SELECT (or WITH … SELECT) with such a `*`: read-only, so running it again is harmless. */
  readonly selectsStar: boolean;
  readonly params: ParameterShape;
  /**
   * Whether a SELECT returns at most one row whatever the schema, by its own
   * LIMIT (outside any parentheses, at its end, with an OFFSET or none):
   * `0` for `LIMIT 0` or `LIMIT 1`; `k` (1 or more) for `LIMIT ?` where that
   * `?` is parameter `k` and every parameter is a bare `?`, so at most one
   * row when it is bound to 0 or 1; `-1` for any other statement.
   */
  readonly oneRowLimit: number;
  /** What the statement may change in the session, or `undefined` (most statements). */
  readonly session: SessionTouch | undefined;
}
