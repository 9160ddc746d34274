import type { ResultSet, Value } from '@libsql/client';

// Types only, and apart from `result.ts`: they reach the published
// declarations, which must not import `@libsql/core/util` (its ESM typings do
// not resolve under node16).

/**
 * How rows come back: `'client'`, the objects `@libsql/client` returns
 * (indexed and named); `'array'`, plain arrays of the column values, in the
 * order of `columns`, as pg's `rowMode: 'array'` or better-sqlite3's `raw()`.
 */
export type RowMode = 'client' | 'array';

/** A `ResultSet` whose rows are plain arrays (`rowMode: 'array'`); everything else is as in `ResultSet`. */
export interface ArrayResultSet extends Omit<ResultSet, 'rows'> {
  rows: Value[][];
}

/** The result of a statement run in `rowMode` `M`: a union when the mode is only known at run time. */
export type ResultIn<M extends RowMode> = M extends 'array' ? ArrayResultSet : ResultSet;
