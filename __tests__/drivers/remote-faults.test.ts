import { join } from 'node:path';
import { LibsqlError, PoolError, createPool } from '../../lib';
import { recordEvents, tempDir } from '../support/helpers';
import { jwtKeys } from '../support/jwt';
import { startSqld, type SqldServer } from '../../scripts/sqld';

// Faults need a server of their own: these tests stop, restart and lock it.
jest.setTimeout(60_000);

describe('authToken', () => {
  let server: SqldServer;
  let token: (claims?: object) => string;
  let otherToken: string;
  const tmp = tempDir();

  beforeAll(async () => {
    token = jwtKeys(join(tmp.dir, 'key.pem')).token;
    otherToken = jwtKeys(join(tmp.dir, 'other.pem')).token();
    server = await startSqld(['--auth-jwt-key-file', join(tmp.dir, 'key.pem')]);
  });

  afterAll(async () => {
    await server.dispose();
    tmp.dispose();
  });

  test.each(['ws', 'http'] as const)('is passed through over %s: the right token works, none or a wrong one fails fast', async (protocol) => {
    const url = protocol === 'ws' ? server.wsUrl : server.httpUrl;
    await expect(createPool({ url })).rejects.toBePoolError('CONNECT_FAILED');
    await expect(createPool({ url, authToken: otherToken })).rejects.toBePoolError('CONNECT_FAILED');
    const pool = await createPool({ url, authToken: token() });
    try {
      expect((await pool.execute('select 1 as one')).rows[0]!.one).toBe(1);
    } finally {
      await pool.close();
    }
  });
});

describe('an HTTP stream that expires while idle', () => {
  let server: SqldServer;

  beforeAll(async () => {
    server = await startSqld();
  });

  afterAll(async () => {
    await server.dispose();
  });

  test('is replaced transparently outside a transaction, and is a clear CONNECTION_LOST inside one', async () => {
    const pool = await createPool({ url: server.httpUrl, min: 2, max: 2 });
    try {
      const events = recordEvents(pool);
      await pool.execute('create table t(v)');
      const [idle, inTx] = [await pool.acquire(), await pool.acquire()];
      await idle.execute('insert into t values (1)');
      await inTx.execute('BEGIN');
      await inTx.execute('insert into t values (2)');
      // sqld drops an HTTP stream after 10 s without a request. This is the
      // server's own clock, so the test has to let real time pass.
      await new Promise((resolve) => setTimeout(resolve, 11_000));

      expect((await idle.execute('select count(*) as n from t')).rows[0]!.n).toBe(1);
      const lost = await inTx.execute('insert into t values (3)').catch((e: unknown) => e);
      expect(lost).toBePoolError('CONNECTION_LOST');
      idle.release();
      inTx.release();

      expect(events.filter(([name]) => name === 'close').map(([, e]) => [e.connectionId, (e as { reason: string }).reason])).toEqual([
        [inTx.connectionId, 'error'],
      ]);
      // The rolled-back row never landed; the pool serves on a new connection.
      expect((await pool.execute('select count(*) as n from t')).rows[0]!.n).toBe(1);
    } finally {
      await pool.close();
    }
  });
});

describe.each(['ws', 'http'] as const)('sqld restarted under load (%s)', (protocol) => {
  let server: SqldServer;

  beforeAll(async () => {
    server = await startSqld();
  });

  afterAll(async () => {
    await server.dispose();
  });

  test('leases fail with typed errors while it is down, none leaks, and the pool reconnects when it returns', async () => {
    const url = protocol === 'ws' ? server.wsUrl : server.httpUrl;
    const pool = await createPool({ url, min: 2, max: 4, acquireTimeoutMs: 5_000 });
    const errors: unknown[] = [];
    let successes = 0;
    let stopping = false;
    // Resolves when a condition on the counters first holds: progress is
    // observed through the work itself, not through sleeps.
    let notify = () => {};
    const reached = (condition: () => boolean) =>
      new Promise<void>((resolve) => {
        const check = () => (condition() ? resolve() : (notify = check));
        check();
      });

    try {
      await pool.execute('create table if not exists load(v)');
      const workers = Array.from({ length: 8 }, async (_, w) => {
        for (let i = 0; !stopping; i++) {
          try {
            await pool.execute('insert into load values (?)', [w * 1_000_000 + i]);
            successes++;
          } catch (error) {
            errors.push(error);
          }
          notify();
        }
      });

      await reached(() => successes >= 50);
      await server.stop();
      await reached(() => errors.length >= 8);
      const failedWhileDown = errors.length;
      await server.start();
      const before = successes;
      await reached(() => successes >= before + 50);
      stopping = true;
      await Promise.all(workers);

      expect(failedWhileDown).toBeGreaterThanOrEqual(8);
      const untyped = errors.filter((e) => !(e instanceof PoolError || e instanceof LibsqlError));
      expect(untyped.map((e) => `${(e as Error)?.constructor?.name}: ${String(e)}`)).toEqual([]);
      const stats = pool.stats();
      expect(stats).toMatchObject({ active: 0, waiting: 0 });
      expect(stats.totals.acquired).toBe(stats.totals.released);
      const rows = (await pool.execute('select count(*) as n from load')).rows[0]!.n as number;
      expect(rows).toBeGreaterThanOrEqual(successes);
    } finally {
      stopping = true;
      await pool.close({ timeoutMs: 1_000 });
    }
  });
});
