import { leaseConnection } from '../../lib/pool/pooled-connection';
import { withPool } from '../support/helpers';

/*
 * What checkin asks the driver. A lease that ran nothing cannot have opened a
 * transaction, so its connection is not asked; any lease that ran something
 * is, however it ran it.
 */
describe('the transaction check at checkin', () => {
  /** Watches `inTransaction` on the one connection of a `max: 1` pool, reached through a lease of its own. */
  async function watchConnection(pool: { acquire: () => Promise<import('../../lib').PooledConnection> }) {
    const lease = await pool.acquire();
    const spy = jest.spyOn(lease[leaseConnection](), 'inTransaction');
    lease.release();
    spy.mockClear();
    return spy;
  }

  test('a lease that ran nothing is not checked for a transaction at checkin', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const spy = await watchConnection(pool);
      (await pool.acquire()).release();
      expect(spy).not.toHaveBeenCalled();
      expect(pool.stats()).toMatchObject({ idle: 1, active: 0 });
    });
  });

  test('a lease that ran a statement is checked for a transaction at checkin', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const spy = await watchConnection(pool);
      const lease = await pool.acquire();
      await lease.execute('select 1');
      lease.release();
      expect(spy).toHaveBeenCalledTimes(1);
    });
  });

  test('a transaction opened by a cached BEGIN is rolled back at checkin', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(x)');
      await pool.transaction(async (tx) => tx.execute('insert into t values (1)'), 'deferred');
      const lease = await pool.acquire();
      // `BEGIN DEFERRED` ran once already: this run is a cache hit.
      await lease.execute('BEGIN DEFERRED');
      await lease.execute('insert into t values (2)');
      lease.release();
      const next = await pool.acquire();
      expect(next.inTransaction()).toBe(false);
      expect((await next.execute('select count(*) as n from t')).rows[0]!.n).toBe(1);
      next.release();
    });
  });

  test('a transaction opened by a batch step is rolled back at checkin', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(x)');
      const lease = await pool.acquire();
      await lease.execute('BEGIN');
      // Inside the lease's own transaction the batch joins it and leaves it open.
      await lease.batch(['insert into t values (1)']);
      lease.release();
      expect((await pool.execute('select count(*) as n from t')).rows[0]!.n).toBe(0);
    });
  });

  test('a transaction opened on the connection itself, reached through the lease, is rolled back at checkin', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(x)');
      const lease = await pool.acquire();
      await lease[leaseConnection]().executeMultiple('BEGIN; insert into t values (1)');
      lease.release();
      expect((await pool.execute('select count(*) as n from t')).rows[0]!.n).toBe(0);
    });
  });
});
