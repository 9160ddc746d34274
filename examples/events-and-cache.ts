/**
 * Lifecycle events and the prepared-statement cache. A statement is prepared
 * once per connection and stays cached across checkouts; it leaves the cache
 * when its connection closes (here `maxUses` retires connections quickly).
 * Run: `npx ts-node --transpile-only examples/events-and-cache.ts`
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdaptiveConnectionPool, PreparedStatementCache, StatementCacheSubscriber } from '../lib';

async function main(dir: string): Promise<void> {
  // `maxUses: 3`: each connection retires after three checkouts, so the run shows
  // a `close` (reason maxUses) and the eviction of that connection's statements.
  // `new` + `warmUp()` rather than `createPool()`, so the listeners see the first `create` too.
  // `admission: 'always'` caches a statement at its first run, so that each one shows up here;
  // by default a SQL text is cached from its second run, and one run only once is never cached.
  const pool = new AdaptiveConnectionPool({
    url: `file:${join(dir, 'app.db')}`,
    min: 1,
    max: 2,
    maxUses: 3,
    statementCache: { admission: 'always' },
  });
  const cache = pool.statementCache as PreparedStatementCache;
  pool.on('create', (e) => console.log(`[create]   #${e.connectionId}`));
  pool.on('checkout', (e) => console.log(`[checkout] #${e.connectionId} use ${e.uses}`));
  pool.on('close', (e) => console.log(`[close]    #${e.connectionId} ${e.reason}, cached now ${cache.stats().size}`));
  // A throwing listener is isolated: the other listeners and the pool carry on,
  // and the error arrives here (or as a process warning if nobody listens).
  pool.on('checkin', () => {
    throw new Error('a buggy listener');
  });
  pool.on('listenerError', (e) => console.log(`[listenerError] '${e.event}' listener threw: ${(e.error as Error).message}`));
  try {
    await pool.warmUp();
    await pool.execute('CREATE TABLE kv (k TEXT PRIMARY KEY, v TEXT)');
    for (let i = 0; i < 3; i++) {
      // Same SQL every time: prepared on the first use of each connection only.
      await pool.execute('INSERT INTO kv VALUES (?, ?)', [`k${i}`, `v${i}`]);
    }
    const s = cache.stats();
    console.log(`cache: ${s.hits} hits, ${s.misses} misses, ${s.cleared} evicted by close, size ${s.size}`);

    // A cache of your own (metadata, say) stays in step with the pool through a
    // subscriber, which evicts a connection's entries when it closes.
    const mine = new PreparedStatementCache<string>({ maxSize: 100 });
    const subscriber = new StatementCacheSubscriber(mine).attach(pool);
    const id = await pool.use(async (lease) => {
      mine.set(lease.connectionId, 'SELECT v FROM kv WHERE k = ?', 'my metadata');
      return lease.connectionId;
    });
    console.log(`own cache before close: ${mine.isCached(id, 'SELECT v FROM kv WHERE k = ?')}`);
    pool.removeAllListeners('checkin'); // the buggy one
    await pool.close();
    console.log(`own cache after close: ${mine.isCached(id, 'SELECT v FROM kv WHERE k = ?')}`);
    subscriber.detach();
    const t = pool.stats().totals;
    console.log(`totals: created ${t.created}, closed by maxUses ${t.closed.maxUses}, poolClosed ${t.closed.poolClosed}`);
  } finally {
    await pool.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'libsql-pool-events-'));
main(dir)
  .catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
