import type { ResultSet, Value } from '@libsql/client';

// Types and one list, apart from `result.ts`: they reach the published
// declarations, which must not import `@libsql/core/util` (its ESM typings do
// not resolve under node16).

/**
 * How rows come back: `'client'`, the objects `@libsql/client` returns
 * (indexed and named); `'array'`, plain arrays of the column values, in the
 * order of `columns`, as pg's `rowMode: 'array'` or better-sqlite3's `raw()`;
 * `'object'`, plain objects keyed by column name, as pg's and
 * better-sqlite3's rows by default (where a name repeats, the first column's
 * value, as in the client's rows).
 */
export type RowMode = 'client' | 'array' | 'object';

/** Every `RowMode`, in the order error messages name them. */
export const ROW_MODES: readonly RowMode[] = ['client', 'array', 'object'];

/** A `ResultSet` whose rows are plain arrays (`rowMode: 'array'`); everything else is as in `ResultSet`. */
export interface ArrayResultSet extends Omit<ResultSet, 'rows'> {
  rows: Value[][];
}

/**
 * A `ResultSet` whose rows are plain objects keyed by column name
 * (`rowMode: 'object'`); its `toJSON()` gives each row as an object too.
 */
export interface ObjectResultSet extends Omit<ResultSet, 'rows'> {
  rows: Record<string, Value>[];
}

/** The result of a statement run in `rowMode` `M`: a union when the mode is only known at run time. */
export type ResultIn<M extends RowMode> = M extends 'array' ? ArrayResultSet : M extends 'object' ? ObjectResultSet : ResultSet;
