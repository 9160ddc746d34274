import { createRequire } from 'node:module';
import type { LibsqlStatement } from './native-statement';
import type { LoadedModule } from './native-read';

// `libsql` 0.5 ships better-sqlite3's typings, which declare methods it lacks
// (bind, finalize, source) and type rows as unknown. This is what it really has.
export interface LibsqlDatabase {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(sql: string): LibsqlStatement;
  exec(sql: string): void;
  close(): void;
  sync(): { frames_synced: number; frame_no: number };
}

export interface LibsqlModule {
  new (path: string, options?: Record<string, unknown>): LibsqlDatabase;
  SqliteError: new (message: string, code: string, rawCode: number) => Error;
}

// The copy of `libsql` that `@libsql/client` loads, never a second one: two
// copies of SQLite in one process do not see each other's POSIX locks, so a
// write through one can run inside the other's transaction and corrupt the file.
const libsqlRequire = createRequire(require.resolve('@libsql/client'));
export const Database = libsqlRequire('libsql') as LibsqlModule;
/** libsql's own module record, where `native-read.ts` finds the addon it loaded. */
export const libsqlModule = (): LoadedModule | undefined => require.cache[libsqlRequire.resolve('libsql')];
