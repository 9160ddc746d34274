import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(__dirname, '..', '..');

// Runs in the child: `libsql` resolves from the checkout (cwd), as `-e` scripts do.
// A release is a line on stdin; the watchdog ends a holder its test forgot.
const HOLDER = `
const Database = require('libsql');
const db = new Database(process.env.DB_PATH, { timeout: 0 });
db.exec('PRAGMA journal_mode=' + process.env.JOURNAL_MODE);
db.exec('CREATE TABLE IF NOT EXISTS t(a)');
db.exec('BEGIN EXCLUSIVE');
db.exec('INSERT INTO t VALUES (1)');
process.stdout.write('locked\\n');
const release = () => { db.exec('COMMIT'); db.close(); process.stdout.write('released\\n'); process.exit(0); };
const watchdog = setTimeout(release, 30000);
require('node:readline').createInterface({ input: process.stdin }).once('line', release);
`;

/** Another process holding an exclusive write lock on a database file. */
export interface LockHolder {
  /** Commits (one row into `t`), closes and resolves once the process has exited. */
  release(): Promise<void>;
}

/**
 * Starts a process that sets `journalMode`, creates `t(a)`, takes an exclusive
 * lock and inserts one row, and resolves once it holds the lock. Locks held in
 * this process would behave differently (SQLite shares some state between
 * connections of one process), hence the second process.
 */
export async function holdWriteLock(path: string, journalMode: 'DELETE' | 'WAL' = 'DELETE'): Promise<LockHolder> {
  const child = spawn(process.execPath, ['-e', HOLDER], {
    cwd: ROOT,
    env: { ...process.env, DB_PATH: path, JOURNAL_MODE: journalMode },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  // A holder that already exited (watchdog) makes the release write fail: nothing to do then.
  child.stdin.on('error', () => undefined);
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit');
  const lines = createInterface({ input: child.stdout });
  const locked = new Promise<void>((resolveLocked, reject) => {
    lines.once('line', (line) => (line === 'locked' ? resolveLocked() : reject(new Error(`lock holder said ${line}`))));
    void exited.then(([code]) => reject(new Error(`lock holder exited with ${code} before locking:\n${stderr}`)));
  });
  await locked;
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= (async () => {
        if (child.exitCode === null) child.stdin.end('release\n');
        const [code] = await exited;
        if (code !== 0) throw new Error(`lock holder exited with ${code}:\n${stderr}`);
      })()),
  };
}
