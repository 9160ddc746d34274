import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Database = require('libsql') as LibsqlDatabaseConstructor;

/** The subset of `libsql` 0.5 the benchmarks call (its bundled typings are better-sqlite3's). */
export interface RawStatement {
  raw(on: boolean): RawStatement;
  safeIntegers(on: boolean): RawStatement;
  columns(): Array<{ name: string; type: string | null }>;
  all(args: unknown): unknown[];
  get(args?: unknown): unknown;
  run(args?: unknown): { changes: number; lastInsertRowid: number | bigint };
}
export interface RawDatabase {
  prepare(sql: string): RawStatement;
  exec(sql: string): void;
  close(): void;
  readonly inTransaction: boolean;
}
type LibsqlDatabaseConstructor = new (path: string, options?: Record<string, unknown>) => RawDatabase;

/** Opens a `libsql` connection the way a user of the raw driver would. */
export function openRaw(path: string): RawDatabase {
  return new Database(path);
}

export const ROWS_T = 1000;
export const ROWS_U = 3000;

/** The queries every read and write case runs: a point read, an insert, a join. */
export const SQL = {
  point: 'SELECT id, name, value FROM t WHERE id = ?',
  join:
    'SELECT t.id, t.name, count(u.id) AS n, group_concat(u.tag) AS tags, max(u.score) AS best ' +
    'FROM t LEFT JOIN u ON u.t_id = t.id WHERE t.id BETWEEN ?1 AND ?1 + 9 ' +
    'GROUP BY t.id ORDER BY best DESC LIMIT 1',
  insert: 'INSERT INTO w(name, value) VALUES (?, ?)',
  readValue: 'SELECT value FROM t WHERE id = ?',
} as const;

export interface Fixture {
  dir: string;
  path: string;
  /** `file:` URL for the pool and `@libsql/client`. */
  url: string;
  cleanup(): void;
}

/**
 * A fresh file database in WAL mode in its own temp directory:
 * `t(id INTEGER PRIMARY KEY, name TEXT, value INTEGER)` with 1,000 rows,
 * `u` with 3,000 rows and an index on `u(t_id)` for the join, and an empty `w`
 * for inserts.
 *
 * The directory is under `BENCH_TMPDIR`, else `/dev/shm` when it exists, else
 * the OS temp dir: on tmpfs a COMMIT's fsync is free, so the figures show
 * per-statement CPU cost rather than this shared machine's disk.
 */
export function createFixture(): Fixture {
  const base = process.env.BENCH_TMPDIR ?? (existsSync('/dev/shm') ? '/dev/shm' : tmpdir());
  const dir = mkdtempSync(join(base, 'libsql-pool-bench-'));
  const path = join(dir, 'bench.db');
  const db = openRaw(path);
  db.exec('PRAGMA journal_mode=WAL');
  db.exec(`
    CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, value INTEGER);
    CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER NOT NULL, tag TEXT, score INTEGER);
    CREATE INDEX u_t_id ON u(t_id);
    CREATE TABLE w (id INTEGER PRIMARY KEY, name TEXT, value INTEGER);
  `);
  db.exec('BEGIN');
  const insT = db.prepare('INSERT INTO t (id, name, value) VALUES (?, ?, ?)');
  for (let i = 1; i <= ROWS_T; i++) insT.run([i, `name-${i}`, (i * 7919) % 10007]);
  const insU = db.prepare('INSERT INTO u (t_id, tag, score) VALUES (?, ?, ?)');
  for (let i = 0; i < ROWS_U; i++) insU.run([(i % ROWS_T) + 1, `tag-${i % 97}`, (i * 104729) % 1009]);
  db.exec('COMMIT');
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.close();
  return {
    dir,
    path,
    url: `file:${path}`,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Cycles 1..ROWS_T, so every read hits a row. */
export function idCycler(limit = ROWS_T): () => number {
  let id = 0;
  return () => (id = (id % limit) + 1);
}
