/**
 * Per-connection resources: state that lives exactly as long as one physical
 * connection, beside the pool's own statement cache. Here each connection
 * keeps query metrics, flushed (asynchronously) when the connection closes;
 * `pool.close()` waits for that flush.
 * Run: `npx ts-node --transpile-only examples/connection-resources.ts`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdaptiveConnectionPool, type PreparedStatementCache } from '../lib';

/** What one connection did: queries run through it, over all its leases. */
class Metrics {
  queries = 0;
  constructor(readonly connectionId: number) {}
}

async function main(dir: string): Promise<void> {
  // `maxUses: 2`: each connection retires after two checkouts, so the run
  // shows values disposed of as connections close, not only at the end.
  const pool = new AdaptiveConnectionPool({ url: `file:${join(dir, 'app.db')}`, max: 1, maxUses: 2 });
  const cache = pool.statementCache as PreparedStatementCache;
  const flushed: string[] = [];
  // Made on a connection's first `lease.resource(metrics)`; disposed of once
  // when it closes, whatever the reason, before the `close` listeners run.
  const metrics = pool.defineResource({
    name: 'metrics',
    create: (info) => new Metrics(info.connectionId),
    dispose: async (m, event) => {
      await new Promise((resolve) => setTimeout(resolve, 10)); // a network flush, say
      flushed.push(`#${m.connectionId}: ${m.queries} queries (${event.reason})`);
    },
  });
  // A close listener runs after the disposers: the statements are already evicted too.
  pool.on('close', (e) => console.log(`[close] #${e.connectionId} ${e.reason}, cached now ${cache.connectionSize(e.connectionId)}`));

  const query = (sql: string, args: number[] = []) =>
    pool.use(async (lease) => {
      lease.resource(metrics).queries++;
      return lease.execute(sql, args);
    });
  await pool.warmUp();
  await query('CREATE TABLE t (n INTEGER)');
  for (let i = 0; i < 3; i++) await query('INSERT INTO t VALUES (?)', [i]);
  const rows = (await query('SELECT count(*) AS n FROM t')).rows[0]!.n;
  console.log(`rows: ${rows}, statement cache hits: ${cache.stats().hits}`);
  await pool.close(); // waits for the last flush
  for (const line of flushed) console.log(`flushed ${line}`);
}

const dir = mkdtempSync(join(tmpdir(), 'libsql-pool-resources-'));
main(dir)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
