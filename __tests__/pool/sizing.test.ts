import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { recordEvents, withPool } from '../support/helpers';

afterEach(() => {
  jest.useRealTimers();
});

/** Runs a script against this checkout's lib/ in a fresh Node process, as a user's program would run. */
function runScript(script: string) {
  return spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
    cwd: join(__dirname, '..', '..'),
    encoding: 'utf8',
    timeout: 20_000,
  });
}

describe('pool size', () => {
  test('idle connections above min close after idleTimeoutMs, down to min', async () => {
    jest.useFakeTimers();
    // A fixed pool: adaptive sizing keeps more warm while measured demand says so.
    await withPool({ min: 1, max: 4, idleTimeoutMs: 1000, adaptive: false }, async (pool) => {
      const leases = await Promise.all([1, 2, 3, 4].map(() => pool.acquire()));
      for (const lease of leases) lease.release();
      const events = recordEvents(pool);
      await jest.advanceTimersByTimeAsync(999);
      expect(pool.stats().size).toBe(4);
      await jest.advanceTimersByTimeAsync(1);
      expect(pool.stats()).toMatchObject({ size: 1, idle: 1 });
      expect(events.map(([name, e]) => [name, (e as { reason?: string }).reason])).toEqual([
        ['close', 'idle'],
        ['close', 'idle'],
        ['close', 'idle'],
      ]);
      expect(pool.stats().totals.closed.idle).toBe(3);
    });
  });

  test('a connection used again before its idle timeout stays open', async () => {
    jest.useFakeTimers();
    await withPool({ min: 0, max: 2, idleTimeoutMs: 1000, adaptive: false }, async (pool) => {
      const [a, b] = await Promise.all([pool.acquire(), pool.acquire()]);
      a!.release();
      b!.release();
      await jest.advanceTimersByTimeAsync(600);
      await pool.execute('select 1'); // reuses the most recently returned one (b)
      await jest.advanceTimersByTimeAsync(400);
      expect(pool.stats().size).toBe(1);
      await jest.advanceTimersByTimeAsync(600);
      expect(pool.stats().size).toBe(0);
    });
  });

  test('idleTimeoutMs Infinity never closes idle connections', async () => {
    jest.useFakeTimers();
    await withPool({ min: 0, max: 2, idleTimeoutMs: Infinity }, async (pool) => {
      const leases = await Promise.all([pool.acquire(), pool.acquire()]);
      for (const lease of leases) lease.release();
      await jest.advanceTimersByTimeAsync(24 * 3600_000);
      expect(pool.stats().size).toBe(2);
    });
  });

  test('a :memory: pool has exactly one connection, so every caller sees the same database', async () => {
    await withPool({ url: ':memory:', max: 5 }, async (pool) => {
      expect(pool.stats()).toMatchObject({ min: 1, max: 1, size: 1 });
      await pool.execute('create table t(v)');
      const results = await Promise.all(
        [1, 2, 3].map((v) => pool.use(async (c) => (await c.execute('insert into t values (?)', [v]), c.connectionId))),
      );
      expect(new Set(results).size).toBe(1);
      expect((await pool.execute('select count(*) as n from t')).rows[0]!.n).toBe(3);
    });
  });

  test('a script that closes its pool exits by itself (all timers are unref\'d)', () => {
    const script = `
      const { createPool } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib'))});
      (async () => {
        const pool = await createPool({ url: ':memory:', idleTimeoutMs: 60000, acquireTimeoutMs: 60000 });
        await pool.execute('select 1');
        await pool.close();
        console.log('closed');
      })();`;
    const run = runScript(script);
    expect(run.stdout.trim()).toBe('closed');
    expect(run.status).toBe(0);
  });

  test('a script waiting in acquire() hears ACQUIRE_TIMEOUT instead of exiting silently', () => {
    const script = `
      const { createPool } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib'))});
      (async () => {
        const pool = await createPool({ url: ':memory:' });
        const held = await pool.acquire();
        await pool.acquire({ timeoutMs: 50 }).catch((e) => console.log(e.code));
        held.release();
        await pool.close();
      })();`;
    const run = runScript(script);
    expect(run.stdout.trim()).toBe('ACQUIRE_TIMEOUT');
    expect(run.status).toBe(0);
  });

  test('a script that forgets to close its pool still exits', () => {
    const script = `
      const { createPool } = require(${JSON.stringify(join(__dirname, '..', '..', 'lib'))});
      createPool({ url: ':memory:', min: 1, max: 2, idleTimeoutMs: 60000 }).then(async (pool) => {
        await Promise.all([pool.execute('select 1'), pool.execute('select 2')]);
        console.log('done');
      });`;
    const run = runScript(script);
    expect(run.stdout.trim()).toBe('done');
    expect(run.status).toBe(0);
  });
});
