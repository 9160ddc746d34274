import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/helpers';
import { runUnprivileged, transpileLib } from '../support/unprivileged';

// A database its user may only read: the pool opens it as @libsql/client does.
// WAL is the pool's preference, not a requirement: where the journal mode
// cannot be changed, reads work and writes fail with SQLITE_READONLY, exactly
// as through the client. Both run side by side in a process of a user the
// permission bits apply to (see support/unprivileged.ts).

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Database = require('libsql') as new (path: string) => { exec(sql: string): void; close(): void };

/** Reads and writes through the client and through the pool, reporting each outcome. */
const SCENARIO = `
const { createClient, LibsqlError } = require('@libsql/client');
const { createPool } = require('./lib');
const url = 'file:' + process.env.DB_PATH;
const READ = 'SELECT count(*) AS n FROM t';
const WRITE = 'INSERT INTO t VALUES (3)';
const failure = (e) => ({ error: {
  libsqlError: e instanceof LibsqlError, code: e.code, extendedCode: e.extendedCode, rawCode: e.rawCode,
} });
const attempt = async (fn) => { try { return { value: await fn() }; } catch (e) { return failure(e); } };
(async () => {
  const client = createClient({ url });
  const viaClient = {
    read: await attempt(async () => Number((await client.execute(READ)).rows[0].n)),
    write: await attempt(async () => (await client.execute(WRITE)).rowsAffected),
  };
  client.close();
  let viaPool;
  try {
    const pool = await createPool({ url });
    viaPool = {
      read: await attempt(async () => Number((await pool.execute(READ)).rows[0].n)),
      write: await attempt(async () => (await pool.execute(WRITE)).rowsAffected),
    };
    await pool.close();
  } catch (e) {
    viaPool = { open: failure(e.cause ?? e), code: e.code };
  }
  process.stdout.write(JSON.stringify({ uid: process.getuid(), client: viaClient, pool: viaPool }));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

interface Outcome {
  value?: number;
  error?: { libsqlError: boolean; code: string; extendedCode?: string; rawCode?: number };
}
interface Report {
  uid: number;
  client: { read: Outcome; write: Outcome };
  pool: { read: Outcome; write: Outcome };
}

const tmp = tempDir();
const dirs: string[] = [];

beforeAll(() => {
  chmodSync(tmp.dir, 0o755);
  transpileLib(tmp.dir);
});

afterAll(() => {
  // Read-only directories are opened again so the tree can be removed by any user.
  for (const dir of dirs) chmodSync(dir, 0o755);
  tmp.dispose();
});

/** A database `t` with two rows, in `journalMode`, read-only, in a directory the other user may or may not write. */
function database(name: string, journalMode: 'WAL' | 'DELETE', directory: 'writable' | 'read-only'): string {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  dirs.push(dir);
  const path = join(dir, 'test.db');
  const db = new Database(path);
  db.exec(`PRAGMA journal_mode=${journalMode}; CREATE TABLE t(a); INSERT INTO t VALUES (1), (2)`);
  db.close();
  // A clean close leaves no -wal or -shm behind; the other user would have to create them.
  expect([existsSync(`${path}-wal`), existsSync(`${path}-shm`)]).toEqual([false, false]);
  chmodSync(path, 0o444);
  chmodSync(dir, directory === 'writable' ? 0o777 : 0o555);
  return path;
}

async function run(path: string): Promise<Report> {
  const report = JSON.parse(await runUnprivileged(tmp.dir, SCENARIO, { DB_PATH: path })) as Report;
  // Root would read and write the file whatever its bits: the scenario proves nothing then.
  expect(report.uid).not.toBe(0);
  return report;
}

const readOnly = { error: { libsqlError: true, code: 'SQLITE_READONLY' } };

describe('a read-only database file', () => {
  test('in rollback-journal mode, in a writable directory: reads work, writes fail with SQLITE_READONLY, as through the client', async () => {
    const { client, pool } = await run(database('rollback-file', 'DELETE', 'writable'));
    expect(pool.read).toEqual({ value: 2 });
    expect(pool.write).toMatchObject(readOnly);
    expect(pool).toEqual(client);
  });

  test('in WAL mode, in a writable directory: reads work, writes fail with SQLITE_READONLY, as through the client', async () => {
    const { client, pool } = await run(database('wal-file', 'WAL', 'writable'));
    expect(pool.read).toEqual({ value: 2 });
    expect(pool.write).toMatchObject(readOnly);
    expect(pool).toEqual(client);
  });

  test('in rollback-journal mode, in a read-only directory: reads work, writes fail with SQLITE_READONLY, as through the client', async () => {
    const { client, pool } = await run(database('rollback-dir', 'DELETE', 'read-only'));
    expect(pool.read).toEqual({ value: 2 });
    expect(pool.write).toMatchObject(readOnly);
    expect(pool).toEqual(client);
  });

  test('in WAL mode, in a read-only directory: SQLite cannot create the -shm file, so reads fail with SQLITE_READONLY, as through the client', async () => {
    const { client, pool } = await run(database('wal-dir', 'WAL', 'read-only'));
    expect(pool.read).toMatchObject(readOnly);
    expect(pool).toEqual(client);
  });
});
