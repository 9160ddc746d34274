import { leaseConnection } from '../../lib/pool/pooled-connection';
import { withPool } from '../support/helpers';

/*
 * What checkin asks the driver. A lease that ran nothing that could open a
 * transaction (only BEGIN and SAVEPOINT do) left none, so its connection is
 * not asked; any other lease is, however it ran what it ran.
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

  test('a lease that ran only statements that cannot open a transaction is not checked at checkin', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(x)');
      const spy = await watchConnection(pool);
      const lease = await pool.acquire();
      await lease.execute('insert into t values (1)');
      await lease.execute({ sql: 'select x from t where x = ?', args: [1] });
      lease.release();
      await pool.execute('select count(*) from t');
      expect(spy).not.toHaveBeenCalled();
    });
  });

  test('a lease that ran BEGIN is checked for a transaction at checkin, even once it committed', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const spy = await watchConnection(pool);
      const lease = await pool.acquire();
      await lease.execute('BEGIN');
      await lease.execute('COMMIT');
      lease.release();
      expect(spy).toHaveBeenCalledTimes(1);
    });
  });

  test('a lease that ran a script is checked for a transaction at checkin', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const spy = await watchConnection(pool);
      await pool.use((lease) => lease.executeMultiple('select 1'));
      expect(spy).toHaveBeenCalledTimes(1);
    });
  });

  test('a transaction opened by a BEGIN behind a comment is rolled back at checkin', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(x)');
      const lease = await pool.acquire();
      await lease.execute('/* by hand */ begin');
      await lease.execute('insert into t values (1)');
      lease.release();
      expect((await pool.execute('select count(*) as n from t')).rows[0]!.n).toBe(0);
    });
  });

  test('a transaction opened by a SAVEPOINT is rolled back at checkin', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.execute('create table t(x)');
      const lease = await pool.acquire();
      await lease.execute('savepoint a');
      await lease.execute('insert into t values (1)');
      lease.release();
      expect((await pool.execute('select count(*) as n from t')).rows[0]!.n).toBe(0);
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
