import { withPool } from '../support/helpers';

/* `pool.execute` and `pool.batch`: one lease, given back before the caller hears the outcome. */
describe('pool.execute and pool.batch', () => {
  test('pool.execute() gives the connection back before its caller sees the result', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const seen: string[] = [];
      pool.on('checkin', () => seen.push('checkin'));
      await pool.execute('select 1');
      seen.push('result');
      expect(seen).toEqual(['checkin', 'result']);
    });
  });

  test('pool.execute() gives the connection back before its caller sees the error', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const seen: string[] = [];
      pool.on('checkin', () => seen.push('checkin'));
      await pool.execute('select * from missing').catch(() => seen.push('error'));
      expect(seen).toEqual(['checkin', 'error']);
      expect(pool.stats()).toMatchObject({ idle: 1, active: 0, totals: expect.objectContaining({ acquired: 1, released: 1 }) });
    });
  });

  test('pool.execute() rejects a statement it cannot read without keeping the connection', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await expect(pool.execute(42 as unknown as string)).rejects.toBePoolError('INVALID_ARGUMENT');
      expect(pool.stats()).toMatchObject({ idle: 1, active: 0 });
    });
  });

  test('pool.batch() gives the connection back when a statement fails', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await expect(pool.batch(['select 1', 'select * from missing'])).rejects.toThrow();
      expect(pool.stats()).toMatchObject({ idle: 1, active: 0, totals: expect.objectContaining({ acquired: 1, released: 1 }) });
    });
  });

  test('pool.execute() waits behind callers already waiting, though the connection is back', async () => {
    await withPool({ max: 1 }, async (pool) => {
      const order: string[] = [];
      const held = await pool.acquire();
      const waiter = pool.acquire().then((lease) => {
        order.push('waiter');
        lease.release();
      });
      const executed = pool.execute('select 1').then(() => order.push('execute'));
      held.release();
      await Promise.all([waiter, executed]);
      expect(order).toEqual(['waiter', 'execute']);
    });
  });

  test('pool.execute() on a closed pool rejects with POOL_CLOSED and lends nothing', async () => {
    await withPool({ max: 1 }, async (pool) => {
      await pool.close();
      await expect(pool.execute('select 1')).rejects.toBePoolError('POOL_CLOSED');
      await expect(pool.batch(['select 1'])).rejects.toBePoolError('POOL_CLOSED');
      expect(pool.stats().totals.acquired).toBe(0);
    });
  });
});
